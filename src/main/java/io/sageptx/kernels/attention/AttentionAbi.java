package io.sageptx.kernels.attention;

import io.sageptx.kernel.KernelAbi;
import io.sageptx.spec.KernelSpec;
import io.sageptx.spec.QkPrecision;

/**
 * The parameters of the fused attention kernel, the same for every attention family: the quantized
 * scratch tensors the preprocessing wrote ({@link ScratchLayout}), the caller's output, the shape, the
 * varlen and causal-alignment parameters and the element strides of O and V.
 */
public final class AttentionAbi {

    private AttentionAbi() {
    }

    /** The ABI of the attention kernel of {@code spec} (its V parameter is FP8 V^T or the caller's V). */
    public static KernelAbi of(KernelSpec spec) {
        boolean q16 = spec.fp16Qk();
        KernelAbi.Builder b = KernelAbi.builder()
                .u64("p_q8", q16 ? "Q as the caller gave it (" + spec.inType().shortName() + ", strides p_q_*): 16-bit QK"
                        : "int8 Q [B][H][LqPad][DPad] (D zero-padded to a multiple of 32)")
                .u64("p_k8", q16 ? "K as the caller gave it (" + spec.inType().shortName() + ", strides p_k_*): 16-bit QK"
                        : "int8 smoothed K [B][Hkv][LkPad][DPad]")
                .u64("p_v", vDescription(spec))
                .u64("p_qs", "Q scales, times sm_scale*log2(e)")
                .u64("p_ks", "K scales")
                .u64("p_vs", "V channel scales [B][Hkv][D] (FP8 PV only)")
                .u64("p_vm", "V channel means [B][Hkv][D], added back to O (FP8 PV only)")
                .u64("p_o", "O, element (b, h, token, c) at b*o_sb + h*o_sh + token*o_sr + c")
                .u64("p_lse", "LSE [B][H][Lq] natural log (Lq = max_seqlen_q for varlen), or 0")
                .u64("p_qkm", "sm_scale * (q . kmean) [B][H][LqPad], read when LSE is written")
                .u32("p_lq", "Lq (varlen: max_seqlen_q; the grid covers it)")
                .u32("p_lk", "Lk (varlen: max_seqlen_k)")
                .u32("p_lqpad")
                .u32("p_lkpad")
                .u32("p_heads")
                .u32("p_group", "Hq / Hkv")
                .u32("p_qsstride", "Q scales per (b, h)")
                .u32("p_ksstride", "K scales per (b, hkv)")
                .u64("p_cuq", "varlen: int32 cu_seqlens_q [B+1] (token offsets of the sequences), or 0")
                .u64("p_cuk", "varlen: int32 cu_seqlens_k [B+1], or 0 (both or neither)")
                .u32("p_causal_br", "causal kernels: 1 = bottom-right aligned (offset Lk - Lq per sequence), 0 = top-left")
                .strides("p_o", "O strides in elements: batch (0 for varlen), head, token")
                .strides("p_v", "V strides in elements (read by the FP16 PV variant only)");
        if (q16) {
            // 16-bit QK reads Q and K from the caller's tensors; the scores are not quantized, so the softmax
            // scale comes as a parameter (INT8 QK folds it into the Q scales). The INT8 scratch parameters above
            // are unused (bound to 0).
            b.strides("p_q", "Q strides in elements: batch (0 for varlen), head, token (16-bit QK)")
                    .strides("p_k", "K strides in elements (16-bit QK)")
                    .f32("p_c", "sm_scale * log2(e): the base-2 softmax scale of the FP32 scores (16-bit QK)")
                    .u64("p_qkflags", "qk=auto: u32 [B][H], 1 = the head runs here (16-bit QK); 0 = every head runs here");
        } else if (spec.qk() == QkPrecision.AUTO) {
            b.u64("p_qkflags", "qk=auto: u32 [B][H], 0 = the head runs here (INT8 QK), 1 = in the 16-bit QK kernel");
        }
        return b.build();
    }

    /** What the kernel's V parameter holds. */
    public static String vDescription(KernelSpec spec) {
        return spec.pv().isFp8() ? "e4m3 V^T [B][Hkv][D][LkPad], tokens permuted in every 16, per-channel scaled"
                : "V [B][Hkv][Lk][D], " + spec.inType().shortName();
    }
}
