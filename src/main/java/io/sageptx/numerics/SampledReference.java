package io.sageptx.numerics;

import java.util.Arrays;
import java.util.stream.IntStream;

/**
 * Exact (FP64) attention over chosen query rows of tensors with arbitrary element strides: the reference of
 * {@code sageptx verify} on a caller's own tensors. Unlike {@link AttentionReference} it reads any layout
 * (strides per tensor: batch, head, token; the head dim contiguous), masks top-left or bottom-right causal, and
 * computes only the query rows it is given (every row, or an even sample of a long sequence), in parallel over
 * the rows of every head on the common fork-join pool.
 *
 * <p>Query head {@code h} reads kv head {@code h / (Hq / Hkv)}. With a causal mask query row i sees keys
 * j &lt;= i + {@code causalShift} (0: top-left, Lk - Lq: bottom-right); a row that sees no key has O = 0 and
 * LSE = -inf (what the kernels write).
 */
public final class SampledReference {

    /**
     * The reference of the chosen rows.
     *
     * @param rows the query rows computed, ascending, the same for every (batch, head)
     * @param o    O of those rows, {@code [B][Hq][rows.length][D]}
     * @param lse  natural-log LSE of those rows, {@code [B][Hq][rows.length]}
     */
    public record Result(int[] rows, double[] o, double[] lse) {
    }

    private SampledReference() {
    }

    /**
     * Every row when {@code lq <= max} (or {@code max <= 0}), else {@code max} rows spread evenly over
     * {@code 0 .. lq - 1}, the first and the last included.
     *
     * @param lq  the query length
     * @param max the most rows to keep; 0 or less for all
     * @return the rows, ascending
     */
    public static int[] evenRows(int lq, int max) {
        if (max <= 0 || lq <= max) return IntStream.range(0, lq).toArray();
        if (max == 1) return new int[] {lq - 1};
        int[] r = new int[max];
        for (int i = 0; i < max; i++) r[i] = (int) Math.round((double) i * (lq - 1) / (max - 1));
        return r;
    }

    /**
     * The multiply-adds the reference of {@code rows} costs over {@code batch * hq} heads (Q K^T and P V):
     * what a caller estimates its time from.
     *
     * @param rows        the query rows
     * @param batch       B
     * @param hq          query heads
     * @param lk          key length
     * @param d           head dim
     * @param causal      whether a causal mask applies
     * @param causalShift see the class comment
     * @return the multiply-add count
     */
    public static double multiplyAdds(int[] rows, int batch, int hq, int lk, int d, boolean causal, int causalShift) {
        double keys = 0;
        for (int i : rows) keys += visible(i, lk, causal, causalShift);
        return keys * 2.0 * d * batch * hq;
    }

    private static int visible(int row, int lk, boolean causal, int shift) {
        if (!causal) return lk;
        long n = (long) row + shift + 1;
        return (int) Math.max(0, Math.min(lk, n));
    }

    /**
     * FP64 attention of the given query rows.
     *
     * @param q           Q values (decoded 16-bit values), addressed by {@code qStrides}
     * @param k           K values, addressed by {@code kStrides}
     * @param v           V values, addressed by {@code vStrides}
     * @param qStrides    element strides of Q: batch, head, token
     * @param kStrides    element strides of K: batch, head, token
     * @param vStrides    element strides of V: batch, head, token
     * @param batch       B
     * @param hq          query heads
     * @param hkv         key/value heads (a divisor of hq)
     * @param lq          query length
     * @param lk          key length
     * @param d           head dim
     * @param smScale     the softmax scale
     * @param causal      whether a causal mask applies
     * @param causalShift query row i sees keys j &lt;= i + causalShift (0 top-left, lk - lq bottom-right)
     * @param rows        the query rows to compute, each in [0, lq)
     * @return O and the LSE of those rows
     */
    public static Result compute(float[] q, float[] k, float[] v, long[] qStrides, long[] kStrides, long[] vStrides,
                                 int batch, int hq, int hkv, int lq, int lk, int d, double smScale, boolean causal,
                                 int causalShift, int[] rows) {
        if (batch < 1 || hq < 1 || hkv < 1 || lq < 1 || lk < 1 || d < 1 || hq % hkv != 0) {
            throw new IllegalArgumentException("reference: batch=" + batch + " hq=" + hq + " hkv=" + hkv + " lq=" + lq
                    + " lk=" + lk + " d=" + d + " (all >= 1, hq a multiple of hkv)");
        }
        for (int r : rows) {
            if (r < 0 || r >= lq) throw new IllegalArgumentException("reference: row " + r + " is outside 0.." + (lq - 1));
        }
        check("q", q, qStrides, batch, hq, lq, d);
        check("k", k, kStrides, batch, hkv, lk, d);
        check("v", v, vStrides, batch, hkv, lk, d);
        int nr = rows.length;
        int group = hq / hkv;
        double[] o = new double[batch * hq * nr * d];
        double[] lse = new double[batch * hq * nr];
        IntStream.range(0, batch * hq * nr).parallel().forEach(task -> {
            int r = task % nr;
            int bh = task / nr;
            int b = bh / hq;
            int h = bh % hq;
            int hk = h / group;
            int i = rows[r];
            int n = visible(i, lk, causal, causalShift);
            int oBase = task * d;
            if (n == 0) {
                lse[task] = Double.NEGATIVE_INFINITY;
                return;
            }
            long qr = b * qStrides[0] + h * qStrides[1] + i * qStrides[2];
            long kb = b * kStrides[0] + hk * kStrides[1];
            long vb = b * vStrides[0] + hk * vStrides[1];
            double[] qrow = new double[d];
            for (int c = 0; c < d; c++) qrow[c] = q[(int) (qr + c)];
            double[] s = new double[n];
            double max = Double.NEGATIVE_INFINITY;
            for (int j = 0; j < n; j++) {
                int kr = (int) (kb + j * kStrides[2]);
                double dot = 0;
                for (int c = 0; c < d; c++) dot += qrow[c] * k[kr + c];
                s[j] = smScale * dot;
                if (s[j] > max) max = s[j];
            }
            double[] acc = new double[d];
            double sum = 0;
            for (int j = 0; j < n; j++) {
                double p = Math.exp(s[j] - max);
                sum += p;
                int vr = (int) (vb + j * vStrides[2]);
                for (int c = 0; c < d; c++) acc[c] += p * v[vr + c];
            }
            for (int c = 0; c < d; c++) o[oBase + c] = acc[c] / sum;
            lse[task] = max + Math.log(sum);
        });
        return new Result(Arrays.copyOf(rows, nr), o, lse);
    }

    private static void check(String name, float[] x, long[] s, int batch, int heads, int len, int d) {
        if (s == null || s.length != 3) throw new IllegalArgumentException("reference: " + name + " strides must be 3 values");
        long last = (batch - 1) * s[0] + (heads - 1) * s[1] + (len - 1) * s[2] + d;
        if (last > x.length) {
            throw new IllegalArgumentException("reference: " + name + " has " + x.length + " elements; its strides "
                    + Arrays.toString(s) + " reach " + last);
        }
    }
}
