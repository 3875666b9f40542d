package io.sageptx.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.image.BufferedImage;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import javax.imageio.ImageIO;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.io.TempDir;

import io.sageptx.bench.BenchResult;
import io.sageptx.numerics.AccuracyBar;
import io.sageptx.runtime.TuningKey;
import io.sageptx.spec.Arch;
import io.sageptx.spec.DType;
import io.sageptx.spec.KernelSpec;
import io.sageptx.tune.CandidateResult;
import io.sageptx.tune.CandidateRunner;
import io.sageptx.tune.TuneResult;

/**
 * The pictures, from CSVs as bench, autotune, verify and tools/sdpa_bench.py write them: a PNG is written,
 * non-empty, of the size asked for (or the size its panels need), and unknown CSVs are refused by name.
 */
class CliPlotTest {

    @TempDir
    Path tmp;

    @BeforeEach
    void needsAwt() {
        Assumptions.assumeTrue(PlotSupport.canDraw(), "this Java runtime has no java.desktop");
    }

    /** A bench.csv as the bench command writes it: 2 head dims x 2 causal modes x 4 lengths x 3 variants. */
    Path benchCsv() throws Exception {
        List<String> lines = new ArrayList<>();
        lines.add(String.join(",", BenchResult.CSV_COLUMNS));
        for (int d : new int[]{64, 128}) {
            for (boolean c : new boolean[]{false, true}) {
                for (int n : new int[]{1024, 4096, 16384, 32768}) {
                    String[] variants = {"default", "fp16", "wgmma-fp8-f32acc"};
                    for (int v = 0; v < variants.length; v++) {
                        double flops = 4.0 * 4 * 32 * (double) n * n * d / (c ? 2 : 1);
                        double ms = flops / ((200 + 100 * v + n / 200.0) * 1e12) * 1e3;
                        lines.add(new BenchResult("NVIDIA H200", 4, 32, d, n, c, "fp16", variants[v], "spec " + v, 20, ms,
                                ms * 0.9, ms * 0.1, 1e9).csvLine());
                    }
                }
            }
        }
        Path f = tmp.resolve("bench.csv");
        Files.write(f, lines, StandardCharsets.UTF_8);
        return f;
    }

    /** tools/sdpa_bench.py's CSV for the same shapes. */
    Path sdpaCsv() throws Exception {
        List<String> lines = new ArrayList<>(List.of("gpu,backend,batch,heads,head_dim,seq_len,causal,runs,ms,tflops"));
        for (int d : new int[]{64, 128}) {
            for (String c : new String[]{"False", "True"}) {
                for (int n : new int[]{1024, 4096, 16384, 32768}) {
                    lines.add(String.format(Locale.ROOT, "NVIDIA H200,fa2,4,32,%d,%d,%s,20,1.0,%.1f", d, n, c, 250 + n / 500.0));
                    lines.add(String.format(Locale.ROOT, "NVIDIA H200,cudnn,4,32,%d,%d,%s,20,1.0,%.1f", d, n, c, 350 + n / 300.0));
                }
            }
        }
        Path f = tmp.resolve("sdpa.csv");
        Files.write(f, lines, StandardCharsets.UTF_8);
        return f;
    }

    static final Pattern WROTE = Pattern.compile("wrote (\\S+) \\((\\d+)x(\\d+)\\)");

    /** Checks the PNG the run reports: it exists, is non-empty, decodes, and has the reported (and expected) size. */
    static BufferedImage png(CliTest.Run r, Path expected, int width, int height) throws Exception {
        assertEquals(0, r.code(), r.err());
        Matcher m = WROTE.matcher(r.out());
        assertTrue(m.find(), r.out());
        assertEquals(expected.toAbsolutePath().toString(), m.group(1));
        assertTrue(Files.size(expected) > 5000, "a real picture: " + Files.size(expected) + " bytes");
        BufferedImage img = ImageIO.read(expected.toFile());
        assertEquals(Integer.parseInt(m.group(2)), img.getWidth());
        assertEquals(Integer.parseInt(m.group(3)), img.getHeight());
        if (width > 0) assertEquals(width, img.getWidth());
        if (height > 0) assertEquals(height, img.getHeight());
        int colors = 0;
        java.util.Set<Integer> seen = new java.util.HashSet<>();
        for (int y = 0; y < img.getHeight(); y += 7) {
            for (int x = 0; x < img.getWidth(); x += 7) if (seen.add(img.getRGB(x, y))) colors++;
        }
        assertTrue(colors > 10, "drawn, not blank: " + colors + " colors");
        return img;
    }

    @Test
    void benchWithPyTorchColumns() throws Exception {
        Path out = tmp.resolve("pics/bench.png"); // the folder is created
        CliTest.Run r = CliTest.run("plot", benchCsv().toString(), "--sdpa-csv", sdpaCsv().toString(), "-o", out.toString());
        png(r, out, 2 * 620, 40 + 2 * 420); // 4 panels (D x causal) in 2 columns
    }

    @Test
    void sizeAsAsked() throws Exception {
        Path out = tmp.resolve("small.png");
        png(CliTest.run("plot", benchCsv().toString(), "-o", out.toString(), "--width", "800", "--height", "600"), out, 800, 600);
        CliTest.Run bad = CliTest.run("plot", benchCsv().toString(), "-o", out.toString(), "--width", "10");
        assertEquals(1, bad.code());
        assertTrue(bad.err().contains("image size 10x"), bad.err());
    }

    @Test
    void defaultOutputBesideTheCsv() throws Exception {
        Path csv = benchCsv();
        CliTest.Run r = CliTest.run("plot", csv.toString());
        png(r, tmp.resolve("bench.png"), 0, 0);
    }

    @Test
    void autotuneCandidatesPerKey() throws Exception {
        List<String> lines = new ArrayList<>(List.of(String.join(",", AutotuneCommand.CSV_COLUMNS)));
        for (int n : new int[]{4096, 16384}) {
            TuningKey key = new TuningKey("sm_90-NVIDIA_H200", DType.FP16, DType.FP16, 128, false, n);
            List<CandidateResult> cs = new ArrayList<>();
            KernelSpec base = KernelSpec.defaults(Arch.SM90, 128, false, DType.FP16, DType.FP16);
            CandidateRunner.Resources res = new CandidateRunner.Resources(128, 0, 50000, 256, 232448, 65536);
            AccuracyBar.Accuracy acc = new AccuracyBar.Accuracy(0.9993, 0.035, 0.01, 0);
            cs.add(new CandidateResult(base, CandidateResult.Status.TIMED, "", res, acc, 1.9, 0.01));
            cs.add(new CandidateResult(base.toBuilder().tiles(64, 4).build(), CandidateResult.Status.WINNER, "", res, acc, 1.2, 0.02));
            cs.add(new CandidateResult(base.toBuilder().tiles(256, 8).build(), CandidateResult.Status.PRUNED, "spills", res,
                    null, Double.NaN, Double.NaN));
            cs.add(new CandidateResult(base.toBuilder().tiles(128, 4).build(), CandidateResult.Status.TIMED, "", res, acc, 1.5, 0.01));
            AutotuneCommand.csvLines(new TuneResult(key, cs, 3.0), lines);
        }
        Path csv = tmp.resolve("autotune.csv");
        Files.write(csv, lines, StandardCharsets.UTF_8);
        CsvFile.Table t = CsvFile.read(csv);
        assertEquals(8, t.rows().size());
        assertEquals("winner", t.rows().get(1).get("status"));
        assertEquals("", t.rows().get(2).get("median_ms"), "not timed: empty");
        Path out = tmp.resolve("autotune.png");
        png(CliTest.run("plot", csv.toString(), "-o", out.toString()), out, 1100, 40 + 2 * (110 + 22 * 3));
    }

    @Test
    void verifyErrorPerKernel() throws Exception {
        List<String> lines = new ArrayList<>(List.of(String.join(",", VerifyCommand.CSV_COLUMNS)));
        lines.add(CsvFile.line("cuda:0", "d128 q128 k64 w8 full pv=fp8-f32acc sm_90 wgmma", "fp8-f32acc", 777, 0.9993, 0.036, 0.01, 0.06, "PASS"));
        lines.add(CsvFile.line("cuda:0", "d64 q128 k64 w8 causal pv=fp16 sm_90", "fp16", 777, 0.99994, 0.011, 0.004, 0.02, "PASS"));
        lines.add(CsvFile.line("cuda:0", "d64 q128 k64 w8 full pv=fp16 sm_90", "fp16", 777, 0.99, 0.03, 0.004, 0.02, "FAIL: rel L1 0.0300 > 0.020"));
        Path csv = tmp.resolve("verify.csv");
        Files.write(csv, lines, StandardCharsets.UTF_8);
        assertEquals("FAIL: rel L1 0.0300 > 0.020", CsvFile.read(csv).rows().get(2).get("result"));
        Path out = tmp.resolve("verify.png");
        png(CliTest.run("plot", csv.toString(), "-o", out.toString()), out, 1100, 40 + 150 + 22 * 3);
    }

    @Test
    void unknownCsvsAreRefusedByName() throws Exception {
        Path other = tmp.resolve("other.csv");
        Files.writeString(other, "a,b\n1,2\n");
        CliTest.Run r = CliTest.run("plot", other.toString());
        assertEquals(1, r.code());
        assertTrue(r.err().startsWith("sageptx plot: " + other.toAbsolutePath() + ": not a CSV of bench, autotune or verify"), r.err());
        CliTest.Run s = CliTest.run("plot", sdpaCsv().toString());
        assertTrue(s.err().contains("is PyTorch's CSV (tools/sdpa_bench.py): give it as --sdpa-csv"), s.err());
        CliTest.Run x = CliTest.run("plot", benchCsv().toString(), "--sdpa-csv", other.toString());
        assertTrue(x.err().contains("--sdpa-csv " + other + ": not a tools/sdpa_bench.py CSV"), x.err());
    }

    @Test
    void csvQuotingRoundTrips() {
        String line = CsvFile.line("a,b", "say \"hi\"", 3, 0.5, Double.NaN, null);
        assertEquals(List.of("a,b", "say \"hi\"", "3", "0.500000", "", ""), CsvFile.split(line));
    }
}
