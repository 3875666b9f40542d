package io.sageptx.numerics;

import io.sageptx.spec.DType;

import java.util.Objects;

/**
 * Conversions between {@code float} and the two 16-bit floating-point formats the kernels read and
 * write: IEEE 754 binary16 ("fp16": 1 sign, 5 exponent, 10 mantissa bits) and bfloat16 ("bf16": the
 * upper 16 bits of a float). Every float to 16-bit conversion rounds to nearest, ties to even, like
 * {@code cvt.rn.f16.f32} and {@code cvt.rn.bf16.f32}. The 16-bit values are carried as {@code short}
 * bit patterns.
 */
public final class Half {

    /** Largest finite fp16 value. */
    public static final float FP16_MAX = 65504f;
    /** Smallest positive (subnormal) fp16 value, 2^-24. */
    public static final float FP16_MIN_SUBNORMAL = 0x1p-24f;
    /** Smallest positive normal fp16 value, 2^-14. */
    public static final float FP16_MIN_NORMAL = 0x1p-14f;

    private Half() {
    }

    // ---------------------------------------------------------------- fp16

    /** fp16 bits of {@code x}, rounded to nearest even; overflow gives infinity, NaN stays NaN (quiet). */
    public static short floatToHalf(float x) {
        int f = Float.floatToRawIntBits(x);
        int sign = (f >>> 16) & 0x8000;
        int exp = (f >>> 23) & 0xff;
        int mant = f & 0x7fffff;
        if (exp == 0xff) {
            if (mant == 0) return (short) (sign | 0x7c00);
            return (short) (sign | 0x7e00 | (mant >>> 13)); // quiet NaN, top payload bits kept
        }
        int e = exp - 127 + 15; // fp16 biased exponent
        if (e >= 0x1f) return (short) (sign | 0x7c00);
        if (e <= 0) {
            // fp16 subnormal (or zero): value / 2^-24 = (1.mant) * 2^(e + 9) = mant24 >> (14 - e)
            if (e < -10) return (short) sign; // below 2^-25: rounds to zero (2^-25 itself is a tie, to 0)
            int m24 = mant | 0x800000;
            int shift = 14 - e; // 14 .. 24
            int h = m24 >>> shift;
            int rem = m24 & ((1 << shift) - 1);
            int halfway = 1 << (shift - 1);
            if (rem > halfway || (rem == halfway && (h & 1) != 0)) h++; // a carry gives the min normal
            return (short) (sign | h);
        }
        int h = (e << 10) | (mant >>> 13);
        int rem = mant & 0x1fff;
        if (rem > 0x1000 || (rem == 0x1000 && (h & 1) != 0)) h++; // a carry may reach infinity: correct
        return (short) (sign | h);
    }

    /** The float value of fp16 bits (exact). */
    public static float halfToFloat(short bits) {
        int h = bits & 0xffff;
        int sign = (h & 0x8000) << 16;
        int e = (h >>> 10) & 0x1f;
        int m = h & 0x3ff;
        if (e == 0x1f) return Float.intBitsToFloat(sign | 0x7f800000 | (m << 13));
        if (e == 0) {
            float v = m * 0x1p-24f; // exact
            return sign != 0 ? -v : v;
        }
        return Float.intBitsToFloat(sign | ((e - 15 + 127) << 23) | (m << 13));
    }

    /**
     * {@code x} rounded to the nearest fp16 value (ties to even), returned as a double: a single
     * correctly rounded step from double, with no intermediate float rounding. Overflow gives
     * infinity, NaN stays NaN. Used to model FP16 mma accumulators.
     */
    public static double roundToHalf(double x) {
        if (Double.isNaN(x) || Double.isInfinite(x) || x == 0) return x;
        int e = Math.getExponent(x);
        int unitExp = Math.max(e, -14) - 10; // spacing of fp16 values near x
        double r = Math.scalb(Math.rint(Math.scalb(x, -unitExp)), unitExp);
        if (Math.abs(r) > FP16_MAX) return r > 0 ? Double.POSITIVE_INFINITY : Double.NEGATIVE_INFINITY;
        return r;
    }

    // ---------------------------------------------------------------- bf16

    /** bf16 bits of {@code x}, rounded to nearest even; overflow gives infinity, NaN stays NaN (quiet). */
    public static short floatToBf16(float x) {
        int f = Float.floatToRawIntBits(x);
        if ((f & 0x7fffffff) > 0x7f800000) {
            return (short) ((f >>> 16) | 0x0040); // quiet NaN, sign and top payload bits kept
        }
        int lsb = (f >>> 16) & 1;
        return (short) ((f + 0x7fff + lsb) >>> 16);
    }

    /** The float value of bf16 bits (exact). */
    public static float bf16ToFloat(short bits) {
        return Float.intBitsToFloat((bits & 0xffff) << 16);
    }

    // ---------------------------------------------------------------- by dtype

    /** 16-bit pattern of {@code x} in dtype {@code t}. */
    public static short encode(float x, DType t) {
        return t == DType.BF16 ? floatToBf16(x) : floatToHalf(x);
    }

    /** Float value of the 16-bit pattern {@code bits} of dtype {@code t}. */
    public static float decode(short bits, DType t) {
        return t == DType.BF16 ? bf16ToFloat(bits) : halfToFloat(bits);
    }

    /** Element-wise {@link #encode(float, DType)}. */
    public static short[] encode(float[] x, DType t) {
        Objects.requireNonNull(t, "dtype");
        short[] out = new short[x.length];
        for (int i = 0; i < x.length; i++) out[i] = encode(x[i], t);
        return out;
    }

    /** Element-wise {@link #decode(short, DType)}. */
    public static float[] decode(short[] bits, DType t) {
        Objects.requireNonNull(t, "dtype");
        float[] out = new float[bits.length];
        for (int i = 0; i < bits.length; i++) out[i] = decode(bits[i], t);
        return out;
    }

    /** {@code x} after a round trip through dtype {@code t} (nearest representable value, ties to even). */
    public static float round(float x, DType t) {
        return decode(encode(x, t), t);
    }

    /** Element-wise {@link #round(float, DType)} into a new array. */
    public static float[] round(float[] x, DType t) {
        float[] out = new float[x.length];
        for (int i = 0; i < x.length; i++) out[i] = round(x[i], t);
        return out;
    }
}
