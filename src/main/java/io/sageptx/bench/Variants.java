package io.sageptx.bench;

import io.sageptx.kernels.attention.AttentionFamilies;
import java.util.ArrayList;
import java.util.List;

import io.sageptx.spec.Arch;
import io.sageptx.spec.DType;
import io.sageptx.spec.KernelSpec;
import io.sageptx.spec.MmaKind;
import io.sageptx.spec.PvVariant;

/**
 * The kernel variants a benchmark compares, by label: {@code default} (what the library runs when nothing
 * is tuned) and one label per PV variant the architecture supports.
 */
public final class Variants {

    public static final String DEFAULT = "default";
    public static final String WGMMA_PREFIX = "wgmma-";
    /** The autotuned winner of each shape's key (resolved by the caller through SageAttention.specFor). */
    public static final String TUNED = "tuned";

    private Variants() {
    }

    /** Every label that makes sense on {@code arch}, the default first. */
    public static List<String> all(Arch arch) {
        List<String> out = new ArrayList<>();
        out.add(DEFAULT);
        for (PvVariant pv : PvVariant.values()) {
            if (!pv.isFp8() || arch.hasFp8Mma()) out.add(pv.id());
        }
        if (arch == Arch.SM90) {
            for (PvVariant pv : PvVariant.values()) {
                if (pv.isFp8()) out.add(WGMMA_PREFIX + pv.id());
            }
        }
        return out;
    }

    /** The spec of a label for one shape; unknown labels are refused with the list of known ones. */
    public static KernelSpec spec(String label, Arch arch, int headDim, boolean causal, DType dtype) {
        KernelSpec base = KernelSpec.defaults(arch, headDim, causal, dtype, dtype);
        if (label.equals(DEFAULT)) return AttentionFamilies.preferred(arch, headDim, causal, dtype, dtype);
        boolean wgmma = label.startsWith(WGMMA_PREFIX) && arch == Arch.SM90;
        String pvId = wgmma ? label.substring(WGMMA_PREFIX.length()) : label;
        for (PvVariant pv : PvVariant.values()) {
            if (pv.id().equals(pvId) && all(arch).contains(label)) {
                return wgmma ? base.toBuilder().pv(pv).mma(MmaKind.WGMMA).build() : base.toBuilder().pv(pv).build();
            }
        }
        throw new IllegalArgumentException("variant '" + label + "' is unknown; known on " + arch.target() + ": "
                + String.join(", ", all(arch)));
    }
}
