package io.sageptx.tune;

import io.sageptx.numerics.AccuracyBar;
import io.sageptx.spec.KernelSpec;

/**
 * What happened to one candidate.
 *
 * @param spec      the candidate
 * @param status    its outcome
 * @param detail    why it was pruned, rejected or failed (empty otherwise)
 * @param resources registers, spills, shared memory (null if not compiled)
 * @param accuracy  the probe's result (null if not probed)
 * @param medianMs  median time per call (NaN if not timed)
 * @param spread    relative interquartile range of the timings (NaN if not timed)
 */
public record CandidateResult(KernelSpec spec, Status status, String detail, CandidateRunner.Resources resources,
                              AccuracyBar.Accuracy accuracy, double medianMs, double spread) {

    /** What happened to a candidate. */
    public enum Status {
        /** the winner */
        WINNER,
        /** valid and timed, not the fastest */
        TIMED,
        /** pruned for registers, spills or shared memory */
        PRUNED,
        /** failed the accuracy bar */
        INACCURATE,
        /** did not compile or run */
        FAILED
    }

    CandidateResult withStatus(Status s) {
        return new CandidateResult(spec, s, detail, resources, accuracy, medianMs, spread);
    }
}
