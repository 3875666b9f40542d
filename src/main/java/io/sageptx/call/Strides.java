package io.sageptx.call;

/**
 * Element strides of a 4-d tensor whose last (head-dim) axis is contiguous: element (b, h, t, c) lies at
 * {@code b * batch + h * head + t * token + c}. For varlen (packed) tensors the batch stride is unused:
 * token t of sequence b is row {@code cu_seqlens[b] + t}.
 *
 * @param batch elements between sequences (unused for varlen)
 * @param head  elements between heads
 * @param token elements between tokens
 */
public record Strides(long batch, long head, long token) {

    /** FlashAttention's packed varlen layout [total_tokens, H, D]: (unused, D, H*D). */
    public static Strides packed(int heads, int headDim) {
        return new Strides(0, headDim, (long) heads * headDim);
    }
}
