package io.sageptx.cli;

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
                "Prints a pass/fail table; exits with 1 when any kernel fails."})
final class VerifyCommand implements Callable<Integer> {

    @Option(names = "--seq", defaultValue = "777", description = "Lq = Lk of the random input, at most 2048 (default ${DEFAULT-VALUE})")
    int seq;

    @Option(names = "--heads", defaultValue = "2", description = "heads (default ${DEFAULT-VALUE})")
    int heads;

    @Option(names = "--seed", defaultValue = "1", description = "random seed (default ${DEFAULT-VALUE})")
    long seed;

    @Mixin
    KernelSetOptions set;

    @Mixin
    CacheOptions cache;

    @Override
    public Integer call() {
        if (seq < 1 || seq > 2048) throw new IllegalArgumentException("--seq " + seq + " must be in [1, 2048] (FP64 CPU reference)");
        if (heads < 1 || heads > 16) throw new IllegalArgumentException("--heads " + heads + " must be in [1, 16]");
        cache.apply();
        Table t = new Table("device", "spec", "cosine", "rel L1", "LSE err", "bar", "result");
        int failed = 0;
        int total = 0;
        for (int dev : set.devices()) {
            try (SageAttention att = SageAttention.onDevice(dev)) {
                DeviceContext ctx = att.context();
                String gpu = CacheDirectory.gpuFolderName(ctx.name(), ctx.computeCapabilityMajor(), ctx.computeCapabilityMinor());
                for (KernelSpec spec : set.specs(ctx, gpu)) {
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
                    t.row("cuda:" + dev, spec, String.format(Locale.ROOT, "%.6f", e.cosine()),
                            String.format(Locale.ROOT, "%.5f", e.relL1()), String.format(Locale.ROOT, "%.4f", e.lseMaxAbs()),
                            String.format(Locale.ROOT, "relL1<=%.2f", bar.maxRelL1()), why == null ? "PASS" : "FAIL: " + why);
                }
            }
        }
        t.print(System.out);
        System.out.println("verify: " + (total - failed) + " of " + total + " kernels within the bar" + (failed > 0 ? ", " + failed + " FAILED" : ""));
        return failed == 0 ? 0 : 1;
    }
}
