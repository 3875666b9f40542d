package io.sageptx.kernels.decode;

/** How a decode kernel finds and reads the keys and values of a sequence. */
public enum KvFormat {
    /**
     * 16-bit K and V in one tensor each, element (b, kvh, token, c) at {@code b*sb + kvh*sh + token*sr + c}
     * ([B, Hkv, Lk, D] contiguous by default; BLHD or any strides with a contiguous head dim).
     */
    DENSE("dense"),
    /**
     * 16-bit K and V block pools {@code [num_blocks, block_size, Hkv, D]} (or any strides with a contiguous
     * head dim), a block table int32 {@code [B, max_blocks]} and sequence lengths int32 {@code [B]}: the
     * vLLM / FlashAttention paged KV cache.
     */
    PAGED("paged"),
    /**
     * SagePTX's quantized paged cache: K INT8 (smoothed by a per-block channel mean, one scale per token),
     * V FP8 e4m3 (per-block, per-channel power-of-two scales), same block table and lengths
     * ({@code QuantKvLayout}).
     */
    PAGED_QUANT("paged-q8");

    private final String id;

    KvFormat(String id) {
        this.id = id;
    }

    public String id() {
        return id;
    }

    public boolean paged() {
        return this != DENSE;
    }
}
