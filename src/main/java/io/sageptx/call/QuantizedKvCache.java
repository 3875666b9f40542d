package io.sageptx.call;

import io.sageptx.cuda.DeviceBuffer;
import io.sageptx.numerics.QuantKvLayout;
import io.sageptx.spec.DType;
import jcuda.driver.CUdeviceptr;

/**
 * SagePTX's quantized paged KV cache in caller memory: one pool of {@code numBlocks} blocks of
 * {@code blockSize} tokens, each block holding every kv head's INT8 K (smoothed by a per-block channel
 * mean, one scale per token), FP8 e4m3 V (per-block power-of-two channel scales) and their statistics
 * ({@link QuantKvLayout}); {@link #poolBytes} says how much memory it takes. Tokens are written by
 * {@code Decode.append}; the block table and the lengths are the caller's, as for {@link PagedKvCache}.
 *
 * @param pool      device address of the pool ({@link #poolBytes()} bytes, 16-byte aligned; 128-byte aligned, as
 *                  cuMemAlloc returns, for full copy speed)
 * @param numBlocks blocks in the pool
 * @param blockSize tokens per block: a power of two in [16, 256]
 * @param kvHeads   kv heads Hkv
 * @param headDim   head dim D
 * @param dtype     the 16-bit type of the K/V rows appended and of the decode calls over the cache
 */
public record QuantizedKvCache(long pool, int numBlocks, int blockSize, int kvHeads, int headDim, DType dtype) {

    /** A cache over the pool at a JCuda pointer. */
    public static QuantizedKvCache of(CUdeviceptr pool, int numBlocks, int blockSize, int kvHeads, int headDim, DType dtype) {
        return new QuantizedKvCache(DeviceBuffer.addressOf(pool), numBlocks, blockSize, kvHeads, headDim, dtype);
    }

    /** Bytes of the pool. */
    public static long poolBytes(long numBlocks, int blockSize, int kvHeads, int headDim) {
        return QuantKvLayout.poolBytes(numBlocks, blockSize, kvHeads, headDim);
    }

    /** Bytes of the pool of this cache. */
    public long poolBytes() {
        return poolBytes(numBlocks, blockSize, kvHeads, headDim);
    }
}
