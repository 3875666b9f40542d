package io.sageptx.call;

import io.sageptx.kernels.decode.DecodeSpec;

/**
 * One append of new tokens to a {@link QuantizedKvCache} ({@code Decode.append}): for each of B sequences up
 * to {@code tokens} new K and V rows (16-bit, the cache's dtype), element (b, kv head, t, c) at
 * {@code b * sb + h * sh + t * sr + c} (default [B, Hkv, tokens, D]), written at positions
 * {@code seqLens[b] ..} (the lengths before the call, int32 device array) through the block table, which
 * must already list the blocks those positions fall in. Optional: int32 {@code counts [B]} (tokens of each
 * sequence, &lt;= tokens), int32 {@code seqLensOut [B]} (receives seqLens + counts; not the same array), int32
 * {@code flags [B]} (set to 1 for a sequence whose position, count or block index was out of range: nothing
 * is written for it there).
 */
public final class AppendArgs {

    final QuantizedKvCache cache;
    final long k;
    final long v;
    final Strides kStrides;
    final Strides vStrides;
    final int batch;
    final int tokens;
    final long counts;
    final long blockTable;
    final int maxBlocks;
    final long seqLens;
    final long seqLensOut;
    final long flags;

    private AppendArgs(Builder b) {
        this.cache = b.cache;
        this.k = b.k;
        this.v = b.v;
        this.batch = b.batch;
        this.tokens = b.tokens;
        int hkv = b.cache == null ? 1 : b.cache.kvHeads();
        int d = b.cache == null ? 1 : b.cache.headDim();
        Strides def = TensorLayout.BHLD.strides(hkv, b.tokens, d);
        this.kStrides = b.kStrides != null ? b.kStrides : def;
        this.vStrides = b.vStrides != null ? b.vStrides : def;
        this.counts = b.counts;
        this.blockTable = b.blockTable;
        this.maxBlocks = b.maxBlocks;
        this.seqLens = b.seqLens;
        this.seqLensOut = b.seqLensOut;
        this.flags = b.flags;
    }

    /** A new builder: batch and tokens 1, K/V strides [B, Hkv, tokens, D], no optional arrays. */
    public static Builder builder() {
        return new Builder();
    }

    /** Checks every argument; throws IllegalArgumentException naming the first bad one. */
    public AppendArgs validate() {
        if (cache == null) throw new IllegalArgumentException("cache is null: the quantized cache to append to");
        pointer("cache.pool", cache.pool(), 16, false);
        if (cache.numBlocks() < 1) throw new IllegalArgumentException("cache.numBlocks = " + cache.numBlocks() + " must be >= 1");
        int bs = cache.blockSize();
        if (bs < PagedKvCache.MIN_BLOCK || bs > PagedKvCache.MAX_BLOCK || Integer.bitCount(bs) != 1) {
            throw new IllegalArgumentException("cache.blockSize = " + bs + " is not allowed; allowed: a power of two in ["
                    + PagedKvCache.MIN_BLOCK + ", " + PagedKvCache.MAX_BLOCK + "]");
        }
        if (!DecodeSpec.HEAD_DIMS.contains(cache.headDim())) {
            throw new IllegalArgumentException("cache.headDim = " + cache.headDim() + " is not supported; supported: "
                    + DecodeSpec.HEAD_DIMS);
        }
        if (cache.kvHeads() < 1) throw new IllegalArgumentException("cache.kvHeads = " + cache.kvHeads() + " must be >= 1");
        if (cache.dtype() == null) throw new IllegalArgumentException("cache.dtype is null; allowed: fp16, bf16");
        if (batch < 1 || batch > AttentionArgs.MAX_GRID_YZ) {
            throw new IllegalArgumentException("batch = " + batch + " must be in [1, " + AttentionArgs.MAX_GRID_YZ + "]");
        }
        if (tokens < 1) throw new IllegalArgumentException("tokens = " + tokens + " must be >= 1");
        pointer("k", k, 2, false);
        pointer("v", v, 2, false);
        strides("kStrides", kStrides);
        strides("vStrides", vStrides);
        pointer("blockTable", blockTable, 4, false);
        pointer("seqLens", seqLens, 4, false);
        pointer("seqLensOut", seqLensOut, 4, true);
        pointer("counts", counts, 4, true);
        pointer("flags", flags, 4, true);
        if (seqLensOut != 0 && seqLensOut == seqLens) {
            throw new IllegalArgumentException("seqLensOut is seqLens: the kernel reads every length before it writes one; "
                    + "give a second array");
        }
        if (maxBlocks < 1) throw new IllegalArgumentException("maxBlocks = " + maxBlocks + " must be >= 1");
        if ((long) maxBlocks * bs > Integer.MAX_VALUE || (long) maxBlocks * batch > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("maxBlocks = " + maxBlocks + " is too large (keys or table entries over 2^31 - 1)");
        }
        if ((long) tokens > (long) maxBlocks * bs) {
            throw new IllegalArgumentException("tokens = " + tokens + " exceeds the table's capacity maxBlocks * blockSize = "
                    + (long) maxBlocks * bs);
        }
        return this;
    }

    private void strides(String name, Strides s) {
        if (s.batch() < 0 || s.head() < 0 || s.token() < 0) {
            throw new IllegalArgumentException(name + " = " + s + " must not be negative");
        }
        int d = cache.headDim();
        if (tokens > 1 && s.token() < d || cache.kvHeads() > 1 && s.head() < d) {
            throw new IllegalArgumentException(name + " = " + s + ": rows overlap (head and token strides must be >= headDim = "
                    + d + ")");
        }
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

    /** The quantized cache the tokens are appended to. */
    public QuantizedKvCache cache() { return cache; }
    /** Device address of the new K rows (16-bit, the cache's dtype). */
    public long k() { return k; }
    /** Device address of the new V rows (16-bit, the cache's dtype). */
    public long v() { return v; }
    /** Element strides (batch, kv head, token) of the new K rows; default [B, Hkv, tokens, D] contiguous. */
    public Strides kStrides() { return kStrides; }
    /** Element strides (batch, kv head, token) of the new V rows; default [B, Hkv, tokens, D] contiguous. */
    public Strides vStrides() { return vStrides; }
    /** Sequences B appended to (default 1). */
    public int batch() { return batch; }
    /** New tokens per sequence: the K/V rows given per (sequence, kv head) (default 1). */
    public int tokens() { return tokens; }
    /** Optional int32 device array [B] of each sequence's new tokens (each &lt;= tokens), or 0: all {@code tokens}. */
    public long counts() { return counts; }
    /** int32 device block table [B, maxBlocks]: the cache blocks of each sequence, in position order. */
    public long blockTable() { return blockTable; }
    /** Entries per sequence of the block table (its row stride). */
    public int maxBlocks() { return maxBlocks; }
    /** int32 device array [B] of the lengths before the call: the first position each sequence's new tokens go to. */
    public long seqLens() { return seqLens; }
    /** Optional int32 device array [B] that receives seqLens + counts (not seqLens itself), or 0 for none. */
    public long seqLensOut() { return seqLensOut; }
    /** Optional int32 device array [B], entry b set to 1 when sequence b had out-of-range device data, or 0 for none. */
    public long flags() { return flags; }

    /** Builder of {@link AppendArgs}; batch and tokens default to 1, the K/V strides to [B, Hkv, tokens, D]. */
    public static final class Builder {
        private QuantizedKvCache cache;
        private long k;
        private long v;
        private Strides kStrides;
        private Strides vStrides;
        private int batch = 1;
        private int tokens = 1;
        private long counts;
        private long blockTable;
        private int maxBlocks;
        private long seqLens;
        private long seqLensOut;
        private long flags;

        /** The quantized cache to append to (required; its dtype is the K/V rows'). */
        public Builder cache(QuantizedKvCache c) { this.cache = c; return this; }
        /** New K and V rows [B, Hkv, tokens, D] (or {@link #kStrides}/{@link #vStrides}). */
        public Builder kv(long k, long v) { this.k = k; this.v = v; return this; }
        /** Element strides of the new K rows (batch, kv head, token); the head dim is contiguous. */
        public Builder kStrides(long b, long h, long t) { this.kStrides = new Strides(b, h, t); return this; }
        /** Element strides of the new V rows (batch, kv head, token); the head dim is contiguous. */
        public Builder vStrides(long b, long h, long t) { this.vStrides = new Strides(b, h, t); return this; }
        /** Sequences B (default 1). */
        public Builder batch(int n) { this.batch = n; return this; }
        /** New tokens per sequence (1 for a decode step). */
        public Builder tokens(int n) { this.tokens = n; return this; }
        /** Optional int32 [B]: tokens of each sequence (each in [0, tokens]). */
        public Builder counts(long a) { this.counts = a; return this; }
        /** int32 block table [B, maxBlocks] and int32 lengths before the call [B]. */
        public Builder table(long blockTable, int maxBlocks, long seqLens) {
            this.blockTable = blockTable;
            this.maxBlocks = maxBlocks;
            this.seqLens = seqLens;
            return this;
        }
        /** Optional int32 [B]: receives the lengths after the call (a different array than seqLens). */
        public Builder seqLensOut(long a) { this.seqLensOut = a; return this; }
        /** Optional int32 device array [B]: entry b is set to 1 when sequence b had bad device data (0: none). */
        public Builder flags(long a) { this.flags = a; return this; }

        /** The arguments as given; {@link AppendArgs#validate} checks them. */
        public AppendArgs build() {
            return new AppendArgs(this);
        }
    }
}
