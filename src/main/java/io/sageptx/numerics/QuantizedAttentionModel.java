package io.sageptx.numerics;

import io.sageptx.spec.KernelSpec;
import io.sageptx.spec.PvVariant;

import java.util.Arrays;

/**
 * A CPU model of the quantized SageAttention2++ forward pass, following the kernel's arithmetic step by
 * step (see {@code docs/method.md}): K smoothing, INT8 Q and K' with the spec's scale groups, exact
 * integer QK^T (or, for the 16-bit QK precision {@code spec.qk() = fp16}, Q and K as given with FP32
 * accumulation per k16 step, no smoothing and no q . kmean term in the LSE), base-2 online softmax with the running max shifted by log2(448) over key blocks of
 * {@code spec.blockK()}, FP8 e4m3 (or 16-bit) P and V (FP8 V quantized around its channel means, which the
 * epilogue adds back), the two-level PV accumulation of the spec's {@link PvVariant}, and the epilogue.
 *
 * <p>Layouts as in {@link AttentionReference}: Q {@code [B][Hq][Lq][D]}, K and V {@code [B][Hkv][Lk][D]},
 * O {@code [B][Hq][Lq][D]}, LSE {@code [B][Hq][Lq]}. Inputs are float values already representable in
 * {@code spec.inType()}. Causal (from the spec) is top-left and needs Lq == Lk.
 *
 * <p>Layout of the helper outputs: Q scales {@code [B][Hq][ceil(Lq/T)][qGroups]} with T =
 * {@code spec.qScaleTileRows()}; K scales {@code [B][Hkv][ceil(Lk/blockK)][kGroups]}; K mean and V scales
 * {@code [B][Hkv][D]}; INT8 values in the layout of their input.
 */
public final class QuantizedAttentionModel {

    /** log2(448) as the kernel's FP32 constant: the running max is shifted by it so that P is in (0, 448]. */
    public static final float LOG2_448 = (float) (Math.log(448.0) / Math.log(2.0));
    /** log2(e) as an FP32 constant. */
    public static final float LOG2_E = (float) (1.0 / Math.log(2.0));
    /** Initial running max (and the logit of masked keys in the kernel). */
    public static final float NEG_INIT = -1e30f;
    /** Lower bound on the absmax of an INT8 group (an all-zero group gets a tiny, non-zero scale). */
    public static final float INT8_ABSMAX_FLOOR = 1e-6f;
    /** FP8 V is smoothed (quantized around its channel mean) only where |mean| * this > the channel absmax. */
    public static final float V_SMOOTH_RATIO = 4.0f;
    /** Lower bound on the absmax of a V channel (an all-zero channel gets a tiny, non-zero scale). */
    public static final float V_ABSMAX_FLOOR = 1e-6f;

    /**
     * @param o                 {@code [B][Hq][Lq][D]}, rounded to {@code spec.outType()} and decoded to float
     * @param lse               {@code [B][Hq][Lq]}, natural log, including the K-smoothing term
     * @param maxAbsF16Partial  largest |FP16 PV partial| seen (FP8_F16ACC only; 0 otherwise)
     * @param f16PartialOverflows number of FP16 partial updates that overflowed to infinity
     *                          (FP8_F16ACC only; must be 0 for a valid (blockK, vMax) pair)
     */
    public record Result(float[] o, float[] lse, double maxAbsF16Partial, long f16PartialOverflows) {
    }

    /**
     * INT8 values and their scales: x ~ values * scale of its group.
     *
     * @param values INT8 values in the layout of the quantized tensor
     * @param scales per group, layout in the class comment
     * @param groupsPerTile scales per row tile (Q) or key block (K)
     * @param tileRows rows per tile (Q) or keys per block (K)
     */
    public record Int8Tensor(byte[] values, float[] scales, int groupsPerTile, int tileRows) {
    }

    /**
     * How the FP8 P V products reach the FP32 output.
     *
     * @param longLived     true: the tensor-core accumulator is the running output itself, rescaled in place
     *                      every block and added into by every k-step (what the wgmma FP32-accumulate kernel
     *                      did before issue 11); false: each block accumulates from zero and is then added
     *                      into the FP32 output (two-level, what every FP8 kernel does now)
     * @param tensorCoreBits 0: each k-step's sum is exact, then rounded to the accumulator type; else the
     *                      reduced-precision accumulation of Hopper's FP8 tensor cores, modelled as the 32
     *                      products of a k-step aligned to the largest exponent among them and the
     *                      accumulator C and truncated toward zero to {@code tensorCoreBits} fraction bits
     *                      below it, then added to C (kept in FP32). Products of one sign (a V with a large
     *                      mean) then lose their low bits with a bias once C has grown large; products of
     *                      both signs lose them without one.
     * @param smoothV       true: FP8 V is quantized around its channel means, added back in the epilogue (what
     *                      every FP8 kernel does now); false: V quantized as given (before issue 11)
     */
    public record Accumulation(boolean longLived, int tensorCoreBits, boolean smoothV) {
        /** Two-level with exact k-step sums, V around its means: the arithmetic of the kernels as specified. */
        public static final Accumulation EXACT = new Accumulation(false, 0, true);
        /** About 14 bits kept (DeepSeek-V3 on H800): 13 fraction bits below the leading one. */
        public static final int HOPPER_FP8_BITS = 13;
    }

    private QuantizedAttentionModel() {
    }

    /** Runs the model; causal, head dim, tiles, quantization and PV variant come from {@code spec}. */
    public static Result run(KernelSpec spec, float[] q, float[] k, float[] v, int batch, int hq, int hkv, int lq,
                             int lk, double smScale) {
        return run(spec, q, k, v, batch, hq, hkv, lq, lk, smScale, Accumulation.EXACT);
    }

    /** {@link #run} with a chosen model of the FP8 P V accumulation (ignored for the FP16 PV variant). */
    public static Result run(KernelSpec spec, float[] q, float[] k, float[] v, int batch, int hq, int hkv, int lq,
                             int lk, double smScale, Accumulation acc) {
        int d = spec.headDim();
        AttentionReference.checkShapes(q, k, v, batch, hq, hkv, lq, lk, d, spec.causal());
        boolean causal = spec.causal();
        int bk = spec.blockK();
        PvVariant pv = spec.pv();

        // 16-bit QK (qk = fp16): Q and K as given (16-bit values), no smoothing, FP32 scores
        boolean q16 = spec.fp16Qk();
        float[] km = q16 ? new float[batch * hkv * d] : kMean(k, batch, hkv, lk, d);
        float[] kSmooth = q16 ? k : subtractKMean(k, km, batch, hkv, lk, d);
        Int8Tensor qi = q16 ? null : quantizeQ(spec, q, batch, hq, lq);
        Int8Tensor ki = q16 ? null : quantizeK(spec, kSmooth, batch, hkv, lk);
        float[] vmu = acc.smoothV() ? vMeans(spec, v, batch, hkv, lk) : new float[batch * hkv * d];
        float[] vs = acc.smoothV() ? vScales(spec, v, batch, hkv, lk) : vScalesAroundZero(spec, v, batch, hkv, lk);
        float[] vq = quantizeV(spec, v, vmu, vs, batch, hkv, lk); // decoded FP8 (or 16-bit) V, [B][Hkv][Lk][D]

        int group = hq / hkv;
        int qTile = q16 ? 1 : qi.tileRows();
        int qGroups = q16 ? 1 : qi.groupsPerTile();
        int qTiles = ceilDiv(lq, qTile);
        int kGroups = q16 ? 1 : ki.groupsPerTile();
        int kBlocks = ceilDiv(lk, bk);
        float scaleLog2 = (float) smScale * LOG2_E;
        int chunk = pv.isFp8() ? 32 : 16; // keys per mma k-step: m16n8k32 (FP8) or m16n8k16 (16-bit)

        float[] o = new float[batch * hq * lq * d];
        float[] lse = new float[batch * hq * lq];
        float[] s = new float[bk];
        float[] p = new float[bk];
        float[] kc = new float[bk]; // K scale of each key of the block
        float[] o32 = new float[d];
        double[] part = new double[d]; // the per-block partial (FP16 or FP32 values held in double)
        double[] sum = new double[d];  // exact sum of one mma k-step
        int[] qrow = new int[d];
        double maxPartial = 0;
        long overflows = 0;

        for (int b = 0; b < batch; b++) {
            for (int h = 0; h < hq; h++) {
                int hk = h / group;
                int qBase = (b * hq + h) * lq * d;
                int kvBase = (b * hkv + hk) * lk * d;
                int qsBase = (b * hq + h) * qTiles * qGroups;
                int ksBase = (b * hkv + hk) * kBlocks * kGroups;
                int kmBase = (b * hkv + hk) * d;
                for (int i = 0; i < lq; i++) {
                    int row = qBase + i * d;
                    if (!q16) for (int c = 0; c < d; c++) qrow[c] = qi.values()[row + c];
                    float qs = q16 ? 1f : qi.scales()[qsBase + (i / qTile) * qGroups + qGroupOf(i % qTile, qGroups)];
                    float m = NEG_INIT;
                    float l = 0f;
                    Arrays.fill(o32, 0f);
                    int nKeys = causal ? i + 1 : lk;
                    for (int j0 = 0; j0 < nKeys; j0 += bk) {
                        int n = Math.min(bk, nKeys - j0); // unmasked keys of this block
                        int blk = j0 / bk;
                        // S = Q8 K8^T (exact int32), dequantized and in base 2
                        float bmax = NEG_INIT;
                        for (int jj = 0; jj < n; jj++) {
                            int kr = kvBase + (j0 + jj) * d;
                            if (q16) {
                                // wgmma k16 steps into FP32 accumulators: each step's 16 exact products summed,
                                // then rounded to FP32 into the accumulator; the scale c = sm_scale * log2(e)
                                s[jj] = fp32Dot(q, row, k, kr, d, QK16_STEP) * scaleLog2;
                            } else {
                                byte[] kv = ki.values();
                                int dot = 0;
                                for (int c = 0; c < d; c++) dot += qrow[c] * kv[kr + c];
                                float ks = ki.scales()[ksBase + blk * kGroups + kGroupOf(jj, kGroups)];
                                kc[jj] = ks;
                                float cfac = qs * ks * scaleLog2;
                                s[jj] = dot * cfac;
                            }
                            if (s[jj] > bmax) bmax = s[jj];
                        }
                        // online softmax: rescale, then P = exp2(s - (m - log2 448)) in (0, 448]
                        float mNew = Math.max(m, bmax);
                        float alpha = exp2(m - mNew);
                        l *= alpha;
                        for (int c = 0; c < d; c++) o32[c] *= alpha;
                        m = mNew;
                        float mShift = m - LOG2_448;
                        for (int jj = 0; jj < n; jj++) {
                            float pj = exp2(s[jj] - mShift);
                            l += pj; // the denominator uses the unquantized FP32 P
                            p[jj] = switch (pv) {
                                case FP8_F16ACC, FP8_F32ACC -> Fp8E4M3.round(pj);
                                case FP16 -> Half.round(pj, spec.inType());
                            };
                        }
                        // P V
                        if (pv == PvVariant.FP16) {
                            // m16n8k16 with FP32 accumulators straight into O: one FP32 rounding per k-step
                            for (int c0 = 0; c0 < n; c0 += chunk) {
                                exactChunk(p, vq, kvBase + j0 * d, c0, Math.min(n, c0 + chunk), d, sum);
                                for (int c = 0; c < d; c++) o32[c] = (float) (o32[c] + sum[c]);
                            }
                        } else if (acc.longLived()) {
                            // the accumulator is O: rescaled above, then every k-step adds into it
                            for (int c0 = 0; c0 < bk; c0 += chunk) {
                                int c1 = Math.min(n, c0 + chunk);
                                for (int c = 0; c < d; c++) {
                                    o32[c] = (float) tensorCoreSum(o32[c], p, vq, kvBase + j0 * d + c, c0, c1, d,
                                            acc.tensorCoreBits());
                                }
                            }
                        } else {
                            // two chained m16n8k32 per block, accumulator restarted at 0 every block
                            Arrays.fill(part, 0);
                            boolean f16 = pv == PvVariant.FP8_F16ACC;
                            for (int c0 = 0; c0 < bk; c0 += chunk) {
                                int c1 = Math.min(n, c0 + chunk);
                                if (acc.tensorCoreBits() > 0) {
                                    for (int c = 0; c < d; c++) {
                                        sum[c] = tensorCoreSum(part[c], p, vq, kvBase + j0 * d + c, c0, c1, d,
                                                acc.tensorCoreBits()) - part[c];
                                    }
                                } else if (c0 < c1) {
                                    exactChunk(p, vq, kvBase + j0 * d, c0, c1, d, sum);
                                } else {
                                    Arrays.fill(sum, 0); // a fully masked k-step still runs: adds zeros
                                }
                                for (int c = 0; c < d; c++) {
                                    double x = part[c] + sum[c];
                                    if (f16) {
                                        double r = Half.roundToHalf(x);
                                        double ar = Math.abs(r);
                                        if (ar > maxPartial) maxPartial = ar;
                                        if (Double.isInfinite(r)) overflows++;
                                        part[c] = r;
                                    } else {
                                        part[c] = (float) x;
                                    }
                                }
                            }
                            for (int c = 0; c < d; c++) o32[c] = (float) (o32[c] + (float) part[c]);
                        }
                    }
                    // epilogue
                    int vsBase = (b * hkv + hk) * d;
                    for (int c = 0; c < d; c++) {
                        float inv = l > 0 ? 1f / l : 0f;
                        float mean = l > 0 ? vmu[vsBase + c] : 0f;
                        float val = (float) ((double) (o32[c] * inv) * vs[vsBase + c] + mean);
                        o[row + c] = Half.round(val, spec.outType());
                    }
                    double qkm = 0;
                    for (int c = 0; c < d; c++) qkm += (double) q[row + c] * km[kmBase + c];
                    double lse2 = (double) m - LOG2_448 + Math.log(l) / Math.log(2.0);
                    lse[(b * hq + h) * lq + i] = (float) (lse2 * Math.log(2.0) + smScale * qkm);
                }
            }
        }
        return new Result(o, lse, maxPartial, overflows);
    }

    /** Channels per k-step of the 16-bit QK wgmma (m64nNk16). */
    static final int QK16_STEP = 16;

    /**
     * q[qr..qr+d) . k[kr..kr+d) as a tensor core with FP32 accumulators computes it: per k-step of {@code step}
     * channels the exact sum of the (exact) products of 16-bit values, added to the FP32 accumulator and rounded.
     */
    static float fp32Dot(float[] q, int qr, float[] k, int kr, int d, int step) {
        float acc = 0f;
        for (int c0 = 0; c0 < d; c0 += step) {
            double sum = 0;
            for (int c = c0; c < Math.min(d, c0 + step); c++) sum += (double) q[qr + c] * k[kr + c];
            acc = (float) (acc + sum);
        }
        return acc;
    }

    /**
     * One tensor-core k-step into accumulator value {@code acc} of one output channel: acc + sum over keys jj in
     * [from, to) of p[jj] * v[base + jj*d]. With {@code bits} = 0 the sum is exact; otherwise every product is
     * truncated toward zero to {@code bits} fraction bits below the largest exponent among them and acc.
     */
    static double tensorCoreSum(double acc, float[] p, float[] v, int base, int from, int to, int d, int bits) {
        double maxAbs = Math.abs(acc);
        for (int jj = from; jj < to; jj++) maxAbs = Math.max(maxAbs, Math.abs((double) p[jj] * v[base + jj * d]));
        if (maxAbs == 0) return acc;
        double ulp = bits == 0 ? 0 : Math.scalb(1.0, Math.getExponent(maxAbs) - bits);
        double s = acc;
        for (int jj = from; jj < to; jj++) s += trunc((double) p[jj] * v[base + jj * d], ulp);
        return s;
    }

    private static double trunc(double x, double ulp) {
        return ulp == 0 ? x : Math.copySign(Math.floor(Math.abs(x) / ulp) * ulp, x);
    }

    /** sum[c] = exact (double) sum over keys jj in [from, to) of p[jj] * v[base + jj*d + c]. */
    private static void exactChunk(float[] p, float[] v, int base, int from, int to, int d, double[] sum) {
        Arrays.fill(sum, 0);
        for (int jj = from; jj < to; jj++) {
            double pj = p[jj];
            if (pj == 0) continue;
            int vr = base + jj * d;
            for (int c = 0; c < d; c++) sum[c] += pj * v[vr + c];
        }
    }

    private static float exp2(float x) {
        return (float) Math.pow(2.0, x);
    }

    private static int ceilDiv(int a, int b) {
        return (a + b - 1) / b;
    }

    /** Q scale group of row r of its tile: r % 8 with 8 groups (per thread), else 0. */
    public static int qGroupOf(int rowInTile, int groups) {
        return groups == 1 ? 0 : rowInTile % groups;
    }

    /** K scale group of key r of its block: (r % 8) / 2 with 4 groups (per thread), else 0. */
    public static int kGroupOf(int keyInBlock, int groups) {
        return groups == 1 ? 0 : (keyInBlock % 8) / 2;
    }

    // ------------------------------------------------------------------------------- quantization steps

    /** km[b][hkv][c] = mean over the Lk tokens of K[b][hkv][:][c] (FP32 accumulation). */
    public static float[] kMean(float[] k, int batch, int hkv, int lk, int d) {
        float[] km = new float[batch * hkv * d];
        for (int bh = 0; bh < batch * hkv; bh++) {
            float[] acc = new float[d];
            for (int j = 0; j < lk; j++) {
                int r = (bh * lk + j) * d;
                for (int c = 0; c < d; c++) acc[c] += k[r + c];
            }
            for (int c = 0; c < d; c++) km[bh * d + c] = acc[c] / lk;
        }
        return km;
    }

    /** K' = K - km (FP32), per (b, hkv) and channel. */
    public static float[] subtractKMean(float[] k, float[] km, int batch, int hkv, int lk, int d) {
        float[] out = new float[k.length];
        for (int bh = 0; bh < batch * hkv; bh++) {
            for (int j = 0; j < lk; j++) {
                int r = (bh * lk + j) * d;
                for (int c = 0; c < d; c++) out[r + c] = k[r + c] - km[bh * d + c];
            }
        }
        return out;
    }

    /** INT8 scale of a group with the given absmax: max(absmax, 1e-6) / 127. */
    public static float int8Scale(float absmax) {
        return Math.max(absmax, INT8_ABSMAX_FLOOR) / 127f;
    }

    /** rint(x / scale) saturated to [-127, 127]. */
    public static byte int8(float x, float scale) {
        float r = (float) Math.rint(x / scale);
        return (byte) Math.max(-127f, Math.min(127f, r));
    }

    /** INT8 Q with the spec's groups: tiles of {@code qScaleTileRows()} rows, 8 groups (r % 8) or 1 each. */
    public static Int8Tensor quantizeQ(KernelSpec spec, float[] q, int batch, int hq, int lq) {
        int tile = spec.qScaleTileRows();
        int groups = spec.quant().qGroupsPerTile();
        return quantizeRows(q, batch * hq, lq, spec.headDim(), tile, groups, true);
    }

    /** INT8 K' (already smoothed) with the spec's groups: blocks of {@code blockK()} keys, 4 groups ((r%8)/2) or 1. */
    public static Int8Tensor quantizeK(KernelSpec spec, float[] kSmooth, int batch, int hkv, int lk) {
        int tile = spec.blockK();
        int groups = spec.quant().kGroupsPerBlock();
        return quantizeRows(kSmooth, batch * hkv, lk, spec.headDim(), tile, groups, false);
    }

    private static Int8Tensor quantizeRows(float[] x, int heads, int len, int d, int tile, int groups, boolean isQ) {
        int tiles = ceilDiv(len, tile);
        byte[] values = new byte[x.length];
        float[] scales = new float[heads * tiles * groups];
        float[] absmax = new float[groups];
        for (int hh = 0; hh < heads; hh++) {
            for (int t = 0; t < tiles; t++) {
                Arrays.fill(absmax, 0f);
                int r0 = t * tile;
                int r1 = Math.min(len, r0 + tile); // rows beyond len are zero padding: no effect on absmax
                for (int r = r0; r < r1; r++) {
                    int g = isQ ? qGroupOf(r - r0, groups) : kGroupOf(r - r0, groups);
                    int base = (hh * len + r) * d;
                    float a = absmax[g];
                    for (int c = 0; c < d; c++) a = Math.max(a, Math.abs(x[base + c]));
                    absmax[g] = a;
                }
                int sBase = (hh * tiles + t) * groups;
                for (int g = 0; g < groups; g++) scales[sBase + g] = int8Scale(absmax[g]);
                for (int r = r0; r < r1; r++) {
                    int g = isQ ? qGroupOf(r - r0, groups) : kGroupOf(r - r0, groups);
                    float sc = scales[sBase + g];
                    int base = (hh * len + r) * d;
                    for (int c = 0; c < d; c++) values[base + c] = int8(x[base + c], sc);
                }
            }
        }
        return new Int8Tensor(values, scales, groups, tile);
    }

    /**
     * Per-channel V means {@code [B][Hkv][D]} (FP32 sums over the Lk tokens) where they are large beside the
     * channel's absmax (|mean| * {@link #V_SMOOTH_RATIO} > absmax), else 0: FP8 V is quantized around this
     * value and it is added back to O in the epilogue. All 0 for {@link PvVariant#FP16}.
     */
    public static float[] vMeans(KernelSpec spec, float[] v, int batch, int hkv, int lk) {
        int d = spec.headDim();
        if (!spec.pv().isFp8()) return new float[batch * hkv * d];
        float[] mu = kMean(v, batch, hkv, lk, d);
        for (int bh = 0; bh < batch * hkv; bh++) {
            for (int c = 0; c < d; c++) {
                float a = 0;
                for (int j = 0; j < lk; j++) a = Math.max(a, Math.abs(v[(bh * lk + j) * d + c]));
                if (Math.abs(mu[bh * d + c]) * V_SMOOTH_RATIO <= a) mu[bh * d + c] = 0f; // around zero: as given
            }
        }
        return mu;
    }

    /**
     * Per-channel V scales {@code [B][Hkv][D]}: max(largest |V - mean| over the Lk tokens, 1e-6) /
     * spec.vMax() for the FP8 variants; all 1 for {@link PvVariant#FP16}.
     */
    public static float[] vScales(KernelSpec spec, float[] v, int batch, int hkv, int lk) {
        int d = spec.headDim();
        float[] vs = new float[batch * hkv * d];
        if (!spec.pv().isFp8()) {
            Arrays.fill(vs, 1f);
            return vs;
        }
        float vmax = spec.vMax();
        float[] mu = vMeans(spec, v, batch, hkv, lk);
        for (int bh = 0; bh < batch * hkv; bh++) {
            float[] hi = new float[d];
            float[] lo = new float[d];
            Arrays.fill(hi, Float.NEGATIVE_INFINITY);
            Arrays.fill(lo, Float.POSITIVE_INFINITY);
            for (int j = 0; j < lk; j++) {
                int r = (bh * lk + j) * d;
                for (int c = 0; c < d; c++) {
                    hi[c] = Math.max(hi[c], v[r + c]);
                    lo[c] = Math.min(lo[c], v[r + c]);
                }
            }
            for (int c = 0; c < d; c++) {
                float m = mu[bh * d + c];
                float a = lk == 0 ? 0f : Math.max(hi[c] - m, m - lo[c]);
                vs[bh * d + c] = Math.max(a, V_ABSMAX_FLOOR) / vmax;
            }
        }
        return vs;
    }

    /** The scales of V quantized as given (no mean subtracted): absmax / vmax, as before issue 11. */
    static float[] vScalesAroundZero(KernelSpec spec, float[] v, int batch, int hkv, int lk) {
        int d = spec.headDim();
        float[] vs = new float[batch * hkv * d];
        java.util.Arrays.fill(vs, 1f);
        if (!spec.pv().isFp8()) return vs;
        for (int bh = 0; bh < batch * hkv; bh++) {
            for (int c = 0; c < d; c++) {
                float a = 0;
                for (int j = 0; j < lk; j++) a = Math.max(a, Math.abs(v[(bh * lk + j) * d + c]));
                vs[bh * d + c] = Math.max(a, V_ABSMAX_FLOOR) / spec.vMax();
            }
        }
        return vs;
    }

    /** V8 codes {@code [B][Hkv][Lk][D]} (untransposed, unpermuted): e4m3((V - mean[c]) / vs[c]). */
    public static byte[] quantizeVCodes(float[] v, float[] mean, float[] vs, int batch, int hkv, int lk, int d) {
        byte[] out = new byte[v.length];
        for (int bh = 0; bh < batch * hkv; bh++) {
            for (int j = 0; j < lk; j++) {
                int r = (bh * lk + j) * d;
                for (int c = 0; c < d; c++) {
                    out[r + c] = Fp8E4M3.encode((v[r + c] - mean[bh * d + c]) * (1f / vs[bh * d + c]));
                }
            }
        }
        return out;
    }

    /** The V values the PV mma sees, decoded to float: e4m3(V / vs) for FP8 variants, V in the input dtype otherwise. */
    private static float[] quantizeV(KernelSpec spec, float[] v, float[] mean, float[] vs, int batch, int hkv, int lk) {
        if (!spec.pv().isFp8()) return Half.round(v, spec.inType());
        return Fp8E4M3.decode(quantizeVCodes(v, mean, vs, batch, hkv, lk, spec.headDim()));
    }
}
