package io.sageptx.api;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.function.UnaryOperator;
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
import io.sageptx.cuda.CudaStream;
import io.sageptx.cuda.DeviceBuffer;
import io.sageptx.cuda.DeviceContext;
import io.sageptx.numerics.ErrorStats;
import io.sageptx.numerics.Half;
import io.sageptx.numerics.InputFamilies;
import io.sageptx.numerics.QkIndicator;
import io.sageptx.numerics.RandomInputs;
import io.sageptx.spec.Arch;
import io.sageptx.spec.DType;
import io.sageptx.spec.KernelSpec;
import io.sageptx.kernels.AttentionFamilies;
import io.sageptx.spec.PvVariant;
import io.sageptx.spec.MmaKind;
import io.sageptx.spec.QkPrecision;
import io.sageptx.testing.GpuTest;
import io.sageptx.testing.SystemProperties;

/**
 * qk=auto on sm_90 (skipped elsewhere): the decision per (batch, head) on the GPU, both kernels launched, each
 * skipping the other's heads. Ordinary inputs: every decision is INT8 and O and the LSE are bit for bit the
 * default call's (the same INT8 kernel, gated); the outlier and magnitude families: every decision is 16-bit QK, O
 * is bit for bit the qk=fp16 call's and within the FP16-PV bars; a call with both kinds of heads gets the CPU
 * indicator's decision per head and each head the output of its kernel; the issue-5 layouts and varlen run
 * through it; its cost on ordinary inputs against the default (reported; the bar is 3 %).
 */
@GpuTest
@Tag("sanitize-memcheck")
class QkAutoGpuTest {

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
        System.out.println("| qk=auto input | D | causal | decisions (16-bit heads / heads) | same bits as | cosine | rel L1 |");
        System.out.println("|---|---|---|---|---|---|---|");
        TABLE.forEach(System.out::println);
        System.out.println("| mode | D | Hq/Hkv | memory | causal | in/out | pv | Lq | Lk | cosine | rel L1 | max abs | LSE max err |");
        System.out.println("|---|---|---|---|---|---|---|---|---|---|---|---|---|");
        MODES.forEach(System.out::println);
        System.out.println("| D | causal | N | default ms | auto ms | auto / default |");
        System.out.println("|---|---|---|---|---|---|");
        SPEED.forEach(System.out::println);
    }

    static boolean hopper() {
        return attention.arch() == Arch.SM90;
    }

    /** O and LSE of one call, and the decisions when asked for (int32 [B][H], poisoned with -1 first). */
    record Out(short[] o, float[] lse, int[] decisions) {
    }

    static Out run(RandomInputs x, boolean causal, UnaryOperator<AttentionArgs.Builder> extra, boolean decisions) {
        int rows = x.batch() * x.heads() * x.lq();
        DeviceContext ctx = attention.context();
        try (DeviceBuffer dq = DeviceBuffer.allocate(ctx, 2L * x.q16().length);
             DeviceBuffer dk = DeviceBuffer.allocate(ctx, 2L * x.k16().length);
             DeviceBuffer dv = DeviceBuffer.allocate(ctx, 2L * x.v16().length);
             DeviceBuffer dO = DeviceBuffer.allocate(ctx, 2L * x.q16().length);
             DeviceBuffer dl = DeviceBuffer.allocate(ctx, 4L * rows);
             DeviceBuffer dd = DeviceBuffer.allocate(ctx, 4L * x.batch() * x.heads());
             CudaStream s = CudaStream.create(ctx)) {
            dq.copyFrom(x.q16());
            dk.copyFrom(x.k16());
            dv.copyFrom(x.v16());
            dO.fill16((short) 0xFFFF);
            dl.fill32(0x7FFFFFFF);
            dd.fill32(-1);
            AttentionArgs.Builder b = AttentionArgs.builder().q(dq.address()).k(dk.address()).v(dv.address()).o(dO.address())
                    .lse(dl.address()).batch(x.batch()).heads(x.heads()).kvHeads(x.kvHeads()).lq(x.lq()).lk(x.lk())
                    .headDim(x.d()).dtype(x.type()).causal(causal).smScale((float) (1.0 / Math.sqrt(x.d())));
            b = extra.apply(b);
            if (decisions) b.qkDecisions(dd.address());
            attention.forward(b.build(), s.handle());
            s.synchronize();
            short[] o = new short[x.q16().length];
            dO.copyTo(o);
            float[] lse = new float[rows];
            dl.copyTo(lse);
            int[] dec = new int[x.batch() * x.heads()];
            dd.copyTo(dec);
            return new Out(o, lse, decisions ? dec : null);
        }
    }

    static UnaryOperator<AttentionArgs.Builder> auto() {
        return b -> b.qkPrecision(QkPrecision.AUTO);
    }

    static Stream<Arguments> ordinary() {
        List<Arguments> out = new ArrayList<>();
        for (int d : new int[] {64, 128, 256}) {
            for (boolean causal : new boolean[] {false, true}) {
                for (String f : new String[] {"normal", "V+10", "V+5*u_c"}) out.add(Arguments.of(f, d, causal));
            }
        }
        return out.stream();
    }

    static RandomInputs family(String f, RandomInputs x) {
        return switch (f) {
            case "normal" -> x;
            case "V+10" -> InputFamilies.vOffset(x, 10);
            case "V+5*u_c" -> InputFamilies.vChannelOffset(x, 5, 5);
            case "outliers QK 4ch x30" -> InputFamilies.outlierChannels(x, 4, 30, true, true, 7);
            case "outliers K 2ch x50" -> InputFamilies.outlierChannels(x, 2, 50, false, true, 8);
            case "magnitude QK x30" -> InputFamilies.largeMagnitude(x, 30);
            default -> throw new IllegalArgumentException(f);
        };
    }

    @ParameterizedTest(name = "{0} D={1} causal={2}")
    @MethodSource("ordinary")
    void ordinaryInputsRunTheInt8KernelBitForBit(String fam, int d, boolean causal) {
        assumeTrue(hopper(), "qk=auto is the wgmma family's: sm_90 only");
        RandomInputs x = family(fam, RandomInputs.generate(300L + d, 2, 4, 2, 700, 700, d, DType.BF16));
        // the INT8 kernel qk=auto gates (64-key blocks on 128 rows; the default up to D = 128 runs 128-key blocks on 64)
        KernelSpec int8 = io.sageptx.kernels.AttentionFamilies.preferred(Arch.SM90, d, causal, DType.BF16, DType.BF16, null,
                QkPrecision.AUTO).toBuilder().qk(QkPrecision.INT8).build();
        Out def = run(x, causal, b -> b.spec(int8), false);
        Out a = run(x, causal, auto(), true);
        int[] zeros = new int[a.decisions().length];
        assertArrayEquals(zeros, a.decisions(), "every head INT8: " + Arrays.toString(a.decisions()));
        assertArrayEquals(def.o(), a.o(), "O bit for bit the INT8 kernel's");
        assertArrayEquals(def.lse(), a.lse(), "LSE bit for bit the INT8 kernel's");
        record(fam, d, causal, a.decisions(), "default", null);
    }

    static Stream<Arguments> hard() {
        List<Arguments> out = new ArrayList<>();
        for (int d : new int[] {64, 96, 128, 256}) {
            for (String f : new String[] {"outliers QK 4ch x30", "outliers K 2ch x50", "magnitude QK x30"}) {
                out.add(Arguments.of(f, d, false));
            }
        }
        out.add(Arguments.of("outliers K 2ch x50", 128, true));
        return out.stream();
    }

    @ParameterizedTest(name = "{0} D={1} causal={2}")
    @MethodSource("hard")
    void hardInputsRunSixteenBitQkBitForBitAndReachTheBars(String fam, int d, boolean causal) {
        assumeTrue(hopper(), "sm_90 only");
        int lq = causal ? 1024 : 256;   // causal(true) is top-left: a square problem
        int lk = causal ? 1024 : 4096;
        RandomInputs x = family(fam, RandomInputs.generate(1000L + d, 1, 2, 2, lq, lk, d, DType.BF16));
        Out q16 = run(x, causal, b -> b.qkPrecision(QkPrecision.FP16), false);
        Out a = run(x, causal, auto(), true);
        int[] ones = new int[a.decisions().length];
        Arrays.fill(ones, 1);
        assertArrayEquals(ones, a.decisions(), "every head 16-bit QK: " + Arrays.toString(a.decisions()));
        assertArrayEquals(q16.o(), a.o(), "O bit for bit the qk=fp16 call's");
        ErrorStats e = ErrorStats.of(Half.decode(a.o(), DType.BF16), x.reference(1 / Math.sqrt(d), causal).o());
        record(fam, d, causal, a.decisions(), "qk=fp16", e);
        assertTrue(e.cosine() >= 0.9995 && e.relL1() <= 0.015, e.toString());
    }

    /**
     * The short-sequence rule as users get it (the suite runs with {@code -Dsageptx.shortSequenceQk=int8}; this test
     * turns it on): a short auto call runs the 16-bit kernel for every head, bit for bit a qk=fp16 call, and writes 1
     * into every decision; a call that asks for nothing runs the same kernel.
     */
    @ParameterizedTest(name = "short auto D={0} causal={1}")
    @org.junit.jupiter.params.provider.CsvSource({"64,false", "128,false", "128,true"})
    void shortAutoCallsRunSixteenBitQkForEveryHead(int d, boolean causal) {
        assumeTrue(hopper(), "the short-sequence rule is sm_90's");
        RandomInputs x = RandomInputs.generate(500L + d, 2, 4, 2, 700, 700, d, DType.BF16);
        SystemProperties.with(io.sageptx.runtime.ShortSequences.PROPERTY, "auto", () -> {
            Out q16 = run(x, causal, b -> b.qkPrecision(QkPrecision.FP16), false);
            Out a = run(x, causal, auto(), true);
            Out none = run(x, causal, b -> b, false);
            int[] ones = new int[a.decisions().length];
            Arrays.fill(ones, 1);
            assertArrayEquals(ones, a.decisions(), "every head 16-bit QK: " + Arrays.toString(a.decisions()));
            assertArrayEquals(q16.o(), a.o(), "O bit for bit the qk=fp16 call's");
            assertArrayEquals(q16.lse(), a.lse(), "LSE bit for bit the qk=fp16 call's");
            assertArrayEquals(q16.o(), none.o(), "a call that asks for nothing runs the same kernel");
            ErrorStats e = ErrorStats.of(Half.decode(a.o(), DType.BF16), x.reference(1 / Math.sqrt(d), causal).o());
            record("short auto", d, causal, a.decisions(), "qk=fp16", e);
            assertTrue(e.cosine() >= 0.9995 && e.relL1() <= 0.015, e.toString());
        });
    }

    /** Heads of one call decided each on its own, as the CPU indicator decides them; each head's output its kernel's. */
    @Test
    void mixedHeadsGetTheirOwnKernel() {
        assumeTrue(hopper(), "sm_90 only");
        int d = 128;
        int lq = 300;
        int lk = 900;
        RandomInputs x = RandomInputs.generate(9, 2, 4, 2, lq, lk, d, DType.FP16);
        float[] q = x.q().clone();
        int qb = (1 * 4 + 1) * lq * d;                    // batch 1, query head 1: four Q channels x30
        for (int i = 0; i < lq * d; i++) if (i % d < 4) q[qb + i] *= 30;
        float[] k = x.k().clone();
        int kb = (0 * 2 + 1) * lk * d;                    // batch 0, kv head 1 (query heads 2, 3): two K channels x50
        for (int i = 0; i < lk * d; i++) if (i % d == 5 || i % d == 9) k[kb + i] *= 50;
        RandomInputs y = InputFamilies.with(x, q, k, x.v());
        KernelSpec spec = attention.specFor(AttentionArgs.builder().q(16).k(16).v(16).o(16).batch(2).heads(4).kvHeads(2)
                .lq(lq).lk(lk).headDim(d).dtype(DType.FP16).qkPrecision(QkPrecision.AUTO).build());
        boolean[] cpu = QkIndicator.decisions(spec, y.q(), y.k(), 2, 4, 2, lq, lk, 1 / Math.sqrt(d));
        assertArrayEquals(new boolean[] {false, false, true, true, false, true, false, false}, cpu);
        Out a = run(y, false, auto(), true);
        KernelSpec int8 = spec.toBuilder().qk(QkPrecision.INT8).build(); // the gated INT8 kernel, run alone
        Out def = run(y, false, b -> b.spec(int8), false);
        Out q16 = run(y, false, b -> b.qkPrecision(QkPrecision.FP16), false);
        for (int bh = 0; bh < 8; bh++) {
            assertEquals(cpu[bh] ? 1 : 0, a.decisions()[bh], "head " + bh + ": " + Arrays.toString(a.decisions()));
            short[] want = cpu[bh] ? q16.o() : def.o();
            int from = bh * lq * d;
            assertArrayEquals(Arrays.copyOfRange(want, from, from + lq * d), Arrays.copyOfRange(a.o(), from, from + lq * d),
                    "head " + bh + " is its kernel's");
        }
        record("mixed heads", d, false, a.decisions(), "per head", null);
    }

    // ---- qk=auto in the mma.sync family (the mode of sm_80, sm_89 and sm_120), run on sm_90 with its specs: the
    // gated INT8 mma.sync kernel (FP8 PV, the sm_90 default PV of the family, and FP16 PV, the only one of sm_80)
    // and its 16-bit partner

    /** The mma.sync qk=auto spec of a shape on sm_90 (pv null: the family's default PV). */
    static KernelSpec syncAuto(int d, boolean causal, DType t, PvVariant pv) {
        return AttentionFamilies.of(MmaKind.SYNC).preferred(Arch.SM90, d, causal, t, t, pv, QkPrecision.AUTO).orElseThrow();
    }

    static Stream<Arguments> syncOrdinary() {
        List<Arguments> out = new ArrayList<>();
        for (int d : new int[] {64, 96, 128}) {
            for (boolean causal : new boolean[] {false, true}) {
                for (PvVariant pv : new PvVariant[] {null, PvVariant.FP16}) {
                    for (String f : new String[] {"normal", "V+10"}) out.add(Arguments.of(f, d, causal, pv));
                }
            }
        }
        return out.stream();
    }

    @ParameterizedTest(name = "mma.sync {0} D={1} causal={2} pv={3}")
    @MethodSource("syncOrdinary")
    void mmaSyncOrdinaryInputsRunTheInt8KernelBitForBit(String fam, int d, boolean causal, PvVariant pv) {
        assumeTrue(hopper(), "run on the H200");
        KernelSpec spec = syncAuto(d, causal, DType.BF16, pv);
        KernelSpec int8 = spec.toBuilder().qk(QkPrecision.INT8).build();
        RandomInputs x = family(fam, RandomInputs.generate(300L + d, 2, 4, 2, 700, 700, d, DType.BF16));
        Out def = run(x, causal, b -> b.spec(int8), false);
        Out a = run(x, causal, b -> b.spec(spec), true);
        assertArrayEquals(new int[a.decisions().length], a.decisions(), "every head INT8: " + Arrays.toString(a.decisions()));
        assertArrayEquals(def.o(), a.o(), "O bit for bit the INT8 mma.sync kernel's");
        assertArrayEquals(def.lse(), a.lse(), "LSE bit for bit the INT8 mma.sync kernel's");
        record("mma.sync " + spec.pv().id() + " " + fam, d, causal, a.decisions(), "INT8 mma.sync", null);
    }

    static Stream<Arguments> syncHard() {
        List<Arguments> out = new ArrayList<>();
        for (int d : new int[] {64, 96, 128}) {
            for (String f : new String[] {"outliers QK 4ch x30", "outliers K 2ch x50", "magnitude QK x30"}) {
                out.add(Arguments.of(f, d, false, null));
                out.add(Arguments.of(f, d, false, PvVariant.FP16));
            }
        }
        out.add(Arguments.of("outliers K 2ch x50", 128, true, null));
        out.add(Arguments.of("magnitude QK x30", 64, true, PvVariant.FP16));
        return out.stream();
    }

    @ParameterizedTest(name = "mma.sync {0} D={1} causal={2} pv={3}")
    @MethodSource("syncHard")
    void mmaSyncHardInputsRunSixteenBitQkBitForBitAndReachTheBars(String fam, int d, boolean causal, PvVariant pv) {
        assumeTrue(hopper(), "run on the H200");
        KernelSpec spec = syncAuto(d, causal, DType.BF16, pv);
        KernelSpec partner = spec.autoPartner();
        assertEquals(MmaKind.SYNC, partner.mma());
        int lq = causal ? 1024 : 256;
        int lk = causal ? 1024 : 4096;
        RandomInputs x = family(fam, RandomInputs.generate(1000L + d, 1, 2, 2, lq, lk, d, DType.BF16));
        Out q16 = run(x, causal, b -> b.spec(partner), false);
        Out a = run(x, causal, b -> b.spec(spec), true);
        int[] ones = new int[a.decisions().length];
        Arrays.fill(ones, 1);
        assertArrayEquals(ones, a.decisions(), "every head 16-bit QK: " + Arrays.toString(a.decisions()));
        assertArrayEquals(q16.o(), a.o(), "O bit for bit the mma.sync qk=fp16 kernel's");
        ErrorStats e = ErrorStats.of(Half.decode(a.o(), DType.BF16), x.reference(1 / Math.sqrt(d), causal).o());
        record("mma.sync " + spec.pv().id() + " " + fam, d, causal, a.decisions(), "mma.sync qk=fp16", e);
        assertTrue(e.cosine() >= 0.9995 && e.relL1() <= 0.015, e.toString());
    }

    /** Mixed heads through the mma.sync pair: each head its kernel's output, decisions as the CPU indicator's. */
    @Test
    void mmaSyncMixedHeadsGetTheirOwnKernel() {
        assumeTrue(hopper(), "run on the H200");
        int d = 128;
        int lq = 300;
        int lk = 900;
        RandomInputs x = RandomInputs.generate(9, 2, 4, 2, lq, lk, d, DType.FP16);
        float[] q = x.q().clone();
        int qb = (1 * 4 + 1) * lq * d;
        for (int i = 0; i < lq * d; i++) if (i % d < 4) q[qb + i] *= 30;
        float[] k = x.k().clone();
        int kb = (0 * 2 + 1) * lk * d;
        for (int i = 0; i < lk * d; i++) if (i % d == 5 || i % d == 9) k[kb + i] *= 50;
        RandomInputs y = InputFamilies.with(x, q, k, x.v());
        for (PvVariant pv : new PvVariant[] {null, PvVariant.FP16}) {
            KernelSpec spec = syncAuto(d, false, DType.FP16, pv);
            boolean[] cpu = QkIndicator.decisions(spec, y.q(), y.k(), 2, 4, 2, lq, lk, 1 / Math.sqrt(d));
            Out a = run(y, false, b -> b.spec(spec), true);
            Out def = run(y, false, b -> b.spec(spec.toBuilder().qk(QkPrecision.INT8).build()), false);
            Out q16 = run(y, false, b -> b.spec(spec.autoPartner()), false);
            for (int bh = 0; bh < 8; bh++) {
                assertEquals(cpu[bh] ? 1 : 0, a.decisions()[bh], "head " + bh + ": " + Arrays.toString(a.decisions()));
                short[] want = cpu[bh] ? q16.o() : def.o();
                int from = bh * lq * d;
                assertArrayEquals(Arrays.copyOfRange(want, from, from + lq * d), Arrays.copyOfRange(a.o(), from, from + lq * d),
                        "head " + bh + " is its kernel's");
            }
            record("mma.sync " + spec.pv().id() + " mixed heads", d, false, a.decisions(), "per head", null);
        }
    }

    /** The issue-5 layouts through the mma.sync qk=auto pair (ordinary inputs: INT8). */
    @ParameterizedTest(name = "mma.sync {0} D={1} H={2}/{3} {4} {5} {6} Lq={7} Lk={8}")
    @MethodSource("modes")
    void mmaSyncLayoutsStridesVarlenAndCausalModes(String mode, int d, int hq, int hkv, SageAttentionModesGpuTest.Memory mem,
                                                  CausalMode causal, DType t, int[] lqs, int[] lks) {
        assumeTrue(hopper(), "run on the H200");
        assumeTrue(d <= io.sageptx.spec.Sync16Tiles.MAX_HEAD_DIM, "mma.sync qk=auto goes up to D = 208");
        SageAttentionModesGpuTest.check(attention, MODES, "mma.sync " + mode, d, hq, hkv, mem, causal, t, lqs, lks, null,
                QkPrecision.AUTO, s -> syncAuto(s.headDim(), s.causal(), s.inType(), null));
    }

    /** The issue-5 layouts and modes (strides, varlen, causal alignments) through qk=auto (ordinary inputs: INT8). */
    static Stream<Arguments> modes() {
        return SageAttentionModesGpuTest.baseCases().stream();
    }

    @ParameterizedTest(name = "{0} D={1} H={2}/{3} {4} {5} {6} Lq={7} Lk={8}")
    @MethodSource("modes")
    void layoutsStridesVarlenAndCausalModes(String mode, int d, int hq, int hkv, SageAttentionModesGpuTest.Memory mem,
                                           CausalMode causal, DType t, int[] lqs, int[] lks) {
        assumeTrue(hopper(), "sm_90 only");
        SageAttentionModesGpuTest.check(attention, MODES, mode, d, hq, hkv, mem, causal, t, lqs, lks, null, QkPrecision.AUTO);
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
     * The cost of auto on ordinary inputs: B=4, H=32, Lq = Lk = N, bf16 N(0, 1), the whole call, median of 15 timed
     * calls after 3 warm-ups, default and auto alternating in rounds on the same buffers (auto adds the tiles' sums
     * of squares, the decision kernel and a 16-bit launch whose CTAs all leave at once). The bar is 3 %; the table
     * printed after the class has the measured ratio (not asserted: no timed assertions in tests). The decisions
     * (every head INT8 on these inputs) are asserted.
     */
    @ParameterizedTest(name = "speed D={0} N={1} causal={2}")
    @MethodSource("speedShapes")
    void costOnOrdinaryInputs(int d, int n, boolean causal) {
        assumeTrue(hopper(), "sm_90 only");
        assumeTrue(System.getProperty("sageptx.grid", "").isEmpty(), "not under the sanitizer");
        int b = 4;
        int h = 32;
        try (CallTimer t = new CallTimer(attention, b, h, n, d, DType.BF16, causal);
             DeviceBuffer dd = DeviceBuffer.allocate(attention.context(), 4L * b * h)) {
            AttentionArgs def = t.call().build();
            AttentionArgs a = t.call().qkPrecision(QkPrecision.AUTO).qkDecisions(dd.address()).build();
            for (int i = 0; i < 3; i++) {
                attention.forward(def, t.stream.handle());
                attention.forward(a, t.stream.handle());
            }
            double[] md = new double[15];
            double[] ma = new double[15];
            for (int i = 0; i < 15; i++) {
                md[i] = t.once(def);
                ma[i] = t.once(a);
            }
            int[] dec = new int[b * h];
            dd.copyTo(dec);
            assertArrayEquals(new int[b * h], dec, "ordinary inputs: every head INT8");
            double msd = CallTimer.median(md);
            double msa = CallTimer.median(ma);
            synchronized (SPEED) {
                SPEED.add(String.format(Locale.ROOT, "| %d | %s | %d | %.3f | %.3f | %.3f |", d, causal, n, msd, msa, msa / msd));
            }
            // the cost is reported (the table printed after the class), not asserted: no timed assertions in tests
        }
    }


    private static void record(String fam, int d, boolean causal, int[] dec, String same, ErrorStats e) {
        int n16 = 0;
        for (int v : dec) n16 += v;
        synchronized (TABLE) {
            TABLE.add(String.format(Locale.ROOT, "| %s | %d | %s | %d / %d | %s | %s | %s |", fam, d, causal, n16, dec.length,
                    same, e == null ? "-" : String.format(Locale.ROOT, "%.6f", e.cosine()),
                    e == null ? "-" : String.format(Locale.ROOT, "%.5f", e.relL1())));
        }
    }
}
