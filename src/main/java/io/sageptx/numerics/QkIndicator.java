package io.sageptx.numerics;

import io.sageptx.spec.KernelSpec;

/**
 * The indicator of INT8-QK trouble that the {@code qk=auto} precision computes per (batch, head) on the GPU (the
 * preprocessing's {@code _qkdecide} kernel), modelled on the CPU. INT8 Q and K' (K minus its channel means)
 * round every value to a step of its group's scale s = absmax / 127, an error uniform in [-s/2, s/2]; a dot
 * product of D such values then errs by about sqrt(D / 12) * (s_q * |k'| + s_k * |q|) per channel pair. With the
 * RMS of the head's group scales and of its values, the head's logit error (natural-log units, sm_scale
 * applied) is estimated as
 *
 * <pre>E = sm_scale * sqrt(D / 12) * (rms(s_q) * rms(K') + rms(s_k) * rms(Q))</pre>
 *
 * Gaussian inputs (Q, V ~ N(0, 1), K ~ N(0, 1) + a channel bias) give E ~ 0.015 at every D and length; outlier
 * channels and large magnitudes give 0.3 to 20 (docs/notes/accuracy-modes.md). A head with E above
 * {@link #THRESHOLD} runs the 16-bit QK kernel.
 */
public final class QkIndicator {

    /**
     * Heads whose estimated INT8 logit error exceeds this run 16-bit QK: twice the Gaussian inputs' 0.015, and
     * below 0.036, where the CPU model first sees the default (INT8 QK, FP8 PV) miss its own bar (rel-L1 0.045;
     * two K channels x5 at D = 128).
     */
    public static final float THRESHOLD = 0.03f;

    private QkIndicator() {
    }

    /**
     * E of every (batch, query head) {@code [B][Hq]} with the INT8 quantization of {@code spec} (its scale groups),
     * inputs in the layouts of {@link AttentionReference}.
     */
    public static double[] logitErrors(KernelSpec spec, float[] q, float[] k, int batch, int hq, int hkv, int lq, int lk,
                                       double smScale) {
        int d = spec.headDim();
        float[] km = QuantizedAttentionModel.kMean(k, batch, hkv, lk, d);
        float[] ks = QuantizedAttentionModel.subtractKMean(k, km, batch, hkv, lk, d);
        QuantizedAttentionModel.Int8Tensor qi = QuantizedAttentionModel.quantizeQ(spec, q, batch, hq, lq);
        QuantizedAttentionModel.Int8Tensor ki = QuantizedAttentionModel.quantizeK(spec, ks, batch, hkv, lk);
        int qPer = qi.scales().length / (batch * hq);
        int kPer = ki.scales().length / (batch * hkv);
        double[] out = new double[batch * hq];
        for (int b = 0; b < batch; b++) {
            for (int h = 0; h < hq; h++) {
                int bh = b * hq + h;
                int bk = b * hkv + h / (hq / hkv);
                double sq = rms(qi.scales(), bh * qPer, qPer);
                double sk = rms(ki.scales(), bk * kPer, kPer);
                double rq = rms(q, bh * lq * d, lq * d);
                double rk = rms(ks, bk * lk * d, lk * d);
                out[bh] = smScale * Math.sqrt(d / 12.0) * (sq * rk + sk * rq);
            }
        }
        return out;
    }

    /** The decision of every (batch, head): true = 16-bit QK. */
    public static boolean[] decisions(KernelSpec spec, float[] q, float[] k, int batch, int hq, int hkv, int lq, int lk,
                                      double smScale) {
        double[] e = logitErrors(spec, q, k, batch, hq, hkv, lq, lk, smScale);
        boolean[] out = new boolean[e.length];
        for (int i = 0; i < e.length; i++) out[i] = e[i] > THRESHOLD;
        return out;
    }

    private static double rms(float[] x, int from, int n) {
        double s = 0;
        for (int i = from; i < from + n; i++) s += (double) x[i] * x[i];
        return n == 0 ? 0 : Math.sqrt(s / n);
    }
}
