package io.sageptx.numerics;

/**
 * Exact (FP64) attention, the ground truth the kernels and {@link QuantizedAttentionModel} are measured
 * against.
 *
 * <p>Layouts (contiguous, row-major): Q {@code [B][Hq][Lq][D]}, K and V {@code [B][Hkv][Lk][D]}, O
 * {@code [B][Hq][Lq][D]}, LSE {@code [B][Hq][Lq]}. Query head {@code h} reads kv head
 * {@code h / (Hq / Hkv)} (GQA/MQA). Causal is top-left aligned: query i sees keys j &lt;= i; it
 * requires Lq == Lk.
 */
public final class AttentionReference {

    /**
     * @param o   {@code [B][Hq][Lq][D]}
     * @param lse {@code [B][Hq][Lq]}, natural log of sum_j exp(smScale * q . k_j) over the unmasked keys
     */
    public record Result(double[] o, double[] lse) {
    }

    private AttentionReference() {
    }

    /** Default softmax scale 1/sqrt(D). */
    public static double defaultScale(int d) {
        return 1.0 / Math.sqrt(d);
    }

    /** FP64 attention of float inputs; see the class comment for layouts and masking. */
    public static Result compute(float[] q, float[] k, float[] v, int batch, int hq, int hkv, int lq, int lk, int d,
                                 double smScale, boolean causal) {
        checkShapes(q, k, v, batch, hq, hkv, lq, lk, d, causal);
        int group = hq / hkv;
        double[] o = new double[batch * hq * lq * d];
        double[] lse = new double[batch * hq * lq];
        double[] s = new double[lk];
        double[] acc = new double[d];
        double[] qrow = new double[d];
        for (int b = 0; b < batch; b++) {
            for (int h = 0; h < hq; h++) {
                int hk = h / group;
                int qBase = (b * hq + h) * lq * d;
                int kvBase = (b * hkv + hk) * lk * d;
                for (int i = 0; i < lq; i++) {
                    int n = causal ? i + 1 : lk;
                    for (int c = 0; c < d; c++) qrow[c] = q[qBase + i * d + c];
                    double max = Double.NEGATIVE_INFINITY;
                    for (int j = 0; j < n; j++) {
                        int kr = kvBase + j * d;
                        double dot = 0;
                        for (int c = 0; c < d; c++) dot += qrow[c] * k[kr + c];
                        s[j] = smScale * dot;
                        if (s[j] > max) max = s[j];
                    }
                    java.util.Arrays.fill(acc, 0);
                    double sum = 0;
                    for (int j = 0; j < n; j++) {
                        double p = Math.exp(s[j] - max);
                        sum += p;
                        int vr = kvBase + j * d;
                        for (int c = 0; c < d; c++) acc[c] += p * v[vr + c];
                    }
                    int oRow = qBase + i * d;
                    for (int c = 0; c < d; c++) o[oRow + c] = acc[c] / sum;
                    lse[(b * hq + h) * lq + i] = max + Math.log(sum);
                }
            }
        }
        return new Result(o, lse);
    }

    static void checkShapes(float[] q, float[] k, float[] v, int batch, int hq, int hkv, int lq, int lk, int d,
                            boolean causal) {
        if (batch < 1 || hq < 1 || hkv < 1 || lq < 1 || lk < 1 || d < 1) {
            throw new IllegalArgumentException("shape: batch=" + batch + " hq=" + hq + " hkv=" + hkv + " lq=" + lq
                    + " lk=" + lk + " d=" + d + "; all must be >= 1");
        }
        if (hq % hkv != 0) {
            throw new IllegalArgumentException("hq=" + hq + " is not a multiple of hkv=" + hkv);
        }
        if (causal && lq != lk) {
            throw new IllegalArgumentException("causal (top-left) needs lq == lk, got lq=" + lq + " lk=" + lk);
        }
        long qn = (long) batch * hq * lq * d;
        long kn = (long) batch * hkv * lk * d;
        if (qn > Integer.MAX_VALUE || kn > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("tensor too large for a Java array: " + Math.max(qn, kn));
        }
        if (q.length != qn) throw new IllegalArgumentException("q.length=" + q.length + ", expected " + qn);
        if (k.length != kn) throw new IllegalArgumentException("k.length=" + k.length + ", expected " + kn);
        if (v.length != kn) throw new IllegalArgumentException("v.length=" + v.length + ", expected " + kn);
    }
}
