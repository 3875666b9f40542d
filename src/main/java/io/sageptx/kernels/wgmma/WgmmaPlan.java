package io.sageptx.kernels.wgmma;

import io.sageptx.spec.KernelSpec;
import io.sageptx.spec.MmaKind;
import io.sageptx.spec.Pipe;

/**
 * Shared-memory layout of the wgmma kernel, relative to a 1024-byte aligned base that the kernel finds at
 * run time (hence 1024 bytes of slack in {@link #smemBytes()}): the Q tile (blockQ rows of D bytes; each
 * warpgroup's 64 rows are the A operand of its S wgmmas), then two stages of the K block (blockK rows of D
 * bytes) and two of the V^T block (D rows of blockK bytes), each a {@link SwizzledTile} on a 1024-byte
 * boundary ({@link #WS_STAGES} of each for the warp-specialized kernel, then its mbarriers). Q is read from shared memory rather than registers: with register A fragments live across the
 * key loop, ptxas 13.0 gave the registers of the Q fragments to the P fragments at D=64 (found on the H100).
 */
public final class WgmmaPlan {

    public static final int ATOM_ALIGN = 1024;

    /**
     * K/V stages of the warp-specialized kernel (issue 12). A consumer holds two stages at once (block j's V
     * until its P V completes during block j+1, block j+1's K for the next S), so with 4 stages the producer
     * runs two blocks ahead: about 1000 clocks of copy latency hidden at D = 128. At D = 128 the tiles take 16
     * KB of Q plus 16 KB a stage: 81 KB of the 227 KB, one CTA per SM.
     */
    public static final int WS_STAGES = 4;

    private final SwizzledTile q;
    private final SwizzledTile k;
    private final SwizzledTile v;
    private final int stages;
    private final int kStage0;
    private final int kStride;
    private final int vStage0;
    private final int vStride;
    private final int barriers;
    private final int smemBytes;
    private final java.util.List<int[]> pvGroups;
    private final java.util.List<VRun> vRuns;

    public WgmmaPlan(KernelSpec spec) {
        if (spec.mma() != MmaKind.WGMMA) throw new IllegalArgumentException("not a wgmma spec: " + spec);
        int d = spec.headDim();
        boolean ws = spec.pipe().warpSpecialized();
        // the threads that copy the tiles: all of the CTA's, or the producer warpgroup of the warp-specialized kernel
        int nt = ws ? KernelSpec.PRODUCER_THREADS : spec.threads();
        if (spec.fp16Qk()) {
            // 16-bit QK: rows of D 16-bit values (2D bytes, a multiple of 32: one k16 step is 32 bytes, as one
            // INT8 k32 step); V stays [tokens][D] as the caller has it, read by the P V wgmma as an MN-major B
            this.q = new SwizzledTile(spec.blockQ(), 2 * d, nt);
            this.k = new SwizzledTile(spec.blockK(), 2 * d, nt);
            this.v = new SwizzledTile(spec.blockK(), 2 * d, nt);
        } else {
            this.q = new SwizzledTile(spec.blockQ(), spec.paddedHeadDim(), nt);
            this.k = new SwizzledTile(spec.blockK(), spec.paddedHeadDim(), nt);
            this.v = new SwizzledTile(d, spec.blockK(), nt);
        }
        this.stages = ws ? WS_STAGES : 2;
        this.kStage0 = align(q.bytes());
        this.kStride = align(k.bytes());
        this.vStage0 = kStage0 + stages * kStride;
        this.vStride = align(v.bytes());
        // the warp-specialized kernel's mbarriers (8 bytes each: full[0..stages), then empty[0..stages)) after the stages
        this.barriers = vStage0 + stages * vStride;
        this.smemBytes = barriers + (ws ? 16 * stages : 0) + ATOM_ALIGN;
        this.pvGroups = spec.fp16Qk() ? java.util.List.of()
                : ws ? java.util.List.of(new int[] {0, d}) : groups(d, spec.pv() == io.sageptx.spec.PvVariant.FP8_F16ACC);
        this.vRuns = spec.fp16Qk() ? runs(v) : java.util.List.of();
    }

    /**
     * Output channels of one 16-bit P V wgmma (16-bit QK kernel): a run of V-tile columns of one width, read
     * as one MN-major B operand: channels {@code [c0, c0 + n)}, the run's first column's offset in a sub-tile,
     * its width (the swizzle) and the leading byte offset (from one column of the run to the next).
     */
    public record VRun(int c0, int n, int base, int width, int leadingByteOffset) {

        /** Stride byte offset of the MN-major layout: from one 8-token group of rows to the next. */
        public int strideByteOffset() {
            return 8 * width;
        }

        /** High word of the descriptor: stride byte offset >> 4 in bits 32-45, swizzle mode in bits 62-63. */
        public int descriptorHigh() {
            return new SwizzledTile.Column(width, 0, 0).swizzleMode() << 30 | strideByteOffset() >> 4;
        }
    }

    /** The V-tile columns of the 16-bit QK kernel in runs of one width (consecutive columns, 2 bytes a channel). */
    static java.util.List<VRun> runs(SwizzledTile v) {
        java.util.List<VRun> out = new java.util.ArrayList<>();
        java.util.List<SwizzledTile.Column> cols = v.columns();
        int i = 0;
        while (i < cols.size()) {
            SwizzledTile.Column c = cols.get(i);
            int j = i;
            while (j + 1 < cols.size() && cols.get(j + 1).width() == c.width()) j++;
            int bytes = cols.get(j).start() + cols.get(j).width() - c.start();
            out.add(new VRun(c.start() / 2, bytes / 2, c.base(), c.width(), SwizzledTile.SUB_ROWS * c.width()));
            i = j + 1;
        }
        return out;
    }

    /** The P V wgmmas of the 16-bit QK kernel, one per run of V columns (empty for INT8 QK). */
    public java.util.List<VRun> vRuns() {
        return vRuns;
    }

    static int align(int bytes) {
        return (bytes + ATOM_ALIGN - 1) / ATOM_ALIGN * ATOM_ALIGN;
    }

    public SwizzledTile qTile() {
        return q;
    }

    public SwizzledTile kTile() {
        return k;
    }

    public SwizzledTile vTile() {
        return v;
    }

    /** Bytes from one warpgroup's 64 Q rows to the next's. */
    public int qWarpgroupBytes() {
        return q.subTileBytes();
    }

    /** Stages of the K/V ring: 2 (double-buffered), {@link #WS_STAGES} for the warp-specialized kernel. */
    public int stages() {
        return stages;
    }

    public int kStage(int s) {
        return kStage0 + s * kStride;
    }

    public int vStage(int s) {
        return vStage0 + s * vStride;
    }

    /** Offset of the first mbarrier (warp-specialized kernel): full[s] at 8s, empty[s] at 8 (stages + s). */
    public int barriers() {
        return barriers;
    }

    /**
     * The output channels of the P V wgmmas in groups {first channel, channels}: each group accumulates a
     * block into fresh registers (n/4 for FP16 accumulators, n/2 for FP32) that are flushed into O before
     * the next group, so the group width sets the register cost. FP16: one group below D = 128, two halves
     * from 128 on. FP32: groups of at most {@link #f32GroupChannels} channels (the last may be narrower).
     */
    public java.util.List<int[]> pvGroups() {
        return pvGroups;
    }

    /**
     * Widest FP32-accumulator P V group for a head dim: with O (D/2 registers) live, 2 CTAs per SM (128
     * registers) leave room for 64 channels (32 registers) up to D = 112 and 32 at D = 128 (64 spills 8 bytes
     * there); above D = 128 (one CTA, 255 registers) 128 channels fit. Measured with ptxas 13.0.
     */
    static int f32GroupChannels(int d) {
        return d > 128 ? 128 : d == 128 ? 32 : 64;
    }

    static java.util.List<int[]> groups(int d, boolean f16) {
        java.util.List<int[]> out = new java.util.ArrayList<>();
        if (f16) {
            int parts = d >= 128 ? 2 : 1;
            for (int h = 0; h < parts; h++) out.add(new int[] {h * d / parts, d / parts});
            return out;
        }
        int w = f32GroupChannels(d);
        for (int c0 = 0; c0 < d; c0 += w) out.add(new int[] {c0, Math.min(w, d - c0)});
        return out;
    }

    /** Dynamic shared memory per CTA, alignment slack included. */
    public int smemBytes() {
        return smemBytes;
    }
}
