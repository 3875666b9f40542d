package io.sageptx.numerics;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;

import org.junit.jupiter.api.Test;

import io.sageptx.numerics.QuantizedAttentionModel.Accumulation;
import io.sageptx.spec.Arch;
import io.sageptx.spec.DType;
import io.sageptx.spec.KernelSpec;
import io.sageptx.spec.MmaKind;
import io.sageptx.spec.PvVariant;

/**
 * Issue 11 on the CPU: with Hopper's reduced-precision FP8 accumulation (13 fraction bits kept below the
 * largest addend), keeping the running output in the tensor-core accumulator across all key blocks biases
 * the output when V has a large mean (every product has the same sign and is truncated toward zero against
 * a growing accumulator). Each of the two fixes removes it alone: restarting the accumulator every block
 * (two-level FP32), and quantizing V around its channel means (the accumulators then carry a zero-mean V);
 * the kernels do both. Zero-mean V shows no bias either way.
 */
class AccumulationOrderModelTest {

    static final int LQ = 32;
    static final int LK = 8192;
    static final int D = 64;

    record Case(float[] q, float[] k, float[] v, AttentionReference.Result ref) {
    }

    static Case problem(double vOffset, long seed) {
        Random r = new Random(seed);
        float[] q = new float[LQ * D];
        float[] k = new float[LK * D];
        float[] v = new float[LK * D];
        for (int i = 0; i < q.length; i++) q[i] = Half.round((float) r.nextGaussian(), DType.FP16);
        for (int i = 0; i < k.length; i++) k[i] = Half.round((float) r.nextGaussian(), DType.FP16);
        for (int i = 0; i < v.length; i++) v[i] = Half.round((float) (r.nextGaussian() + vOffset), DType.FP16);
        double scale = 1 / Math.sqrt(D);
        return new Case(q, k, v, AttentionReference.compute(q, k, v, 1, 1, 1, LQ, LK, D, scale, false));
    }

    static double relL1(Case c, Accumulation acc) {
        KernelSpec spec = KernelSpec.defaults(Arch.SM90, D, false, DType.FP16, DType.FP16).toBuilder()
                .pv(PvVariant.FP8_F32ACC).mma(MmaKind.WGMMA).build();
        QuantizedAttentionModel.Result m = QuantizedAttentionModel.run(spec, c.q(), c.k(), c.v(), 1, 1, 1, LQ, LK,
                1 / Math.sqrt(D), acc);
        return ErrorStats.of(m.o(), c.ref().o()).relL1();
    }

    @Test
    void longLivedReducedPrecisionAccumulatorBiasesOffsetVAndTwoLevelDoesNot() {
        int bits = Accumulation.HOPPER_FP8_BITS;
        Case offset = problem(10, 11);
        double oldOrder = relL1(offset, new Accumulation(true, bits, false));
        double twoLevel = relL1(offset, new Accumulation(false, bits, false));
        double smoothed = relL1(offset, new Accumulation(true, bits, true));
        double both = relL1(offset, new Accumulation(false, bits, true));
        double exact = relL1(offset, new Accumulation(false, 0, false));
        System.out.printf("V = N(0,1) + 10, Lk = %d: rel-L1 long-lived %.5f, two-level %.5f, V smoothed %.5f, both %.5f,"
                + " exact k-steps (no smoothing) %.5f%n", LK, oldOrder, twoLevel, smoothed, both, exact);
        assertTrue(oldOrder > 0.01, "the old order is biased: " + oldOrder);
        assertTrue(twoLevel < 0.003, "two-level is not: " + twoLevel);
        assertTrue(twoLevel < 1.5 * exact + 2e-4, "two-level is as good as exact k-step sums: " + twoLevel + " vs " + exact);
        assertTrue(smoothed < 0.003, "V around its means is not either: " + smoothed);
        assertTrue(both <= twoLevel, "both together: " + both);

        Case zeroMean = problem(0, 12);
        double z1 = relL1(zeroMean, new Accumulation(true, bits, true));
        double z2 = relL1(zeroMean, new Accumulation(false, bits, true));
        System.out.printf("V = N(0,1): rel-L1 long-lived %.5f, two-level %.5f%n", z1, z2);
        assertTrue(Math.abs(z1 - z2) < 0.2 * z2, "zero-mean V: no bias either way (" + z1 + " vs " + z2 + ")");
    }
}
