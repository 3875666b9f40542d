package io.sageptx.numerics;

import java.util.Random;

import io.sageptx.spec.DType;

/**
 * Random attention inputs with the statistics the accuracy figures assume: Q, V ~ N(0, 1) and
 * K ~ N(0, 1) plus a per-channel bias of 3 * N(0, 1) per (batch, kv head). Values are rounded to the
 * dtype; {@link #q()} etc. are the rounded values as floats (what the reference must see) and
 * {@link #q16()} etc. the 16-bit encodings (what the GPU gets).
 *
 * @param batch   B
 * @param heads   query heads
 * @param kvHeads key/value heads
 * @param lq      query length
 * @param lk      key length
 * @param d       head dim
 * @param type    the dtype the values are rounded to
 * @param q       Q [B, H, Lq, D], rounded, as floats
 * @param k       K [B, Hkv, Lk, D], rounded, as floats
 * @param v       V [B, Hkv, Lk, D], rounded, as floats
 * @param q16     Q as 16-bit values of the dtype
 * @param k16     K as 16-bit values
 * @param v16     V as 16-bit values
 */
public record RandomInputs(int batch, int heads, int kvHeads, int lq, int lk, int d, DType type,
                           float[] q, float[] k, float[] v, short[] q16, short[] k16, short[] v16) {

    /** Inputs of one shape from {@code seed} (the same seed gives the same values). */
    public static RandomInputs generate(long seed, int batch, int heads, int kvHeads, int lq, int lk, int d,
                                        DType type) {
        Random r = new Random(seed);
        float[] q = new float[batch * heads * lq * d];
        float[] k = new float[batch * kvHeads * lk * d];
        float[] v = new float[k.length];
        for (int i = 0; i < q.length; i++) q[i] = (float) r.nextGaussian();
        for (int bh = 0; bh < batch * kvHeads; bh++) {
            float[] bias = new float[d];
            for (int c = 0; c < d; c++) bias[c] = (float) (3 * r.nextGaussian());
            for (int t = 0; t < lk; t++) {
                for (int c = 0; c < d; c++) {
                    int i = (bh * lk + t) * d + c;
                    k[i] = (float) r.nextGaussian() + bias[c];
                    v[i] = (float) r.nextGaussian();
                }
            }
        }
        short[] q16 = Half.encode(q, type);
        short[] k16 = Half.encode(k, type);
        short[] v16 = Half.encode(v, type);
        return new RandomInputs(batch, heads, kvHeads, lq, lk, d, type, Half.decode(q16, type), Half.decode(k16, type),
                Half.decode(v16, type), q16, k16, v16);
    }

    /** The FP64 reference output and LSE of these inputs. */
    public AttentionReference.Result reference(double smScale, boolean causal) {
        return AttentionReference.compute(q, k, v, batch, heads, kvHeads, lq, lk, d, smScale, causal);
    }
}
