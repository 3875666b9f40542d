package io.sageptx.kernels.mmasync;

import io.sageptx.spec.ArchLimits;
import io.sageptx.spec.KernelSpec;
import io.sageptx.spec.PvVariant;

/**
 * Shared-memory layout, pipeline and launch bounds of the fused mma.sync attention kernel for one spec. All
 * numbers the kernel template needs come from here; the architecture's limits ({@link ArchLimits#of}: the
 * smallest device that runs the spec's PTX) decide the default pipeline depth.
 *
 * <p>Layout: the Q tile at 0, then a ring of {@link #stages()} K slots, then a ring of as many V slots (one
 * key block each; rows padded by 16 bytes, which puts the eight rows an ldmatrix reads on distinct bank
 * groups). With one stage the kernel is the single-buffered one (copy block j, wait, compute, barrier).
 *
 * <p>Schedules ({@link Schedule}): {@code SINGLE} (one stage) and {@code PIPELINED} (copies of blocks
 * j+1 .. j+S-1 in flight while block j is computed). The template's comments give the wait and barrier
 * reasoning of each. (An order that issues block j+1's Q K^T mmas before block j's softmax was tried:
 * ptxas 13.0 moves those mmas back below the softmax, even across branches, and only spends registers;
 * see docs/notes/mmasync-performance.md.)
 */
public final class MmaSyncPlan {

    /** Shared-memory regions start on this alignment. */
    public static final int SMEM_ALIGN = 128;

    /** How the key loop is organized. */
    public enum Schedule {
        /** Copy block j, wait, compute, barrier (stages = 1). */
        SINGLE,
        /** K and V of blocks j+1 .. j+S-1 in flight while block j is computed. */
        PIPELINED
    }

    private final KernelSpec spec;
    private final ArchLimits limits;
    private final TileCopy q;
    private final TileCopy k;
    private final TileCopy v;
    private final Integer minBlocks;
    private final int stages;
    private final Schedule schedule;
    private final int qOffset;
    private final int kOffset;
    private final int kSlotBytes;
    private final int vOffset;
    private final int vSlotBytes;
    private final int smemBytes;

    public MmaSyncPlan(KernelSpec spec) {
        this.spec = spec;
        this.limits = ArchLimits.of(spec.arch());
        int d = spec.headDim();
        int nt = spec.threads();
        // Q and K rows: INT8 of D padded to 32, or (16-bit QK) D values of the input type
        int qkRow = qkRowBytes(spec);
        this.q = TileCopy.padded(spec.blockQ(), qkRow, nt);
        this.k = TileCopy.padded(spec.blockK(), qkRow, nt);
        // FP8 V arrives transposed ([D][tokens], one byte each); FP16 V is [tokens][D] in the input dtype.
        this.v = spec.pv().isFp8() ? TileCopy.padded(d, spec.blockK(), nt)
                : TileCopy.padded(spec.blockK(), d * spec.inType().bytes(), nt);
        this.minBlocks = launchMinBlocks(spec);
        this.qOffset = 0;
        this.kOffset = align(qOffset + q.smemBytes());
        this.kSlotBytes = align(k.smemBytes());
        this.vSlotBytes = align(v.smemBytes());
        this.stages = spec.stages() != 0 ? spec.stages() : defaultStages();
        this.vOffset = kOffset + stages * kSlotBytes;
        this.smemBytes = vOffset + stages * vSlotBytes;
        this.schedule = stages == 1 ? Schedule.SINGLE : Schedule.PIPELINED;
    }

    /**
     * The {@code .minnctapersm} hint, or null. D <= 64 with FP8 f16-acc PV (the method's variant): two CTAs per
     * SM (at 256 threads a cap of 128 registers, which every arch's pipelined and single-buffered kernel meets
     * without spills; 16 warps per SM). Otherwise, up to D = 64: ptxas' own occupancy guess (about 96
     * registers) spills some 128-thread kernels, so two CTAs per SM opens up to 255 for them; 256-thread
     * kernels get one CTA per SM, which lifts a cap that spills FP16 PV (it needs about 150 registers) and
     * FP8 f32-acc. Above D = 64 the same hints make ptxas schedule more aggressively and spill, so none is
     * given (KernelAssemblyTest checks every variant).
     */
    static Integer launchMinBlocks(KernelSpec spec) {
        if (spec.headDim() > 64) return null;
        if (spec.pv() == PvVariant.FP8_F16ACC) return Integer.valueOf(2);
        return spec.threads() <= 128 ? Integer.valueOf(2) : Integer.valueOf(1);
    }

    /**
     * Three stages where their shared memory fits the arch's opt-in limit per CTA and keeps as many CTAs per
     * SM as the launch bounds aim for, or two for a CTA of 4 warps (and as two stages would), else two where
     * they fit, else one (sm_89, D=128 FP8 on 64 x 4: 2 stages, 48 KB, two CTAs; 3 stages would leave one). FP16 PV
     * above D = 176 stays single-buffered: its O accumulators (D / 2 registers) and 16-bit P leave no room
     * for the pipeline's slot addresses (ptxas spills the pipelined kernel at D = 192 on sm_90 and more at
     * D >= 224 than the single-buffered one; HeadDimAssemblyTest). 16-bit QK (its Q and K tiles are twice the
     * INT8 bytes) has no single-buffered loop: two stages at least.
     */
    private int defaultStages() {
        boolean q16 = spec.fp16Qk();
        if (!q16 && !spec.pv().isFp8() && spec.headDim() > 176) return 1;
        // a 4-warp CTA alone would leave the SM 4 warps: its pipeline depth must leave room for two
        int target = minBlocks != null ? minBlocks : spec.threads() <= 128 ? 2 : 1;
        int two = bytesFor(2);
        int three = bytesFor(3);
        if (three <= limits.smemPerBlock()
                && limits.ctasBySmem(three) >= Math.min(target, Math.max(1, limits.ctasBySmem(two)))) {
            return 3;
        }
        // 16-bit QK has the pipelined loops only: a tile whose two stages do not fit is no candidate (fits() false)
        return two <= limits.smemPerBlock() || q16 ? 2 : 1;
    }

    private int bytesFor(int n) {
        return kOffset + n * (kSlotBytes + vSlotBytes);
    }

    static int align(int bytes) {
        return (bytes + SMEM_ALIGN - 1) / SMEM_ALIGN * SMEM_ALIGN;
    }

    public KernelSpec spec() {
        return spec;
    }

    /** The limits the plan was sized for: the smallest device that runs the spec's PTX. */
    public ArchLimits limits() {
        return limits;
    }

    public TileCopy qTile() {
        return q;
    }

    public TileCopy kTile() {
        return k;
    }

    public TileCopy vTile() {
        return v;
    }

    /** K/V pipeline depth: slots in each ring (1: single-buffered). */
    public int stages() {
        return stages;
    }

    public Schedule schedule() {
        return schedule;
    }

    /** The {@code .minnctapersm} launch bound, or null for none. */
    public Integer minBlocks() {
        return minBlocks;
    }

    public int qOffset() {
        return qOffset;
    }

    /** The first K slot. */
    public int kOffset() {
        return kOffset;
    }

    /** Bytes between two K slots. */
    public int kSlotBytes() {
        return kSlotBytes;
    }

    /** The first V slot. */
    public int vOffset() {
        return vOffset;
    }

    /** Bytes between two V slots. */
    public int vSlotBytes() {
        return vSlotBytes;
    }

    /** Dynamic shared memory per CTA. */
    public int smemBytes() {
        return smemBytes;
    }

    /** Whether one CTA's shared memory and threads fit the arch's smallest device at all. */
    public boolean fits() {
        return limits.fits(spec.threads(), smemBytes);
    }

    /** Resident CTAs per SM as far as shared memory and threads go (registers are ptxas' to tell). */
    public int ctasPerSmBySmemAndThreads() {
        return Math.min(limits.ctasBySmem(smemBytes), limits.ctasByThreads(spec.threads()));
    }

    /** The most registers per thread the launch bounds leave ptxas (255 without a hint above one CTA). */
    public int registerCap() {
        return limits.registerBudget(spec.threads(), minBlocks == null ? 1 : minBlocks);
    }

    /**
     * k-steps of Q·K^T, 32 bytes of a Q and K row each: INT8 k32 steps over the zero-padded head dim, or (16-bit
     * QK) k16 steps over D.
     */
    public int qkSteps() {
        return qkRowBytes() / 32;
    }

    /** Bytes of one Q or K row in global and (before the padding) shared memory. */
    public int qkRowBytes() {
        return qkRowBytes(spec);
    }

    static int qkRowBytes(KernelSpec spec) {
        return spec.fp16Qk() ? spec.headDim() * spec.inType().bytes() : spec.paddedHeadDim();
    }

    /** n-tiles of 8 keys in one key block. */
    public int keyTiles() {
        return spec.blockK() / 8;
    }

    /** n-tiles of 8 channels in the output. */
    public int dimTiles() {
        return spec.headDim() / 8;
    }

    /** k-steps of P·V over one key block: 32 keys for FP8 (m16n8k32), 16 for FP16 (m16n8k16). */
    public int pvSteps() {
        return spec.blockK() / (spec.pv().isFp8() ? 32 : 16);
    }
}
