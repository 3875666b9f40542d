package io.sageptx.numerics;

import java.util.Arrays;

/**
 * Exact (FP64) decode attention: Lq query rows per sequence against each sequence's own number of keys,
 * GQA, no mask or a causal mask aligned top-left (query i sees keys j &lt;= i) or bottom-right (query i
 * sees keys j &lt;= i + len_b - Lq). A row that sees no key has O = 0 and LSE = -inf.
 *
 * <p>Layouts (contiguous, row-major): Q and O {@code [B][Hq][Lq][D]}, K and V {@code [B][Hkv][maxLk][D]}
 * (sequence b uses its first {@code lens[b]} keys), LSE {@code [B][Hq][Lq]} natural log. Query head h
 * reads kv head {@code h / (Hq / Hkv)}.
 */
public final class DecodeReference {

    /** The mask of a decode call. */
    public enum Mask {
        /** No mask: each query sees all its sequence's keys. */
        NONE,
        /** Query i sees keys j &lt;= i. */
        TOP_LEFT,
        /** Query i sees keys j &lt;= i + len_b - Lq (the last query sees every key). */
        BOTTOM_RIGHT
    }

    private DecodeReference() {
    }

    /** The last key query i of a sequence with {@code len} keys and {@code lq} queries sees, plus one (0: none). */
    public static int visibleKeys(Mask mask, int i, int lq, int len) {
        return switch (mask) {
            case NONE -> len;
            case TOP_LEFT -> Math.max(0, Math.min(len, i + 1));
            case BOTTOM_RIGHT -> Math.max(0, Math.min(len, i + 1 + len - lq));
        };
    }

    /** FP64 decode attention of float inputs, scores scaled by {@code smScale}; see the class comment for layouts and masks. */
    public static AttentionReference.Result compute(float[] q, float[] k, float[] v, int[] lens, int batch, int hq, int hkv,
                                                    int lq, int maxLk, int d, double smScale, Mask mask) {
        if (hq % hkv != 0) throw new IllegalArgumentException("hq=" + hq + " is not a multiple of hkv=" + hkv);
        if (lens.length != batch) throw new IllegalArgumentException("lens.length=" + lens.length + ", batch=" + batch);
        if (q.length != (long) batch * hq * lq * d) throw new IllegalArgumentException("q.length=" + q.length);
        if (k.length != (long) batch * hkv * maxLk * d || v.length != k.length) {
            throw new IllegalArgumentException("k/v length " + k.length + "/" + v.length);
        }
        int group = hq / hkv;
        double[] o = new double[batch * hq * lq * d];
        double[] lse = new double[batch * hq * lq];
        double[] s = new double[maxLk];
        double[] acc = new double[d];
        for (int b = 0; b < batch; b++) {
            if (lens[b] < 0 || lens[b] > maxLk) throw new IllegalArgumentException("lens[" + b + "]=" + lens[b]);
            for (int h = 0; h < hq; h++) {
                int kvBase = (b * hkv + h / group) * maxLk * d;
                for (int i = 0; i < lq; i++) {
                    int row = (b * hq + h) * lq + i;
                    int n = visibleKeys(mask, i, lq, lens[b]);
                    if (n == 0) {
                        lse[row] = Double.NEGATIVE_INFINITY;
                        continue;
                    }
                    double max = Double.NEGATIVE_INFINITY;
                    for (int j = 0; j < n; j++) {
                        double dot = 0;
                        for (int c = 0; c < d; c++) dot += (double) q[row * d + c] * k[kvBase + j * d + c];
                        s[j] = smScale * dot;
                        max = Math.max(max, s[j]);
                    }
                    Arrays.fill(acc, 0);
                    double sum = 0;
                    for (int j = 0; j < n; j++) {
                        double p = Math.exp(s[j] - max);
                        sum += p;
                        for (int c = 0; c < d; c++) acc[c] += p * v[kvBase + j * d + c];
                    }
                    for (int c = 0; c < d; c++) o[row * d + c] = acc[c] / sum;
                    lse[row] = max + Math.log(sum);
                }
            }
        }
        return new AttentionReference.Result(o, lse);
    }
}
