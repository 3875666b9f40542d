package io.sageptx.cli;

import java.util.List;
import java.util.Random;
import java.util.concurrent.Callable;

import io.sageptx.call.AttentionArgs;
import io.sageptx.api.SageAttention;
import io.sageptx.cuda.CudaEvent;
import io.sageptx.cuda.CudaStream;
import io.sageptx.cuda.DeviceBuffer;
import io.sageptx.cuda.DeviceContext;
import io.sageptx.numerics.AttentionReference;
import io.sageptx.numerics.ErrorStats;
import io.sageptx.numerics.Half;
import io.sageptx.kernels.reference.ReferenceSpec;
import io.sageptx.reference.GpuReferenceAttention;
import io.sageptx.runtime.AttentionKernels;
import io.sageptx.spec.DType;
import io.sageptx.spec.KernelSpec;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "run", mixinStandardHelpOptions = true,
        description = "Run one attention call on random inputs and report its error against a reference.")
final class RunCommand implements Callable<Integer> {

    @Option(names = "--device", defaultValue = "0", description = Opts.DEVICE_HELP + " (default ${DEFAULT-VALUE})")
    int device;

    @Option(names = "--batch", defaultValue = "1", description = "B (default ${DEFAULT-VALUE})")
    int batch;

    @Option(names = "--heads", defaultValue = "8", description = "H (default ${DEFAULT-VALUE})")
    int heads;

    @Option(names = "--seq", defaultValue = "2048", description = "query length Lq; a k suffix means x1024 (default ${DEFAULT-VALUE})")
    List<String> seq;

    @Option(names = "--kv-seq", description = "key length Lk (default: Lq)")
    String kvSeq;

    @Option(names = "--seed", defaultValue = "1", description = "random seed (default ${DEFAULT-VALUE})")
    long seed;

    @Mixin
    SpecOptions options;

    @Mixin
    CacheOptions cache;

    @Override
    public Integer call() {
        int lq = Opts.length("--seq", Opts.single("--seq", seq, "one call"));
        int keys = kvSeq == null ? lq : Opts.length("--kv-seq", kvSeq);
        Opts.atLeast("--batch", batch, 1);
        Opts.atLeast("--heads", heads, 1);
        boolean causal = options.causal();
        if (causal && keys != lq) {
            throw new IllegalArgumentException("--causal true needs --kv-seq equal to --seq (top-left causal mask); got --seq "
                    + lq + " --kv-seq " + keys);
        }
        DType in = options.in();
        DType out = options.out();
        int d = options.headDim();
        cache.apply();
        SageAttention att = SageAttention.onDevice(Opts.device(device));
        DeviceContext ctx = att.context();
        KernelSpec spec = options.spec(att.arch(), null);
        int qn = batch * heads * lq * d;
        int kn = batch * heads * keys * d;
        Random r = new Random(seed);
        float[] q = new float[qn];
        float[] k = new float[kn];
        float[] v = new float[kn];
        for (int i = 0; i < qn; i++) q[i] = (float) r.nextGaussian();
        float[] bias = new float[d];
        for (int c = 0; c < d; c++) bias[c] = (float) (3 * r.nextGaussian());
        for (int i = 0; i < kn; i++) {
            k[i] = (float) r.nextGaussian() + bias[i % d];
            v[i] = (float) r.nextGaussian();
        }
        short[] q16 = Half.encode(q, in);
        short[] k16 = Half.encode(k, in);
        short[] v16 = Half.encode(v, in);
        float scale = (float) (1.0 / Math.sqrt(d));
        System.out.println(ctx);
        System.out.println("spec: " + spec);
        long t0 = System.nanoTime();
        AttentionKernels kk = att.kernels(spec);
        System.out.printf("kernels ready in %.1f ms (%s)%n", (System.nanoTime() - t0) / 1e6, kk.loadedModules().stream()
                .map(m -> String.format("%s: %s, compile %.1f ms, load %.2f ms", m.metadata().key().family(),
                        m.source().name().toLowerCase(java.util.Locale.ROOT), m.compileMillis(), m.loadMillis()))
                .collect(java.util.stream.Collectors.joining("; ")));
        try (DeviceBuffer dq = DeviceBuffer.allocate(ctx, 2L * qn); DeviceBuffer dk = DeviceBuffer.allocate(ctx, 2L * kn);
             DeviceBuffer dv = DeviceBuffer.allocate(ctx, 2L * kn); DeviceBuffer dO = DeviceBuffer.allocate(ctx, 2L * qn);
             DeviceBuffer ro = DeviceBuffer.allocate(ctx, 4L * qn); CudaStream s = CudaStream.create(ctx);
             CudaEvent e0 = CudaEvent.create(ctx); CudaEvent e1 = CudaEvent.create(ctx)) {
            dq.copyFrom(q16);
            dk.copyFrom(k16);
            dv.copyFrom(v16);
            dO.fill16((short) 0xFFFF);
            AttentionArgs a = AttentionArgs.builder().q(dq.address()).k(dk.address()).v(dv.address()).o(dO.address())
                    .batch(batch).heads(heads).lq(lq).lk(keys).headDim(d).inType(in).outType(out)
                    .causal(causal).smScale(scale).spec(spec).build();
            att.forward(a, s.handle());
            e0.record(s);
            att.forward(a, s.handle());
            e1.record(s);
            s.synchronize();
            float ms = CudaEvent.elapsedMillis(e0, e1);
            double flops = 4.0 * batch * heads * (double) lq * keys * d / (causal ? 2 : 1);
            short[] o16 = new short[qn];
            dO.copyTo(o16);
            float[] o = Half.decode(o16, out);
            double[] ref;
            String refName;
            if ((long) lq * keys * batch * heads <= 8L * 1024 * 1024) {
                ref = AttentionReference.compute(Half.decode(q16, in), Half.decode(k16, in), Half.decode(v16, in), batch,
                        heads, heads, lq, keys, d, scale, causal).o();
                refName = "FP64 CPU reference";
            } else {
                GpuReferenceAttention.run(ctx, s, new ReferenceSpec(d, causal, in, att.arch()), dq.address(),
                        dk.address(), dv.address(), ro.address(), 0L, batch, heads, heads, lq, keys, scale);
                s.synchronize();
                float[] f = new float[qn];
                ro.copyTo(f);
                ref = new double[qn];
                for (int i = 0; i < qn; i++) ref[i] = f[i];
                refName = "FP32 GPU reference";
            }
            ErrorStats err = ErrorStats.of(o, ref);
            System.out.printf("B=%d H=%d Lq=%d Lk=%d D=%d: %.3f ms (one call, warm), %.1f TFLOP/s%n", batch, heads, lq, keys,
                    d, ms, flops / (ms * 1e-3) / 1e12);
            System.out.println("error vs " + refName + ": " + err);
            return err.nonFinite() == 0 ? 0 : 2;
        } finally {
            att.close();
        }
    }
}
