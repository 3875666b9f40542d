package io.sageptx.tune;

import io.sageptx.kernels.AttentionFamilies;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;

import io.sageptx.runtime.TuningKey;
import io.sageptx.spec.Arch;
import io.sageptx.spec.KernelSpec;

/**
 * The kernel specs the autotuner tries for a key: the default spec first (so that it wins ties), then
 * what each {@link Source} proposes, de-duplicated, skipping specs for another shape. The standard space
 * asks every registered attention family ({@link AttentionFamilies#candidates}).
 */
public final class CandidateSpace {

    /** Proposes candidates for an architecture and key; may propose specs for other shapes (they are skipped). */
    @FunctionalInterface
    public interface Source {
        /** The candidate specs for {@code key} on {@code arch}. */
        List<KernelSpec> candidates(Arch arch, TuningKey key);
    }

    /** Every family's candidates for the key (of its QK precision only), the preferred spec first. */
    public static final Source FAMILIES = (arch, key) -> AttentionFamilies.candidates(arch, key.headDim(), key.causal(),
            key.inType(), key.outType(), key.qk());

    private final List<Source> sources;

    private CandidateSpace(List<Source> sources) {
        this.sources = List.copyOf(sources);
    }

    /** Every registered family's candidates. */
    public static CandidateSpace standard() {
        return new CandidateSpace(List.of(FAMILIES));
    }

    /** Only the default spec (for a quick tuning that just records a verified default). */
    public static CandidateSpace defaultOnly() {
        return new CandidateSpace(List.of());
    }

    /** This space plus another source, tried after the existing ones. */
    public CandidateSpace with(Source source) {
        List<Source> s = new ArrayList<>(sources);
        s.add(Objects.requireNonNull(source, "source"));
        return new CandidateSpace(s);
    }

    /**
     * The candidates in the order they are tried: the default (of the key's QK precision) first, duplicates
     * removed; specs of another precision are skipped, so tuning never changes a call's precision.
     */
    public List<KernelSpec> enumerate(Arch arch, TuningKey key) {
        Set<KernelSpec> out = new LinkedHashSet<>();
        out.add(AttentionFamilies.preferred(arch, key.headDim(), key.causal(), key.inType(), key.outType(), null, key.qk()));
        for (Source s : sources) {
            for (KernelSpec k : s.candidates(arch, key)) {
                if (k.arch() == arch && k.headDim() == key.headDim() && k.causal() == key.causal()
                        && k.inType() == key.inType() && k.outType() == key.outType() && k.qk() == key.qk()) {
                    out.add(k);
                }
            }
        }
        return new ArrayList<>(out);
    }
}
