package io.sageptx.call;

import io.sageptx.cuda.DeviceBuffer;
import io.sageptx.kernels.decode.DecodeSpec;
import io.sageptx.spec.DType;
import jcuda.driver.CUdeviceptr;

/**
 * One decode call over device memory: Lq (1 .. {@value DecodeSpec#MAX_LQ}) query rows per sequence
 * against a KV cache, Q and O {@code [B, H, Lq, D]} (or explicit element strides, the head dim
 * contiguous), an optional LSE {@code [B, H, Lq]} (float32, natural log). The cache is one of:
 *
 * <ul>
 *   <li>{@link Builder#dense}: K and V {@code [B, Hkv, Lk, D]} (or strides), every sequence Lk keys, or its
 *       own length from an int32 device array {@code seq_lens [B]} (each &lt;= Lk);</li>
 *   <li>{@link Builder#paged}: a {@link PagedKvCache}, an int32 block table {@code [B, max_blocks]} and
 *       int32 {@code seq_lens [B]} (vLLM / FlashAttention convention);</li>
 *   <li>{@link Builder#quantized}: a {@link QuantizedKvCache} with the same table and lengths.</li>
 * </ul>
 *
 * Causal masks: top-left (query i sees keys j &lt;= i) or bottom-right (j &lt;= i + len - Lq: the usual
 * decode / speculative-decoding mask, the last query sees every key). Device data (lengths, table
 * entries) is read on the GPU only: a length outside [0, max_blocks * block_size] (dense: [0, Lk]) or a
 * block index outside [0, num_blocks) never faults; it is clamped (the length) or replaced by block 0
 * (the index), the sequence's O and LSE rows come out NaN, and {@code flags[b]} is set to 1 when an int32
 * flag array {@code [B]} is given ({@link Builder#flags}; the kernels only ever write 1, clear it to
 * detect).
 *
 * <p>{@link #validate()} refuses every inconsistent argument with a message naming it.
 */
public final class DecodeArgs {

    /** Q, K, V, O, pool pointers are aligned to 16 bytes; LSE, tables, lengths and flags to 4. */
    public static final int POINTER_ALIGNMENT = 16;
    /** Most splits of one sequence's keys a call may ask for. */
    public static final int MAX_SPLITS = DecodeSpec.MAX_SPLITS_ASKED;

    /** Which cache a call reads. */
    public enum Cache {
        /** Dense K and V tensors ({@link Builder#dense}). */
        DENSE,
        /** A paged 16-bit cache ({@link Builder#paged}). */
        PAGED,
        /** SagePTX's quantized paged cache ({@link Builder#quantized}). */
        QUANTIZED
    }

    final long q;
    final long o;
    final long lse;
    final int batch;
    final int heads;
    final int kvHeads;
    final int lq;
    final int headDim;
    final DType dtype;
    final CausalMode causal;
    final float smScale;
    final Strides qStrides;
    final Strides oStrides;
    final Cache cache;
    // dense
    final long k;
    final long v;
    final int lk;
    final Strides kStrides;
    final Strides vStrides;
    // paged / quantized
    final PagedKvCache paged;
    final QuantizedKvCache quantized;
    final long blockTable;
    final int maxBlocks;
    final long seqLens;
    final int maxSeqLen;
    final long flags;
    final int splits;

    private DecodeArgs(Builder b) {
        this.q = b.q;
        this.o = b.o;
        this.lse = b.lse;
        this.batch = b.batch;
        this.heads = b.heads;
        this.kvHeads = b.kvHeads == 0 ? b.heads : b.kvHeads;
        this.lq = b.lq;
        this.headDim = b.headDim;
        this.dtype = b.dtype;
        this.causal = b.causal;
        this.smScale = b.smScaleSet ? b.smScale : (float) (1.0 / Math.sqrt(Math.max(1, b.headDim)));
        Strides qo = TensorLayout.BHLD.strides(heads, lq, headDim);
        this.qStrides = b.qStrides != null ? b.qStrides : qo;
        this.oStrides = b.oStrides != null ? b.oStrides : qo;
        this.cache = b.cache;
        this.k = b.k;
        this.v = b.v;
        this.lk = b.lk;
        Strides kv = b.kvLayout.strides(kvHeads, lk, headDim);
        this.kStrides = b.kStrides != null ? b.kStrides : kv;
        this.vStrides = b.vStrides != null ? b.vStrides : kv;
        this.paged = b.paged;
        this.quantized = b.quantized;
        this.blockTable = b.blockTable;
        this.maxBlocks = b.maxBlocks;
        this.seqLens = b.seqLens;
        this.maxSeqLen = b.maxSeqLen;
        this.flags = b.flags;
        this.splits = b.splits;
    }

    /** A new builder (defaults: see {@link Builder}). */
    public static Builder builder() {
        return new Builder();
    }

    /** A builder holding every argument of this call (strides explicit). */
    public Builder toBuilder() {
        Builder b = new Builder().q(q).o(o).lse(lse).batch(batch).heads(heads).kvHeads(kvHeads).lq(lq).headDim(headDim)
                .dtype(dtype).causal(causal).smScale(smScale).qStrides(qStrides.batch(), qStrides.head(), qStrides.token())
                .oStrides(oStrides.batch(), oStrides.head(), oStrides.token()).flags(flags).splits(splits).maxSeqLen(maxSeqLen);
        if (cache == Cache.DENSE) {
            b.dense(k, v, lk).kStrides(kStrides.batch(), kStrides.head(), kStrides.token())
                    .vStrides(vStrides.batch(), vStrides.head(), vStrides.token()).seqLens(seqLens);
        } else if (cache == Cache.PAGED) {
            b.paged(paged, blockTable, maxBlocks, seqLens);
        } else if (cache == Cache.QUANTIZED) {
            b.quantized(quantized, blockTable, maxBlocks, seqLens);
        }
        return b;
    }

    /** Checks every argument; throws IllegalArgumentException naming the first bad one. Needs no GPU. */
    public DecodeArgs validate() {
        positive("batch", batch);
        positive("heads", heads);
        positive("kvHeads", kvHeads);
        if (batch > AttentionArgs.MAX_GRID_YZ || kvHeads > AttentionArgs.MAX_GRID_YZ) {
            throw new IllegalArgumentException("batch = " + batch + ", kvHeads = " + kvHeads + ": each must be <= "
                    + AttentionArgs.MAX_GRID_YZ + " (CUDA grid y and z limits)");
        }
        if (heads % kvHeads != 0) {
            throw new IllegalArgumentException("heads = " + heads + " is not a multiple of kvHeads = " + kvHeads);
        }
        if (lq < 1 || lq > DecodeSpec.MAX_LQ) {
            throw new IllegalArgumentException("lq = " + lq + " must be in [1, " + DecodeSpec.MAX_LQ + "]: the decode kernels "
                    + "take at most " + DecodeSpec.MAX_LQ + " query rows per sequence (longer ones: SageAttention.forward)");
        }
        if (!DecodeSpec.HEAD_DIMS.contains(headDim)) {
            throw new IllegalArgumentException("headDim = " + headDim + " is not supported by the decode kernels; supported: "
                    + DecodeSpec.HEAD_DIMS);
        }
        if (dtype == null) throw new IllegalArgumentException("dtype is null; allowed: fp16, bf16");
        if (causal == null) throw new IllegalArgumentException("causal mode is null; allowed: NONE, TOP_LEFT, BOTTOM_RIGHT");
        if (!(smScale > 0) || Float.isInfinite(smScale)) {
            throw new IllegalArgumentException("smScale = " + smScale + " must be a finite positive number");
        }
        if (splits < 0 || splits > MAX_SPLITS) {
            throw new IllegalArgumentException("splits = " + splits + " must be 0 (the heuristic) or in [1, " + MAX_SPLITS + "]");
        }
        pointer("q", q, POINTER_ALIGNMENT, false);
        pointer("o", o, POINTER_ALIGNMENT, false);
        pointer("lse", lse, 4, true);
        pointer("flags", flags, 4, true);
        strides("qStrides", qStrides, 8, heads, lq);
        strides("oStrides", oStrides, 4, heads, lq);
        long rows = (long) batch * heads * lq;
        if (rows * Math.max(1, splits) > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("rows: batch * heads * lq = " + rows + (splits > 1 ? " times splits = " + splits : "")
                    + " exceeds 2^31 - 1");
        }
        if (cache == null) {
            throw new IllegalArgumentException("cache: none given; call dense(k, v, lk), paged(cache, table, maxBlocks, "
                    + "seqLens) or quantized(cache, table, maxBlocks, seqLens)");
        }
        switch (cache) {
            case DENSE -> {
                pointer("k", k, POINTER_ALIGNMENT, false);
                pointer("v", v, POINTER_ALIGNMENT, false);
                positive("lk", lk);
                strides("kStrides", kStrides, 8, kvHeads, lk);
                strides("vStrides", vStrides, 8, kvHeads, lk);
                pointer("seqLens", seqLens, 4, true);
                extent("k", kStrides, batch, kvHeads, lk);
                extent("v", vStrides, batch, kvHeads, lk);
            }
            case PAGED -> {
                PagedKvCache c = paged;
                if (c == null) throw new IllegalArgumentException("cache is null");
                pointer("cache.kPool", c.kPool(), POINTER_ALIGNMENT, false);
                pointer("cache.vPool", c.vPool(), POINTER_ALIGNMENT, false);
                cacheShape(c.numBlocks(), c.blockSize(), c.kvHeads(), c.headDim(), c.dtype());
                Strides ps = new Strides(c.blockStride(), c.headStride(), c.tokenStride());
                strides("cache strides (block, head, token)", ps, 8, 0, 0);
                if (c.tokenStride() < headDim && c.blockSize() > 1 || c.headStride() < headDim && kvHeads > 1) {
                    throw new IllegalArgumentException("cache strides: rows of D channels overlap (token stride "
                            + c.tokenStride() + ", head stride " + c.headStride() + ", headDim " + headDim + ")");
                }
                extent("cache pool", ps, c.numBlocks(), kvHeads, c.blockSize());
                table(c.blockSize());
            }
            case QUANTIZED -> {
                QuantizedKvCache c = quantized;
                if (c == null) throw new IllegalArgumentException("cache is null");
                pointer("cache.pool", c.pool(), POINTER_ALIGNMENT, false);
                cacheShape(c.numBlocks(), c.blockSize(), c.kvHeads(), c.headDim(), c.dtype());
                table(c.blockSize());
            }
            default -> throw new IllegalStateException(cache.name());
        }
        return this;
    }

    private void cacheShape(int numBlocks, int blockSize, int cacheKvHeads, int cacheHeadDim, DType cacheType) {
        positive("cache.numBlocks", numBlocks);
        if (blockSize < PagedKvCache.MIN_BLOCK || blockSize > PagedKvCache.MAX_BLOCK || Integer.bitCount(blockSize) != 1) {
            throw new IllegalArgumentException("cache.blockSize = " + blockSize + " is not allowed; allowed: a power of two in ["
                    + PagedKvCache.MIN_BLOCK + ", " + PagedKvCache.MAX_BLOCK + "]");
        }
        if (cacheKvHeads != kvHeads) {
            throw new IllegalArgumentException("cache.kvHeads = " + cacheKvHeads + " does not match the call's kvHeads = " + kvHeads);
        }
        if (cacheHeadDim != headDim) {
            throw new IllegalArgumentException("cache.headDim = " + cacheHeadDim + " does not match the call's headDim = " + headDim);
        }
        if (cacheType == null) throw new IllegalArgumentException("cache.dtype is null; allowed: fp16, bf16");
        if (cacheType != dtype) {
            throw new IllegalArgumentException("cache.dtype = " + cacheType.shortName() + " does not match the call's dtype = "
                    + dtype.shortName() + " (Q and the cache must have the same 16-bit type)");
        }
    }

    private void table(int blockSize) {
        pointer("blockTable", blockTable, 4, false);
        pointer("seqLens", seqLens, 4, false);
        positive("maxBlocks", maxBlocks);
        if ((long) maxBlocks * blockSize > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("maxBlocks = " + maxBlocks + ": maxBlocks * blockSize exceeds 2^31 - 1 keys");
        }
        if ((long) maxBlocks * batch > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("maxBlocks = " + maxBlocks + ": the table's batch * maxBlocks entries exceed 2^31 - 1");
        }
        if (maxSeqLen < 0 || maxSeqLen > maxBlocks * blockSize) {
            throw new IllegalArgumentException("maxSeqLen = " + maxSeqLen + " must be in [0, maxBlocks * blockSize = "
                    + (long) maxBlocks * blockSize + "] (0: that capacity)");
        }
    }

    private void strides(String name, Strides s, int multiple, int heads, int tokens) {
        if (s.batch() < 0 || s.head() < 0 || s.token() < 0) {
            throw new IllegalArgumentException(name + " = " + s + " must not be negative");
        }
        if (s.batch() % multiple != 0 || s.head() % multiple != 0 || s.token() % multiple != 0) {
            throw new IllegalArgumentException(name + " = " + s + ": every stride must be a multiple of " + multiple
                    + " elements (" + (multiple == 8 ? "16-byte loads" : "8-byte stores") + "; the head dim is contiguous)");
        }
        if (heads > 1 && s.head() < headDim || tokens > 1 && s.token() < headDim) {
            throw new IllegalArgumentException(name + " = " + s + ": rows overlap (head and token strides must be >= headDim = "
                    + headDim + ")");
        }
    }

    private void extent(String name, Strides s, long n0, long n1, long n2) {
        try {
            long last = Math.addExact(Math.addExact(Math.multiplyExact(n0 - 1, s.batch()), Math.multiplyExact(n1 - 1, s.head())),
                    Math.multiplyExact(n2 - 1, s.token()));
            Math.multiplyExact(Math.addExact(last, headDim), 2L);
        } catch (ArithmeticException e) {
            throw new IllegalArgumentException(name + ": the tensor's extent overflows 64-bit byte offsets");
        }
    }

    private static void positive(String name, int value) {
        if (value < 1) throw new IllegalArgumentException(name + " = " + value + " must be >= 1");
    }

    private static void pointer(String name, long address, int alignment, boolean optional) {
        if (address == 0) {
            if (optional) return;
            throw new IllegalArgumentException(name + " is a null device pointer");
        }
        if (address % alignment != 0) {
            throw new IllegalArgumentException(name + " = 0x" + Long.toHexString(address) + " is not aligned to " + alignment
                    + " bytes");
        }
    }

    /** Device address of Q (16-bit). */
    public long q() { return q; }
    /** Device address of the output O (16-bit). */
    public long o() { return o; }
    /** LSE output address, or 0 for none. */
    public long lse() { return lse; }
    /** Whether an LSE output is given ({@link #lse} not 0). */
    public boolean hasLse() { return lse != 0; }
    /** Sequences B. */
    public int batch() { return batch; }
    /** Query heads H. */
    public int heads() { return heads; }
    /** KV heads Hkv (heads when not set). */
    public int kvHeads() { return kvHeads; }
    /** Query heads per kv head: heads / kvHeads (1 without GQA). */
    public int group() { return heads / kvHeads; }
    /** Query rows per sequence Lq. */
    public int lq() { return lq; }
    /** Head dim D. */
    public int headDim() { return headDim; }
    /** The 16-bit type of Q, O and the K/V cache (default fp16). */
    public DType dtype() { return dtype; }
    /** The causal mask (default {@link CausalMode#NONE}). */
    public CausalMode causal() { return causal; }
    /** Softmax scale of the scores q . k (1/sqrt(headDim) unless set). */
    public float smScale() { return smScale; }
    /** Element strides (batch, head, query row) of Q; default [B, H, Lq, D]. */
    public Strides qStrides() { return qStrides; }
    /** Element strides (batch, head, query row) of O; default [B, H, Lq, D]. */
    public Strides oStrides() { return oStrides; }
    /** Which cache the call reads (null when none was given). */
    public Cache cache() { return cache; }
    /** Dense: device address of K (16-bit); 0 otherwise. */
    public long k() { return k; }
    /** Dense: device address of V (16-bit); 0 otherwise. */
    public long v() { return v; }
    /** Dense: the keys of the K/V tensors (each sequence's, unless seqLens is given). */
    public int lk() { return lk; }
    /** Dense: element strides (batch, kv head, key) of K; default from the builder's kvLayout (BHLD: [B, Hkv, Lk, D]). */
    public Strides kStrides() { return kStrides; }
    /** Dense: element strides (batch, kv head, key) of V; default from the builder's kvLayout (BHLD: [B, Hkv, Lk, D]). */
    public Strides vStrides() { return vStrides; }
    /** The paged 16-bit cache, or null when the call reads another. */
    public PagedKvCache paged() { return paged; }
    /** The quantized cache, or null when the call reads another. */
    public QuantizedKvCache quantized() { return quantized; }
    /** Paged and quantized: int32 device block table [B, maxBlocks]; 0 for dense. */
    public long blockTable() { return blockTable; }
    /** Paged and quantized: entries per sequence of the block table (its row stride); 0 for dense. */
    public int maxBlocks() { return maxBlocks; }
    /** int32 device array of the sequences' key counts, or 0 (dense only: all Lk). */
    public long seqLens() { return seqLens; }
    /** Optional int32 device array [B], entry b set to 1 when sequence b had bad device data, or 0 for none. */
    public long flags() { return flags; }
    /** The splits asked for (0: the heuristic). */
    public int splits() { return splits; }

    /** Block size of a paged or quantized cache (0 for dense). */
    public int blockSize() {
        return cache == Cache.PAGED ? paged.blockSize() : cache == Cache.QUANTIZED ? quantized.blockSize() : 0;
    }

    /** The most keys a sequence may have: dense Lk, paged maxBlocks * blockSize. */
    public int capacity() {
        return cache == Cache.DENSE ? lk : maxBlocks * blockSize();
    }

    /** The longest sequence the caller promises (for the split heuristic only): maxSeqLen, else the capacity. */
    public int maxKeys() {
        return cache != Cache.DENSE && maxSeqLen > 0 ? maxSeqLen : capacity();
    }

    /** Rows of the output: batch * heads * lq. */
    public int rows() {
        return batch * heads * lq;
    }

    /** Builder; kvHeads defaults to heads, dtype to fp16, smScale to 1/sqrt(headDim), no mask, Q/O [B, H, Lq, D]. */
    public static final class Builder {
        private long q;
        private long o;
        private long lse;
        private int batch = 1;
        private int heads = 1;
        private int kvHeads;
        private int lq = 1;
        private int headDim;
        private DType dtype = DType.FP16;
        private CausalMode causal = CausalMode.NONE;
        private float smScale;
        private boolean smScaleSet;
        private Strides qStrides;
        private Strides oStrides;
        private Cache cache;
        private long k;
        private long v;
        private int lk;
        private TensorLayout kvLayout = TensorLayout.BHLD;
        private Strides kStrides;
        private Strides vStrides;
        private PagedKvCache paged;
        private QuantizedKvCache quantized;
        private long blockTable;
        private int maxBlocks;
        private long seqLens;
        private int maxSeqLen;
        private long flags;
        private int splits;

        /** Device address of Q [B, H, Lq, D] (or {@link #qStrides}), 16-bit, 16-byte aligned. */
        public Builder q(long a) { this.q = a; return this; }
        /** Device address of the output O [B, H, Lq, D] (or {@link #oStrides}), 16-bit, 16-byte aligned. */
        public Builder o(long a) { this.o = a; return this; }
        /** Optional LSE output float32 [B, H, Lq] (natural log); 0 for none. */
        public Builder lse(long a) { this.lse = a; return this; }
        /** {@link #q(long)} from a JCuda pointer. */
        public Builder q(CUdeviceptr p) { return q(DeviceBuffer.addressOf(p)); }
        /** {@link #o(long)} from a JCuda pointer. */
        public Builder o(CUdeviceptr p) { return o(DeviceBuffer.addressOf(p)); }
        /** {@link #lse(long)} from a JCuda pointer (null: none). */
        public Builder lse(CUdeviceptr p) { return lse(DeviceBuffer.addressOf(p)); }
        /** Sequences B (default 1). */
        public Builder batch(int n) { this.batch = n; return this; }
        /** Query heads H (default 1). */
        public Builder heads(int n) { this.heads = n; return this; }
        /** KV heads Hkv, a divisor of heads (0 or not set: heads). */
        public Builder kvHeads(int n) { this.kvHeads = n; return this; }
        /** Query rows per sequence, 1 .. {@value DecodeSpec#MAX_LQ}. */
        public Builder lq(int n) { this.lq = n; return this; }
        /** Head dim D: a multiple of 16 in [32, 256] (required). */
        public Builder headDim(int d) { this.headDim = d; return this; }
        /** The 16-bit type of Q and O, fp16 or bf16 (default fp16); a cache's dtype must match it. */
        public Builder dtype(DType t) { this.dtype = t; return this; }
        /** The causal mask (default {@link CausalMode#NONE}). */
        public Builder causal(CausalMode m) { this.causal = m; return this; }
        /** Softmax scale; 1/sqrt(headDim) when not set. */
        public Builder smScale(float s) { this.smScale = s; this.smScaleSet = true; return this; }
        /** Element strides of Q (batch, head, query row); the head dim is contiguous. */
        public Builder qStrides(long b, long h, long t) { this.qStrides = new Strides(b, h, t); return this; }
        /** Element strides of O (batch, head, query row), multiples of 4; the head dim is contiguous. */
        public Builder oStrides(long b, long h, long t) { this.oStrides = new Strides(b, h, t); return this; }

        /** A dense cache: K and V [B, Hkv, Lk, D] (or {@link #kvLayout}, {@link #kStrides}), Lk keys each. */
        public Builder dense(long k, long v, int lk) {
            this.cache = Cache.DENSE;
            this.k = k;
            this.v = v;
            this.lk = lk;
            return this;
        }

        /** {@link #dense(long, long, int)} from JCuda pointers. */
        public Builder dense(CUdeviceptr k, CUdeviceptr v, int lk) {
            return dense(DeviceBuffer.addressOf(k), DeviceBuffer.addressOf(v), lk);
        }

        /** Layout of dense K and V without explicit strides (default BHLD). */
        public Builder kvLayout(TensorLayout l) {
            if (l == null) throw new IllegalArgumentException("kvLayout is null; allowed: BHLD, BLHD");
            this.kvLayout = l;
            return this;
        }

        /** Dense: element strides of K (batch, kv head, key), multiples of 8; the head dim is contiguous. */
        public Builder kStrides(long b, long h, long t) { this.kStrides = new Strides(b, h, t); return this; }
        /** Dense: element strides of V (batch, kv head, key), multiples of 8; the head dim is contiguous. */
        public Builder vStrides(long b, long h, long t) { this.vStrides = new Strides(b, h, t); return this; }

        /** A paged 16-bit cache with its int32 block table [B, maxBlocks] and int32 seq_lens [B]. */
        public Builder paged(PagedKvCache c, long blockTable, int maxBlocks, long seqLens) {
            this.cache = Cache.PAGED;
            this.paged = c;
            this.blockTable = blockTable;
            this.maxBlocks = maxBlocks;
            this.seqLens = seqLens;
            return this;
        }

        /** The quantized cache with its int32 block table [B, maxBlocks] and int32 seq_lens [B]. */
        public Builder quantized(QuantizedKvCache c, long blockTable, int maxBlocks, long seqLens) {
            this.cache = Cache.QUANTIZED;
            this.quantized = c;
            this.blockTable = blockTable;
            this.maxBlocks = maxBlocks;
            this.seqLens = seqLens;
            return this;
        }

        /** int32 device array [B] of the sequences' key counts (dense: each &lt;= Lk; paged: required). */
        public Builder seqLens(long a) { this.seqLens = a; return this; }
        /** The longest sequence (host-side hint for the split heuristic; paged only; 0: the table's capacity). */
        public Builder maxSeqLen(int n) { this.maxSeqLen = n; return this; }
        /** Optional int32 device array [B]: entry b is set to 1 when sequence b had bad device data. */
        public Builder flags(long a) { this.flags = a; return this; }
        /** Splits of each sequence's keys across CTAs (0: the heuristic, {@code Decode.splitsFor}). */
        public Builder splits(int n) { this.splits = n; return this; }

        /** The arguments as given; {@link DecodeArgs#validate} checks them. */
        public DecodeArgs build() {
            return new DecodeArgs(this);
        }
    }
}
