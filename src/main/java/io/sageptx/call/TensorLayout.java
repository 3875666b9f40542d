package io.sageptx.call;

/** Memory layout of the Q, K, V and O tensors when no explicit strides are given (the last dim is contiguous). */
public enum TensorLayout {
    /** [B, H, L, D] (also called HND): strides (H*L*D, L*D, D). */
    BHLD,
    /** [B, L, H, D] (also called NHD): strides (L*H*D, D, H*D). */
    BLHD;

    /** Element strides (batch, head, token) of a contiguous tensor of this layout. */
    public Strides strides(int heads, int len, int headDim) {
        return this == BHLD ? new Strides((long) heads * len * headDim, (long) len * headDim, headDim)
                : new Strides((long) len * heads * headDim, headDim, (long) heads * headDim);
    }
}
