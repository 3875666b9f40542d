package io.sageptx.kernels.preprocess;

import io.sageptx.kernel.KernelAbi;
import io.sageptx.kernel.KernelDef;
import io.sageptx.kernel.Launch;
import io.sageptx.kernel.ModuleDef;
import io.sageptx.kernels.attention.ScratchLayout;
import io.sageptx.ptx.PtxVersions;
import io.sageptx.spec.KernelSpec;
import io.sageptx.spec.QkPrecision;
import io.sageptx.spec.SpecCodec;

/**
 * The preprocessing module of an attention spec and its kernels' definitions: K/V channel statistics,
 * INT8 Q and smoothed K, FP8 V^T. Every kernel runs {@link PreprocessEmitter#THREADS} threads per CTA; its
 * grid is a function of the call's {@link ScratchLayout}.
 */
public final class PreprocessKernels {

    /** K channel means and V channel scales, one CTA per (kv head, batch). */
    public static final KernelAbi KV_STATS = KernelAbi.builder()
            .u64("p_k", "K [B][Hkv][Lk][D]")
            .u64("p_v", "V [B][Hkv][Lk][D]")
            .u64("p_kmean", "out: K channel means [B][Hkv][D]")
            .u64("p_vscale", "out: V channel scales [B][Hkv][D] (FP8 PV only)")
            .u64("p_vmean", "out: V channel means [B][Hkv][D] (FP8 PV only)")
            .u32("p_lk", "Lk (varlen: max_seqlen_k)")
            .u64("p_cuk", "varlen: int32 cu_seqlens_k [B+1], or 0")
            .strides("p_k", "K strides in elements: batch (0 for varlen), head, token")
            .strides("p_v", "V strides in elements")
            .build();

    /** INT8 rows of Q or of the smoothed K, one CTA per scale tile. */
    public static final KernelAbi QUANT_ROWS = quantRows().build();

    /** qk=auto: {@link #QUANT_ROWS} and the tile's sum of squares for the decision kernel. */
    public static final KernelAbi QUANT_ROWS_AUTO = quantRows()
            .u64("p_sumsq", "out: qk=auto: sum of squares of the quantized values per tile [B][H][LPad / tile rows]")
            .build();

    /** The parameters every INT8 row-quantization kernel has. */
    private static KernelAbi.Builder quantRows() {
        return KernelAbi.builder()
                .u64("p_src", "16-bit, element (b, h, token, c) at b*sb + h*sh + token*sr + c")
                .u64("p_dst", "out: int8 [B][H][LPad][DPad] (channels D..DPad zero)")
                .u64("p_scale", "out: scales [B][H][scaleStride]")
                .u64("p_mean", "K channel means [B][Hkv][D]: subtracted (K) or dotted with the row (Q, for the LSE)")
                .u64("p_rowdot", "out: factor * (row . mean) [B][H][LPad], or 0")
                .u32("p_l")
                .u32("p_lpad")
                .u32("p_scalestride")
                .u32("p_group", "heads per kv head (the mean's head is h / group)")
                .f32("p_factor", "multiplies the scale (Q: sm_scale * log2 e; K: 1)")
                .f32("p_dotfactor", "multiplies the row dot (Q: sm_scale)")
                .u64("p_cu", "varlen: int32 cu_seqlens [B+1] of this tensor, or 0")
                .strides("p", "source strides in elements: batch (0 for varlen), head, token");
    }

    /** qk=auto: the per-(batch, head) precision decision, one CTA per (head, batch). */
    public static final KernelAbi QK_DECIDE = KernelAbi.builder()
            .u64("p_qs", "Q scales [B][H][qsstride] (times sm_scale * log2 e)")
            .u64("p_ks", "K scales [B][Hkv][ksstride]")
            .u64("p_qss", "Q sums of squares per scale tile [B][H][qtiles]")
            .u64("p_kss", "K' sums of squares per key block [B][Hkv][kblocks]")
            .u64("p_flags", "out: u32 [B][H], 1 = the head runs the 16-bit QK kernel")
            .u64("p_decisions", "out: the caller's int32 [B][H] copy of the flags, or 0")
            .u32("p_lq", "Lq (varlen: max_seqlen_q)")
            .u32("p_lk", "Lk (varlen: max_seqlen_k)")
            .u64("p_cuq", "varlen: int32 cu_seqlens_q [B+1], or 0")
            .u64("p_cuk", "varlen: int32 cu_seqlens_k [B+1], or 0")
            .u32("p_group", "Hq / Hkv")
            .u32("p_qsstride", "Q scales per (b, h)")
            .u32("p_ksstride", "K scales per (b, hkv)")
            .u32("p_qtiles", "Q scale tiles per (b, h)")
            .u32("p_kblocks", "key blocks per (b, hkv)")
            .f32("p_smscale", "sm_scale")
            .build();

    /** FP8 V, transposed and permuted, one CTA per tile of tokens. */
    public static final KernelAbi QUANT_V = KernelAbi.builder()
            .u64("p_v", "V, element (b, hkv, token, c) at b*sb + hkv*sh + token*sr + c")
            .u64("p_vscale", "V channel scales [B][Hkv][D]")
            .u64("p_vmean", "V channel means [B][Hkv][D], subtracted before the scale")
            .u64("p_v8", "out: e4m3 [B][Hkv][D][LkPad]")
            .u32("p_lk", "Lk (varlen: max_seqlen_k)")
            .u32("p_lkpad")
            .u64("p_cu", "varlen: int32 cu_seqlens_k [B+1], or 0")
            .strides("p", "V strides in elements: batch (0 for varlen), head, token")
            .build();

    private PreprocessKernels() {
    }

    /** The preprocessing module of {@code spec}. */
    public static ModuleDef module(KernelSpec spec) {
        return new ModuleDef("preprocess", SpecCodec.encode(spec), PtxVersions.base(spec.arch()),
                () -> PreprocessEmitter.emit(spec));
    }

    public static KernelDef<ScratchLayout> kvStats(KernelSpec spec) {
        return new KernelDef<>(PreprocessEmitter.kvStatsName(spec), KV_STATS,
                l -> new Launch(l.kvHeads(), l.batch(), 1, PreprocessEmitter.THREADS, 0));
    }

    public static KernelDef<ScratchLayout> quantK(KernelSpec spec) {
        return new KernelDef<>(PreprocessEmitter.quantKName(spec), quantRows(spec),
                l -> new Launch(ceilDiv(l.kBlocks(), PreprocessEmitter.kTilesPerCta(spec)), l.kvHeads(), l.batch(),
                        PreprocessEmitter.THREADS, PreprocessEmitter.kStageBytes(spec)));
    }

    public static KernelDef<ScratchLayout> quantQ(KernelSpec spec) {
        return new KernelDef<>(PreprocessEmitter.quantQName(spec), quantRows(spec),
                l -> new Launch(ceilDiv(l.qScaleTiles(), PreprocessEmitter.qTilesPerCta(spec)), l.heads(), l.batch(),
                        PreprocessEmitter.THREADS, PreprocessEmitter.qStageBytes(spec)));
    }

    /** The ABI of the INT8 row quantization of a spec (qk=auto adds the tiles' sums of squares). */
    public static KernelAbi quantRows(KernelSpec spec) {
        return spec.qk() == QkPrecision.AUTO ? QUANT_ROWS_AUTO : QUANT_ROWS;
    }

    /** qk=auto: the precision decision of every (batch, head), one CTA per (head, batch). */
    public static KernelDef<ScratchLayout> qkDecide(KernelSpec spec) {
        if (spec.qk() != QkPrecision.AUTO) throw new IllegalArgumentException("not a qk=auto spec: " + spec);
        return new KernelDef<>(PreprocessEmitter.qkDecideName(spec), QK_DECIDE,
                l -> new Launch(l.heads(), l.batch(), 1, PreprocessEmitter.THREADS, 0));
    }

    /** The FP8 V transform (FP8 PV variants only). */
    public static KernelDef<ScratchLayout> quantV(KernelSpec spec) {
        return new KernelDef<>(PreprocessEmitter.quantVName(spec), QUANT_V,
                l -> new Launch(l.lkPadded() / PreprocessEmitter.vTileTokens(spec), l.kvHeads(), l.batch(),
                        PreprocessEmitter.THREADS, 0));
    }

    private static int ceilDiv(int a, int b) {
        return (a + b - 1) / b;
    }
}
