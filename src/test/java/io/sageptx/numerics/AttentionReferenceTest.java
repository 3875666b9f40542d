package io.sageptx.numerics;

import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class AttentionReferenceTest {

    private static float[] gaussian(Random r, int n) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) x[i] = (float) r.nextGaussian();
        return x;
    }

    @Test
    void singleKeyGivesItsValue() {
        Random r = new Random(3);
        int d = 8;
        float[] q = gaussian(r, 3 * d), k = gaussian(r, d), v = gaussian(r, d);
        AttentionReference.Result res = AttentionReference.compute(q, k, v, 1, 1, 1, 3, 1, d, 0.5, false);
        for (int i = 0; i < 3; i++) {
            double dot = 0;
            for (int c = 0; c < d; c++) {
                assertEquals(v[c], res.o()[i * d + c], 1e-12);
                dot += (double) q[i * d + c] * k[c];
            }
            assertEquals(0.5 * dot, res.lse()[i], 1e-12);
        }
    }

    @Test
    void zeroQueryAveragesValues() {
        Random r = new Random(4);
        int d = 4, lk = 5;
        float[] q = new float[2 * d], k = gaussian(r, lk * d), v = gaussian(r, lk * d);
        AttentionReference.Result res = AttentionReference.compute(q, k, v, 1, 1, 1, 2, lk, d, 1.0, false);
        for (int c = 0; c < d; c++) {
            double mean = 0;
            for (int j = 0; j < lk; j++) mean += v[j * d + c];
            assertEquals(mean / lk, res.o()[c], 1e-12);
        }
        assertEquals(Math.log(lk), res.lse()[1], 1e-12);
    }

    @Test
    void matchesNaiveFormulaWithCausalAndGqa() {
        Random r = new Random(5);
        int b = 2, hq = 4, hkv = 2, l = 9, d = 16;
        float[] q = gaussian(r, b * hq * l * d), k = gaussian(r, b * hkv * l * d), v = gaussian(r, b * hkv * l * d);
        double scale = AttentionReference.defaultScale(d);
        for (boolean causal : new boolean[] {false, true}) {
            AttentionReference.Result res = AttentionReference.compute(q, k, v, b, hq, hkv, l, l, d, scale, causal);
            for (int bb = 0; bb < b; bb++) {
                for (int h = 0; h < hq; h++) {
                    int hk = h / 2;
                    for (int i = 0; i < l; i++) {
                        double den = 0;
                        double[] num = new double[d];
                        for (int j = 0; j < l; j++) {
                            if (causal && j > i) continue;
                            double dot = 0;
                            for (int c = 0; c < d; c++) {
                                dot += (double) q[((bb * hq + h) * l + i) * d + c] * k[((bb * hkv + hk) * l + j) * d + c];
                            }
                            double e = Math.exp(scale * dot);
                            den += e;
                            for (int c = 0; c < d; c++) num[c] += e * v[((bb * hkv + hk) * l + j) * d + c];
                        }
                        for (int c = 0; c < d; c++) {
                            assertEquals(num[c] / den, res.o()[((bb * hq + h) * l + i) * d + c], 1e-12);
                        }
                        assertEquals(Math.log(den), res.lse()[(bb * hq + h) * l + i], 1e-12);
                    }
                }
            }
        }
    }

    @Test
    void stableForLargeLogits() {
        int d = 2;
        float[] q = {1000f, 0f}, k = {1000f, 0f, 999f, 0f}, v = {1f, 0f, 0f, 1f};
        AttentionReference.Result res = AttentionReference.compute(q, k, v, 1, 1, 1, 1, 2, d, 1.0, false);
        double p1 = 1 / (1 + Math.exp(-1000));
        assertEquals(p1, res.o()[0], 1e-12);
        assertEquals(1e6 + Math.log1p(Math.exp(-1000)), res.lse()[0], 1e-6);
    }

    @Test
    void rejectsBadShapes() {
        float[] x = new float[4 * 8];
        assertThrows(IllegalArgumentException.class,
                () -> AttentionReference.compute(new float[2 * 8], x, x, 1, 1, 1, 2, 4, 8, 1.0, true));
        assertThrows(IllegalArgumentException.class,
                () -> AttentionReference.compute(new float[3 * 4 * 8], x, x, 1, 3, 2, 4, 4, 8, 1.0, false));
        assertThrows(IllegalArgumentException.class,
                () -> AttentionReference.compute(new float[5], x, x, 1, 1, 1, 4, 4, 8, 1.0, false));
    }
}
