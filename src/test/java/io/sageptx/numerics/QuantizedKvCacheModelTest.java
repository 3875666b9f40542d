package io.sageptx.numerics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;

import org.junit.jupiter.api.Test;

import io.sageptx.spec.DType;

/**
 * The quantized KV cache model against FP64: caches built by a prefill and many one-token appends, by
 * appends only, by ragged chunks; GQA; fp16 and bf16; the accuracy bars of FP8 PV (cos &gt;= 0.999, rel L1
 * &lt;= 0.045); the need for the per-block q . mean term (docs/notes/decode.md); V scale growth; the
 * integer e4m3 encoder of the append kernel.
 */
class QuantizedKvCacheModelTest {

    /** A sequence's original K, V [Hkv][len][D] (rounded to the dtype), with a per-channel K bias and drift. */
    record Seq(float[] k, float[] v, int len) {
    }

    static Seq seq(long seed, int hkv, int len, int d, DType t, double bias, double vScale) {
        Random r = new Random(seed);
        float[] k = new float[hkv * len * d];
        float[] v = new float[k.length];
        for (int h = 0; h < hkv; h++) {
            double[] b = new double[d];
            double[] drift = new double[d];
            for (int c = 0; c < d; c++) {
                b[c] = bias * r.nextGaussian();
                drift[c] = 0.5 * r.nextGaussian() / len;
            }
            for (int j = 0; j < len; j++) {
                for (int c = 0; c < d; c++) {
                    int i = (h * len + j) * d + c;
                    k[i] = Half.round((float) (r.nextGaussian() + b[c] + drift[c] * j), t);
                    // V channels of very different magnitudes (per-channel scales matter)
                    v[i] = Half.round((float) (r.nextGaussian() * vScale * (1 + 4 * (c % 7))), t);
                }
            }
        }
        return new Seq(k, v, len);
    }

    /** Tokens [from, to) of a sequence as the [Hkv][cnt][D] arrays of one append. */
    static float[][] slice(Seq s, int hkv, int d, int from, int to) {
        int n = to - from;
        float[] k = new float[hkv * n * d];
        float[] v = new float[k.length];
        for (int h = 0; h < hkv; h++) {
            System.arraycopy(s.k, (h * s.len + from) * d, k, h * n * d, n * d);
            System.arraycopy(s.v, (h * s.len + from) * d, v, h * n * d, n * d);
        }
        return new float[][] {k, v};
    }

    /** Builds a cache of s by appends of the given sizes (a shuffled block table), then attends. */
    static ErrorStats[] buildAndAttend(Seq s, int hq, int hkv, int d, int bs, int[] chunks, int lq, DecodeReference.Mask mask,
                                       boolean dropMean) {
        int blocks = (s.len + bs - 1) / bs;
        QuantizedKvCacheModel m = new QuantizedKvCacheModel(blocks + 5, bs, hkv, d);
        int[] table = new int[blocks];
        for (int i = 0; i < blocks; i++) table[i] = (i * 7 + 3) % (blocks + 5);
        int pos = 0;
        int c = 0;
        while (pos < s.len) {
            int n = Math.min(chunks[Math.min(c++, chunks.length - 1)], s.len - pos);
            float[][] kv = slice(s, hkv, d, pos, pos + n);
            m.append(table, pos, n, kv[0], kv[1]);
            pos += n;
        }
        Random r = new Random(s.len);
        float[] q = new float[hq * lq * d];
        for (int i = 0; i < q.length; i++) q[i] = (float) r.nextGaussian();
        double scale = 1 / Math.sqrt(d);
        AttentionReference.Result ref = DecodeReference.compute(q, s.k, s.v, new int[] {s.len}, 1, hq, hkv, lq, s.len, d, scale,
                mask);
        AttentionReference.Result got;
        if (dropMean) {
            // the kernel without the per-block q . mean term: K = kscale * K8 only
            double[][] kv = m.dequantize(table, s.len);
            float[] k2 = new float[kv[0].length];
            float[] v2 = new float[kv[1].length];
            for (int h = 0; h < hkv; h++) {
                for (int p = 0; p < s.len; p++) {
                    double[] mean = m.blockMean(table[p / bs], h);
                    for (int x = 0; x < d; x++) {
                        int i = (h * s.len + p) * d + x;
                        k2[i] = (float) (kv[0][i] - mean[x]);
                        v2[i] = (float) kv[1][i];
                    }
                }
            }
            got = DecodeReference.compute(q, k2, v2, new int[] {s.len}, 1, hq, hkv, lq, s.len, d, scale, mask);
        } else {
            got = m.attend(q, hq, lq, table, s.len, scale, mask);
        }
        double lseErr = 0;
        for (int i = 0; i < ref.lse().length; i++) {
            if (Double.isFinite(ref.lse()[i])) lseErr = Math.max(lseErr, Math.abs(ref.lse()[i] - got.lse()[i]));
        }
        return new ErrorStats[] {ErrorStats.of(got.o(), ref.o()), new ErrorStats(lseErr, lseErr, lseErr, 0, 0)};
    }

    static void assertBars(String what, ErrorStats[] e) {
        System.out.println(what + ": " + e[0] + " lseErr=" + e[1].cosine());
        assertEquals(0, e[0].nonFinite(), what);
        assertTrue(e[0].cosine() >= 0.999, what + ": " + e[0]);
        assertTrue(e[0].relL1() <= 0.045, what + ": " + e[0]);
        assertTrue(e[1].cosine() <= 0.05, what + ": LSE " + e[1].cosine());
    }

    @Test
    void prefillThenManyOneTokenAppends() {
        for (int bs : new int[] {16, 64}) {
            Seq s = seq(1, 2, 1200, 128, DType.FP16, 3, 1);
            int[] chunks = new int[1 + 900];
            chunks[0] = 300;
            java.util.Arrays.fill(chunks, 1, chunks.length, 1);
            assertBars("prefill 300 + 900 appends, bs " + bs, buildAndAttend(s, 8, 2, 128, bs, chunks, 1,
                    DecodeReference.Mask.NONE, false));
        }
    }

    @Test
    void appendsOnlyFromAnEmptyCache() {
        Seq s = seq(2, 2, 1000, 64, DType.BF16, 3, 1);
        assertBars("1000 one-token appends, bs 16", buildAndAttend(s, 4, 2, 64, 16, new int[] {1}, 4,
                DecodeReference.Mask.BOTTOM_RIGHT, false));
    }

    @Test
    void raggedChunksAtUnalignedPositions() {
        Seq s = seq(3, 1, 900, 96, DType.FP16, 5, 0.01);
        assertBars("chunks 37, 5, 100, 1, 3, 64..., bs 32", buildAndAttend(s, 8, 1, 96, 32,
                new int[] {37, 5, 100, 1, 3, 64, 2, 7, 50}, 16, DecodeReference.Mask.BOTTOM_RIGHT, false));
    }

    @Test
    void largeValuesAndBf16() {
        Seq s = seq(4, 2, 700, 128, DType.BF16, 100, 300);
        assertBars("bias 100, V x300, bf16, bs 128", buildAndAttend(s, 2, 2, 128, 128, new int[] {129, 1, 1, 1, 200, 1},
                2, DecodeReference.Mask.NONE, false));
    }

    /**
     * Smoothing by a per-block mean changes each block's scores by its own q . mean_b: dropping that term
     * breaks the softmax across blocks (here: cache built by appends, blocks with different means).
     */
    @Test
    void thePerBlockMeanTermIsNeeded() {
        Seq s = seq(5, 1, 800, 64, DType.FP16, 3, 1);
        int[] chunks = {10, 40, 3, 100, 9, 200, 1, 1, 50, 300, 86};
        ErrorStats[] with = buildAndAttend(s, 4, 1, 64, 16, chunks, 1, DecodeReference.Mask.NONE, false);
        ErrorStats[] without = buildAndAttend(s, 4, 1, 64, 16, chunks, 1, DecodeReference.Mask.NONE, true);
        System.out.println("with the q . mean term: " + with[0] + "; without: " + without[0]);
        assertBars("with the term", with);
        assertTrue(without[0].relL1() > 3 * with[0].relL1() && without[0].cosine() < 0.995,
                "dropping the per-block q . mean term must break the result: " + without[0]);
    }

    /** One prefill opens every block with the same mean: dropping q . mean changes the LSE only (shift invariance). */
    @Test
    void oneSharedMeanCancelsInTheSoftmax() {
        Seq s = seq(6, 1, 512, 64, DType.FP16, 3, 1);
        ErrorStats[] with = buildAndAttend(s, 4, 1, 64, 16, new int[] {512}, 1, DecodeReference.Mask.NONE, false);
        ErrorStats[] without = buildAndAttend(s, 4, 1, 64, 16, new int[] {512}, 1, DecodeReference.Mask.NONE, true);
        assertEquals(with[0].relL1(), without[0].relL1(), 1e-6, "same O");
        assertTrue(without[1].cosine() > 0.5, "but the LSE misses q . mean: " + without[1].cosine());
    }

    @Test
    void vScalesGrowAndEarlierCodesAreRescaled() {
        int d = 32;
        int bs = 16;
        QuantizedKvCacheModel m = new QuantizedKvCacheModel(2, bs, 1, d);
        int[] table = {1};
        float[] k = new float[d];
        float[][] vs = new float[bs][d];
        Random r = new Random(9);
        for (int t = 0; t < bs; t++) {
            for (int c = 0; c < d; c++) {
                k[c] = (float) r.nextGaussian();
                vs[t][c] = Half.round((float) (r.nextGaussian() * Math.pow(2, t / 2.0)), DType.FP16); // growing
            }
            m.append(table, t, 1, k.clone(), vs[t].clone());
        }
        double[] v = m.dequantize(table, bs)[1];
        for (int t = 0; t < bs; t++) {
            for (int c = 0; c < d; c++) {
                double want = vs[t][c];
                double got = v[t * d + c];
                double scale = Math.pow(2, Math.ceil(Math.log(Math.abs(want) + 1e-30) / Math.log(2)));
                // e4m3: relative 2^-4 for normals; earlier tokens may fall below the normal range after rescaling
                double tol = Math.max(Math.abs(want) * 0x1p-4, Math.pow(2, bs / 2.0) * 4 / 448 * 0x1p-9 * 2);
                assertTrue(Math.abs(got - want) <= tol, "t " + t + " c " + c + ": " + got + " vs " + want + " (" + scale + ")");
            }
        }
    }

    @Test
    void integerE4m3EncoderEqualsTheReference() {
        Random r = new Random(11);
        for (int i = 0; i < 2_000_000; i++) {
            float x = switch (i % 4) {
                case 0 -> Float.intBitsToFloat(r.nextInt());
                case 1 -> (float) (r.nextGaussian() * 100);
                case 2 -> (float) (r.nextGaussian() * 0.01);
                default -> Fp8E4M3.decode((byte) r.nextInt()) * (1 + (r.nextInt(3) - 1) * 0x1p-4f); // near ties
            };
            byte want = Fp8E4M3.encode(x);
            byte got = QuantizedKvCacheModel.e4m3Int(x);
            if (Float.isNaN(x)) assertEquals(0x7F, got & 0x7F);
            else assertEquals(want, got, "x = " + x + " (0x" + Integer.toHexString(Float.floatToRawIntBits(x)) + ")");
        }
    }

    @Test
    void pow2Ceil() {
        assertEquals(1f, QuantizedKvCacheModel.pow2Ceil(1f));
        assertEquals(2f, QuantizedKvCacheModel.pow2Ceil(1.0001f));
        assertEquals(0.5f, QuantizedKvCacheModel.pow2Ceil(0.3f));
        assertEquals(0x1p-126f, QuantizedKvCacheModel.pow2Ceil(0x1p-140f));
        assertEquals(1f, QuantizedKvCacheModel.meanScale(0));
        assertEquals(QuantizedKvCacheModel.MIN_VSCALE, QuantizedKvCacheModel.vScale(0));
        assertEquals(1f, QuantizedKvCacheModel.vScale(448));
        assertEquals(2f, QuantizedKvCacheModel.vScale(449));
    }

    /** The one-token append's integer rescale equals decode * 2^-k then encode, for every code and shift. */
    @org.junit.jupiter.api.Test
    void e4m3ShiftIsTheModelsRescale() {
        for (int c = 0; c < 256; c++) {
            for (int k = 1; k <= 300; k++) {
                byte want = Fp8E4M3.encode(Fp8E4M3.decode((byte) c) * (float) Math.pow(2, -k));
                org.junit.jupiter.api.Assertions.assertEquals(want, QuantizedKvCacheModel.e4m3Shift((byte) c, k),
                        "code 0x" + Integer.toHexString(c) + " shift " + k);
            }
        }
    }
}
