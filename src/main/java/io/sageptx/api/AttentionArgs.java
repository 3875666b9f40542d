package io.sageptx.api;

import io.sageptx.cuda.DeviceBuffer;
import io.sageptx.spec.DType;
import io.sageptx.spec.KernelSpec;
import io.sageptx.spec.PvVariant;
import jcuda.driver.CUdeviceptr;

/**
 * One attention call over device memory: Q [B, H, Lq, D], K and V [B, Hkv, Lk, D], O [B, H, Lq, D],
 * all contiguous, and an optional LSE [B, H, Lq] (float32, natural log). Built with {@link #builder()};
 * {@link #validate()} refuses every inconsistent argument with a message that names it.
 */
public final class AttentionArgs {

    /** Device pointers must be aligned to this many bytes (the kernels load 16 bytes at a time). */
    public static final int POINTER_ALIGNMENT = 16;
    /** Largest batch and head count: the kernels put heads and batch on CUDA grid y and z. */
    public static final int MAX_GRID_YZ = 65535;

    final long q;
    final long k;
    final long v;
    final long o;
    final long lse;
    final int batch;
    final int heads;
    final int kvHeads;
    final int lq;
    final int lk;
    final int headDim;
    final DType inType;
    final DType outType;
    final boolean causal;
    final float smScale;
    final PvVariant pv;
    final KernelSpec spec;

    private AttentionArgs(Builder b) {
        this.q = b.q;
        this.k = b.k;
        this.v = b.v;
        this.o = b.o;
        this.lse = b.lse;
        this.batch = b.batch;
        this.heads = b.heads;
        this.kvHeads = b.kvHeads == 0 ? b.heads : b.kvHeads;
        this.lq = b.lq;
        this.lk = b.lk == 0 ? b.lq : b.lk;
        this.headDim = b.headDim;
        this.inType = b.inType;
        this.outType = b.outType == null ? b.inType : b.outType;
        this.causal = b.causal;
        this.smScale = b.smScaleSet ? b.smScale : (float) (1.0 / Math.sqrt(Math.max(1, b.headDim)));
        this.pv = b.pv;
        this.spec = b.spec;
    }

    public static Builder builder() {
        return new Builder();
    }

    /** Checks every argument; throws IllegalArgumentException naming the first bad one. */
    public AttentionArgs validate() {
        positive("batch", batch);
        positive("heads", heads);
        positive("kvHeads", kvHeads);
        positive("lq", lq);
        positive("lk", lk);
        if (!KernelSpec.HEAD_DIMS.contains(headDim)) {
            throw new IllegalArgumentException("headDim = " + headDim + " is not supported; supported: " + KernelSpec.HEAD_DIMS);
        }
        if (batch > MAX_GRID_YZ || heads > MAX_GRID_YZ) {
            throw new IllegalArgumentException("batch = " + batch + ", heads = " + heads + ": each must be <= "
                    + MAX_GRID_YZ + " (CUDA grid y and z limits)");
        }
        if (heads % kvHeads != 0) {
            throw new IllegalArgumentException("heads = " + heads + " is not a multiple of kvHeads = " + kvHeads);
        }
        if (inType == null) throw new IllegalArgumentException("inType is required (fp16 or bf16)");
        if (causal && lq != lk) {
            throw new IllegalArgumentException("causal with lq = " + lq + " != lk = " + lk
                    + " is ambiguous: the causal mask is top-left aligned and needs lq == lk");
        }
        if (!(smScale > 0) || Float.isInfinite(smScale)) {
            throw new IllegalArgumentException("smScale = " + smScale + " must be a finite positive number");
        }
        pointer("q", q, false);
        pointer("k", k, false);
        pointer("v", v, false);
        pointer("o", o, false);
        pointer("lse", lse, true);
        long qElems = (long) batch * heads * lq * headDim;
        long kElems = (long) batch * kvHeads * lk * headDim;
        if (qElems > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("q and o too large: batch x heads x lq x headDim = " + qElems
                    + " elements exceeds 2^31 - 1");
        }
        if (kElems > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("k and v too large: batch x kvHeads x lk x headDim = " + kElems
                    + " elements exceeds 2^31 - 1");
        }
        if (spec != null) {
            if (spec.headDim() != headDim || spec.causal() != causal || spec.inType() != inType || spec.outType() != outType) {
                throw new IllegalArgumentException("spec " + spec + " does not match the call (headDim " + headDim
                        + ", causal " + causal + ", in " + inType.shortName() + ", out " + outType.shortName() + ")");
            }
        }
        return this;
    }

    private static void positive(String name, int value) {
        if (value < 1) throw new IllegalArgumentException(name + " = " + value + " must be >= 1");
    }

    private static void pointer(String name, long address, boolean optional) {
        if (address == 0) {
            if (optional) return;
            throw new IllegalArgumentException(name + " is a null device pointer");
        }
        if (address % POINTER_ALIGNMENT != 0) {
            throw new IllegalArgumentException(name + " = 0x" + Long.toHexString(address) + " is not aligned to "
                    + POINTER_ALIGNMENT + " bytes");
        }
    }

    public int batch() { return batch; }
    public int heads() { return heads; }
    public int kvHeads() { return kvHeads; }
    public int lq() { return lq; }
    public int lk() { return lk; }
    public int headDim() { return headDim; }
    public DType inType() { return inType; }
    public DType outType() { return outType; }
    public boolean causal() { return causal; }
    public float smScale() { return smScale; }
    public boolean hasLse() { return lse != 0; }

    /** Builder; lk defaults to lq, kvHeads to heads, outType to inType, smScale to 1/sqrt(headDim). */
    public static final class Builder {
        private long q;
        private long k;
        private long v;
        private long o;
        private long lse;
        private int batch = 1;
        private int heads = 1;
        private int kvHeads;
        private int lq;
        private int lk;
        private int headDim;
        private DType inType = DType.FP16;
        private DType outType;
        private boolean causal;
        private float smScale;
        private boolean smScaleSet;
        private PvVariant pv;
        private KernelSpec spec;

        public Builder q(long address) { this.q = address; return this; }
        public Builder k(long address) { this.k = address; return this; }
        public Builder v(long address) { this.v = address; return this; }
        public Builder o(long address) { this.o = address; return this; }
        // JCuda pointers (their byte offset included), for frameworks that hold CUdeviceptr
        public Builder q(CUdeviceptr p) { return q(DeviceBuffer.addressOf(p)); }
        public Builder k(CUdeviceptr p) { return k(DeviceBuffer.addressOf(p)); }
        public Builder v(CUdeviceptr p) { return v(DeviceBuffer.addressOf(p)); }
        public Builder o(CUdeviceptr p) { return o(DeviceBuffer.addressOf(p)); }
        public Builder lse(CUdeviceptr p) { return lse(DeviceBuffer.addressOf(p)); }
        /** Optional LSE output, float32 [B, H, Lq], natural log; 0 for none. */
        public Builder lse(long address) { this.lse = address; return this; }
        public Builder batch(int n) { this.batch = n; return this; }
        public Builder heads(int n) { this.heads = n; return this; }
        public Builder kvHeads(int n) { this.kvHeads = n; return this; }
        public Builder lq(int n) { this.lq = n; return this; }
        public Builder lk(int n) { this.lk = n; return this; }
        public Builder seqLen(int n) { this.lq = n; this.lk = n; return this; }
        public Builder headDim(int d) { this.headDim = d; return this; }
        public Builder inType(DType t) { this.inType = dtype("inType", t); return this; }
        public Builder outType(DType t) { this.outType = t; return this; }
        public Builder dtype(DType t) { this.inType = dtype("dtype", t); this.outType = t; return this; }
        public Builder causal(boolean c) { this.causal = c; return this; }
        /** Softmax scale; 1/sqrt(headDim) when not set. NaN, zero, negative or infinite values are refused. */
        public Builder smScale(float s) { this.smScale = s; this.smScaleSet = true; return this; }
        /** Asks for a PV variant instead of the architecture's default. */
        public Builder pv(PvVariant p) { this.pv = p; return this; }
        /** Asks for an exact kernel spec (tuned or chosen by hand); it must match the call. */
        public Builder spec(KernelSpec s) { this.spec = s; return this; }

        private static DType dtype(String name, DType t) {
            if (t == null) throw new IllegalArgumentException(name + " is null; allowed: fp16, bf16");
            return t;
        }

        public AttentionArgs build() {
            return new AttentionArgs(this);
        }
    }
}
