package io.sageptx.call;

import io.sageptx.cuda.DeviceBuffer;
import io.sageptx.spec.DType;
import jcuda.driver.CUdeviceptr;

/**
 * A paged 16-bit KV cache in caller memory, in the vLLM / FlashAttention convention: block pools for K and
 * V of {@code numBlocks} blocks of {@code blockSize} tokens, element (block, token, kv head, c) at
 * {@code block * blockStride + token * tokenStride + kvHead * headStride + c} (defaults: [num_blocks,
 * block_size, Hkv, D] contiguous). The head dim is contiguous. Which blocks hold a sequence's tokens is
 * said per call ({@link DecodeArgs.Builder#paged}): a block table and the sequence lengths.
 *
 * @param kPool       device address of the K pool (16-byte aligned)
 * @param vPool       device address of the V pool (16-byte aligned)
 * @param numBlocks   blocks in each pool
 * @param blockSize   a power of two in [16, 256]
 * @param kvHeads     kv heads Hkv: must be the call's
 * @param headDim     head dim D: must be the call's
 * @param dtype       the 16-bit type of the pools: must be the call's
 * @param blockStride elements between blocks (a multiple of 8)
 * @param tokenStride elements between tokens of a block (a multiple of 8)
 * @param headStride  elements between kv heads (a multiple of 8)
 */
public record PagedKvCache(long kPool, long vPool, int numBlocks, int blockSize, int kvHeads, int headDim, DType dtype,
                           long blockStride, long tokenStride, long headStride) {

    /** Block sizes a paged cache may have. */
    public static final int MIN_BLOCK = 16;
    /** Largest block size (block sizes are powers of two from {@link #MIN_BLOCK}). */
    public static final int MAX_BLOCK = 256;

    /** Contiguous pools [num_blocks, block_size, Hkv, D]. */
    public static PagedKvCache of(long kPool, long vPool, int numBlocks, int blockSize, int kvHeads, int headDim, DType dtype) {
        long token = (long) kvHeads * headDim;
        return new PagedKvCache(kPool, vPool, numBlocks, blockSize, kvHeads, headDim, dtype, token * blockSize, token, headDim);
    }

    /** {@link #of(long, long, int, int, int, int, DType)} from JCuda pointers. */
    public static PagedKvCache of(CUdeviceptr kPool, CUdeviceptr vPool, int numBlocks, int blockSize, int kvHeads, int headDim,
                                  DType dtype) {
        return of(DeviceBuffer.addressOf(kPool), DeviceBuffer.addressOf(vPool), numBlocks, blockSize, kvHeads, headDim, dtype);
    }

    /** Pools [num_blocks, Hkv, block_size, D] (the head-major layout some runtimes use). */
    public static PagedKvCache headMajor(long kPool, long vPool, int numBlocks, int blockSize, int kvHeads, int headDim,
                                         DType dtype) {
        return new PagedKvCache(kPool, vPool, numBlocks, blockSize, kvHeads, headDim, dtype,
                (long) kvHeads * blockSize * headDim, headDim, (long) blockSize * headDim);
    }

    /** Bytes of one pool with the default layout. */
    public static long poolBytes(long numBlocks, int blockSize, int kvHeads, int headDim) {
        return numBlocks * blockSize * kvHeads * headDim * 2L;
    }

    /** The same pools with explicit element strides (block, token, head). */
    public PagedKvCache withStrides(long block, long token, long head) {
        return new PagedKvCache(kPool, vPool, numBlocks, blockSize, kvHeads, headDim, dtype, block, token, head);
    }
}
