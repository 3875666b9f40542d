package io.sageptx.tune;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sageptx.kernels.AttentionFamilies;
import io.sageptx.runtime.TuningKey;
import io.sageptx.spec.SpecCodec;
import java.util.HashSet;
import java.util.List;

import org.junit.jupiter.api.Test;

import io.sageptx.spec.Arch;
import io.sageptx.spec.DType;
import io.sageptx.spec.KernelSpec;
import io.sageptx.spec.PvVariant;

class CandidateSpaceTest {

    static final TuningKey KEY = new TuningKey("g", DType.BF16, DType.BF16, 64, true, 2048);

    @Test
    void hopperGetsEveryTileVariantAndGranularityWithTheDefaultFirst() {
        List<KernelSpec> c = CandidateSpace.standard().enumerate(Arch.SM90, KEY);
        // mma.sync: 3 PV x 3 tiles x 3 granularities, + the other pipeline depth (2 or 3) with per-thread
        // scales (3 PV x 3 tiles); wgmma: 2 PV x 2 tiles x 3, 128-key blocks x 3 (the default among them), + the
        // warp-specialized kernels (pipe=ws, wspp) x 2 PV x 3, and with 128-key blocks (FP16 accumulators) x 3
        int wsK128 = 6;
        assertEquals(27 + 9 + 12 + 3 + 12 + wsK128, c.size());
        assertEquals(AttentionFamilies.preferred(Arch.SM90, 64, true, DType.BF16, DType.BF16), c.get(0));
        assertEquals(63 + wsK128, new HashSet<>(c).size());
        assertEquals(3 + wsK128, c.stream().filter(s -> s.blockK() == 128).count());
        assertEquals(6 + wsK128 / 2, c.stream().filter(s -> s.pipe() == io.sageptx.spec.Pipe.WS).count());
        assertEquals(6 + wsK128 / 2, c.stream().filter(s -> s.pipe() == io.sageptx.spec.Pipe.WSPP).count());
        assertTrue(c.stream().anyMatch(s -> s.stages() == 2));
        assertTrue(c.stream().allMatch(s -> s.headDim() == 64 && s.causal() && s.inType() == DType.BF16));
    }

    @Test
    void ampereHasNoFp8Candidates() {
        List<KernelSpec> c = CandidateSpace.standard().enumerate(Arch.SM80, KEY);
        assertEquals(9 + 3, c.size());
        assertTrue(c.stream().allMatch(s -> s.pv() == PvVariant.FP16));
    }

    @Test
    void newSourcesAddCandidatesAfterTheExistingOnesAndForeignOnesAreDropped() {
        KernelSpec extra = KernelSpec.defaults(Arch.SM90, 64, true, DType.BF16, DType.BF16).toBuilder().tiles(64, 4).build();
        KernelSpec wrongKey = KernelSpec.defaults(Arch.SM90, 128, true, DType.BF16, DType.BF16);
        CandidateSpace s = CandidateSpace.defaultOnly().with((arch, key) -> List.of(extra, wrongKey, extra));
        List<KernelSpec> c = s.enumerate(Arch.SM90, KEY);
        assertEquals(List.of(AttentionFamilies.preferred(Arch.SM90, 64, true, DType.BF16, DType.BF16), extra), c);
        assertEquals(1, CandidateSpace.defaultOnly().enumerate(Arch.SM89, KEY).size());
    }

    @Test
    void everyStandardCandidateRoundTripsThroughTheCodec() {
        for (Arch a : Arch.values()) {
            for (KernelSpec s : CandidateSpace.standard().enumerate(a, KEY)) {
                assertEquals(s, SpecCodec.decode(SpecCodec.encode(s)));
            }
        }
    }
}
