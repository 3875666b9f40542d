package io.sageptx.kernels.attention;

import io.sageptx.spec.KernelSpec;

/**
 * Sizes of the quantized tensors one attention call writes before the main kernel reads them, for a
 * spec and a call shape. Padded lengths are whole blocks so the main kernel never reads past a buffer;
 * the padding is written with zeros by the preprocessing kernels.
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

    /** INT8 Q: [B][H][Lq padded][D padded to 32]; padding rows and columns are zeros. */
    public long q8Bytes() {
        return (long) batch * heads * lqPadded() * spec.paddedHeadDim();
    }

    /** INT8 smoothed K: [B][Hkv][Lk padded][D padded to 32]. */
    public long k8Bytes() {
        return (long) batch * kvHeads * lkPadded() * spec.paddedHeadDim();
    }

    /** Transposed FP8 V: [B][Hkv][D][Lk padded]; none for the FP16 PV variant, which reads V as given. */
    public long v8Bytes() {
        return spec.pv().isFp8() ? (long) batch * kvHeads * spec.headDim() * lkPadded() : 0;
    }

    public long qScaleBytes() {
        return 4L * batch * heads * qScalesPerHead();
    }

    public long kScaleBytes() {
        return 4L * batch * kvHeads * kScalesPerHead();
    }

    /** K channel means: [B][Hkv][D] floats. */
    public long channelStatBytes() {
        return 4L * batch * kvHeads * spec.headDim();
    }

    /** V channel scales, then V channel means (FP8 PV: V is quantized around its mean): [2][B][Hkv][D] floats. */
    public long vStatBytes() {
        return 2 * channelStatBytes();
    }

    /** sm_scale * (q . kmean) per query row, for the LSE: [B][H][Lq padded]. */
    public long qkmBytes() {
        return 4L * batch * heads * lqPadded();
    }
}
