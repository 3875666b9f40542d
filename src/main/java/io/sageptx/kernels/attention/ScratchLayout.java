package io.sageptx.kernels.attention;

import io.sageptx.spec.KernelSpec;

/**
 * Sizes of the quantized tensors one attention call writes before the main kernel reads them, for a
 * spec and a call shape. Padded lengths are whole blocks so the main kernel never reads past a buffer;
 * the padding is written with zeros by the preprocessing kernels. A 16-bit QK call (qk = fp16) needs none.
 *
 * @param batch  B
 * @param heads  Hq
 * @param kvHeads Hkv
 * @param lq     query length
 * @param lk     key length
 */
public record ScratchLayout(KernelSpec spec, int batch, int heads, int kvHeads, int lq, int lk) {

    public ScratchLayout {
        if (batch < 1 || heads < 1 || kvHeads < 1 || lq < 1 || lk < 1) {
            throw new IllegalArgumentException("shape must be positive: B=" + batch + " H=" + heads + " Hkv=" + kvHeads
                    + " Lq=" + lq + " Lk=" + lk);
        }
        if (heads % kvHeads != 0) {
            throw new IllegalArgumentException("heads " + heads + " is not a multiple of kvHeads " + kvHeads);
        }
    }

    static long roundUp(long x, long m) {
        return (x + m - 1) / m * m;
    }

    public int lqPadded() {
        return Math.toIntExact(roundUp(lq, spec.blockQ()));
    }

    public int lkPadded() {
        return Math.toIntExact(roundUp(lk, spec.blockK()));
    }

    public int qBlocks() {
        return lqPadded() / spec.blockQ();
    }

    public int kBlocks() {
        return lkPadded() / spec.blockK();
    }

    /** Q scale tiles per (b, h). */
    public int qScaleTiles() {
        return lqPadded() / spec.qScaleTileRows();
    }

    /** Q scales per (b, h). */
    public int qScalesPerHead() {
        return qScaleTiles() * spec.quant().qGroupsPerTile();
    }

    /** K scales per (b, hkv). */
    public int kScalesPerHead() {
        return kBlocks() * spec.quant().kGroupsPerBlock();
    }

    /** Whether the call has scratch at all: 16-bit QK reads the caller's tensors and needs none. */
    private boolean quantized() {
        return !spec.fp16Qk();
    }

    /** INT8 Q: [B][H][Lq padded][D padded to 32]; padding rows and columns are zeros. */
    public long q8Bytes() {
        return quantized() ? (long) batch * heads * lqPadded() * spec.paddedHeadDim() : 0;
    }

    /** INT8 smoothed K: [B][Hkv][Lk padded][D padded to 32]. */
    public long k8Bytes() {
        return quantized() ? (long) batch * kvHeads * lkPadded() * spec.paddedHeadDim() : 0;
    }

    /** Transposed FP8 V: [B][Hkv][D][Lk padded]; none for the FP16 PV variant, which reads V as given. */
    public long v8Bytes() {
        return spec.pv().isFp8() ? (long) batch * kvHeads * spec.headDim() * lkPadded() : 0;
    }

    public long qScaleBytes() {
        return quantized() ? 4L * batch * heads * qScalesPerHead() : 0;
    }

    public long kScaleBytes() {
        return quantized() ? 4L * batch * kvHeads * kScalesPerHead() : 0;
    }

    /** K channel means: [B][Hkv][D] floats. */
    public long channelStatBytes() {
        return quantized() ? 4L * batch * kvHeads * spec.headDim() : 0;
    }

    /** V channel scales, then V channel means (FP8 PV: V is quantized around its mean): [2][B][Hkv][D] floats. */
    public long vStatBytes() {
        return 2 * channelStatBytes();
    }

    /**
     * qk=auto: the decision kernel's inputs and output in one buffer, floats / u32: the per-(b, h) flags
     * [B][H] (1 = 16-bit QK), then the Q sums of squares per scale tile [B][H][qScaleTiles], then the K' sums per
     * key block [B][Hkv][kBlocks]. None for other precisions.
     */
    public long qkStatBytes() {
        if (spec.qk() != io.sageptx.spec.QkPrecision.AUTO) return 0;
        return 4L * batch * heads + 4L * batch * heads * qScaleTiles() + 4L * batch * kvHeads * kBlocks();
    }

    /** Byte offset of the Q sums of squares in {@link #qkStatBytes()} (the flags are at 0). */
    public long qSumSqOffset() {
        return 4L * batch * heads;
    }

    /** Byte offset of the K' sums of squares in {@link #qkStatBytes()}. */
    public long kSumSqOffset() {
        return qSumSqOffset() + 4L * batch * heads * qScaleTiles();
    }

    /** sm_scale * (q . kmean) per query row, for the LSE: [B][H][Lq padded]. */
    public long qkmBytes() {
        return quantized() ? 4L * batch * heads * lqPadded() : 0;
    }
}
