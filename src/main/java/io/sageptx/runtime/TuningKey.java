package io.sageptx.runtime;

import java.util.Objects;

import io.sageptx.spec.DType;
import io.sageptx.spec.QkPrecision;

/**
 * What one tuned winner is valid for: one GPU (model and compute capability, as its cache folder
 * name), the dtypes, head dimension, causal mode and a bucket of sequence lengths.
 *
 * @param gpu       the GPU's folder name, e.g. {@code sm_90-NVIDIA_H100_80GB_HBM3}
 * @param inType    dtype of Q, K, V
 * @param outType   dtype of O
 * @param headDim   D
 * @param causal    causal mask
 * @param seqBucket {@link #bucket(int, int)} of the call's lengths
 * @param qk        the QK precision the call asks for: a call that asks for 16-bit QK has a key (and a winner) of
 *                  its own, so that tuning never switches a call's precision
 */
public record TuningKey(String gpu, DType inType, DType outType, int headDim, boolean causal, int seqBucket,
                        QkPrecision qk) {

    /** Smallest and largest bucket. */
    public static final int MIN_BUCKET = 512;
    /** The largest bucket: longer sequences share it. */
    public static final int MAX_BUCKET = 32768;

    public TuningKey {
        Objects.requireNonNull(gpu, "gpu");
        Objects.requireNonNull(inType, "inType");
        Objects.requireNonNull(outType, "outType");
        Objects.requireNonNull(qk, "qk");
        if (Integer.bitCount(seqBucket) != 1 || seqBucket < MIN_BUCKET || seqBucket > MAX_BUCKET) {
            throw new IllegalArgumentException("seqBucket = " + seqBucket + " is not a power of two in ["
                    + MIN_BUCKET + ", " + MAX_BUCKET + "]");
        }
    }

    /** A key of the default QK precision (INT8). */
    public TuningKey(String gpu, DType inType, DType outType, int headDim, boolean causal, int seqBucket) {
        this(gpu, inType, outType, headDim, causal, seqBucket, QkPrecision.INT8);
    }

    /**
     * The bucket of a call: the smallest power of two >= max(lq, lk), at least {@value #MIN_BUCKET}
     * and at most {@value #MAX_BUCKET} (longer sequences share the last bucket).
     */
    public static int bucket(int lq, int lk) {
        int n = Math.max(1, Math.max(lq, lk));
        int b = n <= 1 ? 1 : Integer.highestOneBit(n - 1) << 1;
        if (b <= 0) b = MAX_BUCKET; // overflow for n > 2^30
        return Math.min(MAX_BUCKET, Math.max(MIN_BUCKET, b));
    }

    /**
     * The key's id inside one GPU's tuning file, e.g. {@code fp16-fp16.d128.full.n4096}; a key of 16-bit QK ends
     * in {@code .qkfp16} (INT8 keys carry no suffix: the ids written before the precision modes).
     */
    public String id() {
        return inType.shortName() + "-" + outType.shortName() + ".d" + headDim + (causal ? ".causal" : ".full")
                + ".n" + seqBucket + (qk.isDefault() ? "" : ".qk" + qk.id());
    }

    /** Parses {@link #id()} back (for listings); throws IllegalArgumentException when malformed. */
    public static TuningKey parse(String gpu, String id) {
        String[] f = id.split("\\.");
        if ((f.length != 4 && f.length != 5) || !f[0].contains("-") || !f[1].startsWith("d") || !f[3].startsWith("n")
                || !(f[2].equals("full") || f[2].equals("causal")) || (f.length == 5 && !f[4].startsWith("qk"))) {
            throw new IllegalArgumentException("tuning key '" + id + "' is not of the form in-out.dD.full|causal.nN[.qkP]");
        }
        String[] t = f[0].split("-");
        try {
            return new TuningKey(gpu, DType.parse(t[0]), DType.parse(t[1]), Integer.parseInt(f[1].substring(1)),
                    f[2].equals("causal"), Integer.parseInt(f[3].substring(1)),
                    f.length == 5 ? QkPrecision.parse(f[4].substring(2)) : QkPrecision.INT8);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("tuning key '" + id + "' has a malformed number");
        }
    }

    @Override
    public String toString() {
        return gpu + "/" + id();
    }
}
