package io.sageptx.numerics;

/**
 * The LSE merge in FP64 on the CPU: partial attention outputs over disjoint key ranges, (O_i, LSE_i),
 * into the output of one pass over all keys. With {@code m = max_i LSE_i} and {@code w_i = exp(LSE_i - m)}:
 * {@code LSE = m + ln(sum_i w_i)} and {@code O = sum_i (w_i / sum w) O_i}. A part with LSE = -inf has
 * weight 0 and its O is not read; a row whose parts are all -inf gets O = 0 and LSE = -inf.
 */
public final class LseMergeReference {

    private LseMergeReference() {
    }

    /**
     * Merged rows: O {@code [rows][d]} and natural-log LSE {@code [rows]}.
     *
     * @param o   merged O, {@code [rows][d]} flattened
     * @param lse merged LSE per row (natural log)
     */
    public record Result(double[] o, double[] lse) {
    }

    /**
     * @param o   per part, O as {@code [rows][d]} (row-major)
     * @param lse per part, LSE as {@code [rows]}
     */
    public static Result merge(double[][] o, double[][] lse, int rows, int d) {
        if (o.length != lse.length || o.length == 0) {
            throw new IllegalArgumentException("parts: " + o.length + " O and " + lse.length + " LSE; need the same, >= 1");
        }
        double[] out = new double[rows * d];
        double[] outLse = new double[rows];
        int parts = o.length;
        for (int r = 0; r < rows; r++) {
            double m = Double.NEGATIVE_INFINITY;
            for (int p = 0; p < parts; p++) m = Math.max(m, lse[p][r]);
            if (m == Double.NEGATIVE_INFINITY) {
                outLse[r] = Double.NEGATIVE_INFINITY; // O stays 0
                continue;
            }
            double s = 0;
            double[] w = new double[parts];
            for (int p = 0; p < parts; p++) {
                w[p] = Math.exp(lse[p][r] - m);
                s += w[p];
            }
            for (int p = 0; p < parts; p++) {
                if (w[p] == 0) continue;
                double f = w[p] / s;
                for (int c = 0; c < d; c++) out[r * d + c] += f * o[p][r * d + c];
            }
            outLse[r] = m + Math.log(s);
        }
        return new Result(out, outLse);
    }
}
