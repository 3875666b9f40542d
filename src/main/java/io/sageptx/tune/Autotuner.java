package io.sageptx.tune;

import io.sageptx.kernels.AttentionFamilies;
import io.sageptx.numerics.AccuracyBar;
import io.sageptx.runtime.TuningKey;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;

import io.sageptx.spec.KernelSpec;

/**
 * Picks the fastest accurate candidate for one key. For each candidate in order: prune on shared
 * memory before compiling, compile and prune on registers/spills/shared memory, run the probe and
 * reject it below the {@link AccuracyBar}, time it. A later candidate replaces the current winner only
 * when it is faster by more than the noise ({@link #minGain} or the timings' own spread, whichever is
 * larger), so ties keep the earlier one (the default spec comes first).
 */
public final class Autotuner {

    /** Progress: called before each candidate with (index, count, spec), and once at the end. */
    public interface Progress {
        /** Called before candidate {@code done} of {@code total} (named {@code what}), and with done == total at the end. */
        void step(int done, int total, String what);

        /** Reports nothing. */
        Progress NONE = (d, t, w) -> {
        };
    }

    private final CandidateRunner runner;
    private final double minGain;

    /** @param minGain smallest relative gain that counts as faster (e.g. 0.02 = 2 %) */
    public Autotuner(CandidateRunner runner, double minGain) {
        this.runner = Objects.requireNonNull(runner, "runner");
        if (!(minGain >= 0 && minGain < 1)) throw new IllegalArgumentException("minGain = " + minGain + " not in [0, 1)");
        this.minGain = minGain;
    }

    /** An autotuner that counts a candidate faster only when it gains 2 % or more. */
    public Autotuner(CandidateRunner runner) {
        this(runner, 0.02);
    }

    /** Tries every candidate in order (prune, probe, time) and returns every result with the winner marked; stores nothing. */
    public TuneResult tune(TuningKey key, List<KernelSpec> candidates, Progress progress) {
        long t0 = System.nanoTime();
        List<CandidateResult> results = new ArrayList<>();
        int winner = -1;
        for (int i = 0; i < candidates.size(); i++) {
            KernelSpec spec = candidates.get(i);
            progress.step(i, candidates.size(), spec.toString());
            CandidateResult r = evaluate(spec);
            results.add(r);
            if (r.status() == CandidateResult.Status.TIMED
                    && (winner < 0 || faster(r, results.get(winner)))) {
                winner = i;
            }
        }
        if (winner >= 0) {
            results.set(winner, results.get(winner).withStatus(CandidateResult.Status.WINNER));
        }
        progress.step(candidates.size(), candidates.size(), "done");
        return new TuneResult(key, results, (System.nanoTime() - t0) / 1e9);
    }

    /** Whether {@code c} beats {@code best} by more than the noise. */
    boolean faster(CandidateResult c, CandidateResult best) {
        double noise = Math.max(minGain, Math.max(nz(c.spread()), nz(best.spread())));
        return c.medianMs() < best.medianMs() * (1 - noise);
    }

    private static double nz(double v) {
        return Double.isFinite(v) ? v : 0;
    }

    private CandidateResult evaluate(KernelSpec spec) {
        int smem = runner.sharedBytesBeforeCompile(spec);
        if (smem > runner.maxSharedBytes()) {
            return result(spec, CandidateResult.Status.PRUNED, smem + " B shared memory > " + runner.maxSharedBytes(),
                    null, null, null);
        }
        CandidateRunner.Resources res;
        try {
            res = runner.prepare(spec);
        } catch (RuntimeException e) {
            return result(spec, CandidateResult.Status.FAILED, "compile: " + firstLine(e), null, null, null);
        }
        String prune = res.pruneReason();
        if (prune != null) {
            return result(spec, CandidateResult.Status.PRUNED, prune, res, null, null);
        }
        AccuracyBar.Accuracy acc;
        try {
            acc = runner.probe(spec);
        } catch (RuntimeException e) {
            return result(spec, CandidateResult.Status.FAILED, "probe: " + firstLine(e), res, null, null);
        }
        String bad = AttentionFamilies.of(spec).accuracyBar(spec).failure(acc);
        if (bad != null) {
            return result(spec, CandidateResult.Status.INACCURATE, bad, res, acc, null);
        }
        double[] ms;
        try {
            ms = runner.time(spec);
        } catch (RuntimeException e) {
            return result(spec, CandidateResult.Status.FAILED, "timing: " + firstLine(e), res, acc, null);
        }
        return result(spec, CandidateResult.Status.TIMED, "", res, acc, ms);
    }

    private static CandidateResult result(KernelSpec spec, CandidateResult.Status s, String detail,
                                          CandidateRunner.Resources res, AccuracyBar.Accuracy acc, double[] ms) {
        if (ms == null || ms.length == 0) {
            return new CandidateResult(spec, s, detail, res, acc, Double.NaN, Double.NaN);
        }
        double[] sorted = ms.clone();
        Arrays.sort(sorted);
        double median = quantile(sorted, 0.5);
        double spread = median > 0 ? (quantile(sorted, 0.75) - quantile(sorted, 0.25)) / median : Double.NaN;
        return new CandidateResult(spec, s, detail, res, acc, median, spread);
    }

    /** Linear-interpolated quantile of sorted values. */
    static double quantile(double[] sorted, double q) {
        double pos = q * (sorted.length - 1);
        int lo = (int) Math.floor(pos);
        int hi = Math.min(sorted.length - 1, lo + 1);
        return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
    }

    private static String firstLine(Throwable e) {
        String m = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
        return m.lines().findFirst().orElse(m);
    }
}
