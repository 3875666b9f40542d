package io.sageptx.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import io.sageptx.call.AttentionArgs;
import io.sageptx.cuda.CudaStream;
import io.sageptx.cuda.DeviceBuffer;
import io.sageptx.cuda.DeviceContext;
import io.sageptx.numerics.AttentionReference;
import io.sageptx.numerics.ErrorStats;
import io.sageptx.numerics.Half;
import io.sageptx.spec.DType;
import io.sageptx.spec.KernelSpec;
import io.sageptx.spec.MmaKind;
import io.sageptx.spec.PvVariant;
import io.sageptx.testing.GpuTest;

/**
 * The mma.sync kernel at every pipeline depth (issue 13: stages 1, 2, 3), asked for explicitly (on sm_90 the
 * FP8 default would be the wgmma kernel), at key counts that give every CTA 1, 2, 3 and 5 key blocks and
 * ragged tails (Lk = 1, 64, 65, 130, 300; Lq != Lk), causal, GQA, against the FP64 reference. Tensors have
 * their exact sizes, so a read or write past them is a memcheck error; tools/gpu/mmasync-bench.sh runs this
 * class under compute-sanitizer memcheck and racecheck (system property {@code sageptx.grid}: {@code small}
 * = the pipelined kernels with FP8 f16-acc and FP16 PV at three lengths, {@code tiny} = at two, for the
 * slow tools).
 */
@GpuTest
@Tag("sanitize-mmasync")
class MmaSyncPipelineGpuTest {

    private static final List<String> LOG = new ArrayList<>();
    private static SageAttention attention;

    @BeforeAll
    static void open() {
        attention = SageAttention.onDevice(0);
    }

    @AfterAll
    static void close() {
        if (attention != null) attention.close();
        LOG.forEach(System.out::println);
    }

    static Stream<Arguments> grid() {
        String mode = System.getProperty("sageptx.grid", "");
        boolean small = mode.equals("small") || mode.equals("tiny");
        int[][] lengths = mode.equals("tiny") ? new int[][] {{77, 130}, {130, 130}}
                : small ? new int[][] {{1, 1}, {77, 130}, {130, 130}}
                : new int[][] {{1, 1}, {17, 64}, {64, 65}, {130, 130}, {77, 300}, {300, 77}};
        List<Arguments> out = new ArrayList<>();
        for (PvVariant pv : PvVariant.values()) {
            for (int d : new int[] {64, 128}) {
                for (int st = 1; st <= 3; st++) {
                    for (boolean causal : new boolean[] {false, true}) {
                        for (int[] l : lengths) {
                            if (causal && l[0] != l[1]) continue;
                            if (small && (st == 1 || (pv == PvVariant.FP8_F32ACC))) continue;
                            out.add(Arguments.of(pv, d, st, causal, l[0], l[1]));
                        }
                    }
                }
            }
        }
        return out.stream();
    }

    /**
     * The tuner's other tiles at the planner's depth: 64 rows on 4 warps, and 128 rows on 4 warps (two m16 tiles
     * per warp, where Q is re-read per block above D = 64 and the 16-bit P V skips the O rescale per warp), each
     * with 64-key and 32-key blocks, on rows whose max moves in some blocks and not in others (Lk up to 1000).
     */
    static Stream<Arguments> tiles() {
        boolean small = !System.getProperty("sageptx.grid", "").isEmpty();
        int[][] lengths = small ? new int[][] {{77, 300}, {130, 130}}
                : new int[][] {{1, 1}, {64, 65}, {130, 130}, {77, 300}, {300, 1000}, {1000, 1000}};
        List<Arguments> out = new ArrayList<>();
        for (PvVariant pv : new PvVariant[] {PvVariant.FP8_F16ACC, PvVariant.FP16}) {
            for (int d : new int[] {64, 96, 128}) {
                for (int[] tile : new int[][] {{64, 4, 64}, {128, 4, 64}, {128, 4, 32}}) {
                    for (boolean causal : new boolean[] {false, true}) {
                        for (int[] l : lengths) {
                            if (causal && l[0] != l[1]) continue;
                            out.add(Arguments.of(pv, d, tile[0], tile[1], tile[2], causal, l[0], l[1]));
                        }
                    }
                }
            }
        }
        return out.stream();
    }

    @ParameterizedTest(name = "{0} D={1} stages={2} causal={3} Lq={4} Lk={5}")
    @MethodSource("grid")
    void everyDepthMatchesTheReference(PvVariant pv, int d, int stages, boolean causal, int lq, int lk) {
        DType t = d == 64 ? DType.FP16 : DType.BF16;
        check(KernelSpec.defaults(attention.arch(), d, causal, t, t).toBuilder().pv(pv).mma(MmaKind.SYNC)
                .stages(stages).build(), causal, lq, lk, stages);
    }

    @ParameterizedTest(name = "{0} D={1} tile {2}x{3} keys {4} causal={5} Lq={6} Lk={7}")
    @MethodSource("tiles")
    void everyTileMatchesTheReference(PvVariant pv, int d, int rows, int warps, int keys, boolean causal, int lq, int lk) {
        DType t = d == 64 ? DType.BF16 : DType.FP16;
        check(KernelSpec.defaults(attention.arch(), d, causal, t, t).toBuilder().pv(pv).mma(MmaKind.SYNC)
                .tiles(rows, warps).blockK(keys).build(), causal, lq, lk, rows + warps + keys);
    }

    private static void check(KernelSpec spec, boolean causal, int lq, int lk, int seed) {
        PvVariant pv = spec.pv();
        int d = spec.headDim();
        DType t = spec.inType();
        Assumptions.assumeTrue(!pv.isFp8() || attention.arch().hasFp8Mma(), "no FP8 mma on " + attention.arch());
        int b = 2, h = 4, hkv = 2;
        AttentionInputs x = new AttentionInputs(lq * 31L + lk + d + seed, b, h, hkv, lq, lk, d, t);
        float scale = (float) (1 / Math.sqrt(d));
        DeviceContext ctx = attention.context();
        try (DeviceArrays mem = new DeviceArrays(ctx); CudaStream s = CudaStream.create(ctx)) {
            DeviceBuffer o = mem.nan16(x.q.length);
            DeviceBuffer lse = mem.nan32(b * h * lq);
            attention.forward(AttentionArgs.builder().q(mem.of(x.q16).address()).k(mem.of(x.k16).address())
                    .v(mem.of(x.v16).address()).o(o.address()).lse(lse.address()).batch(b).heads(h).kvHeads(hkv).lq(lq)
                    .lk(lk).headDim(d).dtype(t).causal(causal).smScale(scale).pv(pv).spec(spec).build(), s.handle());
            s.synchronize();
            AttentionReference.Result ref = AttentionReference.compute(x.q, x.k, x.v, b, h, hkv, lq, lk, d, scale, causal);
            ErrorStats e = ErrorStats.of(Half.decode(DeviceArrays.shorts(o), t), ref.o());
            assertEquals(0, e.nonFinite(), spec + ": NaN/Inf or unwritten outputs " + e);
            if (pv.isFp8()) assertTrue(e.cosine() >= 0.999, spec + ": " + e);
            assertTrue(e.relL1() <= (pv.isFp8() ? 0.045 : 0.015), spec + ": " + e);
            float[] l = DeviceArrays.floats(lse);
            for (float v : l) assertTrue(Float.isFinite(v), spec + ": LSE not written or not finite");
            synchronized (LOG) {
                LOG.add(spec + " " + lq + "x" + lk + ": " + e);
            }
        }
    }
}
