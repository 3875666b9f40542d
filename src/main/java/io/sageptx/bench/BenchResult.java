package io.sageptx.bench;

import java.util.List;
import java.util.Locale;

/**
 * One benchmarked shape and kernel variant: medians of CUDA-event times of the whole call (preprocessing
 * included), of the fused attention kernel alone and of the preprocessing alone, and the rates they give.
 *
 * @param gpu      the device's name
 * @param batch    B
 * @param heads    H
 * @param headDim  D
 * @param seqLen   N
 * @param causal   top-left causal mask
 * @param dtype    the dtype's short name (fp16, bf16)
 * @param variant  the variant's label ({@link Variants})
 * @param spec     the spec's label
 * @param runs     timed calls; the times are their medians
 * @param totalMs  the whole call: preprocessing and the fused kernel
 * @param attnMs   the fused attention kernel alone
 * @param preMs    the preprocessing kernels alone
 * @param preBytes bytes the preprocessing must move at least
 */
public record BenchResult(String gpu, int batch, int heads, int headDim, int seqLen, boolean causal, String dtype,
                          String variant, String spec, int runs, double totalMs, double attnMs, double preMs,
                          double preBytes) {

    /** The columns of {@link #csvLine()}, in order (the header of bench.csv). */
    public static final List<String> CSV_COLUMNS = List.of("gpu", "batch", "heads", "head_dim", "seq_len", "causal",
            "dtype", "variant", "spec", "runs", "total_ms", "attn_ms", "pre_ms", "total_tflops", "attn_tflops",
            "pre_tbps");

    /** Attention FLOPs: 4 * B * H * N^2 * D, halved when causal. */
    public double flops() {
        return 4.0 * batch * heads * (double) seqLen * seqLen * headDim / (causal ? 2 : 1);
    }

    /** TFLOP/s of the whole call. */
    public double totalTflops() {
        return flops() / (totalMs * 1e-3) / 1e12;
    }

    /** TFLOP/s of the fused kernel alone. */
    public double attnTflops() {
        return flops() / (attnMs * 1e-3) / 1e12;
    }

    /** Preprocessing rate in TB/s over the bytes it must move at least (inputs read once, outputs written once). */
    public double preTbps() {
        return preBytes / (preMs * 1e-3) / 1e12;
    }

    /** This result as one line of bench.csv ({@link #CSV_COLUMNS}). */
    public String csvLine() {
        return String.join(",", quote(gpu), Integer.toString(batch), Integer.toString(heads), Integer.toString(headDim),
                Integer.toString(seqLen), Boolean.toString(causal), dtype, variant, quote(spec), Integer.toString(runs),
                f(totalMs, 4), f(attnMs, 4), f(preMs, 4), f(totalTflops(), 1), f(attnTflops(), 1), f(preTbps(), 3));
    }

    private static String quote(String s) {
        return "\"" + s.replace("\"", "\"\"") + "\"";
    }

    static String f(double v, int digits) {
        return String.format(Locale.ROOT, "%." + digits + "f", v);
    }
}
