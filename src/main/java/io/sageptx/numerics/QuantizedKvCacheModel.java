package io.sageptx.numerics;

import java.util.Arrays;

/**
 * The CPU model of SagePTX's quantized paged KV cache ({@link QuantKvLayout}): the same bytes the append
 * kernel writes, by the same FP32 operations in the same order (so a pool built here and one built on the
 * GPU are byte-identical), and the dequantized K and V that the decode kernel attends to. See
 * docs/notes/decode.md for the derivation.
 *
 * <p>Append of {@code cnt} tokens of one sequence at positions {@code pos0 .. pos0 + cnt - 1}, per kv head:
 * <ol>
 *   <li>the call's K mean {@code mu[c] = (sum_t K[t][c]) / cnt} (FP32, t in order);</li>
 *   <li>per block i the call touches (block {@code table[i]}): if the call writes its first position it
 *       <em>opens</em> it and fixes its statistics: the K mean is {@code mu} when {@code cnt >=}
 *       {@value #MEAN_MIN_TOKENS} or i = 0, else the mean of block i - 1 (written by an earlier call); it is
 *       stored as {@code kmean = f16(mean / meanScale)}, {@code meanScale} = the smallest power of two
 *       &gt;= max |mean| (1 for a zero mean); the V scales are {@code vscale[c]} = the smallest power of two
 *       &gt;= max |V[., c]| / 448 over the call's tokens in the block (at least 2^-126). A block the call
 *       does not open keeps its mean; a V channel whose new tokens need a larger scale gets it and its
 *       earlier codes in the block are rescaled (an exact exponent shift, rounded only below e4m3's normal
 *       range);</li>
 *   <li>each token: residual {@code r = K - meanScale * kmean} (FP32), {@code kscale = max|r| / 127},
 *       {@code K8 = rint(r / kscale)} (0 when kscale = 0); {@code V8 = e4m3(V / vscale)} (round to nearest
 *       even, saturating).</li>
 * </ol>
 * Dequantized: {@code K = kscale * K8 + meanScale * kmean}, {@code V = vscale * e4m3}.
 */
public final class QuantizedKvCacheModel {

    /** Fewest tokens of one call whose mean becomes the smoothing mean of the blocks it opens. */
    public static final int MEAN_MIN_TOKENS = 8;
    /** The smallest V scale (a channel of zeros). */
    public static final float MIN_VSCALE = 0x1p-126f;

    private final byte[] pool;
    private final int numBlocks;
    private final int blockSize;
    private final int kvHeads;
    private final int d;
    private final long headBytes;

    /** A new pool of {@code numBlocks} blocks, filled with 0xFF (unwritten memory). */
    public QuantizedKvCacheModel(int numBlocks, int blockSize, int kvHeads, int d) {
        this.numBlocks = numBlocks;
        this.blockSize = blockSize;
        this.kvHeads = kvHeads;
        this.d = d;
        this.headBytes = QuantKvLayout.headBytes(blockSize, d);
        long bytes = QuantKvLayout.poolBytes(numBlocks, blockSize, kvHeads, d);
        if (bytes > Integer.MAX_VALUE) throw new IllegalArgumentException("pool too large for the model: " + bytes);
        this.pool = new byte[(int) bytes];
        Arrays.fill(pool, (byte) 0xFF);
    }

    /** The pool's bytes (live: the model writes into it). */
    public byte[] pool() {
        return pool;
    }

    /** Tokens per block. */
    public int blockSize() {
        return blockSize;
    }

    // ------------------------------------------------------------------------------------------ scalars

    /** The smallest power of two &gt;= x for finite x &gt; 0 (x a normal float; below 2^-126: 2^-126). */
    public static float pow2Ceil(float x) {
        int bits = Float.floatToRawIntBits(x);
        int e = (bits >>> 23) & 0xff;
        if (e == 0) return 0x1p-126f;
        int m = bits & 0x7fffff;
        return Float.intBitsToFloat((m == 0 ? e : e + 1) << 23);
    }

    /** The mean scale: the smallest power of two &gt;= amax, 1 when amax is 0. */
    public static float meanScale(float amax) {
        return amax == 0 ? 1f : pow2Ceil(amax);
    }

    /** The V scale of a channel whose largest magnitude is amax. */
    public static float vScale(float amax) {
        float s = pow2Ceil(amax / 448f);
        return Math.max(s, MIN_VSCALE);
    }

    // ------------------------------------------------------------------------------------------ bytes

    private int head(int blk, int kvh) {
        return (int) ((blk * (long) kvHeads + kvh) * headBytes);
    }

    private int k8Off(int blk, int kvh, int j) {
        return head(blk, kvh) + j * d;
    }

    private int v8Off(int blk, int kvh, int j, int c) {
        return head(blk, kvh) + (int) QuantKvLayout.vOffset(blockSize, d) + (j / 16) * 16 * d + c * 16 + (j % 16);
    }

    private int kmeanOff(int blk, int kvh, int c) {
        return head(blk, kvh) + (int) QuantKvLayout.statOffset(blockSize, d) + 2 * c;
    }

    private int vscaleOff(int blk, int kvh, int c) {
        return head(blk, kvh) + (int) QuantKvLayout.vScaleOffset(blockSize, d) + 4 * c;
    }

    private int meanScaleOff(int blk, int kvh) {
        return head(blk, kvh) + (int) QuantKvLayout.meanScaleOffset(blockSize, d);
    }

    private int kscaleOff(int blk, int kvh, int j) {
        return head(blk, kvh) + (int) QuantKvLayout.kScaleOffset(blockSize, d) + 4 * j;
    }

    private float f32(int off) {
        return Float.intBitsToFloat((pool[off] & 0xff) | (pool[off + 1] & 0xff) << 8 | (pool[off + 2] & 0xff) << 16
                | (pool[off + 3] & 0xff) << 24);
    }

    private void f32(int off, float v) {
        int b = Float.floatToRawIntBits(v);
        for (int i = 0; i < 4; i++) pool[off + i] = (byte) (b >>> (8 * i));
    }

    private short u16(int off) {
        return (short) ((pool[off] & 0xff) | (pool[off + 1] & 0xff) << 8);
    }

    private void u16(int off, short v) {
        pool[off] = (byte) v;
        pool[off + 1] = (byte) (v >>> 8);
    }

    // ------------------------------------------------------------------------------------------ append

    /**
     * Appends {@code cnt} tokens of one sequence at positions {@code pos0 ..}: {@code k} and {@code v}
     * are {@code [Hkv][cnt][D]} (values of the model's 16-bit dtype), {@code table} the sequence's block
     * table row (every block the positions fall in must be listed).
     */
    public void append(int[] table, int pos0, int cnt, float[] k, float[] v) {
        if (cnt < 1) return;
        for (int h = 0; h < kvHeads; h++) appendHead(table, pos0, cnt, k, v, h);
    }

    private void appendHead(int[] table, int pos0, int cnt, float[] k, float[] v, int h) {
        int base = h * cnt * d;
        float[] mu = new float[d];
        for (int c = 0; c < d; c++) {
            float s = 0;
            for (int t = 0; t < cnt; t++) s += k[base + t * d + c];
            mu[c] = s / cnt;
        }
        float[] meff = new float[d];
        for (int i = pos0 / blockSize; i <= (pos0 + cnt - 1) / blockSize; i++) {
            int blk = table[i];
            int first = Math.max(pos0, i * blockSize);
            int last = Math.min(pos0 + cnt, (i + 1) * blockSize);
            boolean opened = i * blockSize >= pos0;
            if (opened) {
                if (cnt >= MEAN_MIN_TOKENS || i == 0) {
                    float amax = 0;
                    for (int c = 0; c < d; c++) amax = Math.max(amax, Math.abs(mu[c]));
                    float ms = meanScale(amax);
                    float inv = 1f / ms;
                    for (int c = 0; c < d; c++) u16(kmeanOff(blk, h, c), Half.floatToHalf(mu[c] * inv));
                    f32(meanScaleOff(blk, h), ms);
                } else {
                    int prev = table[i - 1];
                    for (int c = 0; c < d; c++) u16(kmeanOff(blk, h, c), u16(kmeanOff(prev, h, c)));
                    f32(meanScaleOff(blk, h), f32(meanScaleOff(prev, h)));
                }
            }
            float ms = f32(meanScaleOff(blk, h));
            for (int c = 0; c < d; c++) meff[c] = ms * Half.halfToFloat(u16(kmeanOff(blk, h, c)));
            // V scales: set (opened) or grown (with the block's earlier codes rescaled)
            for (int c = 0; c < d; c++) {
                float amax = 0;
                for (int p = first; p < last; p++) amax = Math.max(amax, Math.abs(v[base + (p - pos0) * d + c]));
                float need = vScale(amax);
                if (opened) {
                    f32(vscaleOff(blk, h, c), need);
                } else {
                    float old = f32(vscaleOff(blk, h, c));
                    if (need > old) {
                        float inv = old / need; // a power of two: exact
                        for (int j = 0; j < first - i * blockSize; j++) {
                            int off = v8Off(blk, h, j, c);
                            pool[off] = Fp8E4M3.encode(Fp8E4M3.decode(pool[off]) * inv);
                        }
                        f32(vscaleOff(blk, h, c), need);
                    }
                }
            }
            for (int p = first; p < last; p++) {
                int t = p - pos0;
                int j = p - i * blockSize;
                float amax = 0;
                float[] r = new float[d];
                for (int c = 0; c < d; c++) {
                    r[c] = k[base + t * d + c] - meff[c];
                    amax = Math.max(amax, Math.abs(r[c]));
                }
                float ks = amax / 127f;
                f32(kscaleOff(blk, h, j), ks);
                for (int c = 0; c < d; c++) {
                    int q = ks == 0 ? 0 : (int) Math.max(-127, Math.min(127, Math.rint(r[c] / ks)));
                    pool[k8Off(blk, h, j) + c] = (byte) q;
                    float inv = 1f / f32(vscaleOff(blk, h, c));
                    pool[v8Off(blk, h, j, c)] = Fp8E4M3.encode(v[base + t * d + c] * inv);
                }
            }
        }
    }

    // ------------------------------------------------------------------------------------------ reading

    /** Dequantized K and V of the first {@code len} tokens of a sequence: {@code [2][Hkv][len][D]} (K, then V). */
    public double[][] dequantize(int[] table, int len) {
        double[] kk = new double[kvHeads * len * d];
        double[] vv = new double[kk.length];
        for (int h = 0; h < kvHeads; h++) {
            for (int p = 0; p < len; p++) {
                int blk = table[p / blockSize];
                int j = p % blockSize;
                double ks = f32(kscaleOff(blk, h, j));
                double ms = f32(meanScaleOff(blk, h));
                for (int c = 0; c < d; c++) {
                    int o = (h * len + p) * d + c;
                    kk[o] = ks * pool[k8Off(blk, h, j) + c] + ms * Half.halfToFloat(u16(kmeanOff(blk, h, c)));
                    vv[o] = (double) f32(vscaleOff(blk, h, c)) * Fp8E4M3.decode(pool[v8Off(blk, h, j, c)]);
                }
            }
        }
        return new double[][] {kk, vv};
    }

    /**
     * FP64 attention of {@code lq} query rows per head ({@code q [Hq][lq][D]}, kv head h / (Hq/Hkv)) over the
     * dequantized cache of one sequence of {@code len} tokens, with the softmax scale and the decode mask.
     */
    public AttentionReference.Result attend(float[] q, int hq, int lq, int[] table, int len, double smScale,
                                            DecodeReference.Mask mask) {
        double[][] kv = dequantize(table, len);
        int group = hq / kvHeads;
        double[] o = new double[hq * lq * d];
        double[] lse = new double[hq * lq];
        double[] s = new double[Math.max(1, len)];
        for (int h = 0; h < hq; h++) {
            int hk = h / group;
            for (int i = 0; i < lq; i++) {
                int row = h * lq + i;
                int n = DecodeReference.visibleKeys(mask, i, lq, len);
                if (n == 0) {
                    lse[row] = Double.NEGATIVE_INFINITY;
                    continue;
                }
                double max = Double.NEGATIVE_INFINITY;
                for (int j = 0; j < n; j++) {
                    double dot = 0;
                    for (int c = 0; c < d; c++) dot += q[row * d + c] * kv[0][(hk * len + j) * d + c];
                    s[j] = smScale * dot;
                    max = Math.max(max, s[j]);
                }
                double sum = 0;
                for (int j = 0; j < n; j++) {
                    double p = Math.exp(s[j] - max);
                    sum += p;
                    for (int c = 0; c < d; c++) o[row * d + c] += p * kv[1][(hk * len + j) * d + c];
                }
                for (int c = 0; c < d; c++) o[row * d + c] /= sum;
                lse[row] = max + Math.log(sum);
            }
        }
        return new AttentionReference.Result(o, lse);
    }

    /**
     * {@link #attend} with the scores the decode kernel computes (INT8 QK, decode_q8.stg): per query row,
     * {@code qa} = the smallest power of two &gt;= max |q| (1 for a zero row), {@code q^ = f16(q / qa)} and
     * {@code q8 = rint(127 q^)}; the score of key j of block b is
     * {@code smScale (qa / 127 kscale_j (q8 . K8_j) + qa meanScale_b (q^ . kmean_b))}: the residual term with
     * the row quantized to INT8 (the method's INT8 QK), the per-block mean term with q^ (exact for fp16 Q).
     * V is the dequantized cache's.
     */
    public AttentionReference.Result attendInt8Q(float[] q, int hq, int lq, int[] table, int len, double smScale,
                                                 DecodeReference.Mask mask) {
        double[] vv = dequantize(table, len)[1];
        int group = hq / kvHeads;
        double[] o = new double[hq * lq * d];
        double[] lse = new double[hq * lq];
        double[] s = new double[Math.max(1, len)];
        double[] qh = new double[d];
        int[] q8 = new int[d];
        for (int h = 0; h < hq; h++) {
            int hk = h / group;
            for (int i = 0; i < lq; i++) {
                int row = h * lq + i;
                float amax = 0;
                for (int c = 0; c < d; c++) amax = Math.max(amax, Math.abs(q[row * d + c]));
                float qa = meanScale(amax);
                float inv = 1f / qa;
                for (int c = 0; c < d; c++) {
                    float x = Half.halfToFloat(Half.floatToHalf(q[row * d + c] * inv));
                    qh[c] = x;
                    q8[c] = (int) Math.rint(x * 127f);
                }
                int n = DecodeReference.visibleKeys(mask, i, lq, len);
                if (n == 0) {
                    lse[row] = Double.NEGATIVE_INFINITY;
                    continue;
                }
                double max = Double.NEGATIVE_INFINITY;
                for (int j = 0; j < n; j++) {
                    int blk = table[j / blockSize];
                    int jj = j % blockSize;
                    long dot8 = 0;
                    double dotm = 0;
                    int k8 = k8Off(blk, hk, jj);
                    for (int c = 0; c < d; c++) {
                        dot8 += (long) q8[c] * pool[k8 + c];
                        dotm += qh[c] * Half.halfToFloat(u16(kmeanOff(blk, hk, c)));
                    }
                    s[j] = smScale * ((double) qa / 127 * f32(kscaleOff(blk, hk, jj)) * dot8
                            + (double) qa * f32(meanScaleOff(blk, hk)) * dotm);
                    max = Math.max(max, s[j]);
                }
                double sum = 0;
                for (int j = 0; j < n; j++) {
                    double p = Math.exp(s[j] - max);
                    sum += p;
                    for (int c = 0; c < d; c++) o[row * d + c] += p * vv[(hk * len + j) * d + c];
                }
                for (int c = 0; c < d; c++) o[row * d + c] /= sum;
                lse[row] = max + Math.log(sum);
            }
        }
        return new AttentionReference.Result(o, lse);
    }

    /**
     * The e4m3 encoder of the append kernel, with integer operations only (sm_80 has no cvt to e4m3): equal
     * to {@link Fp8E4M3#encode} for every float (round to nearest even, saturating to 448, NaN to 0x7F).
     * Below 2^-6 the code is rint(|x| * 512); else RNE of the float's mantissa at bit 20 (a carry moves into
     * the exponent), minus the exponent bias difference (127 - 7) {@code << 3}.
     */
    public static byte e4m3Int(float x) {
        int bits = Float.floatToRawIntBits(x);
        int sign = (bits >>> 24) & 0x80;
        int a = bits & 0x7fffffff;
        if (a > 0x7f800000) return 0x7F;
        int code;
        if (a < 0x3c800000) { // |x| < 2^-6
            code = (int) Math.rint(Float.intBitsToFloat(a) * 512f);
        } else {
            int r = a + 0x7ffff + ((a >>> 20) & 1);
            code = (r >>> 20) - 960;
        }
        code = Math.min(code, 0x7E);
        return (byte) (sign | code);
    }

    /**
     * The one-token append kernel's rescale of an earlier V code when its channel's scale grows by 2^k (k >= 1),
     * with integer operations (append1.stg, e4m3Shift): a normal code whose exponent stays >= 1 loses k from
     * its exponent; else its significand (with the hidden bit) is shifted right by 1 - (e - k), rounded to
     * nearest even (a carry into 8 is the smallest normal); the sign is kept; NaN codes give 0x7F. Equal to
     * {@code Fp8E4M3.encode(Fp8E4M3.decode(code) * 2^-k)}, the model's rescale (QuantizedKvCacheModelTest).
     */
    public static byte e4m3Shift(byte code, int k) {
        int cd = code & 0xff;
        int sign = cd & 0x80;
        int a = cd & 0x7f;
        if (a == 0x7f) return 0x7F;
        int e = a >>> 3;
        int mant = e != 0 ? (a & 7) | 8 : a & 7;
        int ne = Math.max(e, 1) - k;
        int out;
        if (ne >= 1) {
            out = ne << 3 | (a & 7);
        } else {
            int sh = Math.max(1, Math.min(8, 1 - ne));
            int q = mant >>> sh;
            int rem = mant - (q << sh);
            int half = 1 << (sh - 1);
            out = q + (rem + (q & 1) > half ? 1 : 0);
        }
        return (byte) (out | sign);
    }

    /** The stored (kmean, meanScale) of a block: the smoothing mean it dequantizes with. */
    public double[] blockMean(int blk, int kvh) {
        double[] m = new double[d];
        double ms = f32(meanScaleOff(blk, kvh));
        for (int c = 0; c < d; c++) m[c] = ms * Half.halfToFloat(u16(kmeanOff(blk, kvh, c)));
        return m;
    }
}
