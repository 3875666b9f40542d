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

    /** Warps (one per (sequence, kv head)) per CTA of the one-token kernel. */
    public static final int WARPS1 = 4;

    /** A lane's channel group s (channels 4 (lane + 32 s) ..) of the one-token kernel and its byte offsets. */
    public record Slot(int k, int off, int m0, int m1, int c0, int c1, int c2, int c3, int kmOff, int vsOff, int k8Off, int v8Off) {
    }

    /** Channel e of a lane's group s (register index i = 4 s + e). */
    public record Chan(int i, int s, int byteOff, int chOff) {
    }

    /** Byte q of a 16-byte V^T chunk: word w, bit offset, the mask that clears it. */
    public record ChunkByte(int q, int w, int bit, String clear) {
    }

    /** Channels lane + 32 u of the rescale pass. */
    public record RescaleSlot(int k, int off) {
    }

    /** What both append kernels' models hold: title, name, ABI, PTX version and target, dtype, D and its multiples. */
    private static Map<String, Object> common(int d, DType dtype, Arch arch, String title, String name) {
        if (!DecodeSpec.HEAD_DIMS.contains(d)) {
            throw new IllegalArgumentException("kv append: headDim = " + d + " is not supported; supported: " + DecodeSpec.HEAD_DIMS);
        }
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("title", title + d + " " + dtype.shortName() + " " + arch.target());
        m.put("name", name);
        m.put("params", DecodeKernels.appendAbi().paramBlock());
        m.put("ptxVersion", PtxVersions.base(arch));
        m.put("target", arch.target());
        m.put("bf16", dtype == DType.BF16);
        m.put("d", d);
        m.put("d2", 2 * d);
        m.put("d16", 16 * d);
        return m;
    }

    public static String kernelName1(int headDim, DType dtype) {
        return "sageptx_kv_append1_" + dtype.shortName() + "_d" + headDim;
    }

    /** The one-token append kernel (p_n = 1): one warp per (sequence, kv head), {@link #WARPS1} per CTA. */
    public static String emit1(int d, DType dtype, Arch arch) {
        Map<String, Object> m = common(d, dtype, arch, "quantized KV append, one token, d", kernelName1(d, dtype));
        m.put("groups", d / 4);
        m.put("vScaleOff", 2 * d);
        m.put("meanScaleOff", 6 * d);
        m.put("kScaleOff", 6 * d + 16);
        m.put("shWarpBytes", d);
        m.put("shBytes", WARPS1 * d);
        int slots = (d / 4 + 31) / 32;
        List<Slot> sl = new ArrayList<>();
        List<Chan> ch = new ArrayList<>();
        for (int s = 0; s < slots; s++) {
            sl.add(new Slot(s, 32 * s, 2 * s, 2 * s + 1, 4 * s, 4 * s + 1, 4 * s + 2, 4 * s + 3, 256 * s, 2 * d + 512 * s, 128 * s,
                    2048 * s));
            for (int e = 0; e < 4; e++) ch.add(new Chan(4 * s + e, s, 256 * s + 2 * e, 128 * s + e));
        }
        m.put("slots", slots);
        m.put("slotList", sl);
        m.put("chans", ch);
        m.put("nch", 4 * slots);
        m.put("nch2", 2 * slots);
        List<ChunkByte> bytes = new ArrayList<>();
        for (int q = 0; q < 16; q++) {
            int bit = 8 * (q % 4);
            bytes.add(new ChunkByte(q, q / 4, bit, String.format("0x%08X", ~(0xFF << bit))));
        }
        m.put("bytes", bytes);
        List<RescaleSlot> rs = new ArrayList<>();
        for (int u = 0; u * 32 < d; u++) rs.add(new RescaleSlot(u, 32 * u));
        m.put("rescaleSlots", rs);
        return TemplateRenderer.render("decode/append1", "kernel1", Map.of("m", m));
    }

    public static String kernelName(int headDim, DType dtype) {
        return "sageptx_kv_append_" + dtype.shortName() + "_d" + headDim;
    }

    public static String emit(int d, DType dtype, Arch arch) {
        Map<String, Object> m = common(d, dtype, arch, "quantized KV append d", kernelName(d, dtype));
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
