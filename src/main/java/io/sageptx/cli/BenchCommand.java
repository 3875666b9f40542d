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
import picocli.CommandLine.Option;

@Command(name = "bench", mixinStandardHelpOptions = true,
        description = {"Time attention with CUDA events: the whole call (preprocessing included), the fused kernel "
                + "alone and the preprocessing alone, per kernel variant; median of --runs timed calls after "
                + "--warmup calls, on fresh random inputs larger than L2.",
                "TFLOP/s = 4*B*H*N^2*D / time, halved when causal."})
final class BenchCommand implements Callable<Integer> {

    @Option(names = "--device", defaultValue = "0", description = "CUDA device ordinal (default ${DEFAULT-VALUE})")
    int device;

    @Option(names = "--batch", defaultValue = "4", description = "B (default ${DEFAULT-VALUE})")
    int batch;

    @Option(names = "--heads", defaultValue = "32", description = "H (default ${DEFAULT-VALUE})")
    int heads;

    @Option(names = "--head-dims", split = ",", defaultValue = "64,128", description = "head dims (default ${DEFAULT-VALUE})")
    List<Integer> headDims;

    @Option(names = "--seq-lens", split = ",", defaultValue = "1k,2k,4k,8k,16k,32k",
            description = "sequence lengths; a k suffix means x1024 (default ${DEFAULT-VALUE})")
    List<String> seqLens;

    @Option(names = "--causal", defaultValue = "both", description = "no, yes or both (default ${DEFAULT-VALUE})")
    String causal;

    @Option(names = "--dtype", defaultValue = "fp16", description = "fp16 or bf16 (default ${DEFAULT-VALUE})")
    String dtype;

    @Option(names = "--variants", split = ",", defaultValue = "all",
            description = "kernel variants: all, default, tuned (the autotuned winner of each shape's key, else the default), "
                    + "or PV variants such as fp8-f16acc,fp16, wgmma-fp8-f32acc (default ${DEFAULT-VALUE})")
    List<String> variants;

    @Option(names = "--runs", defaultValue = "20", description = "timed calls per point; the median is kept (default ${DEFAULT-VALUE})")
    int runs;

    @Option(names = "--warmup", defaultValue = "3", description = "untimed calls first (default ${DEFAULT-VALUE})")
    int warmup;

    @Option(names = "--csv", description = "folder to write bench.csv into")
    Path csvDir;

    @Override
    public Integer call() throws IOException {
        DType dt = DType.parse(dtype);
        List<Boolean> causals = switch (causal) {
            case "no" -> List.of(false);
            case "yes" -> List.of(true);
            case "both" -> List.of(false, true);
            default -> throw new IllegalArgumentException("--causal must be no, yes or both, not '" + causal + "'");
        };
        List<Integer> ns = new ArrayList<>();
        for (String s : seqLens) ns.add(parseLength(s));
        List<BenchResult> all = new ArrayList<>();
        PrintWriter csv = null;
        if (csvDir != null) {
            Files.createDirectories(csvDir);
            csv = new PrintWriter(Files.newBufferedWriter(csvDir.resolve("bench.csv"), StandardCharsets.UTF_8));
            csv.println(String.join(",", BenchResult.CSV_COLUMNS));
        }
        try (SageAttention att = SageAttention.onDevice(device);
             AttentionBenchmark bench = new AttentionBenchmark(att, warmup, runs)) {
            List<String> labels = variants.equals(List.of("all")) ? Variants.all(att.arch()) : variants;
            System.out.println(att.context());
            int d0 = headDims.get(0);
            bench.warmClocks(new AttentionBenchmark.Shape(batch, heads, d0, 4096, false, dt),
                    Variants.spec(Variants.DEFAULT, att.arch(), d0, false, dt), 1000);
            System.out.println(header());
            for (int d : headDims) {
                for (boolean c : causals) {
                    for (int n : ns) {
                        List<KernelSpec> specs = new ArrayList<>();
                        for (String l : labels) {
                            specs.add(l.equals(Variants.TUNED) ? att.specFor(AttentionArgs.builder().batch(batch).heads(heads)
                                    .seqLen(n).headDim(d).dtype(dt).causal(c).build()) : Variants.spec(l, att.arch(), d, c, dt));
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
        } finally {
            if (csv != null) csv.close();
        }
        if (csvDir != null) System.out.println("wrote " + csvDir.resolve("bench.csv") + " (" + all.size() + " rows)");
        return 0;
    }

    static int parseLength(String s) {
        String t = s.trim().toLowerCase(Locale.ROOT);
        try {
            int n = t.endsWith("k") ? Integer.parseInt(t.substring(0, t.length() - 1)) * 1024 : Integer.parseInt(t);
            if (n <= 0) throw new NumberFormatException();
            return n;
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("sequence length '" + s + "' is not a positive number (like 4096 or 4k)");
        }
    }

    private static String header() {
        return String.format(Locale.ROOT, "%4s %6s %-6s %-12s %9s %9s %9s %9s %9s %8s", "D", "N", "causal", "variant",
                "total_ms", "attn_ms", "pre_ms", "total_TF", "attn_TF", "pre_TB/s");
    }

    private static String row(BenchResult r) {
        return String.format(Locale.ROOT, "%4d %6d %-6s %-12s %9.3f %9.3f %9.3f %9.1f %9.1f %8.2f", r.headDim(), r.seqLen(),
                r.causal() ? "yes" : "no", r.variant(), r.totalMs(), r.attnMs(), r.preMs(), r.totalTflops(),
                r.attnTflops(), r.preTbps());
    }
}
