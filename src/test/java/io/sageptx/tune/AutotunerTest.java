package io.sageptx.tune;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sageptx.numerics.AccuracyBar;
import io.sageptx.runtime.TuningKey;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;

import io.sageptx.spec.Arch;
import io.sageptx.spec.DType;
import io.sageptx.spec.KernelSpec;
import io.sageptx.spec.PvVariant;
import io.sageptx.spec.QuantGranularity;

/** The autotuner's selection logic with a scripted runner (no GPU). */
class AutotunerTest {

    static final TuningKey KEY = new TuningKey("sm_90-Test", DType.FP16, DType.FP16, 128, false, 4096);
    static final KernelSpec A = KernelSpec.defaults(Arch.SM90, 128, false, DType.FP16, DType.FP16);
    static final KernelSpec B = A.toBuilder().quant(QuantGranularity.PER_WARP).build();
    static final KernelSpec C = A.toBuilder().tiles(128, 4).build();
    static final KernelSpec D = A.toBuilder().pv(PvVariant.FP8_F16ACC).build();

    /** A runner whose answers are set per spec. */
    static final class Scripted implements CandidateRunner {
        final Map<KernelSpec, Double> ms = new HashMap<>();
        final Map<KernelSpec, Resources> res = new HashMap<>();
        final Map<KernelSpec, AccuracyBar.Accuracy> acc = new HashMap<>();
        final Map<KernelSpec, Integer> smem = new HashMap<>();
        final List<String> calls = new ArrayList<>();
        double jitter;

        Scripted time(KernelSpec s, double v) {
            ms.put(s, v);
            return this;
        }

        @Override
        public int sharedBytesBeforeCompile(KernelSpec spec) {
            return smem.getOrDefault(spec, 40_000);
        }

        @Override
        public int maxSharedBytes() {
            return 232_448;
        }

        @Override
        public Resources prepare(KernelSpec spec) {
            calls.add("prepare " + spec);
            if (spec.quant() == QuantGranularity.PER_BLOCK && spec.warps() == 4) throw new IllegalStateException("JIT failed\nlog");
            return res.getOrDefault(spec, new Resources(168, 0, 40_000, spec.threads(), 232_448, 65_536));
        }

        @Override
        public AccuracyBar.Accuracy probe(KernelSpec spec) {
            calls.add("probe " + spec);
            return acc.getOrDefault(spec, new AccuracyBar.Accuracy(0.9999, spec.pv().isFp8() ? 0.035 : 0.01, 0.02, 0));
        }

        @Override
        public double[] time(KernelSpec spec) {
            calls.add("time " + spec);
            double m = ms.getOrDefault(spec, 10.0);
            return new double[]{m * (1 + jitter), m * (1 + jitter / 2), m, m * (1 - jitter / 2), m * (1 - jitter)};
        }
    }

    static TuneResult tune(Scripted r, KernelSpec... specs) {
        return new Autotuner(r, 0.02).tune(KEY, List.of(specs), Autotuner.Progress.NONE);
    }

    @Test
    void theFastestValidCandidateWins() {
        Scripted r = new Scripted().time(A, 5.0).time(B, 4.0).time(C, 4.5);
        TuneResult t = tune(r, A, B, C);
        assertEquals(B, t.winnerSpec().orElseThrow());
        assertEquals(CandidateResult.Status.WINNER, t.candidates().get(1).status());
        assertEquals(CandidateResult.Status.TIMED, t.candidates().get(0).status());
        assertEquals(4.0, t.winner().orElseThrow().medianMs(), 1e-12);
    }

    @Test
    void tiesWithinNoiseKeepTheEarlierCandidate() {
        Scripted r = new Scripted().time(A, 5.0).time(B, 4.95).time(C, 4.92);
        assertEquals(A, tune(r, A, B, C).winnerSpec().orElseThrow(), "1-2 % faster is within the 2 % floor");
        Scripted noisy = new Scripted().time(A, 5.0).time(B, 4.6);
        noisy.jitter = 0.1; // interquartile spread ~10 %: an 8 % gain is noise
        assertEquals(A, tune(noisy, A, B).winnerSpec().orElseThrow());
        Scripted clear = new Scripted().time(A, 5.0).time(B, 4.0);
        clear.jitter = 0.05;
        assertEquals(B, tune(clear, A, B).winnerSpec().orElseThrow());
    }

    @Test
    void spillsAndOversizedCandidatesArePrunedBeforeTiming() {
        Scripted r = new Scripted().time(A, 5.0).time(B, 1.0).time(C, 1.0).time(D, 1.0);
        r.res.put(B, new CandidateRunner.Resources(255, 64, 40_000, 256, 232_448, 65_536));
        r.res.put(C, new CandidateRunner.Resources(168, 0, 40_000, 512, 232_448, 65_536));
        r.smem.put(D, 300_000);
        TuneResult t = tune(r, A, B, C, D);
        assertEquals(A, t.winnerSpec().orElseThrow());
        assertEquals(CandidateResult.Status.PRUNED, t.candidates().get(1).status());
        assertTrue(t.candidates().get(1).detail().contains("spills"));
        assertEquals(CandidateResult.Status.PRUNED, t.candidates().get(2).status());
        assertTrue(t.candidates().get(2).detail().contains("per block"));
        assertEquals(CandidateResult.Status.PRUNED, t.candidates().get(3).status());
        assertTrue(!r.calls.contains("prepare " + D), "pruned on shared memory before compiling");
        assertTrue(!r.calls.contains("time " + B) && !r.calls.contains("probe " + B));
    }

    @Test
    void inaccurateCandidatesAreRejectedWhateverTheirSpeed() {
        Scripted r = new Scripted().time(A, 5.0).time(B, 1.0).time(C, 1.0).time(D, 1.0);
        r.acc.put(B, new AccuracyBar.Accuracy(0.9999, 0.021, 0.02, 0)); // FP16 PV bar is 0.02
        r.acc.put(C, new AccuracyBar.Accuracy(0.99, 0.01, 0.02, 0));
        r.acc.put(D, new AccuracyBar.Accuracy(0.9999, 0.05, 0.12, 0)); // FP8 PV: rel L1 fine, LSE not
        TuneResult t = tune(r, A, B, C, D);
        assertEquals(A, t.winnerSpec().orElseThrow());
        for (int i = 1; i < 4; i++) assertEquals(CandidateResult.Status.INACCURATE, t.candidates().get(i).status());
        assertTrue(t.candidates().get(1).detail().contains("rel L1"));
        assertTrue(t.candidates().get(2).detail().contains("cosine"));
        assertTrue(t.candidates().get(3).detail().contains("LSE"));
        assertTrue(!r.calls.contains("time " + B));
    }

    @Test
    void fp8CandidatesGetTheFp8Bar() {
        Scripted r = new Scripted().time(A, 5.0).time(D, 4.0);
        r.acc.put(D, new AccuracyBar.Accuracy(0.9993, 0.045, 0.03, 0));
        assertEquals(D, tune(r, A, D).winnerSpec().orElseThrow());
    }

    @Test
    void failuresAreRecordedAndNoWinnerWhenNothingPasses() {
        KernelSpec bad = A.toBuilder().tiles(128, 4).quant(QuantGranularity.PER_BLOCK).build();
        Scripted r = new Scripted();
        TuneResult t = tune(r, bad);
        assertEquals(CandidateResult.Status.FAILED, t.candidates().get(0).status());
        assertEquals("compile: JIT failed", t.candidates().get(0).detail());
        assertTrue(t.winner().isEmpty());
        r.acc.put(A, new AccuracyBar.Accuracy(Double.NaN, Double.NaN, Double.NaN, 7));
        TuneResult t2 = tune(r, A);
        assertEquals(CandidateResult.Status.INACCURATE, t2.candidates().get(0).status());
        assertTrue(t2.winner().isEmpty());
    }

    @Test
    void progressIsReportedPerCandidate() {
        List<String> steps = new ArrayList<>();
        new Autotuner(new Scripted()).tune(KEY, List.of(A, B), (d, n, w) -> steps.add(d + "/" + n));
        assertEquals(List.of("0/2", "1/2", "2/2"), steps);
    }

    @Test
    void quantiles() {
        assertEquals(2.5, Autotuner.quantile(new double[]{1, 2, 3, 4}, 0.5), 1e-12);
        assertEquals(1.0, Autotuner.quantile(new double[]{1}, 0.75), 1e-12);
    }
}
