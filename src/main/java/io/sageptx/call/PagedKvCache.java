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
 * @param blockSize a power of two in [16, 256]
 * @param dtype     the 16-bit type of the pools: must be the call's
 */
public record PagedKvCache(long kPool, long vPool, int numBlocks, int blockSize, int kvHeads, int headDim, DType dtype,
                           long blockStride, long tokenStride, long headStride) {

    /** Block sizes a paged cache may have. */
    public static final int MIN_BLOCK = 16;
    public static final int MAX_BLOCK = 256;

    /** Contiguous pools [num_blocks, block_size, Hkv, D]. */
    public static PagedKvCache of(long kPool, long vPool, int numBlocks, int blockSize, int kvHeads, int headDim, DType dtype) {
        long token = (long) kvHeads * headDim;
        return new PagedKvCache(kPool, vPool, numBlocks, blockSize, kvHeads, headDim, dtype, token * blockSize, token, headDim);
    }

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
