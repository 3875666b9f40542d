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
 * The combine kernel of a split decode call ({@code templates/decode/combine.stg}): for every row
 * (b, h, i) it merges the FP32 partial outputs O_s (each normalized over its split's keys) by their base-2
 * LSEs: {@code M = max_s lse_s, w_s = 2^(lse_s - M), O = sum w_s O_s / sum w_s, LSE = (M + log2 sum w_s) ln 2}.
 * Splits with no visible key (lse = -inf) weigh 0 and are not read; a row with none gets O = 0, LSE =
 * -inf; a NaN partial LSE (a poisoned sequence) makes the row NaN. One warp per row, lane l holds
 * channels 4l .. 4l+3 of each 128-channel slot.
 */
public final class CombineEmitter {

    public static final int WARPS = 4;
    public static final int THREADS = 32 * WARPS;

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

    static int slots(int headDim) {
        return (headDim + 127) / 128;
    }

    private CombineEmitter() {
    }

    public static String kernelName(int headDim, DType dtype) {
        return "sageptx_decode_combine_" + dtype.shortName() + "_d" + headDim;
    }

    public static String emit(int headDim, DType dtype, Arch arch) {
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
        m.put("title", "decode combine d" + headDim + " " + dtype.shortName() + " " + arch.target());
        m.put("name", kernelName(headDim, dtype));
        m.put("params", DecodeKernels.combineAbi().paramBlock());
        m.put("ptxVersion", PtxVersions.base(arch));
        m.put("target", arch.target());
        m.put("threads", THREADS);
        m.put("warps", WARPS);
        m.put("type", dtype.ptx());
        m.put("rowBytes", 4 * headDim);
        m.put("tailLanes", tail);
        m.put("accCount", 4 * slots);
        m.put("ln2", PtxFloats.hex((float) Math.log(2.0)));
        m.put("unroll", unroll);
        m.put("yCount", 4 * slots * unroll);
        m.put("lseGroups", groups);
        m.put("weightSlots", WARPS * DecodeSpec.MAX_SPLITS_ASKED);
        m.put("maxSplitsLess1", DecodeSpec.MAX_SPLITS_ASKED - 1);
        m.put("warpWeightBytes", 4 * DecodeSpec.MAX_SPLITS_ASKED);
        m.put("stepWeightBytes", 4 * unroll);
        List<LseGroup> lse = new ArrayList<>();
        List<String> lseMax = new ArrayList<>();
        for (int g = 0; g < groups; g++) {
            lse.add(new LseGroup(32 * g, "%ls" + g, 128 * g, g == groups - 1));
            if (g >= 2) lseMax.add("%ls" + g);
        }
        m.put("lseLoads", lse);
        m.put("lseMax", lseMax);
        m.put("butterfly", List.of(16, 8, 4, 2, 1));
        List<WeightLoad> wl = new ArrayList<>();
        for (int v = 0; v < unroll / 4; v++) {
            wl.add(new WeightLoad(16 * v, "%w" + 4 * v + ", %w" + (4 * v + 1) + ", %w" + (4 * v + 2) + ", %w" + (4 * v + 3)));
        }
        m.put("weightLoads", wl);
        List<Slot> list = new ArrayList<>();
        for (int s = 0; s < slots; s++) {
            List<String> accs = List.of("%acc" + 4 * s, "%acc" + (4 * s + 1), "%acc" + (4 * s + 2), "%acc" + (4 * s + 3));
            list.add(new Slot(s, 512 * s, 256 * s, partialTail && s == slots - 1, accs.get(0), accs.get(1), accs.get(2),
                    accs.get(3), accs));
        }
        m.put("slots", list);
        List<Step> steps = new ArrayList<>();
        for (int j = 0; j < unroll; j++) {
            List<StepSlot> ss = new ArrayList<>();
            for (Slot sl : list) {
                int y = 4 * (j * slots + sl.s());
                String[] yr = {"%y" + y, "%y" + (y + 1), "%y" + (y + 2), "%y" + (y + 3)};
                ss.add(new StepSlot(sl.partial() ? "%r" + j : "%q" + j, String.join(", ", yr), yr[0], yr[1], yr[2], yr[3],
                        sl.a0(), sl.a1(), sl.a2(), sl.a3(), sl.wsOff()));
            }
            steps.add(new Step("%w" + j, "%q" + j, "%r" + j, j == unroll - 1, ss));
        }
        m.put("steps", steps);
        m.put("hasPartial", partialTail);
        return TemplateRenderer.render("decode/combine", "kernel", Map.of("m", m));
    }
}
