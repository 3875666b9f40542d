package io.sageptx.numerics;

/**
 * FP8 e4m3 (the OCP "E4M3FN" format PTX calls {@code e4m3}): 1 sign bit, 4 exponent bits with bias 7,
 * 3 mantissa bits; subnormals (smallest 2^-9), no infinities, S.1111.111 is NaN, largest finite 448.
 *
 * <p>{@link #encode(float)} is what {@code cvt.rn.satfinite.e4m3x2.f32} does to one element: round to
 * nearest, ties to even; finite values (and infinities) beyond the range clamp to +-448; NaN gives
 * 0x7F.
 */
public final class Fp8E4M3 {

    /** Largest finite e4m3 value. */
    public static final float MAX = 448f;
    /** Smallest positive (subnormal) e4m3 value, 2^-9. */
    public static final float MIN_SUBNORMAL = 0x1p-9f;
    /** Smallest positive normal e4m3 value, 2^-6. */
    public static final float MIN_NORMAL = 0x1p-6f;
    /** The NaN code {@link #encode(float)} gives for NaN input. */
    public static final byte NAN = 0x7F;

    private static final float[] DECODE = new float[256];

    static {
        for (int i = 0; i < 256; i++) DECODE[i] = decodeSlow((byte) i);
    }

    private Fp8E4M3() {
    }

    /** The e4m3 code of {@code x}: round to nearest even, saturating to +-448, NaN to 0x7F. */
    public static byte encode(float x) {
        if (Float.isNaN(x)) return NAN;
        int sign = (Float.floatToRawIntBits(x) >>> 24) & 0x80;
        float a = Math.abs(x);
        if (a >= MAX) return (byte) (sign | 0x7E); // satfinite, infinities included
        int e = Math.getExponent(a); // -127 for 0 and float subnormals
        int code;
        if (e < -6) {
            // subnormal range: the code is the value in units of 2^-9 (8 is the min normal, 0x08)
            code = (int) Math.rint(a * 512f); // exact scaling, rint = ties to even
        } else {
            // a in [2^e, 2^(e+1)), spacing 2^(e-3); q in [8, 16], 16 carries into the next exponent
            int q = (int) Math.rint(Math.scalb(a, 3 - e));
            code = ((e + 7) << 3) + (q - 8);
        }
        return (byte) (sign | code);
    }

    /** The float value of an e4m3 code (exact); NaN for S.1111.111. */
    public static float decode(byte code) {
        return DECODE[code & 0xff];
    }

    /** {@code x} after a round trip through e4m3 (with saturation). */
    public static float round(float x) {
        return DECODE[encode(x) & 0xff];
    }

    /** Element-wise {@link #encode(float)}. */
    public static byte[] encode(float[] x) {
        byte[] out = new byte[x.length];
        for (int i = 0; i < x.length; i++) out[i] = encode(x[i]);
        return out;
    }

    /** Element-wise {@link #decode(byte)}. */
    public static float[] decode(byte[] codes) {
        float[] out = new float[codes.length];
        for (int i = 0; i < codes.length; i++) out[i] = decode(codes[i]);
        return out;
    }

    /** Whether {@code code} is the (only, up to sign) NaN pattern S.1111.111. */
    public static boolean isNaN(byte code) {
        return (code & 0x7F) == 0x7F;
    }

    private static float decodeSlow(byte code) {
        int c = code & 0xff;
        boolean neg = (c & 0x80) != 0;
        int e = (c >>> 3) & 0xF;
        int m = c & 7;
        float v;
        if (e == 15 && m == 7) {
            v = Float.NaN;
        } else if (e == 0) {
            v = m * MIN_SUBNORMAL;
        } else {
            v = Math.scalb(1f + m / 8f, e - 7);
        }
        return neg ? -v : v;
    }
}
