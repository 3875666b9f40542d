package io.sageptx.kernels.mmasync;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

import io.sageptx.api.SageAttention;
import io.sageptx.bench.AttentionBenchmark;
import io.sageptx.bench.BenchResult;
import io.sageptx.spec.DType;
import io.sageptx.spec.KernelSpec;
import io.sageptx.spec.MmaKind;
import io.sageptx.spec.PvVariant;

/**
 * The mma.sync variants side by side on the GPU machine, for tools/gpu/mmasync-bench.sh: per PV variant the
 * planner's default (label {@code <pv>}), the single-buffered kernel of issue 3 ({@code <pv>-s1}, the
 * "before") and 64-row tiles on 4 warps ({@code <pv>-q64}), through the same {@link AttentionBenchmark} as
 * {@code sageptx bench} (end to end, kernel alone, preprocessing alone), written as {@code bench.csv} in the
 * bench command's format so that tools/compare_bench.py joins it with SDPA.
 * Arguments: OUTDIR D,D N,N causal(no|yes|both) PV,PV [runs] [warmup] [variants]; variants (default
 * {@code default,s1,q64}): {@code default} (128 x 8, the planner's depth), {@code preferred} (the family's default
 * tile), {@code s1} (one stage), {@code q64} (64 x 4), or {@code t<blockQ>x<warps>} with an optional
 * {@code k<blockK>} and {@code s<stages>} (e.g. {@code t128x4k32}: 32 rows per warp, 32-key blocks).
 */
public final class MmaSyncBenchMain {

    private MmaSyncBenchMain() {
    }

    public static void main(String[] args) throws IOException {
        Path out = Path.of(args[0]);
        List<Integer> dims = ints(args[1]);
        List<Integer> lens = new ArrayList<>();
        for (String s : args[2].split(",")) lens.add(s.endsWith("k") ? Integer.parseInt(s.substring(0, s.length() - 1)) * 1024 : Integer.parseInt(s));
        List<Boolean> causals = switch (args[3]) {
            case "no" -> List.of(false);
            case "yes" -> List.of(true);
            default -> List.of(false, true);
        };
        List<PvVariant> pvs = new ArrayList<>();
        for (String p : args[4].split(",")) pvs.add(PvVariant.parse(p));
        int runs = args.length > 5 ? Integer.parseInt(args[5]) : 20;
        int warmup = args.length > 6 ? Integer.parseInt(args[6]) : 3;
        List<String> variants = List.of((args.length > 7 ? args[7] : "default,s1,q64").split(","));
        Files.createDirectories(out);
        try (PrintWriter csv = new PrintWriter(Files.newBufferedWriter(out.resolve("bench.csv"), StandardCharsets.UTF_8));
             SageAttention att = SageAttention.onDevice(0);
             AttentionBenchmark bench = new AttentionBenchmark(att, warmup, runs)) {
            csv.println(String.join(",", BenchResult.CSV_COLUMNS));
            System.out.println(att.context());
            KernelSpec warm = KernelSpec.defaults(att.arch(), dims.get(0), false, DType.FP16, DType.FP16);
            bench.warmClocks(new AttentionBenchmark.Shape(4, 32, dims.get(0), 4096, false, DType.FP16), warm, 1000);
            System.out.println(String.format(Locale.ROOT, "%4s %6s %-6s %-18s %9s %9s %9s %9s %9s", "D", "N", "causal",
                    "variant", "total_ms", "attn_ms", "pre_ms", "total_TF", "attn_TF"));
            for (int d : dims) {
                for (boolean c : causals) {
                    for (int n : lens) {
                        List<KernelSpec> specs = new ArrayList<>();
                        List<String> labels = new ArrayList<>();
                        for (PvVariant pv : pvs) {
                            if (pv.isFp8() && !att.arch().hasFp8Mma()) continue;
                            KernelSpec s = KernelSpec.defaults(att.arch(), d, c, DType.FP16, DType.FP16).toBuilder().pv(pv)
                                    .mma(MmaKind.SYNC).build();
                            for (String v : variants) {
                                specs.add(variant(s, v));
                                labels.add(v.equals("default") ? pv.id() : pv.id() + "-" + v);
                            }
                        }
                        for (BenchResult r : bench.run(new AttentionBenchmark.Shape(4, 32, d, n, c, DType.FP16), specs, labels)) {
                            System.out.println(String.format(Locale.ROOT, "%4d %6d %-6s %-18s %9.3f %9.3f %9.3f %9.1f %9.1f",
                                    r.headDim(), r.seqLen(), r.causal() ? "yes" : "no", r.variant(), r.totalMs(), r.attnMs(),
                                    r.preMs(), r.totalTflops(), r.attnTflops()));
                            csv.println(r.csvLine());
                            csv.flush();
                        }
                    }
                }
            }
        }
    }

    /** The spec of one variant label (see the class comment). */
    static KernelSpec variant(KernelSpec s, String v) {
        if (v.equals("default")) return s;
        if (v.equals("preferred")) {
            return new MmaSyncFamily().preferred(s.arch(), s.headDim(), s.causal(), s.inType(), s.outType(), s.pv()).orElseThrow();
        }
        if (v.equals("s1")) return s.toBuilder().stages(1).build();
        if (v.equals("q64")) return s.toBuilder().tiles(64, 4).build();
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("t(\\d+)x(\\d+)(?:k(\\d+))?(?:s(\\d))?").matcher(v);
        if (!m.matches()) {
            throw new IllegalArgumentException("unknown variant " + v + " (default, s1, q64, t<rows>x<warps>[k<keys>][s<stages>])");
        }
        KernelSpec.Builder t = s.toBuilder().tiles(Integer.parseInt(m.group(1)), Integer.parseInt(m.group(2)));
        if (m.group(3) != null) t.blockK(Integer.parseInt(m.group(3)));
        if (m.group(4) != null) t.stages(Integer.parseInt(m.group(4)));
        return t.build();
    }

    private static List<Integer> ints(String s) {
        List<Integer> out = new ArrayList<>();
        for (String p : s.split(",")) out.add(Integer.parseInt(p.trim()));
        return out;
    }
}
