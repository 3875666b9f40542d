package io.sageptx.kernels.wgmma;

import io.sageptx.spec.KernelSpec;
import io.sageptx.spec.MmaKind;

/**
 * Shared-memory layout of the wgmma kernel, relative to a 1024-byte aligned base that the kernel finds at
 * run time (hence 1024 bytes of slack in {@link #smemBytes()}): the Q tile (blockQ rows of D bytes; each
 * warpgroup's 64 rows are the A operand of its S wgmmas), then two stages of the K block (blockK rows of D
 * bytes) and two of the V^T block (D rows of blockK bytes), each a {@link SwizzledTile} on a 1024-byte
 * boundary. Q is read from shared memory rather than registers: with register A fragments live across the
 * key loop, ptxas 13.0 gave the registers of the Q fragments to the P fragments at D=64 (found on the H100).
 */
public final class WgmmaPlan {

    public static final int ATOM_ALIGN = 1024;

    private final SwizzledTile q;
    private final SwizzledTile k;
    private final SwizzledTile v;
    private final int kStage0;
    private final int kStage1;
    private final int vStage0;
    private final int vStage1;
    private final int smemBytes;

    public WgmmaPlan(KernelSpec spec) {
        if (spec.mma() != MmaKind.WGMMA) throw new IllegalArgumentException("not a wgmma spec: " + spec);
        int d = spec.headDim();
        int nt = spec.threads();
        this.q = new SwizzledTile(spec.blockQ(), spec.paddedHeadDim(), nt);
        this.k = new SwizzledTile(spec.blockK(), spec.paddedHeadDim(), nt);
        this.v = new SwizzledTile(d, spec.blockK(), nt);
        this.kStage0 = align(q.bytes());
        this.kStage1 = kStage0 + align(k.bytes());
        this.vStage0 = kStage1 + align(k.bytes());
        this.vStage1 = vStage0 + align(v.bytes());
        this.smemBytes = vStage1 + align(v.bytes()) + ATOM_ALIGN;
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

    public int kStage(int s) {
        return s == 0 ? kStage0 : kStage1;
    }

    public int vStage(int s) {
        return s == 0 ? vStage0 : vStage1;
    }

    /** Dynamic shared memory per CTA, alignment slack included. */
    public int smemBytes() {
        return smemBytes;
    }
}
