package io.sageptx.numerics;

/**
 * The memory layout of SagePTX's quantized paged KV cache (the decode family's {@code PAGED_QUANT} format): one pool of
 * {@code num_blocks} blocks, each holding every kv head's K, V and statistics of {@code block_size} tokens,
 * so that a block is self-contained (appends never touch another block; blocks can be shared or copied
 * as a unit). Per (block, kv head), at byte offset {@code (block * Hkv + kvh) * headBytes} (a multiple of 128):
 *
 * <pre>
 *   K8    [block_size][D]        int8, K - mean rounded to per-token scale steps
 *   V8T   [block_size/16][D][16] e4m3, V / vscale (16-key tiles of V transposed)
 *   stats: kmean [D]   fp16, mean / meanScale (|kmean| &lt;= 1)
 *          vscale [D]  float32 powers of two, vscale[c] &gt;= max |V[., c]| / 448 over the block
 *          meanScale   float32 power of two &gt;= max |mean|, then 12 bytes of padding
 *          kscale [block_size] float32, per token: max_c |K - mean| / 127 (0 for a token equal to the mean)
 * </pre>
 *
 * Dequantized: {@code K[j][c] = kscale[j] * K8[j][c] + meanScale * kmean[c]} and
 * {@code V[j][c] = vscale[c] * e4m3(V8T[j/16][c][j%16])}; see docs/notes/decode.md and
 * {@link QuantizedKvCacheModel}, the CPU model of the append and decode kernels.
 */
public final class QuantKvLayout {

    private QuantKvLayout() {
    }

    /** Bytes of kmean, vscale and meanScale (+ padding) of one (block, head). */
    public static int headStatBytes(int d) {
        return 2 * d + 4 * d + 16;
    }

    /**
     * Bytes of one (block, kv head): K8, V8T, the statistics and the K scales, rounded up to a multiple of 128
     * (the bytes after the K scales are never read or written). The rounding keeps every (block, head) 128-byte
     * aligned: the decode kernel's 16-byte cp.async copies of K8 rows and V8T tiles ask L2 for 1.5x the sectors
     * they copy when source and shared destination sit at different offsets within 128 bytes (measured on the
     * H200, docs/notes/decode.md); it costs 48 bytes per 4944 at block size 16, D = 128.
     */
    public static long headBytes(int blockSize, int d) {
        long bytes = 2L * blockSize * d + headStatBytes(d) + 4L * blockSize;
        return (bytes + 127) / 128 * 128;
    }

    /** Offset of V8T in a (block, head). */
    public static long vOffset(int blockSize, int d) {
        return (long) blockSize * d;
    }

    /** Offset of the statistics (kmean) in a (block, head). */
    public static long statOffset(int blockSize, int d) {
        return 2L * blockSize * d;
    }

    /** Offset of the V scales in a (block, head). */
    public static long vScaleOffset(int blockSize, int d) {
        return statOffset(blockSize, d) + 2L * d;
    }

    /** Offset of meanScale in a (block, head). */
    public static long meanScaleOffset(int blockSize, int d) {
        return statOffset(blockSize, d) + 6L * d;
    }

    /** Offset of the per-token K scales in a (block, head). */
    public static long kScaleOffset(int blockSize, int d) {
        return statOffset(blockSize, d) + headStatBytes(d);
    }

    /** Bytes of a block (every kv head). */
    public static long blockBytes(int blockSize, int kvHeads, int d) {
        return kvHeads * headBytes(blockSize, d);
    }

    /** Bytes of a pool of {@code numBlocks} blocks. */
    public static long poolBytes(long numBlocks, int blockSize, int kvHeads, int d) {
        return numBlocks * blockBytes(blockSize, kvHeads, d);
    }
}
