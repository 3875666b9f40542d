package io.sageptx.tune;

import io.sageptx.runtime.TuningKey;
import java.util.List;
import java.util.Optional;

import io.sageptx.spec.KernelSpec;

/**
 * The outcome of tuning one key: every candidate's result in the order tried, the winner, and the
 * wall time the tuning took.
 *
 * @param key        the key tuned
 * @param candidates every candidate's result, in the order tried
 * @param seconds    wall time of the tuning
 */
public record TuneResult(TuningKey key, List<CandidateResult> candidates, double seconds) {

    public TuneResult {
        candidates = List.copyOf(candidates);
    }

    /** The winning candidate, if any was timed. */
    public Optional<CandidateResult> winner() {
        return candidates.stream().filter(c -> c.status() == CandidateResult.Status.WINNER).findFirst();
    }

    /** The winning spec, if any. */
    public Optional<KernelSpec> winnerSpec() {
        return winner().map(CandidateResult::spec);
    }
}
