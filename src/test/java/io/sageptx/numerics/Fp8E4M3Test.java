package io.sageptx.numerics;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class Fp8E4M3Test {

    private static int enc(float x) {
        return Fp8E4M3.encode(x) & 0xff;
    }

    @Test
    void knownCodes() {
        assertEquals(0f, Fp8E4M3.decode((byte) 0x00));
        assertEquals(Float.floatToRawIntBits(-0f), Float.floatToRawIntBits(Fp8E4M3.decode((byte) 0x80)));
        assertEquals(0x1p-9f, Fp8E4M3.decode((byte) 0x01));
        assertEquals(0x7p-9f, Fp8E4M3.decode((byte) 0x07));
        assertEquals(0x1p-6f, Fp8E4M3.decode((byte) 0x08));
        assertEquals(1f, Fp8E4M3.decode((byte) 0x38));
        assertEquals(1.125f, Fp8E4M3.decode((byte) 0x39));
        assertEquals(2.25f, Fp8E4M3.decode((byte) 0x41));
        assertEquals(256f, Fp8E4M3.decode((byte) 0x78));
        assertEquals(448f, Fp8E4M3.decode((byte) 0x7E));
        assertEquals(-448f, Fp8E4M3.decode((byte) 0xFE));
        assertTrue(Float.isNaN(Fp8E4M3.decode((byte) 0x7F)));
        assertTrue(Float.isNaN(Fp8E4M3.decode((byte) 0xFF)));
        assertTrue(Fp8E4M3.isNaN((byte) 0xFF));
        assertEquals(0x38, enc(1f));
        assertEquals(0xB8, enc(-1f));
        assertEquals(0x41, enc(2.25f));
        int nonNaN = 0;
        for (int c = 0; c < 256; c++) if (!Float.isNaN(Fp8E4M3.decode((byte) c))) nonNaN++;
        assertEquals(254, nonNaN);
    }

    @Test
    void everyCodeRoundTrips() {
        for (int c = 0; c < 256; c++) {
            float f = Fp8E4M3.decode((byte) c);
            if (Float.isNaN(f)) {
                assertTrue((c & 0x7F) == 0x7F);
                continue;
            }
            assertEquals(c, enc(f), "code 0x" + Integer.toHexString(c) + " = " + f);
            assertEquals(f, Fp8E4M3.round(f));
        }
    }

    @Test
    void tiesToEvenBetweenEveryPair() {
        for (int lo = 0; lo < 0x7E; lo++) {
            float a = Fp8E4M3.decode((byte) lo);
            float b = Fp8E4M3.decode((byte) (lo + 1));
            float mid = (a + b) / 2;
            int even = (lo & 1) == 0 ? lo : lo + 1;
            assertEquals(even, enc(mid), "tie above 0x" + Integer.toHexString(lo));
            assertEquals(even | 0x80, enc(-mid));
            assertEquals(lo, enc(Math.nextDown(mid)));
            assertEquals(lo + 1, enc(Math.nextUp(mid)));
        }
    }

    @Test
    void saturatesFiniteAndInfinite() {
        assertEquals(0x7E, enc(448f));
        assertEquals(0x7E, enc(449f));
        assertEquals(0x7E, enc(464f)); // would round to the NaN code without saturation
        assertEquals(0x7E, enc(480f));
        assertEquals(0x7E, enc(1e9f));
        assertEquals(0x7E, enc(Float.MAX_VALUE));
        assertEquals(0x7E, enc(Float.POSITIVE_INFINITY));
        assertEquals(0xFE, enc(-500f));
        assertEquals(0xFE, enc(Float.NEGATIVE_INFINITY));
        assertEquals(0x7F, enc(Float.NaN));
        assertEquals(0x7F, enc(Float.intBitsToFloat(0xFFC00000)));
        assertEquals(448f, Fp8E4M3.round(1000f));
        assertEquals(0x7D, enc(Math.nextDown(432f))); // 416 | 448 midpoint is 432: below goes to 416
        assertEquals(0x7E, enc(432f)); // tie: 0x7E (mantissa 110) is even
    }

    @Test
    void subnormals() {
        assertEquals(0x01, enc(0x1p-9f));
        assertEquals(0x00, enc(0x1p-10f)); // tie between 0 and 2^-9
        assertEquals(0x01, enc(Math.nextUp(0x1p-10f)));
        assertEquals(0x02, enc(0x3p-10f)); // tie between 1 and 2 units
        assertEquals(0x02, enc(0x5p-10f)); // tie between 2 and 3 units
        assertEquals(0x08, enc(0xfp-10f)); // tie between 7 units and 2^-6
        assertEquals(0x00, enc(Float.MIN_VALUE));
        assertEquals(0x80, enc(-Float.MIN_VALUE));
        assertEquals(0x80, enc(-0f));
        assertEquals(0x81, enc(-0x1p-9f));
    }

    @Test
    void matchesBruteForceNearest() {
        List<Float> values = new ArrayList<>();
        for (int c = 0; c <= 0x7E; c++) values.add(Fp8E4M3.decode((byte) c));
        Random r = new Random(7);
        for (int i = 0; i < 200_000; i++) {
            float x = (float) (r.nextGaussian() * Math.pow(2, r.nextInt(24) - 14));
            float a = Math.min(Math.abs(x), 448f);
            int best = 0;
            for (int c = 1; c < values.size(); c++) {
                double dc = Math.abs(values.get(c) - (double) a);
                double db = Math.abs(values.get(best) - (double) a);
                if (dc < db || (dc == db && (c & 1) == 0)) best = c;
            }
            int expected = best | (x < 0 || (x == 0 && 1 / x < 0) ? 0x80 : 0);
            assertEquals(expected, enc(x), "x = " + x);
        }
    }

    @Test
    void arrayHelpers() {
        float[] x = {0.3f, -7f, 600f, Float.NaN};
        byte[] codes = Fp8E4M3.encode(x);
        assertArrayEquals(new byte[] {Fp8E4M3.encode(0.3f), (byte) 0xCE, 0x7E, 0x7F}, codes);
        float[] back = Fp8E4M3.decode(codes);
        assertEquals(0.3125f, back[0]);
        assertEquals(-7f, back[1]);
        assertEquals(448f, back[2]);
        assertTrue(Float.isNaN(back[3]));
    }
}
