package io.sageptx.api;

import java.util.Random;

import io.sageptx.numerics.Half;
import io.sageptx.spec.DType;

/**
 * Random attention inputs as the method's accuracy figures assume them: Q, V ~ N(0, 1) and
 * K ~ N(0, 1) plus a per-channel bias of 3 * N(0, 1) shared by every token of a head. Values are
 * rounded to the dtype, so the FP64 reference sees exactly what the GPU sees.
 */
public final class AttentionInputs {
    public final int batch;
    public final int heads;
    public final int kvHeads;
    public final int lq;
    public final int lk;
    public final int d;
    public final DType type;
    public final float[] q;
    public final float[] k;
    public final float[] v;
    public final short[] q16;
    public final short[] k16;
    public final short[] v16;

    public AttentionInputs(long seed, int batch, int heads, int kvHeads, int lq, int lk, int d, DType type) {
        this.batch = batch;
        this.heads = heads;
        this.kvHeads = kvHeads;
        this.lq = lq;
        this.lk = lk;
        this.d = d;
        this.type = type;
        Random r = new Random(seed);
        q = new float[batch * heads * lq * d];
        k = new float[batch * kvHeads * lk * d];
        v = new float[batch * kvHeads * lk * d];
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
        q16 = Half.encode(q, type);
        k16 = Half.encode(k, type);
        v16 = Half.encode(v, type);
        System.arraycopy(Half.decode(q16, type), 0, q, 0, q.length);
        System.arraycopy(Half.decode(k16, type), 0, k, 0, k.length);
        System.arraycopy(Half.decode(v16, type), 0, v, 0, v.length);
    }
}
