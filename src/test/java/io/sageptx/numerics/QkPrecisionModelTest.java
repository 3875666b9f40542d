package io.sageptx.numerics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Locale;
import java.util.function.UnaryOperator;
import java.util.stream.Stream;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import io.sageptx.kernels.AttentionFamilies;
import io.sageptx.spec.Arch;
import io.sageptx.spec.DType;
import io.sageptx.spec.KernelSpec;
import io.sageptx.spec.PvVariant;
import io.sageptx.spec.QkPrecision;

/**
 * Issue 11's precision mode on the CPU: the kernels' arithmetic (QuantizedAttentionModel) on the input families
 * where INT8 QK fails (outlier channels of Q and K, large magnitudes). The 16-bit QK path (qk = fp16: 16-bit QK
 * and P V, FP32 accumulators, the wgmma kernel's spec) reaches the FP16-PV bars (cosine >= 0.9995, rel-L1 <= 0.015)
 * on every family, and its LSE is right without the K-smoothing term; the best INT8 variant (INT8 QK + FP16 PV)
 * does not reach them on the hard families. Ordinary and offset-V inputs stay within the bars too.
 */
class QkPrecisionModelTest {

    static final int LQ = 64;
    static final int LK = 2048;
    static final double MIN_COS = 0.9995;
    static final double MAX_REL_L1 = 0.015;

    record Family(String name, boolean hard, UnaryOperator<RandomInputs> make) {
        @Override
        public String toString() {
            return name;
        }
    }

    static List<Family> families() {
        return List.of(new Family("normal", false, x -> x),
                new Family("V+10", false, x -> InputFamilies.vOffset(x, 10)),
                new Family("outliers QK 4ch x30", true, x -> InputFamilies.outlierChannels(x, 4, 30, true, true, 7)),
                new Family("outliers K 2ch x50", true, x -> InputFamilies.outlierChannels(x, 2, 50, false, true, 8)),
                new Family("magnitude QK x30", true, x -> InputFamilies.largeMagnitude(x, 30)));
    }

    static Stream<Arguments> cases() {
        Stream.Builder<Arguments> b = Stream.builder();
        for (Object[] shape : new Object[][] {{DType.BF16, 64, 2}, {DType.BF16, 128, 1}, {DType.FP16, 64, 2}}) {
            for (Family f : families()) b.add(Arguments.of(f, shape[0], shape[1], shape[2]));
        }
        return b.build();
    }

    record Run(ErrorStats error, double lseErr) {
        @Override
        public String toString() {
            return String.format(Locale.ROOT, "cos %.6f rel-L1 %.5f LSE err %.4f", error.cosine(), error.relL1(), lseErr);
        }
    }

    static Run run(KernelSpec spec, RandomInputs x, AttentionReference.Result ref, double scale) {
        QuantizedAttentionModel.Result r = QuantizedAttentionModel.run(spec, x.q(), x.k(), x.v(), x.batch(), x.heads(),
                x.kvHeads(), x.lq(), x.lk(), scale);
        double lse = 0;
        for (int i = 0; i < r.lse().length; i++) lse = Math.max(lse, Math.abs(r.lse()[i] - ref.lse()[i]));
        return new Run(ErrorStats.of(r.o(), ref.o()), lse);
    }

    @ParameterizedTest(name = "{0} {1} D={2}")
    @MethodSource("cases")
    void fp16QkReachesTheBarsWhereInt8QkDoesNot(Family family, DType type, int d, int heads) {
        RandomInputs x = family.make().apply(RandomInputs.generate(1000L + d, 1, heads, heads, LQ, LK, d, type));
        double scale = 1 / Math.sqrt(d);
        AttentionReference.Result ref = x.reference(scale, false);
        KernelSpec q16 = AttentionFamilies.preferred(Arch.SM90, d, false, type, type, null, QkPrecision.FP16);
        KernelSpec int8 = KernelSpec.defaults(Arch.SM90, d, false, type, type).toBuilder().pv(PvVariant.FP16).build();
        assertEquals(QkPrecision.FP16, q16.qk());
        Run precise = run(q16, x, ref, scale);
        Run quantized = run(int8, x, ref, scale);
        System.out.printf(Locale.ROOT, "[qk model] %-20s %s D=%d  qk=fp16: %s  |  qk=int8 pv=fp16: %s%n", family, type.shortName(),
                d, precise, quantized);
        assertEquals(0, precise.error().nonFinite());
        assertTrue(precise.error().cosine() >= MIN_COS, "16-bit QK cosine: " + precise);
        assertTrue(precise.error().relL1() <= MAX_REL_L1, "16-bit QK rel-L1: " + precise);
        assertTrue(precise.lseErr() <= 0.01, "16-bit QK LSE (no K smoothing, no q . kmean term): " + precise);
        if (family.hard()) {
            assertTrue(quantized.error().cosine() < MIN_COS || quantized.error().relL1() > MAX_REL_L1,
                    "INT8 QK was expected to miss the bars on " + family + ": " + quantized);
        }
    }

    @ParameterizedTest(name = "causal {0}")
    @MethodSource("dtypes")
    void fp16QkCausalMatchesTheReference(DType type) {
        RandomInputs x = RandomInputs.generate(77, 1, 2, 1, 300, 300, 96, type);
        double scale = 1 / Math.sqrt(96);
        AttentionReference.Result ref = x.reference(scale, true);
        Run r = run(AttentionFamilies.preferred(Arch.SM90, 96, true, type, type, null, QkPrecision.FP16), x, ref, scale);
        assertTrue(r.error().cosine() >= 0.99999 && r.error().relL1() <= 0.004 && r.lseErr() <= 1e-3, r.toString());
    }

    static Stream<DType> dtypes() {
        return Stream.of(DType.values());
    }
}
