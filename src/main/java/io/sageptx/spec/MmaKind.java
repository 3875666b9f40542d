package io.sageptx.spec;

import java.util.Arrays;
import java.util.stream.Collectors;

/**
 * Which tensor-core instructions the fused kernel's main loop uses: the attention kernel family of a
 * spec. Each constant carries the spec checks its family needs; the family itself (plan, emitter,
 * template) is registered under it in {@code io.sageptx.kernels.AttentionFamilies}.
 */
public enum MmaKind {
    /**
     * Warp-level {@code mma.sync} (sm_80 and newer): the SageAttention2++ design; also the opt-in 16-bit QK kernel
     * ({@link QkPrecision#FP16}, m16n8k16) and qk=auto on every architecture.
     */
    SYNC("sync", "", "") {
        @Override
        void check(int headDim, int blockQ, int warps, PvVariant pv, Arch arch, QkPrecision qk) {
            // every arch, PV variant, tile and QK precision KernelSpec itself accepts (qk=fp16 with pv=fp16 and a
            // pipelined loop, qk=auto with any PV: KernelSpec's checks)
        }
    },
    /**
     * Warpgroup-level {@code wgmma.mma_async} (sm_90a, Hopper only): INT8 QK and FP8 PV with K and V read by
     * the tensor cores straight from swizzled shared memory; Hopper's fast path, where FP8 mma.sync is emulated.
     * Also the opt-in 16-bit QK + 16-bit PV kernel ({@link QkPrecision#FP16}).
     */
    WGMMA("wgmma", "a_wgmma", " wgmma") {
        @Override
        void check(int headDim, int blockQ, int warps, PvVariant pv, Arch arch, QkPrecision qk) {
            KernelSpec.require(arch == Arch.SM90, "mma", id(), "sync on " + arch.target() + " (wgmma is sm_90a only)");
            KernelSpec.require(pv.isFp8() || qk == QkPrecision.FP16, "pv", pv.id(),
                    "fp8-f16acc or fp8-f32acc with wgmma and qk=int8 (its PV reads FP8 V^T from shared memory), "
                            + "or fp16 with qk=fp16");
            KernelSpec.require(warps % 4 == 0 && blockQ == warps * 16, "blockQ", blockQ,
                    "warps * 16 with wgmma (whole warpgroups of 64 rows; warps a multiple of 4)");
        }

        @Override
        void checkWs(int headDim, int blockQ, int warps, PvVariant pv, QkPrecision qk) {
            KernelSpec.require(pv.isFp8(), "pv", pv.id(), "fp8-f16acc or fp8-f32acc with pipe=ws (INT8 QK, FP8 P V)");
            KernelSpec.require(qk != QkPrecision.FP16, "qk", qk.id(), "int8 or auto with pipe=ws (INT8 QK only)");
            KernelSpec.require(blockQ == 128 && warps == 8, "blockQ", blockQ + " (w" + warps + ")",
                    "128 rows on 8 consumer warps with pipe=ws (two consumer warpgroups of 64 rows, 1 CTA per SM)");
            int max = wsMaxHeadDim(pv);
            KernelSpec.require(headDim <= max, "headDim", headDim, "<= " + max + " with pipe=ws and pv=" + pv.id()
                    + ": a consumer thread holds O (D/2 registers), the P V accumulators of all D channels (D/4 in FP16,"
                    + " D/2 in FP32), the int32 and FP32 scores (64) and the P fragments (8) at once; beyond that they exceed"
                    + " the 240 registers a consumer can get (setmaxnreg; 128 * 24 + 256 * 240 <= 65536)");
        }
    };

    /** Largest head dim of the warp-specialized wgmma kernel ({@link Pipe#WS}) with FP16 P V accumulators. */
    public static final int WS_MAX_HEAD_DIM = 192;
    /**
     * Largest head dim of the warp-specialized kernel with FP32 P V accumulators (fresh every block, flushed into O):
     * D/4 more registers than FP16 ones. ptxas 13.0 at 24 / 240 (ws and wspp): 0 spills up to D = 144; 104 bytes
     * spilled at D = 160, 508 at 192.
     */
    public static final int WS_F32_MAX_HEAD_DIM = 144;

    /**
     * Largest head dim of the warp-specialized kernel with 128-key blocks: its consumers hold two sets of 64 score
     * registers (int32 S(j+1) beside FP32 S(j)) next to D / 2 output and D / 4 accumulator registers, which fits their 240
     * registers spill-free up to D = 96 (ptxas 13.0: 48 bytes spilled at D = 112, 220 at D = 128).
     */
    public static final int WS_K128_MAX_HEAD_DIM = 96;

    /** Largest head dim of the warp-specialized kernel for a P V variant. */
    public static int wsMaxHeadDim(PvVariant pv) {
        return pv == PvVariant.FP8_F32ACC ? WS_F32_MAX_HEAD_DIM : WS_MAX_HEAD_DIM;
    }

    /** Refuses what the warp-specialized schedule cannot run (only the wgmma family has it). */
    void checkWs(int headDim, int blockQ, int warps, PvVariant pv, QkPrecision qk) {
        KernelSpec.require(false, "pipe", Pipe.WS.id(), "serial with mma=" + id);
    }

    private final String id;
    private final String nameSuffix;
    private final String labelSuffix;

    MmaKind(String id, String nameSuffix, String labelSuffix) {
        this.id = id;
        this.nameSuffix = nameSuffix;
        this.labelSuffix = labelSuffix;
    }

    /** Refuses the spec fields this family cannot run, naming the field (called by KernelSpec's constructor). */
    abstract void check(int headDim, int blockQ, int warps, PvVariant pv, Arch arch, QkPrecision qk);

    /** The name users type ({@code sync}, {@code wgmma}). */
    public String id() {
        return id;
    }

    /** What the PTX kernel name appends after the arch's target ({@link SpecCodec#kernelName}). */
    String nameSuffix() {
        return nameSuffix;
    }

    /** What the short label appends ({@link SpecCodec#label}). */
    String labelSuffix() {
        return labelSuffix;
    }

    /** The kind named {@code sync} or {@code wgmma}. */
    public static MmaKind parse(String text) {
        String t = text.trim().toLowerCase();
        for (MmaKind m : values()) {
            if (m.id.equals(t)) return m;
        }
        throw new IllegalArgumentException("mma: '" + text + "' is not one of "
                + Arrays.stream(values()).map(MmaKind::id).collect(Collectors.joining(", ")));
    }
}
