package io.sageptx.call;

/**
 * The causal mask of an attention call. With Lq == Lk both aligned modes are the usual causal mask;
 * they differ when Lq != Lk (per sequence, for varlen batches).
 */
public enum CausalMode {
    /** No mask: every query sees every key. */
    NONE,
    /** Query i sees keys j &lt;= i (aligned at the top-left corner of the Lq x Lk score matrix). */
    TOP_LEFT,
    /**
     * Query i sees keys j &lt;= i + Lk - Lq (aligned at the bottom-right corner): the last query sees every
     * key, as in KV-cache prefill and chunked decoding. When Lq &gt; Lk the first Lq - Lk queries see no key:
     * their output rows are 0 and their LSE is -infinity.
     */
    BOTTOM_RIGHT
}
