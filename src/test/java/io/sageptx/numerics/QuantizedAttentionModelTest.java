package io.sageptx.numerics;

import io.sageptx.spec.Arch;
import io.sageptx.spec.DType;
import io.sageptx.spec.KernelSpec;
import io.sageptx.spec.PvVariant;
import io.sageptx.spec.QuantGranularity;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class QuantizedAttentionModelTest {

    /** Q, K, V of one test problem and their FP64 reference. */
    record Problem(int batch, int hq, int hkv, int lq, int lk, int d, boolean causal, DType dtype, float[] q, float[] k,
                   float[] v, double scale, AttentionReference.Result ref) {
    }

    private static final Map<String, Problem> CACHE = new ConcurrentHashMap<>();

    /**
     * Q, V ~ N(0,1); K ~ N(0,1) + a per-channel bias 3*N(0,1) shared by all tokens of a (batch, kv head); all
     * values rounded to the dtype. Seeded, cached per shape.
     */
    static Problem problem(int batch, int hq, int hkv, int n, int d, boolean causal, DType dtype) {
        String key = batch + "/" + hq + "/" + hkv + "/" + n + "/" + d + "/" + causal + "/" + dtype;
        return CACHE.computeIfAbsent(key, kk -> {
            Random r = new Random(1234L + 31L * n + d + (causal ? 7 : 0) + 13L * dtype.ordinal() + 101L * hq);
            float[] q = new float[batch * hq * n * d];
            float[] k = new float[batch * hkv * n * d];
            float[] v = new float[batch * hkv * n * d];
            for (int i = 0; i < q.length; i++) q[i] = Half.round((float) r.nextGaussian(), dtype);
            for (int bh = 0; bh < batch * hkv; bh++) {
                float[] bias = new float[d];
                for (int c = 0; c < d; c++) bias[c] = (float) (3 * r.nextGaussian());
                for (int j = 0; j < n; j++) {
                    for (int c = 0; c < d; c++) {
                        int idx = (bh * n + j) * d + c;
                        k[idx] = Half.round((float) r.nextGaussian() + bias[c], dtype);
                        v[idx] = Half.round((float) r.nextGaussian(), dtype);
                    }
                }
            }
            double scale = AttentionReference.defaultScale(d);
            AttentionReference.Result ref = AttentionReference.compute(q, k, v, batch, hq, hkv, n, n, d, scale, causal);
            return new Problem(batch, hq, hkv, n, n, d, causal, dtype, q, k, v, scale, ref);
        });
    }

    static QuantizedAttentionModel.Result run(KernelSpec spec, Problem p) {
        return QuantizedAttentionModel.run(spec, p.q(), p.k(), p.v(), p.batch(), p.hq(), p.hkv(), p.lq(), p.lk(),
                p.scale());
    }

    /** Checks the accuracy bounds of the task and returns the stats. */
    static ErrorStats check(KernelSpec spec, Problem p) {
        QuantizedAttentionModel.Result res = run(spec, p);
        ErrorStats st = ErrorStats.of(res.o(), p.ref().o());
        // LSE: rows that see many keys average the INT8 logit errors out (within 2e-2); a row that sees only a
        // few keys (the first rows of a causal problem) inherits the INT8 error of single logits, a few 1e-2.
        double lseErr = 0, lseErrAll = 0, lseSum = 0;
        for (int i = 0; i < res.lse().length; i++) {
            assertTrue(Float.isFinite(res.lse()[i]), "LSE not finite at " + i);
            double e = Math.abs(res.lse()[i] - p.ref().lse()[i]);
            int keys = p.causal() ? i % p.lq() + 1 : p.lk();
            if (keys >= Math.min(64, p.lk())) lseErr = Math.max(lseErr, e);
            lseErrAll = Math.max(lseErrAll, e);
            lseSum += e;
        }
        double lseMean = lseSum / res.lse().length;
        String what = spec + " N=" + p.lq() + " B=" + p.batch() + " Hq=" + p.hq() + " Hkv=" + p.hkv() + ": " + st
                + String.format(" lseErr(max >=64 keys %.2e, max all %.2e, mean %.2e)", lseErr, lseErrAll, lseMean) + " maxF16Partial=" + res.maxAbsF16Partial();
        System.out.println("[model] " + what);
        assertEquals(0, st.nonFinite(), what);
        if (spec.pv().isFp8()) {
            assertTrue(st.cosine() >= 0.999, what);
            assertTrue(st.relL1() <= 0.045, what);
        } else {
            assertTrue(st.relL1() <= 0.015, what);
            assertTrue(st.cosine() >= 0.9999, what);
        }
        assertTrue(lseErr <= 2e-2, what);
        assertTrue(lseErrAll <= 6e-2, what);
        assertTrue(lseMean <= 1e-2, what);
        assertEquals(0, res.f16PartialOverflows(), what);
        assertTrue(res.maxAbsF16Partial() < Half.FP16_MAX, what);
        if (spec.pv() != PvVariant.FP8_F16ACC) assertEquals(0.0, res.maxAbsF16Partial(), what);
        return st;
    }

    static Stream<Arguments> fp16Cases() {
        Stream.Builder<Arguments> b = Stream.builder();
        for (int n : List.of(1, 17, 300, 1024)) {
            for (int d : List.of(64, 128)) {
                for (boolean causal : List.of(false, true)) {
                    for (PvVariant pv : PvVariant.values()) b.add(Arguments.of(pv, d, causal, n));
                }
            }
        }
        return b.build();
    }

    @ParameterizedTest(name = "{0} d={1} causal={2} N={3}")
    @MethodSource("fp16Cases")
    void fp16AccuracyAgainstFp64(PvVariant pv, int d, boolean causal, int n) {
        KernelSpec spec = KernelSpec.defaults(Arch.SM89, d, causal, DType.FP16, DType.FP16).toBuilder().pv(pv).build();
        check(spec, problem(1, 2, 2, n, d, causal, DType.FP16));
    }

    /**
     * 128-key blocks of the sm_90 default (FP16 partials over four chained k32 steps, V scaled to vMax(128) = 1.125):
     * the partials stay below the FP16 maximum and the accuracy is that of 64-key blocks.
     */
    @ParameterizedTest(name = "k128 d={0} causal={1} N={2}")
    @MethodSource("k128Cases")
    void k128AccuracyAgainstFp64(int d, boolean causal, int n) {
        KernelSpec spec = KernelSpec.defaults(Arch.SM90, d, causal, DType.FP16, DType.FP16).toBuilder()
                .mma(io.sageptx.spec.MmaKind.WGMMA).pv(PvVariant.FP8_F16ACC).tiles(64, 4).blockK(128).build();
        check(spec, problem(1, 2, 2, n, d, causal, DType.FP16));
    }

    static Stream<Arguments> k128Cases() {
        Stream.Builder<Arguments> b = Stream.builder();
        for (int n : List.of(1, 129, 1024)) {
            for (int d : List.of(64, 96, 128)) {
                for (boolean causal : List.of(false, true)) b.add(Arguments.of(d, causal, n));
            }
        }
        return b.build();
    }

    @ParameterizedTest(name = "bf16 {0} causal={1}")
    @MethodSource("bf16Cases")
    void bf16AccuracyAgainstFp64(PvVariant pv, boolean causal) {
        KernelSpec spec = KernelSpec.defaults(Arch.SM89, 128, causal, DType.BF16, DType.BF16).toBuilder().pv(pv).build();
        check(spec, problem(1, 2, 2, 300, 128, causal, DType.BF16));
    }

    static Stream<Arguments> bf16Cases() {
        return Stream.of(PvVariant.values()).flatMap(p -> Stream.of(Arguments.of(p, false), Arguments.of(p, true)));
    }

    @Test
    void gqaAndBatch() {
        for (PvVariant pv : PvVariant.values()) {
            KernelSpec spec = KernelSpec.defaults(Arch.SM89, 64, false, DType.FP16, DType.FP16).toBuilder().pv(pv).build();
            check(spec, problem(2, 4, 2, 200, 64, false, DType.FP16));
            check(spec, problem(1, 4, 1, 130, 64, false, DType.FP16)); // MQA
        }
    }

    @Test
    void coarserGranularitiesAndTiles() {
        Problem p = problem(1, 2, 2, 300, 64, true, DType.FP16);
        for (QuantGranularity g : QuantGranularity.values()) {
            for (int[] tiles : new int[][] {{128, 4}, {64, 4}, {256, 8}}) {
                KernelSpec spec = KernelSpec.defaults(Arch.SM89, 64, true, DType.FP16, DType.FP16)
                        .toBuilder().quant(g).tiles(tiles[0], tiles[1]).build();
                check(spec, p);
            }
        }
    }

    @Test
    void sm80Fp16PvAndFp16InBf16Out() {
        Problem p = problem(1, 2, 2, 300, 128, false, DType.FP16);
        check(KernelSpec.defaults(Arch.SM80, 128, false, DType.FP16, DType.FP16), p);
        check(KernelSpec.defaults(Arch.SM89, 128, false, DType.FP16, DType.BF16), p);
    }

    @Test
    void lseIsExactLogSumExpOfDequantizedLogits() {
        // Rebuilds the INT8 logits from the public quantization steps and checks that the model's online
        // softmax (shifted base-2 max, rescaling across blocks, masking, smoothing correction) reproduces
        // their exact log-sum-exp.
        for (boolean causal : List.of(false, true)) {
            Problem p = problem(1, 2, 2, 300, 64, causal, DType.FP16);
            int d = p.d(), n = p.lq();
            KernelSpec spec = KernelSpec.defaults(Arch.SM89, d, causal, DType.FP16, DType.FP16);
            float[] km = QuantizedAttentionModel.kMean(p.k(), 1, 2, n, d);
            float[] ks = QuantizedAttentionModel.subtractKMean(p.k(), km, 1, 2, n, d);
            QuantizedAttentionModel.Int8Tensor qi = QuantizedAttentionModel.quantizeQ(spec, p.q(), 1, 2, n);
            QuantizedAttentionModel.Int8Tensor ki = QuantizedAttentionModel.quantizeK(spec, ks, 1, 2, n);
            int qTiles = (n + spec.qScaleTileRows() - 1) / spec.qScaleTileRows();
            int kBlocks = (n + 63) / 64;
            QuantizedAttentionModel.Result res = run(spec, p);
            for (int h = 0; h < 2; h++) {
                for (int i = 0; i < n; i++) {
                    int t = i / spec.qScaleTileRows();
                    double qs = qi.scales()[(h * qTiles + t) * 8 + (i % spec.qScaleTileRows()) % 8];
                    int keys = causal ? i + 1 : n;
                    double[] s = new double[keys];
                    double max = Double.NEGATIVE_INFINITY;
                    for (int j = 0; j < keys; j++) {
                        long dot = 0;
                        for (int c = 0; c < d; c++) {
                            dot += qi.values()[(h * n + i) * d + c] * ki.values()[(h * n + j) * d + c];
                        }
                        double kscale = ki.scales()[(h * kBlocks + j / 64) * 4 + (j % 8) / 2];
                        s[j] = dot * qs * kscale * p.scale();
                        max = Math.max(max, s[j]);
                    }
                    double sum = 0;
                    for (int j = 0; j < keys; j++) sum += Math.exp(s[j] - max);
                    double qkm = 0;
                    for (int c = 0; c < d; c++) qkm += (double) p.q()[(h * n + i) * d + c] * km[h * d + c];
                    double expected = max + Math.log(sum) + p.scale() * qkm;
                    assertEquals(expected, res.lse()[h * n + i], 1e-4, "causal=" + causal + " h=" + h + " i=" + i);
                }
            }
        }
    }

    @Test
    void worstCaseFp16PartialStaysFinite() {
        // Q = 0: every logit ties, so every P is 448; V is +-3 (even channels) or -+0.5 (odd) for the first
        // and the second half of the tokens: zero means, so every V8 is +-vMax = 2.25 and each 64-key block
        // has one sign. Each FP16 partial reaches the bound 64 * 448 * 2.25 = 64512 exactly, below 65504.
        int n = 256, d = 64;
        float[] q = new float[n * d];
        float[] k = new float[n * d];
        float[] v = new float[n * d];
        Random r = new Random(9);
        for (int i = 0; i < k.length; i++) k[i] = Half.round((float) r.nextGaussian(), DType.FP16);
        for (int j = 0; j < n; j++) {
            for (int c = 0; c < d; c++) v[j * d + c] = ((c % 2 == 0) ? 3f : -0.5f) * (j < n / 2 ? 1 : -1);
        }
        KernelSpec spec = KernelSpec.defaults(Arch.SM89, d, false, DType.FP16, DType.FP16);
        assertEquals(PvVariant.FP8_F16ACC, spec.pv());
        QuantizedAttentionModel.Result res = QuantizedAttentionModel.run(spec, q, k, v, 1, 1, 1, n, n, 0.125);
        assertEquals(64512.0, res.maxAbsF16Partial());
        assertEquals(0, res.f16PartialOverflows());
        for (int c = 0; c < d; c++) assertEquals(0f, res.o()[c], 1e-3f);
        for (int i = 0; i < n; i++) assertEquals(Math.log(n), res.lse()[i], 1e-5);
    }

    @Test
    void singleTokenIsExact() {
        Problem p = problem(1, 2, 2, 1, 64, false, DType.FP16);
        for (PvVariant pv : PvVariant.values()) {
            KernelSpec spec = KernelSpec.defaults(Arch.SM89, 64, false, DType.FP16, DType.FP16).toBuilder().pv(pv).build();
            QuantizedAttentionModel.Result res = run(spec, p);
            for (int i = 0; i < res.o().length; i++) assertEquals(p.v()[i], res.o()[i], 0f, pv + " at " + i);
        }
    }

    @Test
    void quantizationGroups() {
        // 4 warps of 32 rows: Q scale tiles of 32 rows, 8 groups each
        KernelSpec spec = KernelSpec.defaults(Arch.SM89, 64, false, DType.FP16, DType.FP16).toBuilder().tiles(128, 4).build();
        int lq = 40, d = 64;
        float[] q = new float[lq * d];
        Arrays.fill(q, 0.5f);
        q[9 * d + 3] = -12.7f; // row 9: tile 0, group 1
        q[33 * d] = 2.54f;     // row 33: tile 1 (rows 32..39 present, rest padding), group 1
        QuantizedAttentionModel.Int8Tensor qi = QuantizedAttentionModel.quantizeQ(spec, q, 1, 1, lq);
        assertEquals(2 * 8, qi.scales().length);
        assertEquals(12.7f / 127f, qi.scales()[1], 1e-9f);
        assertEquals(0.5f / 127f, qi.scales()[0], 1e-9f);
        assertEquals(0.5f / 127f, qi.scales()[8], 0f);
        assertEquals(2.54f / 127f, qi.scales()[8 + 1], 1e-9f);
        assertEquals(-127, qi.values()[9 * d + 3]);
        assertEquals(5, qi.values()[9 * d]); // 0.5 / 0.1 = 5
        assertEquals(127, qi.values()[0]);

        int lk = 70;
        float[] k = new float[lk * d];
        Arrays.fill(k, 1f);
        k[10 * d] = 4f;   // key 10 of block 0: group (10 % 8) / 2 = 1
        k[67 * d] = -8f;  // key 3 of block 1: group 1
        QuantizedAttentionModel.Int8Tensor ki = QuantizedAttentionModel.quantizeK(spec, k, 1, 1, lk);
        assertEquals(2 * 4, ki.scales().length);
        assertArrayEquals(new float[] {1 / 127f, 4 / 127f, 1 / 127f, 1 / 127f, 1 / 127f, 8 / 127f, 1 / 127f, 0},
                new float[] {ki.scales()[0], ki.scales()[1], ki.scales()[2], ki.scales()[3], ki.scales()[4],
                        ki.scales()[5], ki.scales()[6], 0}, 1e-9f);
        assertEquals(1e-6f / 127f, ki.scales()[7], 0f); // group 3 of block 1 (keys 70.. are padding): empty
        KernelSpec warp = spec.toBuilder().quant(QuantGranularity.PER_WARP).build();
        QuantizedAttentionModel.Int8Tensor kw = QuantizedAttentionModel.quantizeK(warp, k, 1, 1, lk);
        assertArrayEquals(new float[] {4 / 127f, 8 / 127f}, kw.scales(), 1e-9f);
        assertEquals(32, kw.values()[11 * d]); // 1 / (4/127) = 31.75 -> 32
    }

    @Test
    void smoothingAndVScales() {
        int lk = 3, d = 64;
        float[] k = new float[lk * d];
        float[] v = new float[lk * d];
        for (int j = 0; j < lk; j++) {
            for (int c = 0; c < d; c++) {
                k[j * d + c] = j + c;
                v[j * d + c] = (j == 1 ? -1 : 1) * (c + 1);
            }
        }
        float[] km = QuantizedAttentionModel.kMean(k, 1, 1, lk, d);
        for (int c = 0; c < d; c++) assertEquals(1 + c, km[c], 1e-5f);
        float[] ks = QuantizedAttentionModel.subtractKMean(k, km, 1, 1, lk, d);
        assertEquals(-1f, ks[0], 1e-5f);
        KernelSpec spec = KernelSpec.defaults(Arch.SM89, d, false, DType.FP16, DType.FP16);
        // channel 4 holds 5, -5, 5: mean 5/3, largest distance from it 20/3
        float[] mu = QuantizedAttentionModel.vMeans(spec, v, 1, 1, lk);
        assertEquals(5f / 3f, mu[4], 1e-6f);
        float[] vs = QuantizedAttentionModel.vScales(spec, v, 1, 1, lk);
        assertEquals((20f / 3f) / 2.25f, vs[4], 1e-5f);
        float[] vs32 = QuantizedAttentionModel.vScales(spec.toBuilder().pv(PvVariant.FP8_F32ACC).build(), v, 1, 1, lk);
        assertEquals((20f / 3f) / 448f, vs32[4], 1e-8f);
        float[] vs16 = QuantizedAttentionModel.vScales(spec.toBuilder().pv(PvVariant.FP16).build(), v, 1, 1, lk);
        assertEquals(1f, vs16[4]);
        assertEquals(0f, QuantizedAttentionModel.vMeans(spec.toBuilder().pv(PvVariant.FP16).build(), v, 1, 1, lk)[4]);
        byte[] v8 = QuantizedAttentionModel.quantizeVCodes(v, mu, vs, 1, 1, lk, d);
        assertEquals(0x39, v8[4] & 0xff); // (5 - 5/3) / vs = 1.125
        assertEquals(0xC1, v8[d + 4] & 0xff); // (-5 - 5/3) / vs = -2.25
    }

    @Test
    void causalNeedsEqualLengths() {
        KernelSpec spec = KernelSpec.defaults(Arch.SM89, 64, true, DType.FP16, DType.FP16);
        assertThrows(IllegalArgumentException.class, () -> QuantizedAttentionModel.run(spec, new float[2 * 64],
                new float[3 * 64], new float[3 * 64], 1, 1, 1, 2, 3, 0.125));
    }

    @Test
    void differentLengthsNonCausal() {
        int lq = 70, lk = 333, d = 128;
        Random r = new Random(11);
        float[] q = new float[lq * d], k = new float[lk * d], v = new float[lk * d];
        for (int i = 0; i < q.length; i++) q[i] = Half.round((float) r.nextGaussian(), DType.FP16);
        for (int i = 0; i < k.length; i++) {
            k[i] = Half.round((float) r.nextGaussian() + (i % d == 5 ? 6f : 0f), DType.FP16);
            v[i] = Half.round((float) r.nextGaussian(), DType.FP16);
        }
        double scale = AttentionReference.defaultScale(d);
        AttentionReference.Result ref = AttentionReference.compute(q, k, v, 1, 1, 1, lq, lk, d, scale, false);
        for (PvVariant pv : PvVariant.values()) {
            KernelSpec spec = KernelSpec.defaults(Arch.SM89, d, false, DType.FP16, DType.FP16).toBuilder().pv(pv).build();
            QuantizedAttentionModel.Result res = QuantizedAttentionModel.run(spec, q, k, v, 1, 1, 1, lq, lk, scale);
            ErrorStats st = ErrorStats.of(res.o(), ref.o());
            assertTrue(st.within(pv.isFp8() ? 0.999 : 0.9999, pv.isFp8() ? 0.045 : 0.015), pv + ": " + st);
            for (int i = 0; i < lq; i++) assertEquals(ref.lse()[i], res.lse()[i], 2e-2);
        }
    }
}
