package io.sageptx.bench;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

import io.sageptx.kernels.AttentionFamilies;
import io.sageptx.kernels.attention.AttentionFamily;
import io.sageptx.spec.Arch;
import io.sageptx.spec.DType;
import io.sageptx.spec.KernelSpec;
import io.sageptx.spec.Pipe;
import io.sageptx.spec.PvVariant;

/**
 * The kernel variants a benchmark compares, by label: {@code default} (what the library runs when nothing
 * is tuned), {@code tuned}, and per attention family serving the arch one label per PV variant it runs:
 * the family's {@link AttentionFamily#variantPrefix() prefix}, the schedule when it is not the serial one, and the
 * variant's id ({@code fp16}, {@code wgmma-fp8-f16acc}, {@code wgmma-ws-fp8-f16acc}: the warp-specialized kernel).
 */
public final class Variants {

    /** What the library runs when nothing is tuned. */
    public static final String DEFAULT = "default";
    /** The autotuned winner of each shape's key (resolved by the caller through SageAttention.specFor). */
    public static final String TUNED = "tuned";

    private Variants() {
    }

    /** Every label that makes sense on {@code arch}, the default first. */
    public static List<String> all(Arch arch) {
        List<String> out = new ArrayList<>();
        out.add(DEFAULT);
        for (AttentionFamily f : familiesInLabelOrder()) {
            if (!f.serves(arch)) continue;
            for (Pipe pipe : Pipe.values()) {
                for (PvVariant pv : PvVariant.values()) {
                    if (f.preferred(arch, 128, false, DType.FP16, DType.FP16, pv, pipe).isPresent()) out.add(label(f, pipe, pv));
                }
            }
        }
        return out;
    }

    /** The spec of a label for one shape; unknown labels are refused with the list of known ones. */
    public static KernelSpec spec(String label, Arch arch, int headDim, boolean causal, DType dtype) {
        if (label.equals(DEFAULT)) return AttentionFamilies.preferred(arch, headDim, causal, dtype, dtype);
        for (AttentionFamily f : familiesInLabelOrder()) {
            if (!f.serves(arch)) continue;
            for (Pipe pipe : Pipe.values()) {
                for (PvVariant pv : PvVariant.values()) {
                    if (label.equals(label(f, pipe, pv))) {
                        Optional<KernelSpec> s = f.preferred(arch, headDim, causal, dtype, dtype, pv, pipe);
                        if (s.isPresent()) return s.get();
                    }
                }
            }
        }
        throw new IllegalArgumentException("variant '" + label + "' is unknown; known on " + arch.target() + ": "
                + String.join(", ", all(arch)));
    }

    /** A family's label of a PV variant: prefix, the schedule when not serial ({@code ws-}), the variant's id. */
    static String label(AttentionFamily f, Pipe pipe, PvVariant pv) {
        return f.variantPrefix() + (pipe.isDefault() ? "" : pipe.id() + "-") + pv.id();
    }

    /** Unprefixed (base) families first, so the labels read fp16, fp8-..., then wgmma-... */
    private static List<AttentionFamily> familiesInLabelOrder() {
        List<AttentionFamily> out = new ArrayList<>();
        for (AttentionFamily f : AttentionFamilies.all()) if (f.variantPrefix().isEmpty()) out.add(f);
        for (AttentionFamily f : AttentionFamilies.all()) if (!f.variantPrefix().isEmpty()) out.add(f);
        return out;
    }
}
