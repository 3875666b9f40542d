package io.sageptx.kernels.mmasync;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

import io.sageptx.kernels.attention.AttentionFamily;
import io.sageptx.spec.Arch;
import io.sageptx.spec.DType;
import io.sageptx.spec.KernelSpec;
import io.sageptx.spec.MmaKind;
import io.sageptx.spec.PvVariant;
import io.sageptx.spec.QuantGranularity;

/**
 * The SageAttention2++ kernel with warp-level {@code mma.sync}: INT8 QK (m16n8k32) and FP8 (m16n8k32) or
 * 16-bit (m16n8k16) PV, for every architecture (sm_80 has no FP8 mma and runs the FP16 PV variant).
 */
public final class MmaSyncFamily implements AttentionFamily {

    /** Tile shapes (blockQ, warps) the tuner tries. */
    public static final List<int[]> TILES = List.of(new int[] {64, 4}, new int[] {128, 4}, new int[] {128, 8});

    @Override
    public MmaKind mma() {
        return MmaKind.SYNC;
    }

    @Override
    public String description() {
        return "mma.sync INT8 QK + FP8 or FP16 PV (every architecture)";
    }

    @Override
    public String variantPrefix() {
        return "";
    }

    @Override
    public boolean serves(Arch arch) {
        return true;
    }

    @Override
    public Optional<KernelSpec> preferred(Arch arch, int headDim, boolean causal, DType in, DType out, PvVariant pv) {
        KernelSpec base = KernelSpec.defaults(arch, headDim, causal, in, out);
        if (pv == null) return Optional.of(base);
        if (pv.isFp8() && !arch.hasFp8Mma()) return Optional.empty();
        return Optional.of(base.toBuilder().pv(pv).build());
    }

    @Override
    public List<KernelSpec> candidates(Arch arch, int headDim, boolean causal, DType in, DType out) {
        List<KernelSpec> list = new ArrayList<>();
        KernelSpec base = KernelSpec.defaults(arch, headDim, causal, in, out);
        for (PvVariant pv : PvVariant.values()) {
            if (pv.isFp8() && !arch.hasFp8Mma()) continue;
            for (int[] t : TILES) {
                for (QuantGranularity q : QuantGranularity.values()) {
                    try {
                        list.add(base.toBuilder().pv(pv).tiles(t[0], t[1]).quant(q).build());
                    } catch (IllegalArgumentException e) {
                        // not valid for this shape: skip
                    }
                }
            }
        }
        return list;
    }

    @Override
    public int smemBytes(KernelSpec spec) {
        return new MmaSyncPlan(spec).smemBytes();
    }

    @Override
    public String emit(KernelSpec spec) {
        return MmaSyncEmitter.emit(spec);
    }
}
