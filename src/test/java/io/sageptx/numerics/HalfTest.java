package io.sageptx.numerics;

import io.sageptx.spec.DType;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class HalfTest {

    private static int h(float x) {
        return Half.floatToHalf(x) & 0xffff;
    }

    private static int bf(float x) {
        return Half.floatToBf16(x) & 0xffff;
    }

    @Test
    void everyFp16PatternRoundTrips() {
        for (int bits = 0; bits < 0x10000; bits++) {
            float f = Half.halfToFloat((short) bits);
            int e = (bits >>> 10) & 0x1f;
            int m = bits & 0x3ff;
            if (e == 0x1f && m != 0) {
                assertTrue(Float.isNaN(f), Integer.toHexString(bits));
                assertTrue(Float.isNaN(Half.halfToFloat(Half.floatToHalf(f))), Integer.toHexString(bits));
            } else {
                assertEquals(bits, h(f), "fp16 0x" + Integer.toHexString(bits));
            }
        }
    }

    @Test
    void fp16KnownValues() {
        assertEquals(0x3C00, h(1f));
        assertEquals(0xBC00, h(-1f));
        assertEquals(0x4000, h(2f));
        assertEquals(0x3555, h(1f / 3));
        assertEquals(0x4248, h((float) Math.PI));
        assertEquals(0x7BFF, h(65504f));
        assertEquals(0x0400, h(0x1p-14f));
        assertEquals(0x0001, h(0x1p-24f));
        assertEquals(0x03FF, h(0x3ffp-24f));
        assertEquals(0x0000, h(0f));
        assertEquals(0x8000, h(-0f));
        assertEquals(1f, Half.halfToFloat((short) 0x3C00));
        assertEquals(65504f, Half.halfToFloat((short) 0x7BFF));
        assertEquals(0x1p-24f, Half.halfToFloat((short) 0x0001));
        assertEquals(-0x1p-24f, Half.halfToFloat((short) 0x8001));
        assertEquals(Float.floatToRawIntBits(-0f), Float.floatToRawIntBits(Half.halfToFloat((short) 0x8000)));
    }

    @Test
    void fp16OverflowInfNaN() {
        assertEquals(0x7C00, h(Float.POSITIVE_INFINITY));
        assertEquals(0xFC00, h(Float.NEGATIVE_INFINITY));
        assertEquals(0x7C00, h(65520f)); // tie between 65504 and 65536 (odd 0x7BFF): to "even" infinity
        assertEquals(0x7BFF, h(Math.nextDown(65520f)));
        assertEquals(0x7C00, h(1e6f));
        assertEquals(0xFC00, h(-1e6f));
        assertEquals(0x7C00, h(Float.MAX_VALUE));
        assertTrue(Float.isNaN(Half.halfToFloat(Half.floatToHalf(Float.NaN))));
        float negNaN = Float.intBitsToFloat(0xFFC00001);
        int n = h(negNaN);
        assertEquals(0xFC00, n & 0xFC00);
        assertTrue((n & 0x3FF) != 0);
        assertTrue(Float.isInfinite(Half.halfToFloat((short) 0x7C00)));
    }

    @Test
    void fp16Subnormals() {
        assertEquals(0x0000, h(0x1p-25f)); // tie between 0 and 2^-24: to even (0)
        assertEquals(0x0001, h(Math.nextUp(0x1p-25f)));
        assertEquals(0x0001, h(0x1.8p-25f));
        assertEquals(0x0002, h(0x3p-25f)); // tie between 1 and 2 units: to 2
        assertEquals(0x0002, h(0x5p-25f)); // tie between 2 and 3 units: to 2
        assertEquals(0x0000, h(Float.MIN_VALUE));
        assertEquals(0x8000, h(-Float.MIN_VALUE));
        assertEquals(0x0000, h(1e-30f));
        assertEquals(0x0400, h(0x7ffp-25f)); // tie between the largest subnormal and 2^-14: to 2^-14 (even)
        assertEquals(0x03FF, h(Math.nextDown(0x7ffp-25f)));
    }

    @Test
    void fp16TiesToEvenBetweenEveryPair() {
        for (int lo = 0; lo < 0x7BFF + 1; lo++) {
            float a = Half.halfToFloat((short) lo);
            float b = lo == 0x7BFF ? 65536f : Half.halfToFloat((short) (lo + 1));
            float mid = (a + b) / 2; // exact: fits in a float
            int even = (lo & 1) == 0 ? lo : lo + 1;
            assertEquals(even, h(mid), "tie above 0x" + Integer.toHexString(lo));
            assertEquals(even | 0x8000, h(-mid), "negative tie above 0x" + Integer.toHexString(lo));
            assertEquals(lo, h(Math.nextDown(mid)));
            assertEquals(lo + 1, h(Math.nextUp(mid)));
        }
    }

    @Test
    void fp16AgreesWithDoubleRoundingOnRandomFloats() {
        Random r = new Random(1);
        for (int i = 0; i < 2_000_000; i++) {
            float x = Float.intBitsToFloat(r.nextInt());
            if (Float.isNaN(x)) continue;
            float viaBits = Half.halfToFloat(Half.floatToHalf(x));
            double viaDouble = Half.roundToHalf(x);
            assertEquals(viaDouble, viaBits, 0.0, () -> "x = " + x);
        }
        for (int i = 0; i < 1_000_000; i++) {
            float x = (float) (r.nextGaussian() * Math.pow(2, r.nextInt(40) - 28));
            assertEquals(Half.roundToHalf(x), Half.halfToFloat(Half.floatToHalf(x)), 0.0, () -> "x = " + x);
        }
    }

    @Test
    void roundToHalfOfDouble() {
        assertEquals(1.0, Half.roundToHalf(1 + 0x1p-11)); // tie to even
        assertEquals(1 + 0x1p-10, Half.roundToHalf(1 + 0x1p-11 + 0x1p-40)); // no double rounding
        assertEquals(1 + 0x2p-10, Half.roundToHalf(1 + 0x3p-11));
        assertEquals(65504.0, Half.roundToHalf(65519.9));
        assertEquals(Double.POSITIVE_INFINITY, Half.roundToHalf(65520.0));
        assertEquals(Double.NEGATIVE_INFINITY, Half.roundToHalf(-1e10));
        assertEquals(0x1p-24, Half.roundToHalf(0x1.0000001p-25));
        assertEquals(0.0, Half.roundToHalf(0x1p-25));
        assertEquals(64512.0, Half.roundToHalf(64512.0));
    }

    @Test
    void everyBf16PatternRoundTrips() {
        for (int bits = 0; bits < 0x10000; bits++) {
            float f = Half.bf16ToFloat((short) bits);
            if (Float.isNaN(f)) {
                assertTrue(Float.isNaN(Half.bf16ToFloat(Half.floatToBf16(f))));
                assertEquals(bits & 0x8000, bf(f) & 0x8000, "NaN sign");
            } else {
                assertEquals(bits, bf(f), "bf16 0x" + Integer.toHexString(bits));
            }
        }
    }

    @Test
    void bf16KnownValuesTiesAndSpecials() {
        assertEquals(0x3F80, bf(1f));
        assertEquals(0xC000, bf(-2f));
        assertEquals(0x4049, bf((float) Math.PI));
        assertEquals(0x3F80, bf(1f + 0x1p-8f)); // tie to even
        assertEquals(0x3F82, bf(1f + 0x3p-8f)); // tie to even (up)
        assertEquals(0x3F81, bf(Math.nextUp(1f + 0x1p-8f)));
        assertEquals(0x7F80, bf(Float.POSITIVE_INFINITY));
        assertEquals(0xFF80, bf(Float.NEGATIVE_INFINITY));
        assertEquals(0x7F80, bf(Float.MAX_VALUE)); // rounds up past the largest bf16
        assertEquals(0x7F7F, bf(0x1.fep127f));
        assertEquals(0x0001, bf(Float.intBitsToFloat(0x00010000))); // subnormal kept
        assertEquals(0x0000, bf(Float.MIN_VALUE));
        float nan = Float.intBitsToFloat(0x7F800001); // signalling NaN with a low payload: must stay NaN
        assertTrue(Float.isNaN(Half.bf16ToFloat(Half.floatToBf16(nan))));
        assertTrue(Float.isNaN(Half.bf16ToFloat(Half.floatToBf16(Float.NaN))));
    }

    @Test
    void dtypeHelpers() {
        float[] x = {1f, 1f + 0x1p-11f, -3.3f, 70000f, 1e-8f, Float.NaN};
        short[] f16 = Half.encode(x, DType.FP16);
        short[] b16 = Half.encode(x, DType.BF16);
        for (int i = 0; i < x.length; i++) {
            assertEquals(Half.floatToHalf(x[i]), f16[i]);
            assertEquals(Half.floatToBf16(x[i]), b16[i]);
        }
        float[] back = Half.decode(f16, DType.FP16);
        assertArrayEquals(new float[] {1f, 1f, Half.halfToFloat((short) 0xC29A), Float.POSITIVE_INFINITY, 0f, Float.NaN},
                back);
        assertEquals(-3.30078125f, Half.round(-3.3f, DType.FP16));
        assertEquals(-3.296875f, Half.round(-3.3f, DType.BF16));
        assertEquals(70144f, Half.round(70000f, DType.BF16));
        assertEquals(Float.POSITIVE_INFINITY, Half.round(70000f, DType.FP16));
        float[] rounded = Half.round(x, DType.BF16);
        assertEquals(Half.bf16ToFloat(b16[2]), rounded[2]);
    }
}
