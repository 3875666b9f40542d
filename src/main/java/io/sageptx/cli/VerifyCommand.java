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
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

@Command(name = "verify", mixinStandardHelpOptions = true,
        description = {"Check the accuracy of the tuned (and default) kernels against the FP64 reference on random "
                + "inputs: cosine >= 0.995, rel L1 <= 0.06 (FP8 PV) or 0.02 (FP16 PV), LSE error < 0.1.",
                "Prints a pass/fail table; exits with 1 when any kernel fails. --csv DIR writes DIR/verify.csv, "
                        + "--plot FILE.png draws each kernel's error against its bar.",
                "",
                "With --q FILE --k FILE --v FILE: your own tensors (raw little-endian fp16/bf16 or .npy, layout --layout, "
                        + "docs/verify-files.md) through every mode of the device (--modes), each against an FP64 "
                        + "reference: cosine, rel L1, max abs error, NaN/Inf, LSE error, time, and for auto how many "
                        + "heads went to 16-bit QK; then the cheapest mode within its bar (FP8 PV: cos >= 0.999, rel L1 "
                        + "<= 0.045; FP16 PV: cos >= 0.9995, rel L1 <= 0.015). Exits with 1 when no mode meets its bar. "
                        + "Shapes come from .npy headers or --batch --heads --kv-heads --seq-q --seq-k --head-dim --dtype."})
final class VerifyCommand implements Callable<Integer> {

    static final String CSV_NAME = "verify.csv";
    static final List<String> CSV_COLUMNS = List.of("device", "spec", "pv", "seq_len", "cosine", "rel_l1", "lse_err",
            "max_rel_l1", "result");

    @Option(names = "--seq", defaultValue = "777", description = "Lq = Lk of the random inputs, at most 2048 (FP64 CPU "
            + "reference), comma-separated; a k suffix means x1024 (default ${DEFAULT-VALUE})")
    List<String> seqs;

    @Option(names = "--heads", defaultValue = "2", description = "heads of the random inputs, at most 16 (default "
            + "${DEFAULT-VALUE}); with --q: the query heads of your tensors")
    int heads;

    @Option(names = "--q", paramLabel = "FILE", description = "your Q: raw fp16/bf16 or .npy (docs/verify-files.md)")
    Path qFile;

    @Option(names = "--k", paramLabel = "FILE", description = "your K, like --q")
    Path kFile;

    @Option(names = "--v", paramLabel = "FILE", description = "your V, like --q")
    Path vFile;

    @Option(names = "--batch", description = "with --q: B (default 1, or the .npy shape's)")
    Integer batch;

    @Option(names = "--kv-heads", description = "with --q: key/value heads (default --heads, or the .npy shape's)")
    Integer kvHeads;

    @Option(names = "--seq-q", description = "with --q: the query length Lq (or the .npy shape's); a k suffix means x1024")
    String seqQ;

    @Option(names = "--seq-k", description = "with --q: the key length Lk (default Lq, or the .npy shape's)")
    String seqK;

    @Option(names = "--layout", description = "with --q: bhld ([B, H, L, D], also bhsd; the default) or blhd "
            + "([B, L, H, D], also bshd)")
    String layout;

    @Option(names = "--modes", paramLabel = "MODE", description = "with --q: comma-separated modes to run (default all "
            + "the device has): default, pv-fp8-f16acc, pv-fp8-f32acc, pv-fp16, qk-fp16, auto, or a qk and a pv joined "
            + "by + (auto+pv-fp8-f32acc)")
    List<String> modes;

    @Option(names = "--sm-scale", description = "with --q: the softmax scale (default 1/sqrt(head dim))")
    Double smScale;

    @Option(names = "--ref-rows", defaultValue = "auto", description = "with --q: query rows per head the FP64 CPU "
            + "reference covers: auto (every row when that takes about 10 s, else an even sample), all, or a count "
            + "(default ${DEFAULT-VALUE})")
    String refRows;

    @Option(names = "--timing-runs", defaultValue = "3", description = "with --q: timed runs per mode, 0 for none "
            + "(default ${DEFAULT-VALUE})")
    int timingRuns;

    @Option(names = "--json", paramLabel = "FILE", description = "with --q: also write the report as JSON")
    Path json;

    @Spec
    CommandSpec commandSpec;

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
        if (qFile != null || kFile != null || vFile != null) return callFiles();
        for (String o : new String[] {"--batch", "--kv-heads", "--seq-q", "--seq-k", "--layout", "--modes", "--sm-scale",
                "--ref-rows", "--timing-runs", "--json"}) {
            if (given(o)) throw new IllegalArgumentException(o + " is for your own tensors: give --q, --k and --v too");
        }
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

    private boolean given(String option) {
        return commandSpec != null && commandSpec.commandLine() != null && commandSpec.commandLine().getParseResult() != null
                && commandSpec.commandLine().getParseResult().hasMatchedOption(option);
    }

    /** The one value of a list option in file mode, or null when not given. */
    private String one(String option, List<String> raw) {
        return given(option) ? Opts.single(option, raw, "one value for your tensors") : null;
    }

    private Integer callFiles() throws IOException {
        for (String o : new String[] {"--seq", "--seed", "--csv", "--plot", "--tuned-only"}) {
            if (given(o)) {
                throw new IllegalArgumentException(o + " is for the random inputs, not for --q/--k/--v"
                        + (o.equals("--seq") ? " (the lengths are --seq-q and --seq-k)" : ""));
            }
        }
        String hd = one("--head-dim", set.headDims);
        Integer d = null;
        if (hd != null) d = Opts.headDim(hd);
        VerifyFiles.Given g = new VerifyFiles.Given(qFile, kFile, vFile, batch, given("--heads") ? heads : null, kvHeads,
                seqQ, seqK, d, one("--dtype", set.dtypes), layout, one("--causal", set.causal), modes, smScale, refRows,
                timingRuns);
        VerifyFiles.Prepared p = VerifyFiles.prepare(g);
        cache.apply();
        int dev = Opts.device(set.device);
        return VerifyFiles.run(p, dev, timingRuns, json);
    }
}
