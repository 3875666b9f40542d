package io.sageptx.spec;

import java.util.Arrays;
import java.util.stream.Collectors;

/** Which tensor-core instructions the fused kernel's main loop uses. */
public enum MmaKind {
    /** Warp-level {@code mma.sync} (sm_80 and newer): the SageAttention2++ design. */
    SYNC("sync"),
    /**
     * Warpgroup-level {@code wgmma.mma_async} (sm_90a, Hopper only): INT8 QK and FP8 PV with K and V read by
     * the tensor cores straight from swizzled shared memory; Hopper's fast path, where FP8 mma.sync is emulated.
     */
    WGMMA("wgmma");

    private final String id;

    MmaKind(String id) {
        this.id = id;
    }

    public String id() {
        return id;
    }

    public static MmaKind parse(String text) {
        String t = text.trim().toLowerCase();
        for (MmaKind m : values()) {
            if (m.id.equals(t)) return m;
        }
        throw new IllegalArgumentException("mma: '" + text + "' is not one of "
                + Arrays.stream(values()).map(MmaKind::id).collect(Collectors.joining(", ")));
    }
}
