package io.sageptx.api;

import io.sageptx.numerics.RandomInputs;
import io.sageptx.spec.DType;

/**
 * Random attention inputs as the method's accuracy figures assume them: Q, V ~ N(0, 1) and
 * K ~ N(0, 1) plus a per-channel bias of 3 * N(0, 1) shared by every token of a head. Values are
 * rounded to the dtype, so the FP64 reference sees exactly what the GPU sees. (A view of
 * {@link RandomInputs}, which the autotuner and {@code sageptx verify} use too.)
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
        this(RandomInputs.generate(seed, batch, heads, kvHeads, lq, lk, d, type));
    }

    /** The inputs of {@code in} (e.g. one of {@link io.sageptx.numerics.InputFamilies}). */
    public AttentionInputs(RandomInputs in) {
        this.batch = in.batch();
        this.heads = in.heads();
        this.kvHeads = in.kvHeads();
        this.lq = in.lq();
        this.lk = in.lk();
        this.d = in.d();
        this.type = in.type();
        q = in.q();
        k = in.k();
        v = in.v();
        q16 = in.q16();
        k16 = in.k16();
        v16 = in.v16();
    }
}
