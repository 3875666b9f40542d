package io.sageptx.reference;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.DynamicTest.dynamicTest;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

import io.sageptx.cuda.CudaStream;
import io.sageptx.cuda.DeviceBuffer;
import io.sageptx.cuda.DeviceContext;
import io.sageptx.numerics.AttentionReference;
import io.sageptx.numerics.ErrorStats;
import io.sageptx.numerics.Half;
import io.sageptx.kernels.reference.ReferenceSpec;
import io.sageptx.spec.Arch;
import io.sageptx.spec.DType;
import io.sageptx.testing.GpuTest;

/** SagePTX's FP32 GPU reference attention against the FP64 CPU reference, on small ragged shapes. */
@GpuTest
class GpuReferenceAttentionTest {

    /** A NaN bit pattern the kernel never writes: every element must be overwritten. */
    private static final int POISON = 0x7FFFFFFF;
    private static final double MAX_REL_L1 = 1e-4;
    private static final double MAX_LSE_ERR = 1e-3;

    private static DeviceContext ctx;
    private static CudaStream stream;
    private static Arch arch;

    record Case(int batch, int heads, int kvHeads, int lq, int lk, int d, boolean causal, DType type) {
        @Override
        public String toString() {
            return "B=" + batch + " H=" + heads + " Hkv=" + kvHeads + " Lq=" + lq + " Lk=" + lk + " D=" + d
                    + (causal ? " causal" : "") + " " + type.shortName();
        }
    }

    @BeforeAll
    static void setUp() {
        ctx = DeviceContext.of(0);
        stream = CudaStream.create(ctx);
        arch = Arch.forDevice(ctx.computeCapabilityMajor(), ctx.computeCapabilityMinor());
        System.out.println("GPU reference on " + ctx + " (" + arch.target() + "); "
                + GpuReferenceAttention.cublasStatus());
    }

    @AfterAll
    static void tearDown() {
        if (stream != null) stream.close();
    }

    static List<Case> cases() {
        int[] lens = {1, 17, 100, 300};
        List<Case> out = new ArrayList<>();
        int n = 0;
        for (DType t : DType.values()) {
            for (int d : new int[] {64, 128}) {
                for (int lq : lens) {
                    for (int lk : lens) {
                        int batch = 1 + n % 2;
                        int kvHeads = n % 3 == 0 ? 1 : 2;
                        out.add(new Case(batch, 2, kvHeads, lq, lk, d, false, t));
                        if (lq == lk) out.add(new Case(batch, 2, kvHeads, lq, lk, d, true, t));
                        n++;
                    }
                }
            }
        }
        // head dims that are not multiples of 32 (predicated last slot), the largest one, and GQA 4:1
        for (DType t : DType.values()) {
            out.add(new Case(1, 2, 1, 37, 53, 40, false, t));
            out.add(new Case(2, 2, 2, 65, 65, 200, true, t));
            out.add(new Case(1, 2, 2, 19, 300, 256, false, t));
            out.add(new Case(1, 4, 1, 33, 33, 8, true, t));
            out.add(new Case(1, 8, 2, 100, 77, 96, false, t));
        }
        return out;
    }

    @TestFactory
    List<DynamicTest> matchesFp64CpuReference() {
        List<DynamicTest> tests = new ArrayList<>();
        for (Case c : cases()) tests.add(dynamicTest(c.toString(), () -> check(c)));
        return tests;
    }

    private static void check(Case c) {
        Random rnd = new Random(31L * c.hashCode() + 7);
        int qn = c.batch * c.heads * c.lq * c.d;
        int kn = c.batch * c.kvHeads * c.lk * c.d;
        int rows = c.batch * c.heads * c.lq;
        short[] q16 = Half.encode(gaussian(rnd, qn, 1.5f), c.type);
        short[] k16 = Half.encode(gaussian(rnd, kn, 1.5f), c.type);
        short[] v16 = Half.encode(gaussian(rnd, kn, 1.0f), c.type);
        float scale = (float) AttentionReference.defaultScale(c.d);

        AttentionReference.Result ref = AttentionReference.compute(Half.decode(q16, c.type), Half.decode(k16, c.type),
                Half.decode(v16, c.type), c.batch, c.heads, c.kvHeads, c.lq, c.lk, c.d, scale, c.causal);

        float[] o = new float[qn];
        float[] lse = new float[rows];
        float[] oNoLse = new float[qn];
        try (DeviceBuffer dq = DeviceBuffer.allocate(ctx, 2L * qn);
             DeviceBuffer dk = DeviceBuffer.allocate(ctx, 2L * kn);
             DeviceBuffer dv = DeviceBuffer.allocate(ctx, 2L * kn);
             DeviceBuffer dO = DeviceBuffer.allocate(ctx, 4L * qn);
             DeviceBuffer dL = DeviceBuffer.allocate(ctx, 4L * rows)) {
            dq.copyFrom(q16);
            dk.copyFrom(k16);
            dv.copyFrom(v16);
            dO.fill32(POISON);
            dL.fill32(POISON);
            ReferenceSpec spec = new ReferenceSpec(c.d, c.causal, c.type, arch);
            GpuReferenceAttention.run(ctx, stream, spec, dq.address(), dk.address(), dv.address(), dO.address(),
                    dL.address(), c.batch, c.heads, c.kvHeads, c.lq, c.lk, scale);
            stream.synchronize();
            dO.copyTo(o);
            dL.copyTo(lse);

            // without an LSE buffer: the same O
            dO.fill32(POISON);
            GpuReferenceAttention.run(ctx, stream, spec, dq.address(), dk.address(), dv.address(), dO.address(), 0L,
                    c.batch, c.heads, c.kvHeads, c.lq, c.lk, scale);
            stream.synchronize();
            dO.copyTo(oNoLse);
        }

        for (int i = 0; i < qn; i++) {
            int idx = i;
            assertTrue(Float.floatToRawIntBits(o[i]) != POISON, () -> c + ": O[" + idx + "] not written");
            assertTrue(Float.isFinite(o[i]), () -> c + ": O[" + idx + "] = " + o[idx]);
        }
        for (int i = 0; i < rows; i++) {
            int idx = i;
            assertTrue(Float.floatToRawIntBits(lse[i]) != POISON, () -> c + ": LSE[" + idx + "] not written");
        }
        ErrorStats err = ErrorStats.of(o, ref.o());
        assertTrue(err.nonFinite() == 0 && err.relL1() < MAX_REL_L1, () -> c + ": O vs FP64: " + err);
        double lseErr = 0;
        for (int i = 0; i < rows; i++) lseErr = Math.max(lseErr, Math.abs(lse[i] - ref.lse()[i]));
        double worst = lseErr;
        assertTrue(worst < MAX_LSE_ERR, () -> c + ": LSE max abs error " + worst);
        assertArrayEquals(o, oNoLse, c + ": O differs when no LSE is written");
    }

    @Test
    void writesNothingOutsideTheOutputs() {
        // O and LSE of one row sit between guard words; the kernel must not touch them
        int d = 40;
        int lk = 9;
        DType t = DType.FP16;
        Random rnd = new Random(5);
        short[] q16 = Half.encode(gaussian(rnd, d, 1f), t);
        short[] kv16 = Half.encode(gaussian(rnd, lk * d, 1f), t);
        int guard = 64;
        try (DeviceBuffer dq = DeviceBuffer.allocate(ctx, 2L * d);
             DeviceBuffer dk = DeviceBuffer.allocate(ctx, 2L * lk * d);
             DeviceBuffer dO = DeviceBuffer.allocate(ctx, 4L * (d + 2 * guard));
             DeviceBuffer dL = DeviceBuffer.allocate(ctx, 4L * (1 + 2 * guard))) {
            dq.copyFrom(q16);
            dk.copyFrom(kv16);
            dO.fill32(POISON);
            dL.fill32(POISON);
            GpuReferenceAttention.run(ctx, stream, new ReferenceSpec(d, false, t, arch), dq.address(), dk.address(),
                    dk.address(), dO.address() + 4L * guard, dL.address() + 4L * guard, 1, 1, 1, 1, lk, 0.125f);
            stream.synchronize();
            float[] o = new float[d + 2 * guard];
            float[] l = new float[1 + 2 * guard];
            dO.copyTo(o);
            dL.copyTo(l);
            for (int i = 0; i < o.length; i++) {
                boolean inside = i >= guard && i < guard + d;
                assertEquals(inside, Float.floatToRawIntBits(o[i]) != POISON, "O word " + i);
            }
            for (int i = 0; i < l.length; i++) {
                assertEquals(i == guard, Float.floatToRawIntBits(l[i]) != POISON, "LSE word " + i);
            }
        }
    }

    @Test
    void rejectsBadArguments() {
        ReferenceSpec spec = new ReferenceSpec(64, false, DType.FP16, arch);
        long a = 0x1000;
        assertThrows(IllegalArgumentException.class,
                () -> GpuReferenceAttention.run(ctx, stream, spec, 0, a, a, a, 0, 1, 2, 1, 4, 4, 0.1f));
        assertThrows(IllegalArgumentException.class,
                () -> GpuReferenceAttention.run(ctx, stream, spec, a, a, a, a, 0, 1, 3, 2, 4, 4, 0.1f));
        assertThrows(IllegalArgumentException.class,
                () -> GpuReferenceAttention.run(ctx, stream, spec, a, a, a, a, 0, 1, 2, 1, 0, 4, 0.1f));
        assertThrows(IllegalArgumentException.class,
                () -> GpuReferenceAttention.run(ctx, stream, spec, a, a, a, a, 0, 1, 2, 1, 4, 0, 0.1f));
        assertThrows(IllegalArgumentException.class,
                () -> GpuReferenceAttention.run(ctx, stream, spec, a, a, a, a, 0, 0, 2, 1, 4, 4, 0.1f));
        assertThrows(IllegalArgumentException.class,
                () -> GpuReferenceAttention.run(ctx, stream, spec, a, a, a, a, 0, 1, 2, 1, 4, 4, Float.NaN));
        assertThrows(NullPointerException.class,
                () -> GpuReferenceAttention.run(ctx, stream, null, a, a, a, a, 0, 1, 2, 1, 4, 4, 0.1f));
    }

    private static float[] gaussian(Random rnd, int n, float sigma) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) x[i] = (float) (rnd.nextGaussian() * sigma);
        return x;
    }
}
