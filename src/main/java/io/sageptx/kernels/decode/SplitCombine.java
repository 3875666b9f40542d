package io.sageptx.kernels.decode;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import io.sageptx.ptx.PtxFloats;
import io.sageptx.ptx.PtxVersions;
import io.sageptx.ptx.TemplateRenderer;
import io.sageptx.spec.Arch;
import io.sageptx.spec.DType;

/**
 * The combine of a split decode call ({@code templates/decode/combine.stg}), which the last CTA of each
 * (sequence, kv head, row chunk) to finish runs inside the decode kernel: for each of its rows (b, h, i) it
 * merges the FP32 partial outputs O_s (each normalized over its split's keys) by their base-2 LSEs:
 * {@code M = max_s lse_s, w_s = 2^(lse_s - M), O = sum w_s O_s / sum w_s, LSE = (M + log2 sum w_s) ln 2}.
 * Splits with no visible key (lse = -inf) weigh 0 and are not read; a row with none gets O = 0, LSE = -inf; a
 * NaN partial LSE (a poisoned sequence) makes the row NaN. One warp per row, lane l holds channels 4l .. 4l+3 of
 * each 128-channel slot.
 *
 * <p>Who is last: each CTA of a split call, once its partial is written, counts itself on its group's 64-bit
 * counter in the workspace (high word the call's tag, low word the CTAs arrived) with one atomic add; a word with
 * another tag (whatever a caller's scratch memory held before) is first swapped for (tag, 0) by a compare-and-swap
 * that only the first CTA to see it wins. The CTA that brings the count to the split count combines and sets the
 * word back to (tag, 0), so that the same call launched again (a prepared call, a CUDA graph) starts from 0 too.
 * That CTA combines its rows one warp per row in turn; where a chunk has more rows than warps the call instead
 * binds no counters ({@code p_ws_cnt} = 0) and launches the same combine as a kernel of its own
 * ({@link #emitKernel}: a warp per row at once), which the H200 measured faster there (see
 * {@code docs/notes/decode.md}, "The combine inside the decode kernel").
 */
public final class SplitCombine {

    /** Channels 128 s + 4 lane .. of slot s; partial: only lanes below the tail hold channels. */
    public record Slot(int s, int wsOff, int outOff, boolean partial, String a0, String a1, String a2, String a3, List<String> accs) {
    }

    /** One group of 32 split LSEs (lane l: split first + l) in register {@code reg}; its weights at {@code wOff}. */
    public record LseGroup(int first, String reg, int wOff, boolean last) {
    }

    /** Four weights of a step read from shared memory at once. */
    public record WeightLoad(int off, String regs) {
    }

    /** One slot's part of a step: predicate, loaded partial output registers, accumulators, offset in the row. */
    public record StepSlot(String pred, String y, String y0, String y1, String y2, String y3, String a0, String a1, String a2,
                           String a3, int wsOff) {
    }

    /** Split s + j of a pass-2 step: weight register, predicates and the slots' loads. */
    public record Step(String w, String q, String r, boolean last, List<StepSlot> slots) {
    }

    /** Splits a pass-2 step reads at once: {@value #UNROLL_REGISTERS} loaded registers in all. */
    static int unroll(int headDim) {
        return UNROLL_REGISTERS / (4 * slots(headDim));
    }

    static final int UNROLL_REGISTERS = 64;

    /** Bytes of shared memory one warp's split weights take ({@link DecodeSpec#MAX_SPLITS_ASKED} floats). */
    public static final int WARP_WEIGHT_BYTES = 4 * DecodeSpec.MAX_SPLITS_ASKED;

    /** Where the weights start in the kernel's shared memory (the word before them tells the CTA it is last). */
    public static final int WEIGHTS_OFFSET = 128;

    /** Shared memory the combine needs in a CTA of {@code warps} warps. */
    public static int sharedBytes(int warps) {
        return WEIGHTS_OFFSET + warps * WARP_WEIGHT_BYTES;
    }

    /** Bytes of one group's arrival counter in the workspace. */
    public static final int COUNTER_BYTES = 8;

    static int slots(int headDim) {
        return (headDim + 127) / 128;
    }

    /** Warps of a CTA of the separate combine kernel (one row each). */
    public static final int KERNEL_WARPS = 4;

    /**
     * Whether a split call of {@code spec} whose chunks hold {@code rowsPerChunk} query rows combines in its last
     * CTAs: only where every warp of the CTA has at most one row to combine. With more, the serial rows of that
     * one CTA cost more than the separate launch saves (H200, 2026-12-03: 16 rows on 4 warps 1.02-2.0x slower
     * calls, 1-4 rows 0.80-1.00x).
     */
    public static boolean fused(DecodeSpec spec, int rowsPerChunk) {
        return rowsPerChunk <= spec.warps();
    }

    public static String kernelName(int headDim, DType dtype) {
        return "sageptx_decode_combine_" + dtype.shortName() + "_d" + headDim;
    }

    /** PTX of the separate combine kernel: {@link #KERNEL_WARPS} rows per CTA, the ABI of {@code DecodeKernels.combineAbi}. */
    public static String emitKernel(int headDim, DType dtype, Arch arch) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("title", "decode combine d" + headDim + " " + dtype.shortName() + " " + arch.target());
        m.put("name", kernelName(headDim, dtype));
        m.put("params", DecodeKernels.combineAbi().paramBlock());
        m.put("ptxVersion", PtxVersions.base(arch));
        m.put("target", arch.target());
        m.put("threads", 32 * KERNEL_WARPS);
        m.put("warps", KERNEL_WARPS);
        m.put("weightBytes", KERNEL_WARPS * WARP_WEIGHT_BYTES);
        m.put("c", model(headDim, dtype));
        return TemplateRenderer.render("decode/combine", "combineKernel", Map.of("m", m));
    }

    private SplitCombine() {
    }

    /** The template model ({@code c} in combine.stg) at {@code headDim}, output {@code dtype}. */
    public static Map<String, Object> model(int headDim, DType dtype) {
        if (!DecodeSpec.HEAD_DIMS.contains(headDim)) {
            throw new IllegalArgumentException("decode combine: headDim = " + headDim + " is not supported; supported: "
                    + DecodeSpec.HEAD_DIMS);
        }
        int slots = slots(headDim);
        int tail = headDim / 4 - 32 * (slots - 1);
        int unroll = unroll(headDim);
        int groups = DecodeSpec.MAX_SPLITS_ASKED / 32;
        if (DecodeSpec.MAX_SPLITS_ASKED % unroll != 0 || DecodeSpec.MAX_SPLITS_ASKED % 32 != 0) {
            throw new IllegalStateException("MAX_SPLITS " + DecodeSpec.MAX_SPLITS_ASKED + " must be a multiple of 32 and " + unroll);
        }
        boolean partialTail = tail != 32;
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("type", dtype.ptx());
        m.put("rowBytes", 4 * headDim);
        m.put("tailLanes", tail);
        m.put("accCount", 4 * slots);
        m.put("ln2", PtxFloats.hex((float) Math.log(2.0)));
        m.put("unroll", unroll);
        m.put("yCount", 4 * slots * unroll);
        m.put("lseGroups", groups);
        m.put("warpWeightBytes", WARP_WEIGHT_BYTES);
        m.put("stepWeightBytes", 4 * unroll);
        List<LseGroup> lse = new ArrayList<>();
        List<String> lseMax = new ArrayList<>();
        for (int g = 0; g < groups; g++) {
            lse.add(new LseGroup(32 * g, "%cb_ls" + g, 128 * g, g == groups - 1));
            if (g >= 2) lseMax.add("%cb_ls" + g);
        }
        m.put("lseLoads", lse);
        m.put("lseMax", lseMax);
        m.put("butterfly", List.of(16, 8, 4, 2, 1));
        List<WeightLoad> wl = new ArrayList<>();
        for (int v = 0; v < unroll / 4; v++) {
            wl.add(new WeightLoad(16 * v, "%cb_w" + 4 * v + ", %cb_w" + (4 * v + 1) + ", %cb_w" + (4 * v + 2) + ", %cb_w" + (4 * v + 3)));
        }
        m.put("weightLoads", wl);
        List<Slot> list = new ArrayList<>();
        for (int s = 0; s < slots; s++) {
            List<String> accs = List.of("%cb_acc" + 4 * s, "%cb_acc" + (4 * s + 1), "%cb_acc" + (4 * s + 2), "%cb_acc" + (4 * s + 3));
            list.add(new Slot(s, 512 * s, 256 * s, partialTail && s == slots - 1, accs.get(0), accs.get(1), accs.get(2),
                    accs.get(3), accs));
        }
        m.put("slots", list);
        List<Step> steps = new ArrayList<>();
        for (int j = 0; j < unroll; j++) {
            List<StepSlot> ss = new ArrayList<>();
            for (Slot sl : list) {
                int y = 4 * (j * slots + sl.s());
                String[] yr = {"%cb_y" + y, "%cb_y" + (y + 1), "%cb_y" + (y + 2), "%cb_y" + (y + 3)};
                ss.add(new StepSlot(sl.partial() ? "%cb_r" + j : "%cb_q" + j, String.join(", ", yr), yr[0], yr[1], yr[2], yr[3],
                        sl.a0(), sl.a1(), sl.a2(), sl.a3(), sl.wsOff()));
            }
            steps.add(new Step("%cb_w" + j, "%cb_q" + j, "%cb_r" + j, j == unroll - 1, ss));
        }
        m.put("steps", steps);
        m.put("hasPartial", partialTail);
        return m;
    }
}
