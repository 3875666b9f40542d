package io.sageptx.kernels;

import io.sageptx.kernels.attention.AttentionFamily;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;

import io.sageptx.kernels.mmasync.MmaSyncFamily;
import io.sageptx.kernels.wgmma.WgmmaFamily;
import io.sageptx.spec.Arch;
import io.sageptx.spec.DType;
import io.sageptx.spec.KernelSpec;
import io.sageptx.spec.MmaKind;
import io.sageptx.spec.PvVariant;

/**
 * The registry of attention families, in order of preference: the default of a call is the first family
 * that serves the arch and can run the call's PV variant. Adding a family is one line here.
 */
public final class AttentionFamilies {

    /** Every family, most preferred first. */
    private static final List<AttentionFamily> ALL = List.of(new WgmmaFamily(), new MmaSyncFamily());

    private AttentionFamilies() {
    }

    public static List<AttentionFamily> all() {
        return ALL;
    }

    /** The family of a spec. */
    public static AttentionFamily of(KernelSpec spec) {
        return of(spec.mma());
    }

    public static AttentionFamily of(MmaKind mma) {
        for (AttentionFamily f : ALL) {
            if (f.mma() == mma) return f;
        }
        throw new IllegalStateException("no attention family is registered for mma " + mma.id());
    }

    /** What the library runs for a call shape when nothing is tuned: the first family's preferred spec. */
    public static KernelSpec preferred(Arch arch, int headDim, boolean causal, DType in, DType out) {
        return preferred(arch, headDim, causal, in, out, null);
    }

    /** As {@link #preferred(Arch, int, boolean, DType, DType)} for a PV variant (null: the default). */
    public static KernelSpec preferred(Arch arch, int headDim, boolean causal, DType in, DType out, PvVariant pv) {
        for (AttentionFamily f : ALL) {
            if (!f.serves(arch)) continue;
            Optional<KernelSpec> s = f.preferred(arch, headDim, causal, in, out, pv);
            if (s.isPresent()) return s.get();
        }
        throw new IllegalArgumentException("no attention family runs " + (pv == null ? "" : "pv=" + pv.id() + " ")
                + "on " + arch.target());
    }

    /** The tuner's candidates for a call shape: the preferred spec first, then every family's, duplicates removed. */
    public static List<KernelSpec> candidates(Arch arch, int headDim, boolean causal, DType in, DType out) {
        Set<KernelSpec> specs = new LinkedHashSet<>();
        specs.add(preferred(arch, headDim, causal, in, out));
        for (AttentionFamily f : ALL) {
            if (f.serves(arch)) specs.addAll(f.candidates(arch, headDim, causal, in, out));
        }
        return new ArrayList<>(specs);
    }
}
