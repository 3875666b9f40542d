package io.sageptx.tune;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;

import io.sageptx.spec.Arch;
import io.sageptx.spec.KernelSpec;
import io.sageptx.spec.MmaKind;
import io.sageptx.spec.PvVariant;
import io.sageptx.spec.QuantGranularity;

/**
 * The kernel specs the autotuner tries for a key: the default spec first (so that it wins ties),
 * then what each {@link Source} proposes, de-duplicated, skipping combinations {@link KernelSpec}
 * refuses. New kernel families add a source ({@link #with(Source)}), e.g. wgmma candidates on sm_90.
 */
public final class CandidateSpace {

    /** Proposes candidates for an architecture and key; may propose invalid specs (they are skipped). */
    @FunctionalInterface
    public interface Source {
        List<KernelSpec> candidates(Arch arch, TuningKey key);
    }

    /** Tile shapes (blockQ, warps) of the mma.sync kernel. */
    public static final List<int[]> MMA_SYNC_TILES = List.of(new int[]{64, 4}, new int[]{128, 4}, new int[]{128, 8});

    /**
     * The mma.sync kernel: tiles {@link #MMA_SYNC_TILES} x the PV variants the arch has x the three
     * quantization granularities.
     */
    public static final Source MMA_SYNC = (arch, key) -> {
        List<KernelSpec> out = new ArrayList<>();
        KernelSpec base = KernelSpec.defaults(arch, key.headDim(), key.causal(), key.inType(), key.outType());
        for (PvVariant pv : pvVariants(arch)) {
            for (int[] t : MMA_SYNC_TILES) {
                for (QuantGranularity q : QuantGranularity.values()) {
                    try {
                        out.add(base.withPv(pv).withTiles(t[0], t[1]).withQuant(q));
                    } catch (IllegalArgumentException e) {
                        // not valid on this arch: skip
                    }
                }
            }
        }
        return out;
    };

    /**
     * The Hopper wgmma kernel (sm_90, every head dim): both FP8 accumulator
     * variants x whole-warpgroup tiles (64 rows / 4 warps, 128 / 8) x the three quantization granularities.
     */
    public static final Source WGMMA = (arch, key) -> {
        List<KernelSpec> out = new ArrayList<>();
        if (arch != Arch.SM90) return out;
        KernelSpec base = KernelSpec.defaults(arch, key.headDim(), key.causal(), key.inType(), key.outType());
        for (PvVariant pv : new PvVariant[] {PvVariant.FP8_F32ACC, PvVariant.FP8_F16ACC}) {
            for (int[] t : new int[][] {{128, 8}, {64, 4}}) {
                for (QuantGranularity q : QuantGranularity.values()) {
                    out.add(base.withPv(pv).withTiles(t[0], t[1]).withQuant(q).withMma(MmaKind.WGMMA));
                }
            }
        }
        return out;
    };

    private final List<Source> sources;

    private CandidateSpace(List<Source> sources) {
        this.sources = List.copyOf(sources);
    }

    /** Today's space: {@link #MMA_SYNC} and, on sm_90, {@link #WGMMA}. */
    public static CandidateSpace standard() {
        return new CandidateSpace(List.of(MMA_SYNC, WGMMA));
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

    /** The candidates in the order they are tried: the default first, duplicates removed. */
    public List<KernelSpec> enumerate(Arch arch, TuningKey key) {
        Set<KernelSpec> out = new LinkedHashSet<>();
        out.add(KernelSpec.preferred(arch, key.headDim(), key.causal(), key.inType(), key.outType()));
        for (Source s : sources) {
            for (KernelSpec k : s.candidates(arch, key)) {
                if (k.arch() == arch && k.headDim() == key.headDim() && k.causal() == key.causal()
                        && k.inType() == key.inType() && k.outType() == key.outType()) {
                    out.add(k);
                }
            }
        }
        return new ArrayList<>(out);
    }

    /** The PV variants an arch can run: FP16 everywhere, the FP8 ones where FP8 mma.sync exists. */
    public static List<PvVariant> pvVariants(Arch arch) {
        List<PvVariant> out = new ArrayList<>();
        for (PvVariant p : PvVariant.values()) {
            if (!p.isFp8() || arch.hasFp8Mma()) out.add(p);
        }
        return out;
    }
}
