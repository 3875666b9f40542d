package io.sageptx.kernels.mmasync;

import io.sageptx.spec.KernelSpec;

/**
 * Shared-memory layout and copy plan of the fused attention kernel for one spec. All numbers the
 * kernel template needs come from here.
 */
public final class MmaSyncPlan {

    /** Shared-memory regions start on this alignment. */
    public static final int SMEM_ALIGN = 128;

    private final KernelSpec spec;
    private final TileCopy q;
    private final TileCopy k;
    private final TileCopy v;
    private final int qOffset;
    private final int kOffset;
    private final int vOffset;
    private final int smemBytes;

    public MmaSyncPlan(KernelSpec spec) {
        this.spec = spec;
        int d = spec.headDim();
        int nt = spec.threads();
        int dp = spec.paddedHeadDim();
        this.q = TileCopy.padded(spec.blockQ(), dp, nt);
        this.k = TileCopy.padded(spec.blockK(), dp, nt);
        // FP8 V arrives transposed ([D][tokens], one byte each); FP16 V is [tokens][D] in the input dtype.
        this.v = spec.pv().isFp8() ? TileCopy.padded(d, spec.blockK(), nt)
                : TileCopy.padded(spec.blockK(), d * spec.inType().bytes(), nt);
        this.qOffset = 0;
        this.kOffset = align(qOffset + q.smemBytes());
        this.vOffset = align(kOffset + k.smemBytes());
        this.smemBytes = align(vOffset + v.smemBytes());
    }

    static int align(int bytes) {
        return (bytes + SMEM_ALIGN - 1) / SMEM_ALIGN * SMEM_ALIGN;
    }

    public KernelSpec spec() {
        return spec;
    }

    public TileCopy qTile() {
        return q;
    }

    public TileCopy kTile() {
        return k;
    }

    public TileCopy vTile() {
        return v;
    }

    public int qOffset() {
        return qOffset;
    }

    public int kOffset() {
        return kOffset;
    }

    public int vOffset() {
        return vOffset;
    }

    /** Dynamic shared memory per CTA. */
    public int smemBytes() {
        return smemBytes;
    }

    /** k-steps of 32 channels in Q·K^T (over the zero-padded head dim). */
    public int qkSteps() {
        return spec.paddedHeadDim() / 32;
    }

    /** n-tiles of 8 keys in one key block. */
    public int keyTiles() {
        return spec.blockK() / 8;
    }

    /** n-tiles of 8 channels in the output. */
    public int dimTiles() {
        return spec.headDim() / 8;
    }

    /** k-steps of P·V over one key block: 32 keys for FP8 (m16n8k32), 16 for FP16 (m16n8k16). */
    public int pvSteps() {
        return spec.blockK() / (spec.pv().isFp8() ? 32 : 16);
    }
}
