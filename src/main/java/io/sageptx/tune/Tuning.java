package io.sageptx.tune;

import java.util.List;

import io.sageptx.runtime.AttentionRunner;
import io.sageptx.runtime.TuningDb;
import io.sageptx.runtime.TuningKey;
import io.sageptx.spec.KernelSpec;

/** Tunes one key on one device and stores the winner in the {@link TuningDb}. */
public final class Tuning {

    /**
     * The shape candidates are timed on.
     *
     * @param batch  B
     * @param heads  H
     * @param seq    Lq = Lk (0: the key's bucket)
     * @param warmup untimed calls per candidate
     * @param reps   timed calls per candidate
     */
    public record Shape(int batch, int heads, int seq, int warmup, int reps) {
        /** B=4, H=32 at the key's bucket length, 2 warm-up and 10 timed calls. */
        public static final Shape DEFAULT = new Shape(4, 32, 0, 2, 10);

        int seqFor(TuningKey key) {
            return seq > 0 ? seq : key.seqBucket();
        }
    }

    private Tuning() {
    }

    /**
     * Tunes {@code key} over {@code space} on the device of {@code att} and stores the winner (when one
     * candidate passed) in {@code db}.
     */
    public static TuneResult run(AttentionRunner att, TuningKey key, CandidateSpace space, Shape shape, TuningDb db,
                                 Autotuner.Progress progress) {
        List<KernelSpec> candidates = space.enumerate(att.arch(), key);
        TuneResult r;
        try (GpuCandidateRunner runner = new GpuCandidateRunner(att, key, shape.batch(), shape.heads(),
                shape.seqFor(key), shape.warmup(), shape.reps())) {
            r = new Autotuner(runner).tune(key, candidates, progress);
        }
        r.winner().ifPresent(w -> db.store(key, w.spec(), w.medianMs()));
        return r;
    }
}
