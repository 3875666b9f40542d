package io.sageptx.cli;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;

import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(name = "plot", mixinStandardHelpOptions = true,
        description = {"Draw a PNG chart from a CSV that bench, autotune or verify wrote (--csv DIR); no GPU needed.",
                "bench.csv: TFLOP/s against N per variant (with --sdpa-csv, PyTorch's backends from tools/sdpa_bench.py "
                        + "dashed); autotune.csv: every timed candidate's median per key, the winner in green; "
                        + "verify.csv: each kernel's relative L1 error against its bar.",
                "Needs a Java runtime with the java.desktop module (a full JDK or JRE)."})
final class PlotCommand implements Callable<Integer> {

    @Parameters(index = "0", paramLabel = "CSV", description = "bench.csv, autotune.csv or verify.csv")
    Path csv;

    @Option(names = {"-o", "--output"}, description = "the PNG to write (default: the CSV's name with .png)")
    Path output;

    @Option(names = "--sdpa-csv", description = "PyTorch SDPA timings (tools/sdpa_bench.py --out) to draw beside a bench.csv")
    Path sdpaCsv;

    @Option(names = "--width", description = "image width in pixels (default: by the number of panels)")
    Integer width;

    @Option(names = "--height", description = "image height in pixels (default: by the number of panels)")
    Integer height;

    @Override
    public Integer call() throws Exception {
        PlotSupport.requireDrawing("plot", "the CSV is already written: copy it");
        Path in = Opts.path(csv);
        Path png = output != null ? output : in.resolveSibling(in.getFileName().toString().replaceFirst("\\.csv$", "") + ".png");
        int[] wh = draw(in, sdpaCsv == null ? null : Opts.path(sdpaCsv), png, new Charts.Size(width, height));
        System.out.println("wrote " + Opts.path(png) + " (" + wh[0] + "x" + wh[1] + ")");
        return 0;
    }

    /** Draws any of the CSVs this command line writes, told apart by their columns. */
    static int[] draw(Path csv, Path sdpaCsv, Path png, Charts.Size size) throws java.io.IOException {
        CsvFile.Table t = CsvFile.read(csv);
        CsvFile.Table sdpa = sdpaCsv == null ? null : CsvFile.read(sdpaCsv);
        if (sdpa != null && !sdpa.has("backend", "head_dim", "seq_len", "causal", "tflops")) {
            throw new IllegalArgumentException("--sdpa-csv " + sdpaCsv + ": not a tools/sdpa_bench.py CSV (columns: "
                    + String.join(",", sdpa.header()) + ")");
        }
        Path out = PlotSupport.target(png);
        int[][] wh = new int[1][];
        PlotSupport.draw("plot", () -> {
            if (t.has("variant", "seq_len", "total_tflops")) {
                wh[0] = Charts.bench(t, sdpa, out, size);
            } else if (t.has("key", "status", "median_ms")) {
                wh[0] = Charts.autotune(t, out, size);
            } else if (t.has("spec", "rel_l1", "result")) {
                wh[0] = Charts.verify(t, out, size);
            } else if (t.has("backend", "tflops")) {
                throw new IllegalArgumentException(csv + " is PyTorch's CSV (tools/sdpa_bench.py): give it as --sdpa-csv "
                        + "beside a bench.csv");
            } else {
                throw new IllegalArgumentException(csv + ": not a CSV of bench, autotune or verify (columns: "
                        + String.join(",", t.header()) + ")");
            }
        });
        if (sdpa != null && !t.has("variant", "seq_len", "total_tflops")) {
            System.err.println("note: --sdpa-csv is drawn beside a bench.csv only; ignored for " + csv.getFileName());
        }
        return wh[0];
    }
}
