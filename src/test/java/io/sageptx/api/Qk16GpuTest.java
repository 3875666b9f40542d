package io.sageptx.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.stream.Stream;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import io.sageptx.call.AttentionArgs;
import io.sageptx.call.CausalMode;
import io.sageptx.kernels.AttentionFamilies;
import io.sageptx.numerics.ErrorStats;
import io.sageptx.spec.Arch;
import io.sageptx.spec.DType;
import io.sageptx.spec.KernelSpec;
import io.sageptx.spec.MmaKind;
import io.sageptx.spec.QkPrecision;
import io.sageptx.spec.Sync16Tiles;
import io.sageptx.testing.GpuTest;

/**
 * The opt-in 16-bit QK precision ({@code AttentionArgs.qkPrecision(QkPrecision.FP16)}: the wgmma kernel with
 * 16-bit QK and P V, FP32 accumulators, reading the caller's tensors) on sm_90 (skipped elsewhere), against
 * the FP64 CPU reference (small shapes) or the FP32 GPU reference, with every output poisoned first:
 * <ul>
 * <li>the accuracy grid of the wgmma kernel (WgmmaGpuTest's shapes: D 64 and 128 at lengths 1..4096, causal,
 * ragged Lq != Lk, GQA, bf16 and mixed dtypes, every other head dim) for each of the tuner's 16-bit QK specs
 * (128/8 and 64/4 with 64-key blocks, 128/8 with 32-key blocks): cosine >= 0.9995, rel-L1 <= 0.015, LSE error
 * <= 0.02;</li>
 * <li>the layouts and modes of SageAttentionModesGpuTest (BLHD, strided views of a fused QKV, GQA / MQA,
 * bottom-right causal with rows that see no key, varlen batches): the kernel reads the caller's strides;</li>
 * <li>its speed against the default spec of the same call (reported, D 64 / 128, N 4k / 16k).</li>
 * </ul>
 * The same grid, layouts and speed for the mma.sync 16-bit QK kernel ({@code mmaSync*} methods: the kernel of sm_80,
 * sm_89 and sm_120, which runs on sm_90 too), for each of its tiles (128/8 with 64- and 32-key blocks, 64/4 with
 * 64- and 32-key blocks: the tiles the 99 KB parts choose at large head dims), head dims up to 208.
 * The input families (outliers, magnitudes, V offsets) are in InputFamiliesGpuTest. Tagged for memcheck.
 */
@GpuTest
@Tag("sanitize-memcheck")
class Qk16GpuTest {

    private static final List<String> TABLE = new ArrayList<>();
    private static final List<String> MODES = new ArrayList<>();
    private static final List<String> SPEED = new ArrayList<>();
    private static SageAttention attention;

    @BeforeAll
    static void open() {
        attention = SageAttention.onDevice(0);
    }

    @AfterAll
    static void close() {
        if (attention != null) attention.close();
        System.out.println("| qk=fp16 spec | D | causal | in/out | heads/kv | Lq | Lk | reference | cosine | rel L1 | LSE max err |");
        System.out.println("|---|---|---|---|---|---|---|---|---|---|---|");
        TABLE.forEach(System.out::println);
        System.out.println("| mode | D | Hq/Hkv | memory | causal | in/out | pv | Lq | Lk | cosine | rel L1 | max abs | LSE max err |");
        System.out.println("|---|---|---|---|---|---|---|---|---|---|---|---|---|");
        MODES.forEach(System.out::println);
        System.out.println("| D | causal | N | default spec | default ms | qk=fp16 ms | qk=fp16 / default | qk=fp16 TFLOP/s |");
        System.out.println("|---|---|---|---|---|---|---|---|");
        SPEED.forEach(System.out::println);
    }

    static boolean hopper() {
        return attention.arch() == Arch.SM90;
    }

    /** The tuner's 16-bit QK specs of a shape: the preferred one (128/8, 64 keys), 64/4, and 32-key blocks. */
    static List<KernelSpec> specs(int d, boolean causal, DType in, DType out) {
        return AttentionFamilies.candidates(Arch.SM90, d, causal, in, out, QkPrecision.FP16);
    }

    /**
     * The mma.sync 16-bit QK specs of a shape on sm_90: every tile of {@link Sync16Tiles#ORDER} that fits (the
     * planner's depth), whatever the arch would prefer, so that the tiles of sm_89 and sm_120 run here too.
     */
    static List<KernelSpec> syncSpecs(int d, boolean causal, DType in, DType out) {
        List<KernelSpec> list = new ArrayList<>();
        KernelSpec base = syncSpec(d, causal, in, out);
        for (int[] t : Sync16Tiles.ORDER) {
            if (Sync16Tiles.fits(Arch.SM90, d, t[0], t[2])) list.add(base.toBuilder().tiles(t[0], t[1]).blockK(t[2]).build());
        }
        return list;
    }

    /** The mma.sync 16-bit QK family's preferred spec on sm_90. */
    static KernelSpec syncSpec(int d, boolean causal, DType in, DType out) {
        return AttentionFamilies.of(MmaKind.SYNC).preferred(Arch.SM90, d, causal, in, out, null, QkPrecision.FP16).orElseThrow();
    }

    static Stream<Arguments> syncGrid() {
        // other head dims (96: 12 chunks a row, not a power of two; 208: the largest), ragged, GQA
        return grid(4, d -> d <= Sync16Tiles.MAX_HEAD_DIM);
    }

    /** The mma.sync 16-bit QK kernel on sm_90, each tile: the bars of the wgmma kernel's grid. */
    @ParameterizedTest(name = "mma.sync spec {0} D={1} causal={2} {3}->{4} H={5}/{6} Lq={7} Lk={8}")
    @MethodSource("syncGrid")
    void mmaSyncMatchesReference(int variant, int d, boolean causal, DType in, DType out, int heads, int kvHeads, int lq, int lk) {
        assumeTrue(hopper(), "run on the H200 (the mma.sync kernel runs on every arch; this test's specs are sm_90's)");
        List<KernelSpec> specs = syncSpecs(d, causal, in, out);
        assumeTrue(variant < specs.size(), "tile " + variant + " does not fit at D = " + d);
        KernelSpec spec = specs.get(variant);
        assertEquals(MmaKind.SYNC, spec.mma());
        AttentionInputs x = new AttentionInputs(97L * lq + lk + d + 13L * variant + heads, 2, heads, kvHeads, lq, lk, d, in);
        AccuracyProbe.Result r = AccuracyProbe.run(attention, x, out, causal, b -> b.spec(spec));
        ErrorStats e = r.error();
        synchronized (TABLE) {
            TABLE.add(String.format(Locale.ROOT, "| %s | %d | %s | %s/%s | %d/%d | %d | %d | %s | %.6f | %.5f | %.4f |", spec, d,
                    causal, in.shortName(), out.shortName(), heads, kvHeads, lq, lk, r.reference(), e.cosine(), e.relL1(),
                    r.lseMaxErr()));
        }
        assertEquals(0, e.nonFinite(), "NaN/Inf or unwritten outputs: " + e);
        assertTrue(e.cosine() >= 0.9995, "cosine " + e);
        assertTrue(e.relL1() <= 0.015, "relative L1 " + e);
        assertTrue(r.lseMaxErr() <= 0.02, "LSE max abs error " + r.lseMaxErr());
    }

    /** The issue-5 layouts through the mma.sync 16-bit QK kernel (the call's spec replaced by the family's). */
    @ParameterizedTest(name = "mma.sync {0} D={1} H={2}/{3} {4} {5} {6} Lq={7} Lk={8}")
    @MethodSource("modes")
    void mmaSyncLayoutsStridesVarlenAndCausalModes(String mode, int d, int hq, int hkv, SageAttentionModesGpuTest.Memory mem,
                                                  CausalMode causal, DType t, int[] lqs, int[] lks) {
        assumeTrue(hopper(), "run on the H200");
        assumeTrue(d <= Sync16Tiles.MAX_HEAD_DIM, "the mma.sync 16-bit QK kernel goes up to D = " + Sync16Tiles.MAX_HEAD_DIM);
        SageAttentionModesGpuTest.check(attention, MODES, "mma.sync " + mode, d, hq, hkv, mem, causal, t, lqs, lks, null,
                QkPrecision.FP16, s -> syncSpec(s.headDim(), s.causal(), s.inType(), s.outType()));
    }

    static Stream<Arguments> grid() {
        // every other head dim: the multi-column tiles (128/64/32-byte swizzle, V in runs of columns), ragged
        return grid(3, d -> true);
    }

    /**
     * Spec variants 0..variants-1 x D 64/128 (lengths 1..4096, ragged, causal, GQA, bf16, mixed dtypes) and every other
     * head dim {@code otherDims} accepts (ragged, causal, GQA); under the sanitizer only what the CPU reference affords.
     */
    static Stream<Arguments> grid(int variants, java.util.function.IntPredicate otherDims) {
        List<Arguments> out = new ArrayList<>();
        for (int variant = 0; variant < variants; variant++) {
            for (int d : new int[] {64, 128}) {
                for (boolean causal : new boolean[] {false, true}) {
                    for (int n : new int[] {1, 17, 64, 1000, 4096}) out.add(Arguments.of(variant, d, causal, DType.FP16, DType.FP16, 2, 2, n, n));
                    out.add(Arguments.of(variant, d, causal, DType.BF16, DType.BF16, 2, 2, 777, 777));
                    out.add(Arguments.of(variant, d, causal, DType.FP16, DType.FP16, 8, 2, 300, 300));
                }
                out.add(Arguments.of(variant, d, false, DType.FP16, DType.FP16, 2, 2, 17, 300));
                out.add(Arguments.of(variant, d, false, DType.FP16, DType.FP16, 2, 2, 1000, 77));
                out.add(Arguments.of(variant, d, false, DType.BF16, DType.FP16, 2, 2, 2500, 4099));
            }
            for (int d : io.sageptx.spec.KernelSpec.HEAD_DIMS) {
                if (d == 64 || d == 128 || !otherDims.test(d)) continue;
                out.add(Arguments.of(variant, d, false, DType.FP16, DType.FP16, 2, 2, 333, 333));
                out.add(Arguments.of(variant, d, true, DType.BF16, DType.BF16, 4, 2, 333, 333));
                out.add(Arguments.of(variant, d, false, DType.FP16, DType.FP16, 2, 1, 100, 300));
            }
        }
        boolean sanitizer = !System.getProperty("sageptx.grid", "").isEmpty();
        return out.stream().filter(a -> !sanitizer || (int) a.get()[7] * (long) (int) a.get()[8] <= AccuracyProbe.CPU_REFERENCE_LIMIT);
    }

    @ParameterizedTest(name = "spec {0} D={1} causal={2} {3}->{4} H={5}/{6} Lq={7} Lk={8}")
    @MethodSource("grid")
    void matchesReference(int variant, int d, boolean causal, DType in, DType out, int heads, int kvHeads, int lq, int lk) {
        assumeTrue(hopper(), "the 16-bit QK kernel is the wgmma family's: sm_90 only");
        KernelSpec spec = specs(d, causal, in, out).get(variant);
        AttentionInputs x = new AttentionInputs(97L * lq + lk + d + 13L * variant + heads, 2, heads, kvHeads, lq, lk, d, in);
        AccuracyProbe.Result r = AccuracyProbe.run(attention, x, out, causal, b -> b.spec(spec));
        ErrorStats e = r.error();
        synchronized (TABLE) {
            TABLE.add(String.format(Locale.ROOT, "| %s | %d | %s | %s/%s | %d/%d | %d | %d | %s | %.6f | %.5f | %.4f |", spec, d,
                    causal, in.shortName(), out.shortName(), heads, kvHeads, lq, lk, r.reference(), e.cosine(), e.relL1(),
                    r.lseMaxErr()));
        }
        assertEquals(0, e.nonFinite(), "NaN/Inf or unwritten outputs: " + e);
        assertTrue(e.cosine() >= 0.9995, "cosine " + e);
        assertTrue(e.relL1() <= 0.015, "relative L1 " + e);
        assertTrue(r.lseMaxErr() <= 0.02, "LSE max abs error " + r.lseMaxErr());
    }

    /** The asked-for precision through the public arguments: a plain call with qkPrecision(FP16) runs it. */
    @Test
    void aCallThatAsksForTheModeRunsIt() {
        assumeTrue(hopper(), "sm_90 only");
        AttentionInputs x = new AttentionInputs(5, 1, 4, 2, 500, 700, 128, DType.BF16);
        AccuracyProbe.Result r = AccuracyProbe.run(attention, x, DType.BF16, false, b -> b.qkPrecision(QkPrecision.FP16));
        assertTrue(r.error().cosine() >= 0.9995 && r.error().relL1() <= 0.015, r.error().toString());
        AttentionArgs a = AttentionArgs.builder().q(16).k(16).v(16).o(16).heads(4).kvHeads(2).lq(500).lk(700).headDim(128)
                .dtype(DType.BF16).qkPrecision(QkPrecision.FP16).build();
        assertEquals(QkPrecision.FP16, attention.specFor(a).qk());
        assertEquals(QkPrecision.INT8, attention.specFor(AttentionArgs.builder().q(16).k(16).v(16).o(16).heads(4).kvHeads(2)
                .lq(500).lk(700).headDim(128).dtype(DType.BF16).build()).qk(), "never chosen unless asked for");
    }

    static Stream<Arguments> modes() {
        return SageAttentionModesGpuTest.baseCases().stream();
    }

    @ParameterizedTest(name = "{0} D={1} H={2}/{3} {4} {5} {6} Lq={7} Lk={8}")
    @MethodSource("modes")
    void layoutsStridesVarlenAndCausalModes(String mode, int d, int hq, int hkv, SageAttentionModesGpuTest.Memory mem,
                                           CausalMode causal, DType t, int[] lqs, int[] lks) {
        assumeTrue(hopper(), "sm_90 only");
        SageAttentionModesGpuTest.check(attention, MODES, mode, d, hq, hkv, mem, causal, t, lqs, lks, null, QkPrecision.FP16);
    }

    static Stream<Arguments> speedShapes() {
        List<Arguments> out = new ArrayList<>();
        for (int d : new int[] {64, 128}) {
            for (int n : new int[] {4096, 16384}) {
                for (boolean causal : new boolean[] {false, true}) out.add(Arguments.of(d, n, causal));
            }
        }
        return out.stream();
    }

    /**
     * The mode's cost: the whole call (preprocessing included for the default) of B=4, H=32, Lq = Lk = N, bf16,
     * median of 10 timed calls after 3 warm-ups, default spec then the mode on the same buffers. Reported in the
     * table printed after the class, not asserted (no timed assertions in tests).
     */
    @ParameterizedTest(name = "speed D={0} N={1} causal={2}")
    @MethodSource("speedShapes")
    void speedAgainstTheDefault(int d, int n, boolean causal) {
        assumeTrue(hopper(), "sm_90 only");
        assumeTrue(System.getProperty("sageptx.grid", "").isEmpty(), "not under the sanitizer");
        try (CallTimer t = new CallTimer(attention, 4, 32, n, d, DType.BF16, causal)) {
            AttentionArgs def = t.call().build();
            AttentionArgs q16 = t.call().qkPrecision(QkPrecision.FP16).build();
            double msDefault = CallTimer.median(t.times(def, 3, 10));
            double ms16 = CallTimer.median(t.times(q16, 3, 10));
            synchronized (SPEED) {
                SPEED.add(String.format(Locale.ROOT, "| %d | %s | %d | %s | %.3f | %.3f | %.2f | %.0f |", d, causal, n,
                        attention.specFor(def), msDefault, ms16, ms16 / msDefault, t.flop() / (ms16 * 1e-3) / 1e12));
            }
            // the speed is reported (the table printed after the class), not asserted: no timed assertions in tests
        }
    }

    /**
     * The mma.sync 16-bit QK kernel's speed on sm_90, each of its tiles, against the default spec (INT8) of the same
     * call: printed in the speed table (spec column: the mma.sync spec), never asserted.
     */
    @ParameterizedTest(name = "mma.sync speed D={0} N={1} causal={2}")
    @MethodSource("speedShapes")
    void mmaSyncSpeedAgainstTheDefault(int d, int n, boolean causal) {
        assumeTrue(hopper(), "run on the H200");
        assumeTrue(System.getProperty("sageptx.grid", "").isEmpty(), "not under the sanitizer");
        try (CallTimer t = new CallTimer(attention, 4, 32, n, d, DType.BF16, causal)) {
            AttentionArgs def = t.call().build();
            double msDefault = CallTimer.median(t.times(def, 3, 10));
            for (KernelSpec spec : syncSpecs(d, causal, DType.BF16, DType.BF16)) {
                double ms16 = CallTimer.median(t.times(t.call().spec(spec).build(), 3, 10));
                synchronized (SPEED) {
                    SPEED.add(String.format(Locale.ROOT, "| %d | %s | %d | %s vs %s | %.3f | %.3f | %.2f | %.0f |", d, causal, n,
                            spec, attention.specFor(def), msDefault, ms16, ms16 / msDefault, t.flop() / (ms16 * 1e-3) / 1e12));
                }
            }
        }
    }
}
