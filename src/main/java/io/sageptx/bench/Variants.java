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
import io.sageptx.spec.SpecCodec;

/**
 * The kernel variants a benchmark compares, by label: {@code default} (what the library runs when nothing
 * is tuned; with the shape, {@link #spec(String, Arch, int, boolean, DType, int, int, int)}), {@code tuned}, and per attention family serving the arch one label per PV variant it runs:
 * the family's {@link AttentionFamily#variantPrefix() prefix}, the schedule when it is not the serial one, and the
 * variant's id ({@code fp16}, {@code wgmma-fp8-f16acc}, {@code wgmma-ws-fp8-f16acc}: the warp-specialized kernel).
 * Any label may carry spec-field overrides after {@code +}, in the fields of the
 * canonical spec line ({@link SpecCodec}): {@code fp8-f16acc+q=64+w=4}, {@code default+qk=auto},
 * {@code wgmma-fp8-f16acc+stages=3}; the head dim, causal flag and dtypes always come from the shape.
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

    /**
     * As {@link #spec(String, Arch, int, boolean, DType)} for a whole shape: {@code default} is then what a call of
     * that shape runs when nothing is tuned or asked (the short-sequence rule included:
     * {@link io.sageptx.runtime.ShortSequences}), {@code default+qk=X} what a call that asks only for QK precision X
     * runs (so {@code default+qk=auto} follows the same rule), every other label the same as without the shape.
     */
    public static KernelSpec spec(String label, Arch arch, int headDim, boolean causal, DType dtype, int batch, int heads,
                                  int seqLen) {
        io.sageptx.spec.QkPrecision asked = null;
        if (label.startsWith(DEFAULT + "+qk=") && label.indexOf('+', DEFAULT.length() + 1) < 0) {
            // default+qk=X: what a call that asks for QK precision X (and nothing else) runs, as the API resolves it
            asked = io.sageptx.spec.QkPrecision.parse(label.substring((DEFAULT + "+qk=").length()));
        } else if (!label.equals(DEFAULT)) {
            return spec(label, arch, headDim, causal, dtype);
        }
        return io.sageptx.runtime.AttentionRunner.defaultSpec(io.sageptx.call.AttentionArgs.builder().q(1).k(1).v(1).o(1)
                .batch(batch).heads(heads).seqLen(seqLen).headDim(headDim).dtype(dtype).causal(causal).qkPrecision(asked)
                .build(), arch);
    }

    /** The spec of a label for one shape; unknown labels are refused with the list of known ones. */
    public static KernelSpec spec(String label, Arch arch, int headDim, boolean causal, DType dtype) {
        int plus = label.indexOf('+');
        if (plus >= 0) return withOverrides(spec(label.substring(0, plus), arch, headDim, causal, dtype), label, plus);
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

    /** Applies the {@code +name=value} overrides of a label to a base spec; shape fields cannot be overridden. */
    private static KernelSpec withOverrides(KernelSpec base, String label, int plus) {
        java.util.Map<String, String> changes = new java.util.LinkedHashMap<>();
        for (String o : label.substring(plus + 1).split("\\+")) {
            int eq = o.indexOf('=');
            if (eq <= 0) throw new IllegalArgumentException("variant '" + label + "': '" + o + "' is not name=value");
            String name = o.substring(0, eq);
            if (java.util.Set.of("d", "causal", "in", "out", "arch").contains(name)) {
                throw new IllegalArgumentException("variant '" + label + "': '" + name + "' comes from the shape, not the label");
            }
            changes.put(name, o.substring(eq + 1));
        }
        try {
            if (base.blockK() > 64 && !changes.containsKey("k")) {
                // a 128-key default keeps its block where the overrides allow it, else takes 64 keys (e.g.
                // default+pv=fp8-f32acc: 128-key blocks are the FP16-accumulator kernel's)
                try {
                    return SpecCodec.withFields(base, changes);
                } catch (IllegalArgumentException e) {
                    java.util.Map<String, String> k64 = new java.util.LinkedHashMap<>(changes);
                    k64.put("k", "64");
                    return SpecCodec.withFields(base, k64);
                }
            }
            return SpecCodec.withFields(base, changes); // the spec's own checks refuse what its family cannot build
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("variant '" + label + "': " + e.getMessage(), e);
        }
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
