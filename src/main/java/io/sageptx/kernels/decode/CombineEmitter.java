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
    public record Slot(int s, int wsOff, int outOff, boolean partial, String a0, String a1, String a2, String a3, List<String> accs,
                       String y) {
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
        int slots = (headDim + 127) / 128;
        int tail = headDim / 4 - 32 * (slots - 1);
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
        List<Slot> list = new ArrayList<>();
        for (int s = 0; s < slots; s++) {
            List<String> accs = List.of("%acc" + 4 * s, "%acc" + (4 * s + 1), "%acc" + (4 * s + 2), "%acc" + (4 * s + 3));
            list.add(new Slot(s, 512 * s, 256 * s, tail != 32 && s == slots - 1, accs.get(0), accs.get(1), accs.get(2),
                    accs.get(3), accs, "%y0, %y1, %y2, %y3"));
        }
        m.put("slots", list);
        m.put("hasPartial", tail != 32);
        return TemplateRenderer.render("decode/combine", "kernel", Map.of("m", m));
    }
}
