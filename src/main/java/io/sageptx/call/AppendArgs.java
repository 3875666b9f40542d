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

    public QuantizedKvCache cache() { return cache; }
    public long k() { return k; }
    public long v() { return v; }
    public Strides kStrides() { return kStrides; }
    public Strides vStrides() { return vStrides; }
    public int batch() { return batch; }
    public int tokens() { return tokens; }
    public long counts() { return counts; }
    public long blockTable() { return blockTable; }
    public int maxBlocks() { return maxBlocks; }
    public long seqLens() { return seqLens; }
    public long seqLensOut() { return seqLensOut; }
    public long flags() { return flags; }

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

        public Builder cache(QuantizedKvCache c) { this.cache = c; return this; }
        /** New K and V rows [B, Hkv, tokens, D] (or {@link #kStrides}/{@link #vStrides}). */
        public Builder kv(long k, long v) { this.k = k; this.v = v; return this; }
        public Builder kStrides(long b, long h, long t) { this.kStrides = new Strides(b, h, t); return this; }
        public Builder vStrides(long b, long h, long t) { this.vStrides = new Strides(b, h, t); return this; }
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
        public Builder flags(long a) { this.flags = a; return this; }

        public AppendArgs build() {
            return new AppendArgs(this);
        }
    }
}
