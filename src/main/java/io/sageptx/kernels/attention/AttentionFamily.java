package io.sageptx.kernels.attention;

import java.util.List;
import java.util.Optional;

import io.sageptx.numerics.AccuracyBar;
import io.sageptx.spec.Arch;
import io.sageptx.spec.ArchLimits;
import io.sageptx.spec.DType;
import io.sageptx.spec.KernelSpec;
import io.sageptx.spec.MmaKind;
import io.sageptx.spec.Pipe;
import io.sageptx.spec.PvVariant;
import io.sageptx.spec.QkPrecision;

/**
 * One way of generating the fused attention kernel (mma.sync, wgmma, ...): what it runs on, how it plans
 * and emits a spec, what the tuner may try. Every family reads the same scratch tensors (written by the
 * preprocessing module, {@code io.sageptx.kernels.preprocess}) and has the same ABI ({@link AttentionAbi}),
 * so the runtime launches any of them the same way. Registered in {@link AttentionFamilies}.
 */
public interface AttentionFamily {

    /** The spec field that selects this family. */
    MmaKind mma();

    /** One line for the CLI and docs. */
    String description();

    /**
     * What a benchmark label of this family's variants starts with, before the PV variant's id: empty for
     * the base family (mma.sync), {@code wgmma-} for wgmma.
     */
    String variantPrefix();

    /** Whether this family's kernels load and run on {@code arch}. */
    boolean serves(Arch arch);

    /**
     * The spec this family runs for a call shape when nothing is tuned, or empty where it cannot run it.
     *
     * @param pv the PV variant asked for, or null for the family's default on {@code arch}
     */
    Optional<KernelSpec> preferred(Arch arch, int headDim, boolean causal, DType in, DType out, PvVariant pv);

    /**
     * As {@link #preferred(Arch, int, boolean, DType, DType, PvVariant)} for a QK precision: a family without
     * that precision has none (the default: INT8 only).
     */
    default Optional<KernelSpec> preferred(Arch arch, int headDim, boolean causal, DType in, DType out, PvVariant pv,
                                           QkPrecision qk) {
        return qk == QkPrecision.INT8 ? preferred(arch, headDim, causal, in, out, pv) : Optional.empty();
    }

    /**
     * As {@link #preferred(Arch, int, boolean, DType, DType, PvVariant)} with the main loop's schedule asked for
     * explicitly (a benchmark variant such as {@code wgmma-ws-fp8-f16acc}); a family without that schedule has none
     * (the default: only {@link Pipe#SERIAL}).
     */
    default Optional<KernelSpec> preferred(Arch arch, int headDim, boolean causal, DType in, DType out, PvVariant pv,
                                           Pipe pipe) {
        return pipe == Pipe.SERIAL ? preferred(arch, headDim, causal, in, out, pv) : Optional.empty();
    }

    /** Specs the autotuner may try for a call shape (invalid combinations already left out). */
    List<KernelSpec> candidates(Arch arch, int headDim, boolean causal, DType in, DType out);

    /**
     * The autotuner's candidates of one QK precision: only the specs of that precision, so that tuning never
     * changes a call's precision (the default: INT8 only).
     */
    default List<KernelSpec> candidates(Arch arch, int headDim, boolean causal, DType in, DType out, QkPrecision qk) {
        return qk == QkPrecision.INT8 ? candidates(arch, headDim, causal, in, out) : List.of();
    }

    /** Dynamic shared memory of one CTA, alignment slack included. */
    int smemBytes(KernelSpec spec);

    /** The PTX of the attention kernel of {@code spec} (one {@code .entry} named {@code spec.kernelName()}). */
    String emit(KernelSpec spec);

    /**
     * The launch configuration of {@code spec}'s kernel on a device with {@code device}'s limits, in one line:
     * threads, dynamic shared memory, resident CTAs per SM as far as shared memory and threads go, and
     * whether one CTA fits at all. Families add what they plan (pipeline depth, register cap).
     */
    default String launchSummary(KernelSpec spec, ArchLimits device) {
        int smem = smemBytes(spec);
        return String.format("threads %d, dynamic smem %d B, CTAs/SM by smem and threads %d; on %s: fits %s",
                spec.threads(), smem, Math.min(device.ctasBySmem(smem), device.ctasByThreads(spec.threads())),
                device.name(), device.fits(spec.threads(), smem) ? "yes" : "NO");
    }

    /** The accuracy a candidate of this family must reach on the tuner's probe. */
    default AccuracyBar accuracyBar(KernelSpec spec) {
        return AccuracyBar.forPv(spec.pv());
    }
}
