package io.sageptx.kernels.decode;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import io.sageptx.numerics.QuantizedKvCacheModel;
import io.sageptx.ptx.PtxVersions;
import io.sageptx.ptx.TemplateRenderer;
import io.sageptx.spec.Arch;
import io.sageptx.spec.DType;

/**
 * The append kernel of the quantized cache ({@code templates/decode/append.stg}): quantizes new K/V rows of
 * each sequence into the pool by {@link QuantizedKvCacheModel}'s rules, byte for byte. One CTA of
 * {@link #THREADS} threads per (kv head, sequence).
 */
public final class AppendEmitter {

    public static final int THREADS = 128;

    /** A thread's channel thr + 128 k (CTA-wide loops) or a lane's channel lane + 32 k (per-token loops). */
    public record Channel(int k, int off, String r) {
    }

    private AppendEmitter() {
    }

    public static String kernelName(int headDim, DType dtype) {
        return "sageptx_kv_append_" + dtype.shortName() + "_d" + headDim;
    }

    public static String emit(int d, DType dtype, Arch arch) {
        if (!DecodeSpec.HEAD_DIMS.contains(d)) {
            throw new IllegalArgumentException("kv append: headDim = " + d + " is not supported; supported: " + DecodeSpec.HEAD_DIMS);
        }
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("title", "quantized KV append d" + d + " " + dtype.shortName() + " " + arch.target());
        m.put("name", kernelName(d, dtype));
        m.put("params", DecodeKernels.appendAbi().paramBlock());
        m.put("ptxVersion", PtxVersions.base(arch));
        m.put("target", arch.target());
        m.put("bf16", dtype == DType.BF16);
        m.put("d", d);
        m.put("d2", 2 * d);
        m.put("d16", 16 * d);
        m.put("dBytes4", 4 * d);
        m.put("meanMinTokens", QuantizedKvCacheModel.MEAN_MIN_TOKENS);
        // offsets from the (block, head) statistics at + 2 * bs * D (QuantKvLayout)
        m.put("vScaleOff", 2 * d);
        m.put("meanScaleOff", 6 * d);
        m.put("kScaleOff", 6 * d + 16);
        List<Channel> cta = new ArrayList<>();
        for (int k = 0; k * THREADS < d; k++) cta.add(new Channel(k, k * THREADS, ""));
        m.put("ctaChannels", cta);
        List<Channel> lane = new ArrayList<>();
        for (int k = 0; k * 32 < d; k++) lane.add(new Channel(k, 32 * k, "%r" + k));
        m.put("laneSlots", lane);
        m.put("laneChannels", lane.size());
        return TemplateRenderer.render("decode/append", "kernel", Map.of("m", m));
    }
}
