package io.sageptx.cli;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;

import io.sageptx.call.AttentionArgs;
import io.sageptx.api.SageAttention;
import io.sageptx.cache.CacheDirectory;
import io.sageptx.cuda.DeviceContext;
import io.sageptx.numerics.AttentionReference;
import io.sageptx.numerics.Half;
import io.sageptx.numerics.RandomInputs;
import io.sageptx.spec.KernelSpec;
import io.sageptx.numerics.AccuracyBar;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "verify", mixinStandardHelpOptions = true,
        description = {"Check the accuracy of the tuned (and default) kernels against the FP64 reference on random "
                + "inputs: cosine >= 0.995, rel L1 <= 0.06 (FP8 PV) or 0.02 (FP16 PV), LSE error < 0.1.",
                "Prints a pass/fail table; exits with 1 when any kernel fails. --csv DIR writes DIR/verify.csv, "
                        + "--plot FILE.png draws each kernel's error against its bar."})
final class VerifyCommand implements Callable<Integer> {

    static final String CSV_NAME = "verify.csv";
    static final List<String> CSV_COLUMNS = List.of("device", "spec", "pv", "seq_len", "cosine", "rel_l1", "lse_err",
            "max_rel_l1", "result");

    @Option(names = "--seq", defaultValue = "777", description = "Lq = Lk of the random inputs, at most 2048 (FP64 CPU "
            + "reference), comma-separated; a k suffix means x1024 (default ${DEFAULT-VALUE})")
    List<String> seqs;

    @Option(names = "--heads", defaultValue = "2", description = "heads, at most 16 (default ${DEFAULT-VALUE})")
    int heads;

    @Option(names = "--seed", defaultValue = "1", description = "random seed (default ${DEFAULT-VALUE})")
    long seed;

    @Option(names = "--csv", paramLabel = "DIR", description = Opts.CSV_HELP + ": " + CSV_NAME)
    Path csvDir;

    @Option(names = "--plot", paramLabel = "FILE.png", description = Opts.PLOT_HELP)
    Path plot;

    @Mixin
    KernelSetOptions set;

    @Mixin
    CacheOptions cache;

    @Override
    public Integer call() throws IOException {
        List<Integer> ns = Opts.lengths("--seq", seqs);
        for (int n : ns) {
            if (n > 2048) throw new IllegalArgumentException("--seq " + n + " is not allowed; allowed: 1 to 2048 (FP64 CPU reference)");
        }
        if (heads < 1 || heads > 16) throw new IllegalArgumentException("--heads " + heads + " is not allowed; allowed: 1 to 16");
        set.validate();
        if (plot != null) PlotSupport.requireDrawing("--plot", "run with --csv DIR to keep the results");
        cache.apply();
        Table t = new Table("device", "spec", "N", "cosine", "rel L1", "LSE err", "bar", "result");
        List<String> lines = new ArrayList<>();
        lines.add(String.join(",", CSV_COLUMNS));
        int failed = 0;
        int total = 0;
        for (int dev : set.devices()) {
            try (SageAttention att = SageAttention.onDevice(dev)) {
                DeviceContext ctx = att.context();
                String gpu = CacheDirectory.gpuFolderName(ctx.name(), ctx.computeCapabilityMajor(), ctx.computeCapabilityMinor());
                for (KernelSpec spec : set.specs(ctx, gpu)) {
                    for (int seq : ns) {
                        RandomInputs in = RandomInputs.generate(seed, 1, heads, heads, seq, seq, spec.headDim(), spec.inType());
                        AttentionReference.Result ref = in.reference(1.0 / Math.sqrt(spec.headDim()), spec.causal());
                        AttentionArgs shape = AttentionArgs.builder().batch(1).heads(heads).seqLen(seq).headDim(spec.headDim())
                                .inType(spec.inType()).outType(spec.outType()).causal(spec.causal()).spec(spec).build();
                        SageAttention.HostResult r = att.forwardHost(shape, in.q16(), in.k16(), in.v16(), true);
                        AccuracyBar.Accuracy e = AccuracyBar.Accuracy.of(Half.decode(r.o(), spec.outType()), r.lse(), ref);
                        AccuracyBar bar = AccuracyBar.forPv(spec.pv());
                        String why = bar.failure(e);
                        total++;
                        if (why != null) failed++;
                        String result = why == null ? "PASS" : "FAIL: " + why;
                        t.row("cuda:" + dev, spec, seq, String.format(Locale.ROOT, "%.6f", e.cosine()),
                                String.format(Locale.ROOT, "%.5f", e.relL1()), String.format(Locale.ROOT, "%.4f", e.lseMaxAbs()),
                                String.format(Locale.ROOT, "relL1<=%.2f", bar.maxRelL1()), result);
                        lines.add(CsvFile.line("cuda:" + dev, spec.toString(), spec.pv().id(), seq, e.cosine(), e.relL1(),
                                e.lseMaxAbs(), bar.maxRelL1(), result));
                    }
                }
            }
        }
        t.print(System.out);
        System.out.println("verify: " + (total - failed) + " of " + total + " kernels within the bar" + (failed > 0 ? ", " + failed + " FAILED" : ""));
        AutotuneCommand.writeAndPlot(lines, csvDir, CSV_NAME, plot);
        return failed == 0 ? 0 : 1;
    }
}
