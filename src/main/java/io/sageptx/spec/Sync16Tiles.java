package io.sageptx.spec;

import java.util.List;

/**
 * The tiles of the 16-bit QK mma.sync kernel ({@link QkPrecision#FP16} with {@link MmaKind#SYNC}) and its shared
 * memory: the Q tile (blockQ rows), then two or three stages of K and of V (blockK rows each), every row 2D bytes
 * plus 16 of padding, every region 128-byte aligned (the planner's layout, {@code MmaSyncPlan}, which a test holds
 * equal to {@link #smemBytes}). 16-bit Q, K and V tiles are twice the bytes of INT8 ones: 128 rows with 64-key blocks
 * fit the 99 KB per CTA of sm_86/89/120 only up to D = 112, so larger head dims take 32-key blocks or 64 rows.
 * Here (not in the family) because a qk=auto spec's partner ({@link KernelSpec#autoPartner()}) needs the choice.
 */
public final class Sync16Tiles {

    /** (blockQ, warps, blockK) in order of preference: the first whose two stages fit the arch is the default. */
    public static final List<int[]> ORDER = List.of(new int[] {128, 8, 64}, new int[] {128, 8, 32}, new int[] {64, 4, 64},
            new int[] {64, 4, 32});

    private static final int ALIGN = 128;

    private Sync16Tiles() {
    }

    /** Dynamic shared memory of the kernel with these tiles and pipeline depth. */
    public static int smemBytes(int headDim, int blockQ, int blockK, int stages) {
        int pitch = 2 * headDim + 16;
        return align(blockQ * pitch) + stages * 2 * align(blockK * pitch);
    }

    /**
     * The largest head dim of the 16-bit QK mma.sync kernel: above, ptxas 13.0 spills it at every tile that fits
     * (the O accumulators, D / 2 registers, beside the pipeline; 56 to 128 bytes at D = 240 and 256, and at D = 224
     * on some arch and causal mode). Larger head dims with 16-bit QK run on the wgmma family (sm_90).
     */
    public static final int MAX_HEAD_DIM = 208;

    /** Above this head dim 64-key blocks spill (O, D / 2 registers, beside 64-key scores and P): 32-key blocks only. */
    public static final int BLOCK_K64_MAX_D = 176;

    /**
     * Whether two stages of these tiles fit one CTA on every device of {@code arch}, and the tiles' registers fit
     * (64-key blocks up to {@link #BLOCK_K64_MAX_D}).
     */
    public static boolean fits(Arch arch, int headDim, int blockQ, int blockK) {
        return headDim <= MAX_HEAD_DIM && (blockK == 32 || headDim <= BLOCK_K64_MAX_D)
                && smemBytes(headDim, blockQ, blockK, 2) <= ArchLimits.of(arch).smemPerBlock();
    }

    /** Whether the kernel exists for this head dim (up to {@link #MAX_HEAD_DIM}). */
    public static boolean serves(int headDim) {
        return headDim <= MAX_HEAD_DIM;
    }

    /** The default tiles on {@code arch} for {@code headDim}: the first of {@link #ORDER} that fits. */
    public static int[] preferred(Arch arch, int headDim) {
        for (int[] t : ORDER) {
            if (fits(arch, headDim, t[0], t[2])) return t;
        }
        throw new IllegalArgumentException("no 16-bit QK mma.sync tile fits " + arch.target() + " at D = " + headDim);
    }

    private static int align(int bytes) {
        return (bytes + ALIGN - 1) / ALIGN * ALIGN;
    }
}
