package io.sageptx.numerics;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Locale;

import org.junit.jupiter.api.Test;

import io.sageptx.kernels.AttentionFamilies;
import io.sageptx.spec.Arch;
import io.sageptx.spec.DType;
import io.sageptx.spec.KernelSpec;
import io.sageptx.spec.QkPrecision;
import io.sageptx.spec.QuantGranularity;

/**
 * qk=auto's indicator on the CPU: Gaussian inputs (every head dim, short and long sequences, V offsets) stay well
 * below the threshold, so auto runs them as the default does; the outlier and magnitude families are far above
 * it, so auto runs them with 16-bit QK and reaches the FP16-PV bars; a call with both kinds of heads gets a
 * decision per head.
 */
class QkIndicatorTest {

    static KernelSpec auto(int d, DType t) {
        return AttentionFamilies.preferred(Arch.SM90, d, false, t, t, null, QkPrecision.AUTO);
    }

    static double maxError(KernelSpec spec, RandomInputs x) {
        double[] e = QkIndicator.logitErrors(spec, x.q(), x.k(), x.batch(), x.heads(), x.kvHeads(), x.lq(), x.lk(),
                1 / Math.sqrt(x.d()));
        double m = 0;
        for (double v : e) m = Math.max(m, v);
        return m;
    }

    static double minError(KernelSpec spec, RandomInputs x) {
        double[] e = QkIndicator.logitErrors(spec, x.q(), x.k(), x.batch(), x.heads(), x.kvHeads(), x.lq(), x.lk(),
                1 / Math.sqrt(x.d()));
        double m = Double.MAX_VALUE;
        for (double v : e) m = Math.min(m, v);
        return m;
    }

    @Test
    void ordinaryInputsStayWellBelowTheThreshold() {
        for (int d : io.sageptx.spec.KernelSpec.HEAD_DIMS) {
            for (int[] len : new int[][] {{1, 1}, {17, 300}, {256, 4096}}) {
                for (DType t : DType.values()) {
                    RandomInputs x = RandomInputs.generate(31L * d + len[1], 1, 2, 1, len[0], len[1], d, t);
                    for (RandomInputs y : new RandomInputs[] {x, InputFamilies.vOffset(x, 50), InputFamilies.vChannelOffset(x, 10, 3)}) {
                        double e = maxError(auto(d, t), y);
                        assertTrue(e < QkIndicator.THRESHOLD / 1.6, String.format(Locale.ROOT, "D=%d L=%d/%d %s: E=%.4f",
                                d, len[0], len[1], t.shortName(), e));
                    }
                }
            }
        }
        // coarser scale groups have larger steps but stay below too
        RandomInputs x = RandomInputs.generate(5, 1, 2, 2, 300, 2000, 128, DType.BF16);
        for (QuantGranularity g : QuantGranularity.values()) {
            double e = maxError(auto(128, DType.BF16).toBuilder().quant(g).build(), x);
            assertTrue(e < QkIndicator.THRESHOLD, g + ": E=" + e);
        }
    }

    @Test
    void theHardFamiliesAreFarAboveItAndAutoReachesTheFp16PvBarsThere() {
        for (int d : new int[] {64, 128}) {
            RandomInputs base = RandomInputs.generate(1000L + d, 1, 1, 1, 64, 2048, d, DType.BF16);
            RandomInputs[] hard = {InputFamilies.outlierChannels(base, 4, 30, true, true, 7),
                    InputFamilies.outlierChannels(base, 2, 50, false, true, 8), InputFamilies.largeMagnitude(base, 30)};
            for (RandomInputs x : hard) {
                KernelSpec spec = auto(d, DType.BF16);
                double e = minError(spec, x);
                assertTrue(e > 5 * QkIndicator.THRESHOLD, "E=" + e);
                // what auto runs for that head: the 16-bit partner
                double scale = 1 / Math.sqrt(d);
                AttentionReference.Result ref = x.reference(scale, false);
                QuantizedAttentionModel.Result r = QuantizedAttentionModel.run(spec.autoPartner(), x.q(), x.k(), x.v(), 1, 1,
                        1, x.lq(), x.lk(), scale);
                ErrorStats st = ErrorStats.of(r.o(), ref.o());
                assertTrue(st.cosine() >= 0.9995 && st.relL1() <= 0.015, st.toString());
            }
        }
    }

    @Test
    void eachHeadIsDecidedOnItsOwn() {
        int d = 64;
        int lq = 32;
        int lk = 512;
        RandomInputs x = RandomInputs.generate(9, 2, 4, 2, lq, lk, d, DType.FP16);
        float[] q = x.q().clone();
        // batch 1, query head 1 (kv head 0): four Q channels x30 (a Q-only trouble makes only that query head's)
        int base = ((1 * 4) + 1) * lq * d;
        for (int i = 0; i < lq * d; i++) if (i % d < 4) q[base + i] *= 30;
        float[] k = x.k().clone();
        // batch 0, kv head 1 (query heads 2 and 3): two K channels x50
        int kb = (0 * 2 + 1) * lk * d;
        for (int i = 0; i < lk * d; i++) if (i % d == 5 || i % d == 9) k[kb + i] *= 50;
        RandomInputs y = InputFamilies.with(x, q, k, x.v());
        boolean[] got = QkIndicator.decisions(auto(d, DType.FP16), y.q(), y.k(), 2, 4, 2, lq, lk, 1 / Math.sqrt(d));
        assertArrayEquals(new boolean[] {false, false, true, true, false, true, false, false}, got);
    }
}
