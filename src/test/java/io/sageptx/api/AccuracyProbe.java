package io.sageptx.api;

import io.sageptx.call.AttentionArgs;
import java.util.function.UnaryOperator;

import io.sageptx.cuda.CudaStream;
import io.sageptx.cuda.DeviceBuffer;
import io.sageptx.cuda.DeviceContext;
import io.sageptx.numerics.AttentionReference;
import io.sageptx.numerics.ErrorStats;
import io.sageptx.numerics.Half;
import io.sageptx.kernels.reference.ReferenceSpec;
import io.sageptx.reference.GpuReferenceAttention;
import io.sageptx.spec.DType;

/**
 * One attention call on the GPU against a reference, for the accuracy tests: uploads the inputs, poisons
 * O and the LSE with NaN, runs the call, and compares with the FP64 CPU reference (up to
 * {@link #CPU_REFERENCE_LIMIT} scores per head) or the FP32 GPU reference kernel.
 */
final class AccuracyProbe {

    /** Above this many score entries per head the FP32 GPU reference replaces the FP64 CPU one. */
    static final long CPU_REFERENCE_LIMIT = 1100L * 1100L;

    /** The error of O, the largest LSE error (NaN when an LSE was not written) and the reference used. */
    record Result(ErrorStats error, double lseMaxErr, String reference) {
    }

    /** The FP8 P V bars of the core issue: every output written and finite, cos >= 0.999, rel-L1 <= 0.045, LSE within 0.1. */
    static void assertFp8Bars(Result r) {
        ErrorStats e = r.error();
        org.junit.jupiter.api.Assertions.assertEquals(0, e.nonFinite(), "NaN/Inf or unwritten outputs: " + e);
        org.junit.jupiter.api.Assertions.assertTrue(e.cosine() >= 0.999, "cosine " + e);
        org.junit.jupiter.api.Assertions.assertTrue(e.relL1() <= 0.045, "relative L1 " + e);
        org.junit.jupiter.api.Assertions.assertTrue(r.lseMaxErr() <= 0.1, "LSE max abs error " + r.lseMaxErr());
    }

    private AccuracyProbe() {
    }

    /**
     * Runs x through {@code att} with output dtype {@code out}, top-left causal or not, the default sm_scale
     * and an LSE; {@code extra} adds what the test asks for (a PV variant, a spec).
     */
    static Result run(SageAttention att, AttentionInputs x, DType out, boolean causal, UnaryOperator<AttentionArgs.Builder> extra) {
        int qn = x.q.length;
        int kn = x.k.length;
        int rows = x.batch * x.heads * x.lq;
        float scale = (float) (1.0 / Math.sqrt(x.d));
        DeviceContext ctx = att.context();
        try (DeviceBuffer dq = DeviceBuffer.allocate(ctx, 2L * qn);
             DeviceBuffer dk = DeviceBuffer.allocate(ctx, 2L * kn);
             DeviceBuffer dv = DeviceBuffer.allocate(ctx, 2L * kn);
             DeviceBuffer dO = DeviceBuffer.allocate(ctx, 2L * qn);
             DeviceBuffer dl = DeviceBuffer.allocate(ctx, 4L * rows);
             CudaStream s = CudaStream.create(ctx)) {
            dq.copyFrom(x.q16);
            dk.copyFrom(x.k16);
            dv.copyFrom(x.v16);
            dO.fill16((short) 0xFFFF);   // NaN in fp16 and bf16
            dl.fill32(0x7FFFFFFF);        // NaN
            AttentionArgs a = extra.apply(AttentionArgs.builder().q(dq.address()).k(dk.address()).v(dv.address())
                    .o(dO.address()).lse(dl.address()).batch(x.batch).heads(x.heads).kvHeads(x.kvHeads).lq(x.lq).lk(x.lk)
                    .headDim(x.d).inType(x.type).outType(out).causal(causal).smScale(scale)).build();
            att.forward(a, s.handle());
            s.synchronize();
            short[] o16 = new short[qn];
            dO.copyTo(o16);
            float[] o = Half.decode(o16, out);
            float[] lse = new float[rows];
            dl.copyTo(lse);

            double[] ref;
            double[] refLse;
            String refName;
            if ((long) x.lq * x.lk <= CPU_REFERENCE_LIMIT) {
                AttentionReference.Result r = AttentionReference.compute(x.q, x.k, x.v, x.batch, x.heads, x.kvHeads, x.lq,
                        x.lk, x.d, scale, causal);
                ref = r.o();
                refLse = r.lse();
                refName = "FP64 CPU";
            } else {
                try (DeviceBuffer ro = DeviceBuffer.allocate(ctx, 4L * qn);
                     DeviceBuffer rl = DeviceBuffer.allocate(ctx, 4L * rows)) {
                    GpuReferenceAttention.run(ctx, s, new ReferenceSpec(x.d, causal, x.type, att.arch()), dq.address(),
                            dk.address(), dv.address(), ro.address(), rl.address(), x.batch, x.heads, x.kvHeads, x.lq, x.lk,
                            scale);
                    s.synchronize();
                    float[] f = new float[qn];
                    ro.copyTo(f);
                    float[] fl = new float[rows];
                    rl.copyTo(fl);
                    ref = toDouble(f);
                    refLse = toDouble(fl);
                }
                refName = "FP32 GPU";
            }
            double lseErr = 0;
            for (int i = 0; i < lse.length; i++) {
                double err = Math.abs(lse[i] - refLse[i]);
                lseErr = Double.isNaN(err) ? Double.NaN : Math.max(lseErr, err);
                if (Double.isNaN(lseErr)) break;
            }
            return new Result(ErrorStats.of(o, ref), lseErr, refName);
        }
    }

    private static double[] toDouble(float[] f) {
        double[] d = new double[f.length];
        for (int i = 0; i < f.length; i++) d[i] = f[i];
        return d;
    }
}
