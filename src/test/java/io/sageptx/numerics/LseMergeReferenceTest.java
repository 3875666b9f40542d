package io.sageptx.numerics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.Random;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.Test;

/**
 * The arithmetic of the LSE merge, in FP64: attention over disjoint key ranges, merged by LSE, equals
 * attention over all keys; -inf parts (no visible key) are ignored whatever their O holds; a row with
 * no visible key at all is O = 0, LSE = -inf.
 */
class LseMergeReferenceTest {

    /** FP64 attention over keys [from, to) of K and V ([B][Hkv][Lk][D]). */
    private static AttentionReference.Result range(float[] q, float[] k, float[] v, int b, int h, int hkv, int lq, int lk,
                                                   int d, int from, int to, double scale) {
        int n = to - from;
        float[] ks = new float[b * hkv * n * d];
        float[] vs = new float[ks.length];
        for (int bh = 0; bh < b * hkv; bh++) {
            System.arraycopy(k, (bh * lk + from) * d, ks, bh * n * d, n * d);
            System.arraycopy(v, (bh * lk + from) * d, vs, bh * n * d, n * d);
        }
        return AttentionReference.compute(q, ks, vs, b, h, hkv, lq, n, d, scale, false);
    }

    private static float[] gauss(Random r, int n, double bias) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) a[i] = (float) (r.nextGaussian() + bias);
        return a;
    }

    @ParameterizedTest(name = "B={0} H={1} Hkv={2} Lq={3} Lk={4} D={5} cuts={6}")
    @CsvSource({
            "1, 2, 2, 17, 300, 64, 150",
            "2, 4, 1, 33, 129, 32, 1;64;65",
            "1, 8, 2, 5, 1000, 128, 10;500;990",
            "1, 1, 1, 64, 64, 16, 1;2;3;4;5;6;7;8;9;10;11;12;13;14;15;16;17;18;19;20;21;22;23;24;25;26;27;28;29;30;31;32;33;34;35",
    })
    void mergedRangesEqualOnePassOverAllKeys(int b, int h, int hkv, int lq, int lk, int d, String cuts) {
        Random r = new Random(lq * 31L + lk);
        float[] q = gauss(r, b * h * lq * d, 0);
        float[] k = gauss(r, b * hkv * lk * d, 2);
        float[] v = gauss(r, b * hkv * lk * d, 0);
        double scale = 1 / Math.sqrt(d);
        int[] c = Arrays.stream(cuts.split(";")).mapToInt(Integer::parseInt).toArray();
        int parts = c.length + 1;
        double[][] o = new double[parts][];
        double[][] lse = new double[parts][];
        for (int p = 0; p < parts; p++) {
            int from = p == 0 ? 0 : c[p - 1];
            int to = p == parts - 1 ? lk : c[p];
            AttentionReference.Result x = range(q, k, v, b, h, hkv, lq, lk, d, from, to, scale);
            o[p] = x.o();
            lse[p] = x.lse();
        }
        LseMergeReference.Result m = LseMergeReference.merge(o, lse, b * h * lq, d);
        AttentionReference.Result all = AttentionReference.compute(q, k, v, b, h, hkv, lq, lk, d, scale, false);
        for (int i = 0; i < all.o().length; i++) assertEquals(all.o()[i], m.o()[i], 1e-12, "O[" + i + "]");
        for (int i = 0; i < all.lse().length; i++) assertEquals(all.lse()[i], m.lse()[i], 1e-12, "LSE[" + i + "]");
    }

    @Test
    void partsWithNoVisibleKeyAreIgnoredWhateverTheirOutputHolds() {
        double[][] o = {{1, 2, 3, 4}, {Double.NaN, Double.NaN, Double.POSITIVE_INFINITY, -7}};
        double[][] lse = {{0.5, Double.NEGATIVE_INFINITY}, {Double.NEGATIVE_INFINITY, 2.0}};
        LseMergeReference.Result m = LseMergeReference.merge(o, lse, 2, 2);
        assertEquals(1, m.o()[0]);
        assertEquals(2, m.o()[1]);
        assertEquals(Double.POSITIVE_INFINITY, m.o()[2]); // row 1 takes part 1 only
        assertEquals(-7, m.o()[3]);
        assertEquals(0.5, m.lse()[0]);
        assertEquals(2.0, m.lse()[1]);
    }

    @Test
    void rowsWithNoVisibleKeyAnywhereAreZeroWithMinusInfinityLse() {
        double[][] o = {{Double.NaN, 5}, {7, Double.NaN}, {1, 1}};
        double ninf = Double.NEGATIVE_INFINITY;
        double[][] lse = {{ninf}, {ninf}, {ninf}};
        LseMergeReference.Result m = LseMergeReference.merge(o, lse, 1, 2);
        assertEquals(0.0, m.o()[0]);
        assertEquals(0.0, m.o()[1]);
        assertEquals(ninf, m.lse()[0]);
    }

    @Test
    void equalLsesAverageAndLseGrowsByLnOfTheCount() {
        double[][] o = {{1}, {3}, {5}, {7}};
        double[][] lse = {{10}, {10}, {10}, {10}};
        LseMergeReference.Result m = LseMergeReference.merge(o, lse, 1, 1);
        assertEquals(4.0, m.o()[0], 1e-15);
        assertEquals(10 + Math.log(4), m.lse()[0], 1e-15);
    }

    @Test
    void largeLseGapsDoNotOverflow() {
        double[][] o = {{1}, {2}};
        double[][] lse = {{1e4}, {1e4 - 800}};
        LseMergeReference.Result m = LseMergeReference.merge(o, lse, 1, 1);
        assertEquals(1.0, m.o()[0], 1e-300);
        assertTrue(Double.isFinite(m.lse()[0]));
    }

    @Test
    void refusesMismatchedParts() {
        assertThrows(IllegalArgumentException.class, () -> LseMergeReference.merge(new double[2][], new double[1][], 1, 1));
        assertThrows(IllegalArgumentException.class, () -> LseMergeReference.merge(new double[0][], new double[0][], 1, 1));
    }
}
