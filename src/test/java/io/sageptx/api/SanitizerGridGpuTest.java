package io.sageptx.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sageptx.call.AttentionArgs;
import io.sageptx.call.MergeArgs;
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

import io.sageptx.cuda.CudaStream;
import io.sageptx.cuda.DeviceBuffer;
import io.sageptx.cuda.DeviceContext;
import io.sageptx.numerics.AttentionReference;
import io.sageptx.numerics.ErrorStats;
import io.sageptx.numerics.Half;
import io.sageptx.spec.DType;
import io.sageptx.spec.KernelSpec;
import io.sageptx.spec.PvVariant;
import io.sageptx.testing.GpuTest;

/**
 * The reduced GPU grid that {@code tools/sanitize} runs under compute-sanitizer (tag "sanitize"): every
 * PV variant, head dim, causal mode and dtype at ragged lengths (Lq, Lk not multiples of the tiles,
 * Lq != Lk, a single token), GQA, the LSE, and an LSE merge of two key ranges per case; each checked
 * against the FP64 reference with the core bars. Tensors are allocated to their exact sizes, so any read
 * or write past them is a memcheck error. System property {@code sageptx.grid} picks a smaller grid for
 * the slow sanitizer tools ({@link #grid()}).
 * The shape/mode grid (head dims, NHD and strided views, causal alignments, varlen) and the wgmma kernel
 * are covered by the memcheck pass through their own tests (tag "sanitize-memcheck").
 */
@GpuTest
@Tag("sanitize")
class SanitizerGridGpuTest {

    /** Head dims tested here: these, where the generator has them (part 1 of issue 5 adds 80, 96, 256). */
    private static final List<Integer> HEAD_DIMS = Stream.of(64, 128, 96, 256).filter(KernelSpec.HEAD_DIMS::contains).toList();
    private static final List<String> LOG = new ArrayList<>();
    private static SageAttention attention;
    private static LseMerge merge;

    @BeforeAll
    static void open() {
        attention = SageAttention.onDevice(0);
        merge = LseMerge.of(attention.context());
    }

    @AfterAll
    static void close() {
        if (attention != null) attention.close();
        LOG.forEach(System.out::println);
    }

    /**
     * The grid for {@code sageptx.grid}: unset, every combination (96 cases); {@code memcheck}, the
     * FP8 f16-accumulate PV, both head dims and causal modes, fp16 at D=64 and bf16 at D=128, 77 x 300
     * (with a merge) and causal 130 x 130 (8 cases); {@code racecheck}, two cases.
     */
    static Stream<Arguments> grid() {
        String mode = System.getProperty("sageptx.grid", "");
        int[][] lengths = {{17, 17}, {130, 130}, {1, 1}, {77, 300}, {300, 77}};
        List<Arguments> out = new ArrayList<>();
        for (PvVariant pv : PvVariant.values()) {
            for (int d : HEAD_DIMS) {
                for (boolean causal : new boolean[] {false, true}) {
                    for (DType t : DType.values()) {
                        for (int[] l : lengths) {
                            if (causal && l[0] != l[1]) continue;
                            boolean keep = switch (mode) {
                                case "memcheck" -> pv != PvVariant.FP8_F32ACC && (t == DType.FP16) == (d == 64)
                                        && (causal ? l[0] == 130 : l[0] == 77);
                                case "racecheck" -> pv == PvVariant.FP16 && (t == DType.FP16) == (d == 64) && causal == (d == 128)
                                        && l[0] == 130;
                                default -> true;
                            };
                            if (keep) out.add(Arguments.of(pv, d, causal, t, l[0], l[1]));
                        }
                    }
                }
            }
        }
        return out.stream();
    }

    @ParameterizedTest(name = "{0} D={1} causal={2} {3} Lq={4} Lk={5}")
    @MethodSource("grid")
    void runsCleanAndAccurate(PvVariant pv, int d, boolean causal, DType t, int lq, int lk) {
        Assumptions.assumeTrue(!pv.isFp8() || attention.arch().hasFp8Mma(), "no FP8 mma on " + attention.arch());
        int b = 1, h = 4, hkv = 2;
        AttentionInputs x = new AttentionInputs(lq * 13L + lk + d, b, h, hkv, lq, lk, d, t);
        float scale = (float) (1 / Math.sqrt(d));
        DeviceContext ctx = attention.context();
        try (DeviceArrays mem = new DeviceArrays(ctx); CudaStream s = CudaStream.create(ctx)) {
            DeviceBuffer q = mem.of(x.q16);
            DeviceBuffer k = mem.of(x.k16);
            DeviceBuffer v = mem.of(x.v16);
            DeviceBuffer o = mem.nan16(x.q.length);
            DeviceBuffer lse = mem.nan32(b * h * lq);
            attention.forward(AttentionArgs.builder().q(q.address()).k(k.address()).v(v.address()).o(o.address())
                    .lse(lse.address()).batch(b).heads(h).kvHeads(hkv).lq(lq).lk(lk).headDim(d).dtype(t).causal(causal)
                    .smScale(scale).pv(pv).build(), s.handle());
            String merged = "";
            DeviceBuffer mo = null;
            if (!causal && lk >= 2) {
                // the same keys in two ranges, merged
                int cut = lk / 3;
                mo = mem.nan16(x.q.length);
                DeviceBuffer ml = mem.nan32(b * h * lq);
                MergeArgs.Builder mb = MergeArgs.builder().heads(h).seqLen(lq).headDim(d).dtype(t).out(mo.address(), ml.address());
                for (int[] r : new int[][] {{0, cut}, {cut, lk}}) {
                    DeviceBuffer po = mem.nan16(x.q.length);
                    DeviceBuffer pl = mem.nan32(b * h * lq);
                    attention.forward(AttentionArgs.builder().q(q.address())
                            .k(mem.of(LseMergeGpuTest.slice(x.k16, b * hkv, lk, d, r[0], r[1])).address())
                            .v(mem.of(LseMergeGpuTest.slice(x.v16, b * hkv, lk, d, r[0], r[1])).address())
                            .o(po.address()).lse(pl.address()).batch(b).heads(h).kvHeads(hkv).lq(lq).lk(r[1] - r[0])
                            .headDim(d).dtype(t).smScale(scale).pv(pv).build(), s.handle());
                    mb.part(po.address(), pl.address());
                }
                merge.merge(mb.build(), s.handle());
            }
            s.synchronize();
            AttentionReference.Result ref = AttentionReference.compute(x.q, x.k, x.v, b, h, hkv, lq, lk, d, scale, causal);
            ErrorStats e = ErrorStats.of(Half.decode(DeviceArrays.shorts(o), t), ref.o());
            check(pv, e, "one call");
            if (mo != null) {
                ErrorStats m = ErrorStats.of(Half.decode(DeviceArrays.shorts(mo), t), ref.o());
                check(pv, m, "merged");
                merged = ", merged " + m;
            }
            synchronized (LOG) {
                LOG.add(pv.id() + " D=" + d + " causal=" + causal + " " + t.shortName() + " " + lq + "x" + lk + ": " + e + merged);
            }
        }
    }

    private static void check(PvVariant pv, ErrorStats e, String what) {
        assertEquals(0, e.nonFinite(), what + ": NaN/Inf or unwritten outputs " + e);
        if (pv.isFp8()) assertTrue(e.cosine() >= 0.999, what + ": " + e);
        assertTrue(e.relL1() <= (pv.isFp8() ? 0.045 : 0.015), what + ": " + e);
    }
}
