package io.sageptx.numerics;

import java.util.Random;

import io.sageptx.spec.DType;

/**
 * Families of attention inputs that stress what 8-bit attention can carry, built on {@link RandomInputs}
 * (Q, V ~ N(0, 1), K ~ N(0, 1) + a per-channel bias): V with a large mean per tensor or per channel (real
 * models' V channels often sit far from zero), outlier channels of Q and K (a few channels 20-50x the
 * rest, as LLM activations have), and large magnitudes (Q and K scaled up: a near-argmax softmax). Values
 * are rounded to the dtype, as the GPU sees them.
 */
public final class InputFamilies {

    private InputFamilies() {
    }

    /** V + offset on every element. */
    public static RandomInputs vOffset(RandomInputs in, double offset) {
        float[] v = in.v().clone();
        for (int i = 0; i < v.length; i++) v[i] += (float) offset;
        return with(in, in.q(), in.k(), v);
    }

    /** V + offset * u_c per channel c, u_c ~ U(-1, 1) per (batch, kv head). */
    public static RandomInputs vChannelOffset(RandomInputs in, double offset, long seed) {
        Random r = new Random(seed);
        float[] v = in.v().clone();
        int d = in.d();
        for (int bh = 0; bh < in.batch() * in.kvHeads(); bh++) {
            float[] u = new float[d];
            for (int c = 0; c < d; c++) u[c] = (float) (offset * (2 * r.nextDouble() - 1));
            for (int t = 0; t < in.lk(); t++) {
                for (int c = 0; c < d; c++) v[(bh * in.lk() + t) * d + c] += u[c];
            }
        }
        return with(in, in.q(), in.k(), v);
    }

    /**
     * {@code count} channels (chosen by {@code seed}) of Q and/or K multiplied by {@code ratio}: the outlier
     * channels of LLM activations.
     */
    public static RandomInputs outlierChannels(RandomInputs in, int count, double ratio, boolean inQ, boolean inK, long seed) {
        Random r = new Random(seed);
        int d = in.d();
        boolean[] hot = new boolean[d];
        for (int n = 0; n < Math.min(count, d); ) {
            int c = r.nextInt(d);
            if (!hot[c]) {
                hot[c] = true;
                n++;
            }
        }
        float[] q = in.q().clone();
        float[] k = in.k().clone();
        if (inQ) for (int i = 0; i < q.length; i++) if (hot[i % d]) q[i] *= (float) ratio;
        if (inK) for (int i = 0; i < k.length; i++) if (hot[i % d]) k[i] *= (float) ratio;
        return with(in, q, k, in.v());
    }

    /** Q and K times {@code scale}: large logits, a near-argmax softmax. */
    public static RandomInputs largeMagnitude(RandomInputs in, double scale) {
        float[] q = in.q().clone();
        float[] k = in.k().clone();
        for (int i = 0; i < q.length; i++) q[i] *= (float) scale;
        for (int i = 0; i < k.length; i++) k[i] *= (float) scale;
        return with(in, q, k, in.v());
    }

    /** The same shape with other values, rounded to the dtype (the float views are the rounded values). */
    public static RandomInputs with(RandomInputs in, float[] q, float[] k, float[] v) {
        DType t = in.type();
        short[] q16 = Half.encode(q, t);
        short[] k16 = Half.encode(k, t);
        short[] v16 = Half.encode(v, t);
        return new RandomInputs(in.batch(), in.heads(), in.kvHeads(), in.lq(), in.lk(), in.d(), t, Half.decode(q16, t),
                Half.decode(k16, t), Half.decode(v16, t), q16, k16, v16);
    }
}
