package io.sageptx.tune;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sageptx.kernels.AttentionFamilies;
import io.sageptx.numerics.AccuracyBar;
import io.sageptx.runtime.TuningDb;
import io.sageptx.runtime.TuningKey;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.sageptx.call.AttentionArgs;
import io.sageptx.api.SageAttention;
import io.sageptx.cache.CacheDirectory;
import io.sageptx.numerics.AttentionReference;
import io.sageptx.numerics.Half;
import io.sageptx.numerics.RandomInputs;
import io.sageptx.spec.DType;
import io.sageptx.spec.KernelSpec;
import io.sageptx.spec.QuantGranularity;
import io.sageptx.testing.GpuTest;

/** Autotuning a small space on the GPU picks a valid winner, stores it, and attention calls use it. */
@GpuTest
class AutotuneGpuTest {

    @TempDir
    Path tmp;

    @Test
    void smallSpacePicksAValidWinnerThatCallsUse() {
        CacheDirectory.override(tmp);
        try (SageAttention att = SageAttention.onDevice(0)) {
            AttentionArgs shape = AttentionArgs.builder().batch(1).heads(8).seqLen(1024).headDim(64).dtype(DType.FP16).build();
            TuningKey key = att.tuningKey(shape);
            KernelSpec def = AttentionFamilies.preferred(att.arch(), 64, false, DType.FP16, DType.FP16);
            assertEquals(def, att.specFor(shape), "nothing tuned yet: the default");
            List<KernelSpec> extra = List.of(def.toBuilder().quant(QuantGranularity.PER_WARP).build(),
                    KernelSpec.defaults(att.arch(), 64, false, DType.FP16, DType.FP16).toBuilder().tiles(64, 4).build());
            CandidateSpace small = CandidateSpace.defaultOnly().with((a, k) -> extra);
            TuneResult r = att.autotune(shape, small, new Tuning.Shape(1, 8, 1024, 1, 5),
                    (d, n, w) -> System.out.println("  [" + d + "/" + n + "] " + w));
            for (CandidateResult c : r.candidates()) {
                System.out.printf("  %-70s %-10s %s %.4f ms %s%n", c.spec(), c.status(), c.accuracy(), c.medianMs(), c.detail());
            }
            System.out.printf("tuned %s over %d candidates in %.2f s%n", key, r.candidates().size(), r.seconds());
            CandidateResult w = r.winner().orElseThrow(() -> new AssertionError("no winner: " + r.candidates()));
            assertTrue(r.candidates().stream().map(CandidateResult::spec).toList().containsAll(List.of(def, extra.get(0), extra.get(1))));
            assertNull(AccuracyBar.forPv(w.spec().pv()).failure(w.accuracy()));
            assertTrue(w.medianMs() > 0);
            assertEquals(Optional.of(w.spec()), new TuningDb(CacheDirectory.tuning(tmp), System.err::println).winner(key));
            assertEquals(w.spec(), att.specFor(shape), "calls of the key now use the winner");

            // a call without a spec runs the winner, and it is accurate
            RandomInputs in = RandomInputs.generate(5, 1, 2, 2, 700, 700, 64, DType.FP16);
            AttentionReference.Result ref = in.reference(1 / Math.sqrt(64), false);
            AttentionArgs call = AttentionArgs.builder().batch(1).heads(2).seqLen(700).headDim(64).dtype(DType.FP16).build();
            assertEquals(w.spec(), att.specFor(call));
            SageAttention.HostResult out = att.forwardHost(call, in.q16(), in.k16(), in.v16(), true);
            assertNull(AccuracyBar.forPv(w.spec().pv()).failure(
                    AccuracyBar.Accuracy.of(Half.decode(out.o(), DType.FP16), out.lse(), ref)));
        } finally {
            CacheDirectory.override(null);
        }
    }
}
