package io.sageptx.numerics;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ErrorStatsTest {

    @Test
    void identicalIsPerfect() {
        ErrorStats s = ErrorStats.of(new float[] {1f, -2f, 3f}, new double[] {1, -2, 3});
        assertEquals(1.0, s.cosine(), 1e-15);
        assertEquals(0.0, s.relL1());
        assertEquals(0.0, s.maxAbs());
        assertEquals(0, s.nonFinite());
        assertEquals(3, s.count());
        assertTrue(s.within(0.9999, 0.0));
    }

    @Test
    void knownValues() {
        ErrorStats s = ErrorStats.of(new double[] {1, 0}, new double[] {1, 1});
        assertEquals(1 / Math.sqrt(2), s.cosine(), 1e-15);
        assertEquals(0.5, s.relL1(), 1e-15);
        assertEquals(1.0, s.maxAbs());
        assertTrue(s.toString().contains("relL1=0.50000"), s.toString());
    }

    @Test
    void countsNonFinite() {
        ErrorStats s = ErrorStats.of(new float[] {Float.NaN, Float.POSITIVE_INFINITY, 1f}, new double[] {1, 1, 1});
        assertEquals(2, s.nonFinite());
        assertTrue(Double.isNaN(s.cosine()));
        assertFalse(s.within(0.0, 1e9));
    }

    @Test
    void allZero() {
        ErrorStats s = ErrorStats.of(new float[2], new double[2]);
        assertEquals(1.0, s.cosine());
        assertEquals(0.0, s.relL1());
    }
}
