package io.sageptx.api;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import io.sageptx.numerics.ErrorStats;
import io.sageptx.spec.Arch;
import io.sageptx.spec.DType;
import io.sageptx.spec.KernelSpec;
import io.sageptx.spec.MmaKind;
import io.sageptx.spec.PvVariant;
import io.sageptx.testing.GpuTest;

/**
 * Accuracy of the Hopper wgmma kernel (sm_90 only; skipped elsewhere) against the FP64 CPU reference (small
 * shapes) or the FP32 GPU reference kernel, with the core bars of FP8 PV: cosine >= 0.999, rel L1 <= 0.045,
 * LSE error <= 0.1, every output written (poisoned with NaN first). Covers both accumulator variants, D 64
 * and 128, causal, ragged lengths (partial query and key blocks), Lq != Lk, GQA, bf16 and mixed dtypes.
 * Tagged for tools/sanitize's memcheck pass.
 */
@GpuTest
@Tag("sanitize-memcheck")
class WgmmaGpuTest {

    private static final List<String> TABLE = new ArrayList<>();
    private static SageAttention attention;

    @BeforeAll
    static void open() {
        attention = SageAttention.onDevice(0);
    }

    @AfterAll
    static void close() {
        if (attention != null) attention.close();
        System.out.println("| wgmma D | causal | pv | in/out | heads/kv | Lq | Lk | reference | cosine | rel L1 | LSE max err |");
        System.out.println("|---|---|---|---|---|---|---|---|---|---|---|");
        TABLE.forEach(System.out::println);
    }

    static Stream<Arguments> grid() {
        List<Arguments> out = new ArrayList<>();
        for (PvVariant pv : new PvVariant[] {PvVariant.FP8_F32ACC, PvVariant.FP8_F16ACC}) {
            for (int d : new int[] {64, 128}) {
                for (boolean causal : new boolean[] {false, true}) {
                    for (int n : new int[] {1, 17, 64, 1000, 4096}) out.add(Arguments.of(pv, d, causal, DType.FP16, DType.FP16, 2, 2, n, n));
                    out.add(Arguments.of(pv, d, causal, DType.BF16, DType.BF16, 2, 2, 777, 777));
                    out.add(Arguments.of(pv, d, causal, DType.FP16, DType.FP16, 8, 2, 300, 300));
                }
                out.add(Arguments.of(pv, d, false, DType.FP16, DType.FP16, 2, 2, 17, 300));
                out.add(Arguments.of(pv, d, false, DType.FP16, DType.FP16, 2, 2, 1000, 77));
                out.add(Arguments.of(pv, d, false, DType.BF16, DType.FP16, 2, 2, 2500, 4099));
            }
            // every other head dim: the multi-column tiles (128/64/32-byte swizzle), ragged lengths
            for (int d : KernelSpec.HEAD_DIMS) {
                if (d == 64 || d == 128) continue;
                out.add(Arguments.of(pv, d, false, DType.FP16, DType.FP16, 2, 2, 333, 333));
                out.add(Arguments.of(pv, d, true, DType.BF16, DType.BF16, 4, 2, 333, 333));
                out.add(Arguments.of(pv, d, false, DType.FP16, DType.FP16, 2, 1, 100, 300));
            }
        }
        // under compute-sanitizer (tools/sanitize sets sageptx.grid) the shapes checked by the FP64 CPU reference
        boolean sanitizer = !System.getProperty("sageptx.grid", "").isEmpty();
        return out.stream().filter(a -> !sanitizer || (int) a.get()[7] * (long) (int) a.get()[8] <= AccuracyProbe.CPU_REFERENCE_LIMIT);
    }

    /**
     * 128-key blocks (blockK = 128, FP16 accumulators over four chained k32 steps, V scaled to vMax(128)): both
     * tiles, every head dim, causal both ways, GQA, ragged and unequal lengths.
     */
    static Stream<Arguments> k128Grid() {
        List<Arguments> out = new ArrayList<>();
        for (int[] tile : new int[][] {{64, 4}, {128, 8}}) {
            for (int d : new int[] {64, 128}) {
                for (boolean causal : new boolean[] {false, true}) {
                    for (int n : new int[] {1, 100, 129, 1000, 4096}) out.add(Arguments.of(tile[0], tile[1], d, causal, DType.FP16, 2, 2, n, n));
                    out.add(Arguments.of(tile[0], tile[1], d, causal, DType.BF16, 8, 2, 777, 777));
                }
                out.add(Arguments.of(tile[0], tile[1], d, false, DType.FP16, 2, 2, 17, 300));
                out.add(Arguments.of(tile[0], tile[1], d, false, DType.FP16, 2, 2, 1000, 77));
                out.add(Arguments.of(tile[0], tile[1], d, true, DType.BF16, 2, 1, 2500, 2500));
            }
        }
        for (int d : KernelSpec.HEAD_DIMS) {
            if (d == 64 || d == 128) continue;
            out.add(Arguments.of(64, 4, d, false, DType.FP16, 2, 2, 333, 333));
            out.add(Arguments.of(64, 4, d, true, DType.BF16, 4, 2, 333, 333));
        }
        boolean sanitizer = !System.getProperty("sageptx.grid", "").isEmpty();
        return out.stream().filter(a -> !sanitizer || (int) a.get()[7] * (long) (int) a.get()[8] <= AccuracyProbe.CPU_REFERENCE_LIMIT);
    }

    @ParameterizedTest(name = "k128 {0}x{1} D={2} causal={3} {4} H={5}/{6} Lq={7} Lk={8}")
    @MethodSource("k128Grid")
    void k128MatchesReference(int rows, int warps, int d, boolean causal, DType in, int heads, int kvHeads, int lq, int lk) {
        assumeTrue(attention.arch() == Arch.SM90, "wgmma runs on sm_90 only");
        KernelSpec spec = KernelSpec.defaults(Arch.SM90, d, causal, in, in).toBuilder().pv(PvVariant.FP8_F16ACC)
                .mma(MmaKind.WGMMA).tiles(rows, warps).blockK(128).build();
        AttentionInputs x = new AttentionInputs(131L * lq + lk + d + rows + heads, 2, heads, kvHeads, lq, lk, d, in);
        AccuracyProbe.Result r = AccuracyProbe.run(attention, x, in, causal, b -> b.spec(spec));
        record(d, causal, "k128 " + rows + "x" + warps, in, in, heads, kvHeads, lq, lk, r);
        AccuracyProbe.assertFp8Bars(r);
    }

    /** One row of the accuracy table. */
    private static void record(int d, boolean causal, String kernel, DType in, DType out, int heads, int kvHeads, int lq,
                               int lk, AccuracyProbe.Result r) {
        ErrorStats e = r.error();
        synchronized (TABLE) {
            TABLE.add(String.format("| %d | %s | %s | %s/%s | %d/%d | %d | %d | %s | %.6f | %.5f | %.4f |", d, causal,
                    kernel, in.shortName(), out.shortName(), heads, kvHeads, lq, lk, r.reference(), e.cosine(), e.relL1(),
                    r.lseMaxErr()));
        }
    }

    @ParameterizedTest(name = "{0} D={1} causal={2} {3}->{4} H={5}/{6} Lq={7} Lk={8}")
    @MethodSource("grid")
    void matchesReference(PvVariant pv, int d, boolean causal, DType in, DType out, int heads, int kvHeads, int lq, int lk) {
        assumeTrue(attention.arch() == Arch.SM90, "wgmma runs on sm_90 only");
        KernelSpec spec = KernelSpec.defaults(Arch.SM90, d, causal, in, out).toBuilder().pv(pv).mma(MmaKind.WGMMA).build();
        AttentionInputs x = new AttentionInputs(97L * lq + lk + d + pv.ordinal() + heads, 2, heads, kvHeads, lq, lk, d, in);
        AccuracyProbe.Result r = AccuracyProbe.run(attention, x, out, causal, b -> b.spec(spec));
        record(d, causal, pv.id(), in, out, heads, kvHeads, lq, lk, r);
        AccuracyProbe.assertFp8Bars(r);
    }
}
