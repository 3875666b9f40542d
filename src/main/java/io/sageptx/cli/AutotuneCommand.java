package io.sageptx.cli;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
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

    static final String CSV_NAME = "autotune.csv";
    static final List<String> CSV_COLUMNS = List.of("gpu", "key", "index", "spec", "status", "registers", "smem_bytes",
            "cosine", "rel_l1", "median_ms", "spread", "detail");

    @Option(names = "--device", defaultValue = "0", description = Opts.DEVICE_HELP + " (default ${DEFAULT-VALUE})")
    int device;

    @Option(names = "--head-dim", defaultValue = "128", description = Opts.HEAD_DIM_HELP + " (default ${DEFAULT-VALUE})")
    List<String> headDims;

    @Option(names = "--dtype", defaultValue = "fp16", description = Opts.DTYPE_HELP + " (default ${DEFAULT-VALUE})")
    List<String> dtypes;

    @Option(names = "--causal", arity = "0..1", fallbackValue = "true", defaultValue = "false",
            description = Opts.CAUSAL_HELP + "; --causal alone means true (default ${DEFAULT-VALUE})")
    List<String> causal;

    @Option(names = "--seq", defaultValue = "4096", description = Opts.SEQ_HELP + "; each selects its bucket (default ${DEFAULT-VALUE})")
    List<String> seqs;

    @Option(names = "--batch", defaultValue = "4", description = "batch of the timing shape (default ${DEFAULT-VALUE})")
    int batch;

    @Option(names = "--heads", defaultValue = "32", description = "heads of the timing shape (default ${DEFAULT-VALUE})")
    int heads;

    @Option(names = "--reps", defaultValue = "10", description = "timed calls per candidate (default ${DEFAULT-VALUE})")
    int reps;

    @Option(names = "--space", defaultValue = "standard", description = "candidate space: standard or default-only (default ${DEFAULT-VALUE})")
    String space;

    @Option(names = "--csv", paramLabel = "DIR", description = Opts.CSV_HELP + ": " + CSV_NAME + ", one row per candidate")
    Path csvDir;

    @Option(names = "--plot", paramLabel = "FILE.png", description = Opts.PLOT_HELP)
    Path plot;

    @Mixin
    CacheOptions cache;

    @Override
    public Integer call() throws IOException {
        List<Integer> dims = Opts.headDims(headDims);
        List<DType> types = Opts.dtypes("--dtype", dtypes);
        List<Boolean> causals = Opts.causal(causal);
        List<Integer> ns = Opts.lengths("--seq", seqs);
        CandidateSpace cs = switch (space) {
            case "standard" -> CandidateSpace.standard();
            case "default-only" -> CandidateSpace.defaultOnly();
            default -> throw new IllegalArgumentException("--space " + space + " is not allowed; allowed: standard, default-only");
        };
        Opts.atLeast("--reps", reps, 1);
        Opts.atLeast("--batch", batch, 1);
        Opts.atLeast("--heads", heads, 1);
        if (plot != null) PlotSupport.requireDrawing("--plot", "run with --csv DIR to keep the results");
        cache.apply();
        Table summary = new Table("key", "winner", "ms", "default ms", "speedup", "candidates", "timed", "pruned", "inaccurate", "failed", "tune s");
        List<String> lines = new ArrayList<>();
        lines.add(String.join(",", CSV_COLUMNS));
        try (SageAttention att = SageAttention.onDevice(Opts.device(device))) {
            System.out.println(att.context());
            for (int d : dims) {
                for (DType t : types) {
                    for (boolean c : causals) {
                        for (int n : ns) {
                            AttentionArgs shape = AttentionArgs.builder().batch(batch).heads(heads).seqLen(n).headDim(d)
                                    .dtype(t).causal(c).build();
                            String key = att.tuningKey(shape).id();
                            TuneResult r = att.autotune(shape, cs, new Tuning.Shape(batch, heads, 0, 2, reps),
                                    new ProgressBar(System.err, key));
                            print(r);
                            csvLines(r, lines);
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
        writeAndPlot(lines, csvDir, CSV_NAME, plot);
        return 0;
    }

    /** The candidates of one key as CSV lines. */
    static void csvLines(TuneResult r, List<String> lines) {
        int i = 0;
        for (CandidateResult c : r.candidates()) {
            lines.add(CsvFile.line(r.key().gpu(), r.key().id(), i++, c.spec().toString(), c.status().name().toLowerCase(Locale.ROOT),
                    c.resources() == null ? null : c.resources().registers(),
                    c.resources() == null ? null : c.resources().sharedBytes(),
                    c.accuracy() == null ? null : (Object) c.accuracy().cosine(),
                    c.accuracy() == null ? null : (Object) c.accuracy().relL1(), c.medianMs(), c.spread(), c.detail()));
        }
    }

    /** Writes {@code lines} to DIR/name when asked and draws them into {@code plot} when asked. */
    static void writeAndPlot(List<String> lines, Path csvDir, String name, Path plot) throws IOException {
        Path file = null;
        if (csvDir != null) {
            Path dir = Opts.path(csvDir);
            Files.createDirectories(dir);
            file = dir.resolve(name);
            Files.write(file, lines, StandardCharsets.UTF_8);
            System.out.println("wrote " + file + " (" + (lines.size() - 1) + " rows)");
        }
        if (plot != null) {
            Path csv = file;
            if (csv == null) {
                csv = Files.createTempFile("sageptx-", "-" + name);
                Files.write(csv, lines, StandardCharsets.UTF_8);
            }
            try {
                int[] wh = PlotCommand.draw(csv, null, plot, Charts.Size.DEFAULT);
                System.out.println("wrote " + Opts.path(plot) + " (" + wh[0] + "x" + wh[1] + ")");
            } finally {
                if (file == null) Files.deleteIfExists(csv);
            }
        }
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
