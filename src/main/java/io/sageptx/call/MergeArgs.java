package io.sageptx.call;

import java.util.ArrayList;
import java.util.List;

import io.sageptx.cuda.DeviceBuffer;
import io.sageptx.kernels.merge.MergeSpec;
import io.sageptx.spec.DType;
import jcuda.driver.CUdeviceptr;

/**
 * One LSE merge over device memory ({@link io.sageptx.api.LseMerge}): P partial results (O_i, LSE_i) of attention over
 * disjoint key ranges of the same queries, and the output (O, LSE) of the merge. Every O is 16-bit
 * ({@link #dtype}) with rows of D contiguous channels at element offset
 * {@code b * strideB + h * strideH + l * strideL} (default [B, H, L, D] contiguous; {@link
 * Builder#layoutBlhd()} for [B, L, H, D]); every LSE is float32 natural log, [B, H, L] contiguous, as
 * {@link io.sageptx.api.SageAttention} writes it. The output may be the same memory as part 0 (an in-place merge).
 */
public final class MergeArgs {

    /** O pointers must be aligned to this many bytes (16-byte loads); LSE pointers to 4. */
    public static final int O_ALIGNMENT = 16;

    final long[] partO;
    final long[] partLse;
    final long outO;
    final long outLse;
    final int batch;
    final int heads;
    final int seqLen;
    final int headDim;
    final DType dtype;
    final boolean blhd;
    final long strideB;
    final long strideH;
    final long strideL;

    /** Partial outputs' device addresses, in part order. */
    public long[] partO() { return partO.clone(); }
    /** Partial LSEs' device addresses, in part order. */
    public long[] partLse() { return partLse.clone(); }
    /** Merged output O. */
    public long outO() { return outO; }
    /** Merged output LSE. */
    public long outLse() { return outLse; }
    /** B. */
    public int batch() { return batch; }
    /** H. */
    public int heads() { return heads; }
    /** L, query rows per (batch, head). */
    public int seqLen() { return seqLen; }
    /** D. */
    public int headDim() { return headDim; }
    /** Dtype of every O. */
    public DType dtype() { return dtype; }
    /** Element strides of the O tensors: batch, head, row. */
    public long strideB() { return strideB; }
    /** Element stride between heads of the O tensors. */
    public long strideH() { return strideH; }
    /** Element stride between rows of the O tensors. */
    public long strideL() { return strideL; }

    private MergeArgs(Builder b) {
        this.partO = b.partO.stream().mapToLong(Long::longValue).toArray();
        this.partLse = b.partLse.stream().mapToLong(Long::longValue).toArray();
        this.outO = b.outO;
        this.outLse = b.outLse;
        this.batch = b.batch;
        this.heads = b.heads;
        this.seqLen = b.seqLen;
        this.headDim = b.headDim;
        this.dtype = b.dtype;
        this.blhd = b.blhd;
        if (b.strides != null) {
            strideB = b.strides[0];
            strideH = b.strides[1];
            strideL = b.strides[2];
        } else if (blhd) {
            strideL = (long) heads * headDim;
            strideH = headDim;
            strideB = strideL * seqLen;
        } else {
            strideL = headDim;
            strideH = (long) seqLen * headDim;
            strideB = strideH * heads;
        }
    }

    /** A builder with no parts; batch and heads 1, fp16, [B, H, L, D]. */
    public static Builder builder() {
        return new Builder();
    }

    /** How many parts are merged. */
    public int parts() {
        return partO.length;
    }

    /** Checks every argument; throws IllegalArgumentException naming the first bad one. Needs no GPU. */
    public MergeArgs validate() {
        if (partO.length == 0) throw new IllegalArgumentException("parts: none given; a merge needs at least 1 part");
        positive("batch", batch);
        positive("heads", heads);
        positive("seqLen", seqLen);
        if (batch > AttentionArgs.MAX_GRID_YZ || heads > AttentionArgs.MAX_GRID_YZ) {
            throw new IllegalArgumentException("batch = " + batch + ", heads = " + heads + ": each must be <= "
                    + AttentionArgs.MAX_GRID_YZ + " (CUDA grid y and z limits)");
        }
        if (headDim < 8 || headDim > MergeSpec.MAX_HEAD_DIM || headDim % 8 != 0) {
            throw new IllegalArgumentException("headDim = " + headDim + " is not supported; allowed: a multiple of 8 in [8, "
                    + MergeSpec.MAX_HEAD_DIM + "]");
        }
        if (dtype == null) throw new IllegalArgumentException("dtype is null; allowed: fp16, bf16");
        if ((long) batch * heads * seqLen > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("rows: batch * heads * seqLen = " + (long) batch * heads * seqLen
                    + " exceeds 2^31 - 1");
        }
        stride("strideB", strideB, batch);
        stride("strideH", strideH, heads);
        stride("strideL", strideL, seqLen);
        try {
            long last = Math.addExact(Math.addExact(Math.multiplyExact(batch - 1L, strideB),
                    Math.multiplyExact(heads - 1L, strideH)), Math.multiplyExact(seqLen - 1L, strideL));
            Math.multiplyExact(Math.addExact(last, headDim), (long) dtype.bytes());
        } catch (ArithmeticException e) {
            throw new IllegalArgumentException("strides: the tensor's extent overflows 64-bit byte offsets");
        }
        pointer("out.o", outO, O_ALIGNMENT);
        pointer("out.lse", outLse, 4);
        for (int n = 0; n < partO.length; n++) {
            pointer("part[" + n + "].o", partO[n], O_ALIGNMENT);
            pointer("part[" + n + "].lse", partLse[n], 4);
            if (n >= MergeSpec.MAX_PARTS && (partO[n] == outO || partLse[n] == outLse)) {
                throw new IllegalArgumentException("part[" + n + "] is the output: with more than " + MergeSpec.MAX_PARTS
                        + " parts the merge runs in several launches, and only parts below " + MergeSpec.MAX_PARTS
                        + " may be the output");
            }
        }
        return this;
    }

    private void stride(String name, long value, int extent) {
        if (extent > 1 && value < headDim) {
            throw new IllegalArgumentException(name + " = " + value + " must be >= headDim = " + headDim
                    + " (rows of D contiguous channels may not overlap)");
        }
        if (value < 0 || value % (O_ALIGNMENT / dtype.bytes()) != 0) {
            throw new IllegalArgumentException(name + " = " + value + " elements must be a non-negative multiple of "
                    + O_ALIGNMENT / dtype.bytes() + " (16-byte rows)");
        }
    }

    private static void positive(String name, int value) {
        if (value < 1) throw new IllegalArgumentException(name + " = " + value + " must be >= 1");
    }

    private static void pointer(String name, long address, int alignment) {
        if (address == 0) throw new IllegalArgumentException(name + " is a null device pointer");
        if (address % alignment != 0) {
            throw new IllegalArgumentException(name + " = 0x" + Long.toHexString(address) + " is not aligned to "
                    + alignment + " bytes");
        }
    }

    /** Builder; [B, H, L, D] contiguous unless {@link #layoutBlhd()} or {@link #strides} says otherwise. */
    public static final class Builder {
        private final List<Long> partO = new ArrayList<>();
        private final List<Long> partLse = new ArrayList<>();
        private long outO;
        private long outLse;
        private int batch = 1;
        private int heads = 1;
        private int seqLen;
        private int headDim;
        private DType dtype = DType.FP16;
        private boolean blhd;
        private long[] strides;

        /** Adds a part: its O and its LSE (both required). */
        public Builder part(long o, long lse) {
            partO.add(o);
            partLse.add(lse);
            return this;
        }

        /** Adds a part given as JCuda pointers. */
        public Builder part(CUdeviceptr o, CUdeviceptr lse) {
            return part(DeviceBuffer.addressOf(o), DeviceBuffer.addressOf(lse));
        }

        /** The merged output: O and LSE (both required; O may be part 0's O for an in-place merge). */
        public Builder out(long o, long lse) {
            this.outO = o;
            this.outLse = lse;
            return this;
        }

        /** The merged output as JCuda pointers. */
        public Builder out(CUdeviceptr o, CUdeviceptr lse) {
            return out(DeviceBuffer.addressOf(o), DeviceBuffer.addressOf(lse));
        }

        /** B (default 1). */
        public Builder batch(int n) { this.batch = n; return this; }
        /** H (default 1). */
        public Builder heads(int n) { this.heads = n; return this; }
        /** L, the number of query rows per (batch, head). */
        public Builder seqLen(int n) { this.seqLen = n; return this; }
        /** D. */
        public Builder headDim(int d) { this.headDim = d; return this; }
        /** Dtype of every O (default fp16). */
        public Builder dtype(DType t) { this.dtype = t; return this; }
        /** O tensors laid out [B, L, H, D] (contiguous); the LSEs stay [B, H, L]. */
        public Builder layoutBlhd() { this.blhd = true; return this; }
        /** O strides in elements (batch, head, row); the channels are contiguous. */
        public Builder strides(long strideB, long strideH, long strideL) {
            this.strides = new long[] {strideB, strideH, strideL};
            return this;
        }

        /** The arguments; {@link MergeArgs#validate()} checks them. */
        public MergeArgs build() {
            return new MergeArgs(this);
        }
    }
}
