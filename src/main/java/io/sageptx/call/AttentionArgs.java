package io.sageptx.call;

import io.sageptx.cuda.DeviceBuffer;
import io.sageptx.spec.DType;
import io.sageptx.spec.KernelSpec;
import io.sageptx.spec.PvVariant;
import io.sageptx.spec.QkPrecision;
import jcuda.driver.CUdeviceptr;

/**
 * One attention call over device memory: Q [B, H, Lq, D], K and V [B, Hkv, Lk, D], O [B, H, Lq, D] in
 * the layout {@link TensorLayout#BHLD} (default) or {@link TensorLayout#BLHD}, or with explicit element
 * {@link Strides} per tensor (the last dim always contiguous), and an optional LSE [B, H, Lq] (float32,
 * natural log, corrected for the K smoothing; contiguous).
 *
 * <p>Varlen ({@link Builder#varlen}): B sequences packed along the token axis, FlashAttention's
 * convention: Q [total_q, H, D], K and V [total_k, Hkv, D] (strides of the token and head axes may be
 * given; the batch stride is unused), int32 device arrays cu_seqlens_q / cu_seqlens_k of B + 1 cumulative
 * offsets (cu[0] = 0, sequence b is tokens cu[b] .. cu[b+1]), and the host ints max_seqlen_q / _k. The
 * LSE of a varlen call is [B, H, max_seqlen_q] (rows past a sequence's length are not written). The
 * cu_seqlens contents are read on the GPU only: a sequence longer than its max_seqlen is cut at it.
 *
 * <p>Built with {@link #builder()}; {@link #validate()} refuses every inconsistent argument with a message
 * that names it.
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
    final CausalMode causalMode;
    final boolean causalFromBoolean;
    final float smScale;
    final Strides qStrides;
    final Strides kStrides;
    final Strides vStrides;
    final Strides oStrides;
    final TensorLayout layout;
    final long cuSeqlensQ;
    final long cuSeqlensK;
    final boolean varlen;
    final PvVariant pv;
    final QkPrecision qkPrecision;
    final long qkDecisions;
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
        this.causalMode = b.causalMode;
        this.causalFromBoolean = b.causalFromBoolean;
        this.varlen = b.varlen;
        this.cuSeqlensQ = b.cuSeqlensQ;
        this.cuSeqlensK = b.cuSeqlensK;
        this.layout = b.layout;
        Strides qDefault = varlen ? Strides.packed(heads, b.headDim) : b.layout.strides(heads, lq, b.headDim);
        Strides kvDefault = varlen ? Strides.packed(kvHeads, b.headDim) : b.layout.strides(kvHeads, lk, b.headDim);
        this.qStrides = b.qStrides != null ? b.qStrides : qDefault;
        this.kStrides = b.kStrides != null ? b.kStrides : kvDefault;
        this.vStrides = b.vStrides != null ? b.vStrides : kvDefault;
        this.oStrides = b.oStrides != null ? b.oStrides : qDefault;
        this.smScale = b.smScaleSet ? b.smScale : (float) (1.0 / Math.sqrt(Math.max(1, b.headDim)));
        this.pv = b.pv;
        this.qkPrecision = b.qkPrecision;
        this.qkDecisions = b.qkDecisions;
        this.spec = b.spec;
    }

    /** A builder with every argument unset: pointers 0, batch and heads 1, fp16, not causal. */
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
        if (causalMode == null) throw new IllegalArgumentException("causal mode is required (NONE, TOP_LEFT or BOTTOM_RIGHT)");
        if (causalFromBoolean && (lq != lk || (varlen && cuSeqlensQ != cuSeqlensK))) {
            throw new IllegalArgumentException("causal(true) with lq = " + lq + " != lk = " + lk
                    + (varlen ? " or different cu_seqlens for Q and K" : "") + " is ambiguous: ask for "
                    + "causal(CausalMode.TOP_LEFT) (query i sees keys j <= i) or causal(CausalMode.BOTTOM_RIGHT) "
                    + "(query i sees keys j <= i + Lk - Lq)");
        }
        strides("qStrides", qStrides, 8, false);
        strides("kStrides", kStrides, 8, false);
        strides("vStrides", vStrides, 8, false);
        strides("oStrides", oStrides, 2, true);
        if (varlen) {
            if (cuSeqlensQ == 0 || cuSeqlensK == 0) {
                throw new IllegalArgumentException("varlen needs both cu_seqlens_q and cu_seqlens_k device arrays "
                        + "(int32, batch + 1 = " + (batch + 1L) + " entries); got cu_seqlens_q = 0x"
                        + Long.toHexString(cuSeqlensQ) + ", cu_seqlens_k = 0x" + Long.toHexString(cuSeqlensK));
            }
            if (cuSeqlensQ % 4 != 0 || cuSeqlensK % 4 != 0) {
                throw new IllegalArgumentException("cu_seqlens_q / cu_seqlens_k must be 4-byte aligned int32 arrays; got 0x"
                        + Long.toHexString(cuSeqlensQ) + ", 0x" + Long.toHexString(cuSeqlensK));
            }
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
        if (qkPrecision == QkPrecision.FP16 && pv != null && pv != PvVariant.FP16) {
            throw new IllegalArgumentException("qkPrecision = fp16 with pv = " + pv.id() + " is not allowed; allowed: pv "
                    + "fp16 (or none) with qkPrecision fp16 (16-bit QK and 16-bit PV), or qkPrecision int8 with pv " + pv.id());
        }
        if (qkDecisions != 0) {
            if (qk() != QkPrecision.AUTO) {
                throw new IllegalArgumentException("qkDecisions is the per-head output of qkPrecision auto; the call's "
                        + "qkPrecision is " + qk().id() + " (allowed: qkDecisions(0) there)");
            }
            if (qkDecisions % 4 != 0) {
                throw new IllegalArgumentException("qkDecisions = 0x" + Long.toHexString(qkDecisions)
                        + " is not aligned to 4 bytes (an int32 [batch][heads] device array)");
            }
        }
        if (spec != null) {
            if (spec.headDim() != headDim || spec.causal() != causal() || spec.inType() != inType || spec.outType() != outType) {
                throw new IllegalArgumentException("spec " + spec + " does not match the call (headDim " + headDim
                        + ", causal " + causalMode + ", in " + inType.shortName() + ", out " + outType.shortName() + ")");
            }
            if (qkPrecision != null && spec.qk() != qkPrecision) {
                throw new IllegalArgumentException("spec " + spec + " does not match the call's qkPrecision = "
                        + qkPrecision.id() + " (its qk is " + spec.qk().id() + ")");
            }
        }
        return this;
    }

    private static void positive(String name, int value) {
        if (value < 1) throw new IllegalArgumentException(name + " = " + value + " must be >= 1");
    }

    private void strides(String name, Strides s, int multiple, boolean output) {
        if (s.batch() < 0 || s.head() < 0 || s.token() < 0) {
            throw new IllegalArgumentException(name + " = " + s + " must not be negative");
        }
        if (s.batch() % multiple != 0 || s.head() % multiple != 0 || s.token() % multiple != 0) {
            throw new IllegalArgumentException(name + " = " + s + ": every stride must be a multiple of " + multiple
                    + " elements (" + (output ? "4-byte stores" : "16-byte loads") + "; the last dim is contiguous)");
        }
        if (output && (s.token() < headDim && lq > 1 || s.head() < headDim && heads > 1)) {
            throw new IllegalArgumentException(name + " = " + s + ": output rows overlap (token and head strides must "
                    + "be >= headDim = " + headDim + ")");
        }
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

    /** B: sequences (the varlen batch's count of sequences). */
    public int batch() { return batch; }
    /** Query heads. */
    public int heads() { return heads; }
    /** Key/value heads (equal to heads, or a divisor of it for GQA/MQA). */
    public int kvHeads() { return kvHeads; }
    /** Query length (varlen: the longest query sequence). */
    public int lq() { return lq; }
    /** Key length (varlen: the longest key sequence). */
    public int lk() { return lk; }
    /** D, the head dimension. */
    public int headDim() { return headDim; }
    /** Dtype of Q, K and V. */
    public DType inType() { return inType; }
    /** Dtype of O. */
    public DType outType() { return outType; }
    /** Whether a causal mask applies (either alignment). */
    public boolean causal() { return causalMode != CausalMode.NONE; }
    /** The causal mask and its alignment ({@link CausalMode#NONE} when there is none). */
    public CausalMode causalMode() { return causalMode; }
    /** Whether this is a varlen batch ({@link Builder#varlen}). */
    public boolean isVarlen() { return varlen; }
    /** Element strides of Q as given, or null for the layout's. */
    public Strides qStrides() { return qStrides; }
    /** Element strides of K as given, or null for the layout's. */
    public Strides kStrides() { return kStrides; }
    /** Element strides of V as given, or null for the layout's. */
    public Strides vStrides() { return vStrides; }
    /** Element strides of O as given, or null for the layout's. */
    public Strides oStrides() { return oStrides; }
    /** The softmax scale (1/sqrt(headDim) unless set). */
    public float smScale() { return smScale; }
    /** Whether an LSE output is given. */
    public boolean hasLse() { return lse != 0; }
    /** Device address of Q. */
    public long q() { return q; }
    /** Device address of K. */
    public long k() { return k; }
    /** Device address of V. */
    public long v() { return v; }
    /** Device address of O. */
    public long o() { return o; }
    /** Device address of the LSE output, or 0 for none. */
    public long lse() { return lse; }
    /** Varlen: device address of cu_seqlens_q, else 0. */
    public long cuSeqlensQ() { return cuSeqlensQ; }
    /** Varlen: device address of cu_seqlens_k, else 0. */
    public long cuSeqlensK() { return cuSeqlensK; }
    /** The PV variant asked for, or null for the default. */
    public PvVariant pv() { return pv; }
    /** The QK precision asked for, or null for the default (INT8, or what the asked-for spec has). */
    public QkPrecision qkPrecision() { return qkPrecision; }
    /** qkPrecision auto: device address of the int32 [B][H] decisions output (1 = 16-bit QK), or 0. */
    public long qkDecisions() { return qkDecisions; }
    /** The QK precision the call runs with: the spec's when one is asked for, else the asked one, else INT8. */
    public QkPrecision qk() {
        if (spec != null) return spec.qk();
        return qkPrecision == null ? QkPrecision.INT8 : qkPrecision;
    }
    /** The exact kernel spec asked for, or null. */
    public KernelSpec spec() { return spec; }
    /** The layout of the tensors that have no explicit strides. */
    public TensorLayout layout() { return layout; }

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
        private CausalMode causalMode = CausalMode.NONE;
        private boolean causalFromBoolean;
        private float smScale;
        private boolean smScaleSet;
        private Strides qStrides;
        private Strides kStrides;
        private Strides vStrides;
        private Strides oStrides;
        private TensorLayout layout = TensorLayout.BHLD;
        private long cuSeqlensQ;
        private long cuSeqlensK;
        private boolean varlen;
        private PvVariant pv;
        private QkPrecision qkPrecision;
        private long qkDecisions;
        private KernelSpec spec;

        /** Device address of Q (16-byte aligned). */
        public Builder q(long address) { this.q = address; return this; }
        /** Device address of K (16-byte aligned). */
        public Builder k(long address) { this.k = address; return this; }
        /** Device address of V (16-byte aligned). */
        public Builder v(long address) { this.v = address; return this; }
        /** Device address of O (16-byte aligned). */
        public Builder o(long address) { this.o = address; return this; }
        // JCuda pointers (their byte offset included), for frameworks that hold CUdeviceptr
        /** Q as a JCuda pointer (its byte offset included). */
        public Builder q(CUdeviceptr p) { return q(DeviceBuffer.addressOf(p)); }
        /** K as a JCuda pointer (its byte offset included). */
        public Builder k(CUdeviceptr p) { return k(DeviceBuffer.addressOf(p)); }
        /** V as a JCuda pointer (its byte offset included). */
        public Builder v(CUdeviceptr p) { return v(DeviceBuffer.addressOf(p)); }
        /** O as a JCuda pointer (its byte offset included). */
        public Builder o(CUdeviceptr p) { return o(DeviceBuffer.addressOf(p)); }
        /** The LSE output as a JCuda pointer (its byte offset included); null for none. */
        public Builder lse(CUdeviceptr p) { return lse(DeviceBuffer.addressOf(p)); }
        /** Optional LSE output, float32 [B, H, Lq], natural log; 0 for none. */
        public Builder lse(long address) { this.lse = address; return this; }
        /** B (default 1); for varlen, the number of sequences. */
        public Builder batch(int n) { this.batch = n; return this; }
        /** Query heads (default 1). */
        public Builder heads(int n) { this.heads = n; return this; }
        /** Key/value heads (default: heads); heads must be a multiple of it. */
        public Builder kvHeads(int n) { this.kvHeads = n; return this; }
        /** Query length. */
        public Builder lq(int n) { this.lq = n; return this; }
        /** Key length (default: lq). */
        public Builder lk(int n) { this.lk = n; return this; }
        /** Query and key length, both. */
        public Builder seqLen(int n) { this.lq = n; this.lk = n; return this; }
        /** D: a multiple of 16 from 32 to 256. */
        public Builder headDim(int d) { this.headDim = d; return this; }
        /** Dtype of Q, K and V (default fp16). */
        public Builder inType(DType t) { this.inType = dtype("inType", t); return this; }
        /** Dtype of O (default: the input dtype). */
        public Builder outType(DType t) { this.outType = t; return this; }
        /** Dtype of Q, K, V and O, all. */
        public Builder dtype(DType t) { this.inType = dtype("dtype", t); this.outType = t; return this; }
        /**
         * Causal mask, top-left aligned (query i sees keys j &lt;= i); refused when Lq != Lk, where the
         * alignment is ambiguous: use {@link #causal(CausalMode)} there.
         */
        public Builder causal(boolean c) {
            this.causalMode = c ? CausalMode.TOP_LEFT : CausalMode.NONE;
            this.causalFromBoolean = c;
            return this;
        }
        /** Causal mask with an explicit alignment (or NONE). */
        public Builder causal(CausalMode m) {
            this.causalMode = m;
            this.causalFromBoolean = false;
            return this;
        }
        /** Layout of Q, K, V and O where no explicit strides are given (default BHLD; ignored for varlen). */
        public Builder layout(TensorLayout l) {
            if (l == null) throw new IllegalArgumentException("layout is null; allowed: BHLD, BLHD");
            this.layout = l;
            return this;
        }
        /** Element strides of Q (batch, head, token); the head dim is contiguous. */
        public Builder qStrides(long batch, long head, long token) { this.qStrides = new Strides(batch, head, token); return this; }
        /** Element strides of K (batch, head, token); the head dim is contiguous. */
        public Builder kStrides(long batch, long head, long token) { this.kStrides = new Strides(batch, head, token); return this; }
        /** Element strides of V (batch, head, token); the head dim is contiguous. */
        public Builder vStrides(long batch, long head, long token) { this.vStrides = new Strides(batch, head, token); return this; }
        /** Element strides of O (batch, head, token); the head dim is contiguous. */
        public Builder oStrides(long batch, long head, long token) { this.oStrides = new Strides(batch, head, token); return this; }
        /**
         * A varlen batch: {@code batch} sequences packed along the token axis, with int32 device arrays of
         * batch + 1 cumulative offsets and the longest lengths (FlashAttention's cu_seqlens / max_seqlen).
         * Sets lq and lk to the max lengths.
         */
        public Builder varlen(long cuSeqlensQ, long cuSeqlensK, int maxSeqlenQ, int maxSeqlenK) {
            this.varlen = true;
            this.cuSeqlensQ = cuSeqlensQ;
            this.cuSeqlensK = cuSeqlensK;
            this.lq = maxSeqlenQ;
            this.lk = maxSeqlenK;
            return this;
        }
        /** Softmax scale; 1/sqrt(headDim) when not set. NaN, zero, negative or infinite values are refused. */
        public Builder smScale(float s) { this.smScale = s; this.smScaleSet = true; return this; }
        /** Asks for a PV variant instead of the architecture's default. */
        public Builder pv(PvVariant p) { this.pv = p; return this; }
        /**
         * Asks for a QK precision (null: the default, INT8). {@link QkPrecision#FP16} computes S = Q K^T and P V
         * in the input's 16-bit type with FP32 accumulators (opt-in, for inputs an INT8 product cannot carry:
         * outlier channels, large magnitudes; the wgmma family on compute capability 9.0 only). {@link QkPrecision#AUTO}
         * decides per (batch, head) on the GPU from the INT8 quantization's own statistics ({@link #qkDecisions}
         * reports it). Never chosen by the library or the tuner for a call that does not ask for it.
         */
        public Builder qkPrecision(QkPrecision q) { this.qkPrecision = q; return this; }
        /**
         * With {@code qkPrecision(QkPrecision.AUTO)}: an int32 device array [batch][heads] that receives each head's
         * precision (1 = 16-bit QK, 0 = INT8), written on the stream by the call; 0 for none.
         */
        public Builder qkDecisions(long address) { this.qkDecisions = address; return this; }
        /** {@link #qkDecisions(long)} for a JCuda pointer (its byte offset included). */
        public Builder qkDecisions(CUdeviceptr p) { return qkDecisions(DeviceBuffer.addressOf(p)); }
        /** Asks for an exact kernel spec (tuned or chosen by hand); it must match the call. */
        public Builder spec(KernelSpec s) { this.spec = s; return this; }

        private static DType dtype(String name, DType t) {
            if (t == null) throw new IllegalArgumentException(name + " is null; allowed: fp16, bf16");
            return t;
        }

        /** The arguments; {@link AttentionArgs#validate()} (called by every forward) checks them. */
        public AttentionArgs build() {
            return new AttentionArgs(this);
        }
    }
}
