package io.sageptx.cli;

import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;

import io.sageptx.call.AttentionArgs;
import io.sageptx.api.SageAttention;
import io.sageptx.tune.CandidateResult;
import io.sageptx.tune.CandidateSpace;
import io.sageptx.tune.TuneResult;
import io.sageptx.tune.Tuning;
import io.sageptx.spec.DType;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "autotune", mixinStandardHelpOptions = true,
        description = {"Tune kernels for this GPU: for each key (dtype, head dim, causal, sequence bucket) try every "
                + "candidate spec, prune on registers/spills/shared memory, reject inaccurate ones on a probe, time the "
                + "rest with CUDA events and store the winner (apart from the kernel cache).",
                "Attention calls use the stored winner of their key from then on."})
final class AutotuneCommand implements Callable<Integer> {

    @Option(names = "--device", defaultValue = "0", description = "CUDA device ordinal (default ${DEFAULT-VALUE})")
    int device;

    @Option(names = "--head-dim", split = ",", defaultValue = "128", description = "head dimensions (default ${DEFAULT-VALUE})")
    List<Integer> headDims;

    @Option(names = "--dtype", split = ",", defaultValue = "fp16", description = "dtypes (default ${DEFAULT-VALUE})")
    List<String> dtypes;

    @Option(names = "--causal", arity = "1", split = ",", defaultValue = "false", description = "causal modes, e.g. false,true (default ${DEFAULT-VALUE})")
    List<Boolean> causal;

    @Option(names = "--seq", split = ",", defaultValue = "4096", description = "sequence lengths; each selects its bucket (default ${DEFAULT-VALUE})")
    List<Integer> seqs;

    @Option(names = "--batch", defaultValue = "4", description = "batch of the timing shape (default ${DEFAULT-VALUE})")
    int batch;

    @Option(names = "--heads", defaultValue = "32", description = "heads of the timing shape (default ${DEFAULT-VALUE})")
    int heads;

    @Option(names = "--reps", defaultValue = "10", description = "timed calls per candidate (default ${DEFAULT-VALUE})")
    int reps;

    @Option(names = "--space", defaultValue = "standard", description = "candidate space: standard or default-only (default ${DEFAULT-VALUE})")
    String space;

    @Mixin
    CacheOptions cache;

    @Override
    public Integer call() {
        cache.apply();
        CandidateSpace cs = switch (space) {
            case "standard" -> CandidateSpace.standard();
            case "default-only" -> CandidateSpace.defaultOnly();
            default -> throw new IllegalArgumentException("--space: '" + space + "' is not one of standard, default-only");
        };
        if (reps < 1 || batch < 1 || heads < 1) throw new IllegalArgumentException("--reps, --batch and --heads must be >= 1");
        Table summary = new Table("key", "winner", "ms", "default ms", "speedup", "candidates", "timed", "pruned", "inaccurate", "failed", "tune s");
        try (SageAttention att = SageAttention.onDevice(device)) {
            System.out.println(att.context());
            for (int d : headDims) {
                for (String dt : dtypes) {
                    DType t = DType.parse(dt);
                    for (boolean c : causal) {
                        for (int n : seqs) {
                            AttentionArgs shape = AttentionArgs.builder().batch(batch).heads(heads).seqLen(n).headDim(d)
                                    .dtype(t).causal(c).build();
                            String key = att.tuningKey(shape).id();
                            TuneResult r = att.autotune(shape, cs, new Tuning.Shape(batch, heads, 0, 2, reps),
                                    new ProgressBar(System.err, key));
                            print(r);
                            CandidateResult first = r.candidates().get(0);
                            summary.row(key, r.winnerSpec().map(Object::toString).orElse("none"),
                                    r.winner().map(w -> ms(w.medianMs())).orElse("-"), ms(first.medianMs()),
                                    r.winner().map(w -> String.format(Locale.ROOT, "%.2fx", first.medianMs() / w.medianMs())).orElse("-"),
                                    r.candidates().size(), count(r, CandidateResult.Status.TIMED) + count(r, CandidateResult.Status.WINNER),
                                    count(r, CandidateResult.Status.PRUNED), count(r, CandidateResult.Status.INACCURATE),
                                    count(r, CandidateResult.Status.FAILED), String.format(Locale.ROOT, "%.1f", r.seconds()));
                        }
                    }
                }
            }
        }
        System.out.println();
        summary.print(System.out);
        return 0;
    }

    private static void print(TuneResult r) {
        System.out.println();
        System.out.println("key " + r.key() + " (timing B x H x N, N = bucket):");
        Table t = new Table("#", "spec", "status", "regs", "smem B", "accuracy", "median ms", "spread", "detail");
        int i = 0;
        for (CandidateResult c : r.candidates()) {
            t.row(i++, c.spec(), c.status().name().toLowerCase(Locale.ROOT),
                    c.resources() == null ? null : c.resources().registers(),
                    c.resources() == null ? null : c.resources().sharedBytes(), c.accuracy(), ms(c.medianMs()),
                    Double.isNaN(c.spread()) ? "-" : String.format(Locale.ROOT, "%.1f%%", 100 * c.spread()), c.detail());
        }
        t.print(System.out);
        System.out.printf(Locale.ROOT, "tuned %s in %.1f s; winner: %s%n", r.key().id(), r.seconds(),
                r.winnerSpec().map(Object::toString).orElse("none (nothing stored)"));
    }

    private static long count(TuneResult r, CandidateResult.Status s) {
        return r.candidates().stream().filter(c -> c.status() == s).count();
    }

    private static String ms(double v) {
        return Double.isNaN(v) ? "-" : String.format(Locale.ROOT, "%.3f", v);
    }
}
