package io.sageptx.numerics;

import java.util.Locale;

import io.sageptx.numerics.AttentionReference;
import io.sageptx.numerics.ErrorStats;
import io.sageptx.spec.PvVariant;

/**
 * The accuracy a candidate must reach on the probe input to be timed at all: cosine &gt;= 0.995,
 * relative L1 &lt;= 0.06 for FP8 PV and &lt;= 0.02 for FP16 PV, LSE max abs error &lt; 0.1, no NaN/Inf.
 * (Measured on the H100: FP8 PV rel L1 0.025-0.039, FP16 PV 0.005-0.012, LSE &lt;= 0.03;
 * docs/notes/core-accuracy.md.)
 *
 * @param minCosine   the lowest cosine similarity to the reference that passes
 * @param maxRelL1    the largest relative L1 error that passes
 * @param maxLseError the LSE's largest absolute error must stay below this
 */
public record AccuracyBar(double minCosine, double maxRelL1, double maxLseError) {

    /** The bar of a PV variant: FP8 PV allows more error (relative L1 0.06) than FP16 PV (0.02). */
    public static AccuracyBar forPv(PvVariant pv) {
        return new AccuracyBar(0.995, pv.isFp8() ? 0.06 : 0.02, 0.1);
    }

    /**
     * The core bars of a PV variant, those the GPU accuracy tests hold every kernel to and {@code sageptx verify}
     * recommends a mode by: FP8 PV cosine &gt;= 0.999 and relative L1 &lt;= 0.045; FP16 PV cosine &gt;= 0.9995 and
     * relative L1 &lt;= 0.015; no NaN/Inf. The LSE is not judged (its bar is infinite): it matters only to callers
     * that use it, and is reported beside.
     *
     * @param pv the PV variant of the kernel (FP8 or FP16)
     * @return the bar
     */
    public static AccuracyBar core(PvVariant pv) {
        return pv.isFp8() ? new AccuracyBar(0.999, 0.045, Double.POSITIVE_INFINITY)
                : new AccuracyBar(0.9995, 0.015, Double.POSITIVE_INFINITY);
    }

    /** Null when {@code a} passes, else why not (an infinite {@link #maxLseError} does not judge the LSE). */
    public String failure(Accuracy a) {
        if (a.nonFinite() > 0) return a.nonFinite() + " NaN/Inf outputs";
        if (!(a.cosine() >= minCosine)) return String.format(Locale.ROOT, "cosine %.5f < %.3f", a.cosine(), minCosine);
        if (!(a.relL1() <= maxRelL1)) return String.format(Locale.ROOT, "rel L1 %.4f > %.3f", a.relL1(), maxRelL1);
        if (maxLseError != Double.POSITIVE_INFINITY && !(a.lseMaxAbs() < maxLseError)) {
            return String.format(Locale.ROOT, "LSE error %.4f >= %.2f", a.lseMaxAbs(), maxLseError);
        }
        return null;
    }

    /**
     * What a probe measured.
     *
     * @param cosine    cosine similarity of O to the reference
     * @param relL1     relative L1 error of O: sum |O - ref| / sum |ref|
     * @param lseMaxAbs largest absolute error of the LSE (infinite when an LSE is NaN)
     * @param nonFinite how many outputs are NaN or infinite
     */
    public record Accuracy(double cosine, double relL1, double lseMaxAbs, long nonFinite) {

        /** Compares an output and its LSE (natural log) with the FP64 reference. */
        public static Accuracy of(float[] o, float[] lse, AttentionReference.Result ref) {
            ErrorStats e = ErrorStats.of(o, ref.o());
            double lseErr = 0;
            for (int i = 0; i < lse.length; i++) {
                double d = Math.abs(lse[i] - ref.lse()[i]);
                lseErr = Double.isNaN(d) ? Double.POSITIVE_INFINITY : Math.max(lseErr, d);
            }
            return new Accuracy(e.cosine(), e.relL1(), lseErr, e.nonFinite());
        }
        @Override
        public String toString() {
            return String.format(Locale.ROOT, "cos %.5f, rel L1 %.4f, LSE err %.4f", cosine, relL1, lseMaxAbs);
        }
    }
}
