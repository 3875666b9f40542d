package io.sageptx.kernels.decode;

import io.sageptx.kernel.KernelAbi;
import io.sageptx.kernel.KernelDef;
import io.sageptx.kernel.Launch;
import io.sageptx.kernel.ModuleDef;
import io.sageptx.ptx.PtxVersions;
import io.sageptx.spec.Arch;
import io.sageptx.spec.DType;

/**
 * The decode family's modules and kernels: the decode kernel of a {@link DecodeSpec} (every KV format
 * shares one ABI; parameters a format does not use are bound to 0; a split call's combine runs inside it
 * or as the combine kernel, {@link SplitCombine}) and the append kernels of the quantized cache.
 */
public final class DecodeKernels {

    /** One decode launch: grid x = row chunks x splits, y = kv heads, z = sequences. */
    public record Grid(int chunks, int splits, int kvHeads, int batch) {
    }

    /** One launch of the separate combine kernel over B x H x Lq rows. */
    public record Rows(int rows) {
    }

    /** One append launch: (kv head, sequence) CTAs. */
    public record Append(int kvHeads, int batch) {
    }

    private static final KernelAbi DECODE = KernelAbi.builder()
            .u64("p_q", "Q, 16-bit, element (b, h, i, c) at b*sb + h*sh + i*sr + c")
            .strides("p_q", "Q strides in elements")
            .u64("p_k", "dense: K; paged: the K pool; quantized: the cache pool")
            .strides("p_k", "dense: batch, head, token strides; paged: block, head, token strides (elements)")
            .u64("p_v", "dense: V; paged: the V pool; quantized: unused")
            .strides("p_v", "V strides in elements (as p_k)")
            .u64("p_o", "out: O, 16-bit, strided as Q")
            .strides("p_o", "O strides in elements")
            .u64("p_lse", "out: natural-log LSE float32 [B][H][Lq], or 0")
            .u64("p_ws_o", "splits > 1: out: FP32 partial O [splits][B][H][Lq][D]")
            .u64("p_ws_lse", "splits > 1: out: base-2 partial LSE [splits][B][H][Lq]")
            .u64("p_ws_cnt", "splits > 1: 64-bit arrival counters [B][Hkv][chunks] (SplitCombine), any content before the first call; 0: the combine kernel follows")
            .u64("p_seqlens", "int32 keys per sequence [B], or 0 (dense: every sequence has p_lk)")
            .u64("p_table", "paged: int32 block table [B][p_tstride]")
            .u64("p_flags", "out: int32 [B], set to 1 for a sequence with bad device data, or 0")
            .u32("p_lk", "dense: Lk; paged: p_tstride * block size (a length above it is bad data)")
            .u32("p_tstride", "paged: table entries per sequence")
            .u32("p_nblocks", "paged: blocks in the pool")
            .u32("p_bshift", "paged: log2 block size")
            .u32("p_lq", "query rows per sequence")
            .u32("p_group", "query heads per kv head")
            .u32("p_hkv", "kv heads")
            .u32("p_batch", "sequences")
            .u32("p_chunks", "row chunks per kv head")
            .u32("p_splits", "splits of each sequence's keys")
            .u32("p_causal", "0 none, 1 top-left, 2 bottom-right")
            .f32("p_scale", "sm_scale * log2(e)")
            .u32("p_tag", "splits > 1: the call's tag in its counters (never 0 or 0xffffffff)")
            .build();

    private static final KernelAbi COMBINE = KernelAbi.builder()
            .u64("p_o", "out: O, 16-bit, element (b, h, i, c) at b*sb + h*sh + i*sr + c")
            .strides("p_o", "O strides in elements")
            .u64("p_lse", "out: natural-log LSE float32 [B][H][Lq], or 0")
            .u64("p_ws_o", "FP32 partial O [splits][B*H*Lq][D]")
            .u64("p_ws_lse", "base-2 partial LSE [splits][B*H*Lq]")
            .u32("p_rows", "B * H * Lq")
            .u32("p_lq")
            .u32("p_heads")
            .u32("p_splits")
            .build();

    private static final KernelAbi APPEND = KernelAbi.builder()
            .u64("p_pool", "the quantized cache pool (QuantKvLayout)")
            .u64("p_k", "new K, 16-bit, element (b, kvh, t, c) at b*sb + kvh*sh + t*sr + c")
            .strides("p_k", "new K strides in elements")
            .u64("p_v", "new V, 16-bit")
            .strides("p_v", "new V strides in elements")
            .u64("p_table", "int32 block table [B][p_tstride]")
            .u64("p_lens", "int32 [B]: the sequences' lengths before the call (the new tokens' first position)")
            .u64("p_lens_out", "out: int32 [B]: the lengths after, or 0 (must not be p_lens)")
            .u64("p_counts", "int32 [B]: new tokens per sequence (<= p_n), or 0 (all p_n)")
            .u64("p_flags", "out: int32 [B], set to 1 for a sequence with bad device data, or 0")
            .u32("p_n", "new tokens per sequence")
            .u32("p_tstride", "table entries per sequence")
            .u32("p_nblocks", "blocks in the pool")
            .u32("p_bshift", "log2 block size")
            .u32("p_headbytes", "bytes of one (block, kv head)")
            .u32("p_hkv", "kv heads")
            .u32("p_batch", "sequences")
            .build();

    private DecodeKernels() {
    }

    public static KernelAbi appendAbi() {
        return APPEND;
    }

    public static ModuleDef appendModule(int headDim, DType dtype, Arch arch) {
        return new ModuleDef("kv-append", "d=" + headDim + ",dtype=" + dtype.shortName() + ",arch=" + arch.target(),
                PtxVersions.base(arch), () -> AppendEmitter.emit(headDim, dtype, arch));
    }

    public static KernelDef<Append> appendKernel(int headDim, DType dtype) {
        return new KernelDef<>(AppendEmitter.kernelName(headDim, dtype), APPEND,
                a -> new Launch(a.kvHeads(), a.batch(), 1, AppendEmitter.THREADS, 0));
    }

    /** The one-token append (AppendArgs.tokens() = 1): one warp per (sequence, kv head), 4 per CTA. */
    public static ModuleDef append1Module(int headDim, DType dtype, Arch arch) {
        return new ModuleDef("kv-append1", "d=" + headDim + ",dtype=" + dtype.shortName() + ",arch=" + arch.target(),
                PtxVersions.base(arch), () -> AppendEmitter.emit1(headDim, dtype, arch));
    }

    public static KernelDef<Append> append1Kernel(int headDim, DType dtype) {
        return new KernelDef<>(AppendEmitter.kernelName1(headDim, dtype), APPEND,
                a -> new Launch((a.kvHeads() * a.batch() + AppendEmitter.WARPS1 - 1) / AppendEmitter.WARPS1, 1, 1,
                        32 * AppendEmitter.WARPS1, 0));
    }

    public static KernelAbi decodeAbi() {
        return DECODE;
    }

    public static KernelAbi combineAbi() {
        return COMBINE;
    }

    public static ModuleDef module(DecodeSpec spec) {
        return new ModuleDef("decode", spec.canonical(), PtxVersions.base(spec.arch()), () -> DecodeEmitter.emit(spec));
    }

    public static KernelDef<Grid> kernel(DecodeSpec spec) {
        int smem = DecodePlan.of(spec).smemBytes();
        return new KernelDef<>(spec.kernelName(), DECODE,
                g -> new Launch(g.chunks() * g.splits(), g.kvHeads(), g.batch(), spec.threads(), smem));
    }

    public static ModuleDef combineModule(int headDim, DType dtype, Arch arch) {
        return new ModuleDef("decode-combine", "d=" + headDim + ",dtype=" + dtype.shortName() + ",arch=" + arch.target(),
                PtxVersions.base(arch), () -> SplitCombine.emitKernel(headDim, dtype, arch));
    }

    public static KernelDef<Rows> combineKernel(int headDim, DType dtype) {
        return new KernelDef<>(SplitCombine.kernelName(headDim, dtype), COMBINE,
                r -> new Launch((r.rows() + SplitCombine.KERNEL_WARPS - 1) / SplitCombine.KERNEL_WARPS, 1, 1,
                        32 * SplitCombine.KERNEL_WARPS, 0));
    }
}
