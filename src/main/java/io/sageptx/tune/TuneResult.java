package io.sageptx.tune;

import io.sageptx.runtime.TuningKey;
import java.util.List;
import java.util.Optional;

import io.sageptx.spec.KernelSpec;

/**
 * The outcome of tuning one key: every candidate's result in the order tried, the winner, and the
 * wall time the tuning took.
 */
public record TuneResult(TuningKey key, List<CandidateResult> candidates, double seconds) {

    public TuneResult {
        candidates = List.copyOf(candidates);
    }

    public Optional<CandidateResult> winner() {
        return candidates.stream().filter(c -> c.status() == CandidateResult.Status.WINNER).findFirst();
    }

    public Optional<KernelSpec> winnerSpec() {
        return winner().map(CandidateResult::spec);
    }
}
