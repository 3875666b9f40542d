package io.sageptx.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;
import java.util.stream.Stream;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import io.sageptx.kernels.attention.AttentionFamily;
import io.sageptx.kernels.AttentionFamilies;
import io.sageptx.numerics.ErrorStats;
import io.sageptx.numerics.InputFamilies;
import io.sageptx.numerics.RandomInputs;
import io.sageptx.spec.DType;
import io.sageptx.spec.KernelSpec;
import io.sageptx.spec.PvVariant;
import io.sageptx.testing.GpuTest;

/**
 * Issue 11 on the GPU: every kernel variant of the device (each family x PV variant) on input families
 * that stress 8-bit attention: V with a large mean (5, 10, 50; per tensor and per channel) at Lk = 8192,
 * where a long-lived reduced-precision accumulator loses the mean; outlier channels and large magnitudes
 * (reported: the QK precision the default INT8 kernels cannot carry). FP8 variants must reach
 * rel-L1 <= 0.003 on offset V wherever the FP16-accumulate variant of the same family does. The opt-in 16-bit
 * QK precision must reach the FP16-PV bars on every family ({@link #fp16QkOnFamily}).
 */
@GpuTest
class InputFamiliesGpuTest {

    static final int LQ = 256;
    static final int LK = 8192;

    private static SageAttention attention;
    private static final Map<String, String> TABLE = new TreeMap<>();
    private static final Map<String, Double> F16ACC = new ConcurrentHashMap<>();

    @BeforeAll
    static void open() {
        attention = SageAttention.onDevice(0);
    }

    @AfterAll
    static void close() {
        if (attention != null) attention.close();
        System.out.println("| input family | D | variant | cosine | rel L1 | max abs | non-finite |");
        System.out.println("|---|---|---|---|---|---|---|");
        TABLE.values().forEach(System.out::println);
    }

    record Family(String name, boolean offsetV, Function<RandomInputs, RandomInputs> make) {
        @Override
        public String toString() {
            return name;
        }
    }

    static List<Family> families() {
        List<Family> f = new ArrayList<>();
        for (double off : new double[] {5, 10, 50}) {
            f.add(new Family("V+" + (int) off, true, in -> InputFamilies.vOffset(in, off)));
            f.add(new Family("V+" + (int) off + "*u_c", true, in -> InputFamilies.vChannelOffset(in, off, 5)));
        }
        f.add(new Family("normal", false, in -> in));
        f.add(new Family("outliers QK 4ch x30", false, in -> InputFamilies.outlierChannels(in, 4, 30, true, true, 7)));
        f.add(new Family("outliers K 2ch x50", false, in -> InputFamilies.outlierChannels(in, 2, 50, false, true, 8)));
        f.add(new Family("magnitude QK x30", false, in -> InputFamilies.largeMagnitude(in, 30)));
        return f;
    }

    static Stream<Arguments> grid() {
        List<Arguments> out = new ArrayList<>();
        for (int d : new int[] {64, 96, 128, 256}) {
            for (Family f : families()) {
                // the FP16-accumulate variant first: it sets the bar of the others (ordered by method source)
                for (PvVariant pv : new PvVariant[] {PvVariant.FP8_F16ACC, PvVariant.FP8_F32ACC, PvVariant.FP16}) {
                    for (String fam : new String[] {"wgmma", "sync"}) out.add(Arguments.of(f, d, fam, pv));
                }
            }
        }
        return out.stream();
    }

    @ParameterizedTest(name = "{0} D={1} {2} {3}")
    @MethodSource("grid")
    void variantOnFamily(Family family, int d, String familyId, PvVariant pv) {
        AttentionFamily fam = AttentionFamilies.all().stream().filter(x -> x.mma().id().equals(familyId)).findFirst()
                .orElseThrow();
        assumeTrue(fam.serves(attention.arch()), familyId + " does not run on " + attention.arch().target());
        KernelSpec spec = fam.preferred(attention.arch(), d, false, DType.BF16, DType.BF16, pv).orElse(null);
        assumeTrue(spec != null, familyId + " has no " + pv.id());
        RandomInputs base = RandomInputs.generate(1000L + d, 1, 2, 2, LQ, LK, d, DType.BF16);
        AttentionInputs x = new AttentionInputs(family.make().apply(base));
        AccuracyProbe.Result r = AccuracyProbe.run(attention, x, DType.BF16, false, b -> b.spec(spec));
        ErrorStats e = r.error();
        String label = fam.variantPrefix() + pv.id();
        synchronized (TABLE) {
            TABLE.put(family + "/" + (1000 + d) + "/" + label, String.format("| %s | %d | %s | %.6f | %.5f | %.4f | %d |",
                    family, d, label, e.cosine(), e.relL1(), e.maxAbs(), e.nonFinite()));
        }
        assertEquals(0, e.nonFinite(), "NaN/Inf or unwritten outputs: " + e);
        if (!family.offsetV()) return; // outliers, magnitudes: reported (the precision modes' business)
        String key = family + "/" + d + "/" + familyId;
        if (pv == PvVariant.FP8_F16ACC) F16ACC.put(key, e.relL1());
        Double bar = F16ACC.get(key);
        if (pv.isFp8() && bar != null && bar <= 0.003) {
            assertTrue(e.relL1() <= 0.003, label + " on " + family + ": rel-L1 " + e.relL1() + " (FP16-accumulate: " + bar + ")");
        }
        assertTrue(e.cosine() >= 0.999, "cosine " + e);
    }

    static Stream<Arguments> precisionGrid() {
        List<Arguments> out = new ArrayList<>();
        for (int d : new int[] {64, 96, 128, 256}) {
            for (Family f : families()) {
                for (DType t : DType.values()) out.add(Arguments.of(f, d, t));
            }
        }
        return out.stream();
    }

    /**
     * The opt-in 16-bit QK precision ({@code qkPrecision(FP16)}: 16-bit QK and P V with FP32 accumulators, sm_90)
     * on every family, bf16 and fp16: within the FP16-PV bars (cosine >= 0.9995, rel-L1 <= 0.015) everywhere,
     * the outlier and magnitude families included, where every INT8-QK variant above misses them; on offset V
     * also the FP8 variants' rel-L1 <= 0.003.
     */
    @ParameterizedTest(name = "{0} D={1} {2} qk=fp16")
    @MethodSource("precisionGrid")
    void fp16QkOnFamily(Family family, int d, DType t) {
        assumeTrue(attention.arch() == io.sageptx.spec.Arch.SM90, "16-bit QK runs on the wgmma family (sm_90) only");
        RandomInputs base = RandomInputs.generate(1000L + d, 1, 2, 2, LQ, LK, d, t);
        AttentionInputs x = new AttentionInputs(family.make().apply(base));
        AccuracyProbe.Result r = AccuracyProbe.run(attention, x, t, false,
                b -> b.qkPrecision(io.sageptx.spec.QkPrecision.FP16));
        ErrorStats e = r.error();
        String label = "wgmma-fp16 qk=fp16" + (t == DType.BF16 ? "" : " (fp16 in)");
        synchronized (TABLE) {
            TABLE.put(family + "/" + (1000 + d) + "/" + label, String.format("| %s | %d | %s | %.6f | %.5f | %.4f | %d |",
                    family, d, label, e.cosine(), e.relL1(), e.maxAbs(), e.nonFinite()));
        }
        assertEquals(0, e.nonFinite(), "NaN/Inf or unwritten outputs: " + e);
        assertTrue(e.cosine() >= 0.9995, family + ": cosine " + e);
        assertTrue(e.relL1() <= 0.015, family + ": rel-L1 " + e);
        if (family.offsetV()) assertTrue(e.relL1() <= 0.003, family + ": rel-L1 " + e);
        // against the FP32 GPU reference (Lq x Lk is above the CPU reference's limit): logits of the magnitude family
        // reach thousands, where FP32 itself carries ~1e-3 of absolute error
        assertTrue(r.lseMaxErr() <= 0.05, family + ": LSE max abs error " + r.lseMaxErr());
    }

    static Stream<Arguments> syncPrecisionGrid() {
        List<Arguments> out = new ArrayList<>();
        for (int d : new int[] {64, 96, 128, io.sageptx.spec.Sync16Tiles.MAX_HEAD_DIM}) {
            for (Family f : families()) {
                for (DType t : DType.values()) out.add(Arguments.of(f, d, t));
            }
        }
        return out.stream();
    }

    /**
     * The mma.sync 16-bit QK kernel (the precise mode of sm_80, sm_89 and sm_120; run here on sm_90 with the tiles
     * the 99 KB parts choose: Qk16GpuTest.syncSpecs' last fitting one is 64 rows with 32-key blocks) on every family:
     * the same bars as the wgmma kernel's.
     */
    @ParameterizedTest(name = "{0} D={1} {2} qk=fp16 mma.sync")
    @MethodSource("syncPrecisionGrid")
    void fp16QkMmaSyncOnFamily(Family family, int d, DType t) {
        assumeTrue(attention.arch() == io.sageptx.spec.Arch.SM90, "run on the H200");
        RandomInputs base = RandomInputs.generate(1000L + d, 1, 2, 2, LQ, LK, d, t);
        AttentionInputs x = new AttentionInputs(family.make().apply(base));
        for (KernelSpec spec : new KernelSpec[] {Qk16GpuTest.syncSpec(d, false, t, t),
                io.sageptx.spec.Sync16Tiles.fits(io.sageptx.spec.Arch.SM89, d, 128, 32)
                        ? Qk16GpuTest.syncSpec(d, false, t, t).toBuilder().tiles(128, 8).blockK(32).build()
                        : Qk16GpuTest.syncSpec(d, false, t, t).toBuilder().tiles(64, 4).blockK(32).build()}) {
            AccuracyProbe.Result r = AccuracyProbe.run(attention, x, t, false, b -> b.spec(spec));
            ErrorStats e = r.error();
            String label = "mma.sync q" + spec.blockQ() + " k" + spec.blockK() + " qk=fp16" + (t == DType.BF16 ? "" : " (fp16 in)");
            synchronized (TABLE) {
                TABLE.put(family + "/" + (1000 + d) + "/" + label, String.format("| %s | %d | %s | %.6f | %.5f | %.4f | %d |",
                        family, d, label, e.cosine(), e.relL1(), e.maxAbs(), e.nonFinite()));
            }
            assertEquals(0, e.nonFinite(), "NaN/Inf or unwritten outputs: " + e);
            assertTrue(e.cosine() >= 0.9995, family + " " + spec + ": cosine " + e);
            assertTrue(e.relL1() <= 0.015, family + " " + spec + ": rel-L1 " + e);
            if (family.offsetV()) assertTrue(e.relL1() <= 0.003, family + ": rel-L1 " + e);
            assertTrue(r.lseMaxErr() <= 0.05, family + ": LSE max abs error " + r.lseMaxErr());
        }
    }
}
