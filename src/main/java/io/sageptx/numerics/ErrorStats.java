package io.sageptx.numerics;

import java.util.Locale;

/**
 * How far an output is from a reference, over the flattened tensors.
 *
 * @param cosine    cosine similarity dot(o, ref) / (|o| |ref|) (1 when both are all zero; NaN when {@code out}
 *                  has NaN or Inf)
 * @param relL1     sum |o - ref| / sum |ref| (0 when both are all zero)
 * @param maxAbs    max |o - ref| (NaN when {@code out} has NaN)
 * @param nonFinite number of NaN or infinite elements in {@code out}
 * @param count     number of elements compared
 */
public record ErrorStats(double cosine, double relL1, double maxAbs, long nonFinite, long count) {

    /** Compares a float output with a double reference of the same length. */
    public static ErrorStats of(float[] out, double[] ref) {
        check(out.length, ref.length);
        Acc a = new Acc();
        for (int i = 0; i < out.length; i++) a.add(out[i], ref[i]);
        return a.stats(out.length);
    }

    /** Compares a double output with a double reference of the same length. */
    public static ErrorStats of(double[] out, double[] ref) {
        check(out.length, ref.length);
        Acc a = new Acc();
        for (int i = 0; i < out.length; i++) a.add(out[i], ref[i]);
        return a.stats(out.length);
    }

    /** Whether there is no NaN/Inf and the cosine and relative L1 are within the given bounds. */
    public boolean within(double minCosine, double maxRelL1) {
        return nonFinite == 0 && cosine >= minCosine && relL1 <= maxRelL1;
    }

    @Override
    public String toString() {
        return String.format(Locale.ROOT, "cos=%.6f relL1=%.5f maxAbs=%.3e nonFinite=%d n=%d", cosine, relL1, maxAbs,
                nonFinite, count);
    }

    private static void check(int a, int b) {
        if (a != b) throw new IllegalArgumentException("length mismatch: out " + a + " vs ref " + b);
    }

    private static final class Acc {
        double dot, nn, rr, diff1, ref1, maxAbs;
        long nonFinite;

        void add(double o, double r) {
            if (!Double.isFinite(o)) nonFinite++;
            dot += o * r;
            nn += o * o;
            rr += r * r;
            double e = Math.abs(o - r);
            diff1 += e;
            ref1 += Math.abs(r);
            if (e > maxAbs || Double.isNaN(e)) maxAbs = Double.isNaN(maxAbs) ? maxAbs : e;
        }

        ErrorStats stats(long n) {
            double cos;
            if (nn == 0 && rr == 0) cos = 1;
            else if (nn == 0 || rr == 0) cos = 0;
            else cos = dot / (Math.sqrt(nn) * Math.sqrt(rr));
            double rel = ref1 == 0 ? (diff1 == 0 ? 0 : Double.POSITIVE_INFINITY) : diff1 / ref1;
            return new ErrorStats(cos, rel, maxAbs, nonFinite, n);
        }
    }
}
