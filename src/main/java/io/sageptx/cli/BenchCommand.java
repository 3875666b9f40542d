package io.sageptx.cli;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;

import io.sageptx.call.AttentionArgs;
import io.sageptx.api.SageAttention;
import io.sageptx.bench.AttentionBenchmark;
import io.sageptx.bench.BenchResult;
import io.sageptx.bench.Variants;
import io.sageptx.spec.DType;
import io.sageptx.spec.KernelSpec;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "bench", mixinStandardHelpOptions = true,
        description = {"Time attention with CUDA events: the whole call (preprocessing included), the fused kernel "
                + "alone and the preprocessing alone, per kernel variant; median of --runs timed calls after "
                + "--warmup calls, on fresh random inputs larger than L2.",
                "TFLOP/s = 4*B*H*N^2*D / time, halved when causal. --csv DIR writes DIR/bench.csv; --plot FILE.png draws "
                        + "TFLOP/s against N per variant (with --sdpa-csv, PyTorch's backends beside them)."})
final class BenchCommand implements Callable<Integer> {

    static final String CSV_NAME = "bench.csv";

    @Option(names = "--device", defaultValue = "0", description = Opts.DEVICE_HELP + " (default ${DEFAULT-VALUE})")
    int device;

    @Option(names = "--batch", defaultValue = "4", description = "B (default ${DEFAULT-VALUE})")
    int batch;

    @Option(names = "--heads", defaultValue = "32", description = "H (default ${DEFAULT-VALUE})")
    int heads;

    @Option(names = "--head-dim", defaultValue = "64,128", description = Opts.HEAD_DIM_HELP + " (default ${DEFAULT-VALUE})")
    List<String> headDims;

    @Option(names = "--seq", defaultValue = "1k,2k,4k,8k,16k,32k", description = Opts.SEQ_HELP + " (default ${DEFAULT-VALUE})")
    List<String> seqs;

    @Option(names = "--causal", arity = "0..1", fallbackValue = "true", defaultValue = "both",
            description = Opts.CAUSAL_HELP + "; --causal alone means true (default ${DEFAULT-VALUE})")
    List<String> causal;

    @Option(names = "--dtype", defaultValue = "fp16", description = Opts.DTYPE_HELP + " (default ${DEFAULT-VALUE})")
    List<String> dtypes;

    @Option(names = "--variants", split = ",", defaultValue = "all",
            description = "kernel variants: all, default, tuned (the autotuned winner of each shape's key, else the default), "
                    + "or PV variants such as fp8-f16acc,fp16, wgmma-fp8-f32acc, wgmma-ws-fp8-f16acc (default ${DEFAULT-VALUE})")
    List<String> variants;

    @Option(names = "--runs", defaultValue = "20", description = "timed calls per point; the median is kept (default ${DEFAULT-VALUE})")
    int runs;

    @Option(names = "--warmup", defaultValue = "3", description = "untimed calls first (default ${DEFAULT-VALUE})")
    int warmup;

    @Option(names = "--csv", paramLabel = "DIR", description = Opts.CSV_HELP + ": " + CSV_NAME)
    Path csvDir;

    @Option(names = "--plot", paramLabel = "FILE.png", description = Opts.PLOT_HELP)
    Path plot;

    @Option(names = "--sdpa-csv", paramLabel = "FILE", description = "PyTorch SDPA timings of the same shapes "
            + "(tools/sdpa_bench.py --out FILE) to draw beside ours in --plot")
    Path sdpaCsv;

    @Mixin
    CacheOptions cache;

    @Override
    public Integer call() throws IOException {
        List<Integer> dims = Opts.headDims(headDims);
        List<Integer> ns = Opts.lengths("--seq", seqs);
        List<Boolean> causals = Opts.causal(causal);
        List<DType> types = Opts.dtypes("--dtype", dtypes);
        Opts.atLeast("--batch", batch, 1);
        Opts.atLeast("--heads", heads, 1);
        Opts.atLeast("--runs", runs, 1);
        Opts.atLeast("--warmup", warmup, 0);
        if (sdpaCsv != null && plot == null) throw new IllegalArgumentException("--sdpa-csv is drawn by --plot: give --plot FILE.png too");
        if (plot != null) {
            PlotSupport.requireDrawing("--plot", "run with --csv DIR to keep the results");
            if (sdpaCsv != null) CsvFile.read(Opts.path(sdpaCsv)); // a missing or unreadable file fails now, not after the run
        }
        cache.apply();
        List<BenchResult> all = new ArrayList<>();
        PrintWriter csv = null;
        Path csvFile = null;
        try (SageAttention att = SageAttention.onDevice(Opts.device(device));
             AttentionBenchmark bench = new AttentionBenchmark(att, warmup, runs)) {
            if (csvDir != null) { // after the device opened: no empty CSV without a GPU
                Path dir = Opts.path(csvDir);
                Files.createDirectories(dir);
                csvFile = dir.resolve(CSV_NAME);
                csv = new PrintWriter(Files.newBufferedWriter(csvFile, StandardCharsets.UTF_8));
                csv.println(String.join(",", BenchResult.CSV_COLUMNS));
            }
            List<String> labels = variants.equals(List.of("all")) ? Variants.all(att.arch()) : variants;
            for (String l : labels) { // every label checked before the first timing
                if (!l.equals(Variants.TUNED)) {
                    try {
                        Variants.spec(l, att.arch(), dims.get(0), false, types.get(0));
                    } catch (IllegalArgumentException e) {
                        throw new IllegalArgumentException("--variants " + l + ": " + e.getMessage(), e);
                    }
                }
            }
            System.out.println(att.context());
            int d0 = dims.get(0);
            bench.warmClocks(new AttentionBenchmark.Shape(batch, heads, d0, 4096, false, types.get(0)),
                    Variants.spec(Variants.DEFAULT, att.arch(), d0, false, types.get(0)), 1000);
            System.out.println(header());
            for (DType dt : types) {
                for (int d : dims) {
                    for (boolean c : causals) {
                        for (int n : ns) {
                            List<KernelSpec> specs = new ArrayList<>();
                            for (String l : labels) {
                                specs.add(l.equals(Variants.TUNED) ? att.specFor(AttentionArgs.builder().batch(batch).heads(heads)
                                        .seqLen(n).headDim(d).dtype(dt).causal(c).build()) : Variants.spec(l, att.arch(), d, c, dt, batch, heads, n));
                            }
                            for (BenchResult r : bench.run(new AttentionBenchmark.Shape(batch, heads, d, n, c, dt), specs, labels)) {
                                System.out.println(row(r));
                                all.add(r);
                                if (csv != null) {
                                    csv.println(r.csvLine());
                                    csv.flush();
                                }
                            }
                        }
                    }
                }
            }
        } finally {
            if (csv != null) csv.close();
        }
        if (csvFile != null) System.out.println("wrote " + csvFile + " (" + all.size() + " rows)");
        if (plot != null) {
            int[] wh = plot(all, plot, sdpaCsv);
            System.out.println("wrote " + Opts.path(plot) + " (" + wh[0] + "x" + wh[1] + ")");
        }
        return 0;
    }

    /** Draws results (as their CSV rows) with PyTorch's beside them when given. */
    static int[] plot(List<BenchResult> results, Path png, Path sdpaCsv) throws IOException {
        List<java.util.Map<String, String>> rows = new ArrayList<>();
        for (BenchResult r : results) {
            List<String> cells = CsvFile.split(r.csvLine());
            java.util.Map<String, String> m = new java.util.LinkedHashMap<>();
            for (int i = 0; i < BenchResult.CSV_COLUMNS.size(); i++) m.put(BenchResult.CSV_COLUMNS.get(i), cells.get(i));
            rows.add(m);
        }
        CsvFile.Table t = new CsvFile.Table(Path.of(CSV_NAME), BenchResult.CSV_COLUMNS, rows);
        CsvFile.Table sdpa = sdpaCsv == null ? null : CsvFile.read(Opts.path(sdpaCsv));
        Path out = PlotSupport.target(png);
        int[][] wh = new int[1][];
        PlotSupport.draw("--plot", () -> wh[0] = Charts.bench(t, sdpa, out, Charts.Size.DEFAULT));
        return wh[0];
    }

    private static String header() {
        return String.format(Locale.ROOT, "%-5s %4s %6s %-6s %-16s %9s %9s %9s %9s %9s %8s", "dtype", "D", "N", "causal",
                "variant", "total_ms", "attn_ms", "pre_ms", "total_TF", "attn_TF", "pre_TB/s");
    }

    private static String row(BenchResult r) {
        return String.format(Locale.ROOT, "%-5s %4d %6d %-6s %-16s %9.3f %9.3f %9.3f %9.1f %9.1f %8.2f", r.dtype(), r.headDim(),
                r.seqLen(), r.causal() ? "true" : "false", r.variant(), r.totalMs(), r.attnMs(), r.preMs(), r.totalTflops(),
                r.attnTflops(), r.preTbps());
    }
}
