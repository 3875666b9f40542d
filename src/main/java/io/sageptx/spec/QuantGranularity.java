package io.sageptx.spec;

/** Granularity of the INT8 scales of Q and K. */
public enum QuantGranularity {
    /**
     * The groups are what one thread holds in its mma accumulator: per warp tile of Q rows, 8 groups
     * (rows congruent mod 8); per 64-key block of K, 4 groups (keys 8j+2t, 8j+2t+1).
     */
    PER_THREAD("thread", 8, 4),
    /** One Q scale per warp tile of rows, one K scale per key block. */
    PER_WARP("warp", 1, 1),
    /** One Q scale per CTA tile of rows, one K scale per key block. */
    PER_BLOCK("block", 1, 1);

    private final String id;
    private final int qGroupsPerTile;
    private final int kGroupsPerBlock;

    QuantGranularity(String id, int qGroupsPerTile, int kGroupsPerBlock) {
        this.id = id;
        this.qGroupsPerTile = qGroupsPerTile;
        this.kGroupsPerBlock = kGroupsPerBlock;
    }

    /** The name users type ({@code thread}, {@code warp}, {@code block}). */
    public String id() {
        return id;
    }

    /** Number of Q scales per Q scale tile (see {@link KernelSpec#qScaleTileRows()}). */
    public int qGroupsPerTile() {
        return qGroupsPerTile;
    }

    /** Number of K scales per key block. */
    public int kGroupsPerBlock() {
        return kGroupsPerBlock;
    }

    /** The granularity named by its id (or its enum name). */
    public static QuantGranularity parse(String text) {
        for (QuantGranularity q : values()) {
            if (q.id.equalsIgnoreCase(text.trim()) || q.name().equalsIgnoreCase(text.trim())) return q;
        }
        throw new IllegalArgumentException("quant: '" + text + "' is not one of thread, warp, block");
    }
}
