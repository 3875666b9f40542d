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
import io.sageptx.spec.QkPrecision;

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
        return preferred(arch, headDim, causal, in, out, pv, QkPrecision.INT8);
    }

    /**
     * As {@link #preferred(Arch, int, boolean, DType, DType, PvVariant)} for a QK precision (null: INT8, the
     * default): the first family that has the precision on {@code arch}.
     */
    public static KernelSpec preferred(Arch arch, int headDim, boolean causal, DType in, DType out, PvVariant pv,
                                       QkPrecision qk) {
        QkPrecision q = qk == null ? QkPrecision.INT8 : qk;
        for (AttentionFamily f : ALL) {
            if (!f.serves(arch)) continue;
            Optional<KernelSpec> s = f.preferred(arch, headDim, causal, in, out, pv, q);
            if (s.isPresent()) return s.get();
        }
        if (!q.isDefault()) {
            throw new IllegalArgumentException("qkPrecision = " + q.id() + (pv == null ? "" : " with pv = " + pv.id())
                    + " is not available on " + arch.target() + "; allowed: int8, or fp16 with pv fp16 (or none), or auto");
        }
        throw new IllegalArgumentException("no attention family runs " + (pv == null ? "" : "pv=" + pv.id() + " ")
                + "on " + arch.target());
    }

    /** The tuner's candidates for a call shape: the preferred spec first, then every family's, duplicates removed. */
    public static List<KernelSpec> candidates(Arch arch, int headDim, boolean causal, DType in, DType out) {
        return candidates(arch, headDim, causal, in, out, QkPrecision.INT8);
    }

    /**
     * The tuner's candidates of one QK precision: its preferred spec first, then every family's specs of that
     * precision (none of another: tuning never changes a call's precision). Empty where no family has it.
     */
    public static List<KernelSpec> candidates(Arch arch, int headDim, boolean causal, DType in, DType out, QkPrecision qk) {
        Set<KernelSpec> specs = new LinkedHashSet<>();
        for (AttentionFamily f : ALL) {
            if (!f.serves(arch)) continue;
            Optional<KernelSpec> p = f.preferred(arch, headDim, causal, in, out, null, qk);
            if (p.isPresent()) {
                specs.add(p.get());
                break;
            }
        }
        for (AttentionFamily f : ALL) {
            if (f.serves(arch)) specs.addAll(f.candidates(arch, headDim, causal, in, out, qk));
        }
        return new ArrayList<>(specs);
    }
}
