package io.sageptx.kernels.decode;

import java.util.List;
import java.util.Objects;
import java.util.stream.IntStream;

import io.sageptx.spec.Arch;
import io.sageptx.spec.DType;

/**
 * What one decode kernel ({@link DecodeEmitter}) is generated for.
 *
 * <p>A CTA owns {@code 16 * mTiles} query rows of one (sequence, kv head): all query heads of the KV
 * group times the Lq query rows, in that order (row r is head {@code r / Lq} of the group, query
 * {@code r % Lq}), so each K/V element is read once per kv head (and row chunk). Its {@code warps} warps
 * walk the CTA's keys in tiles of {@link #TILE_KEYS}, interleaved (warp w takes tiles w, w + warps, ...),
 * each through its own {@code stages}-deep cp.async ring in shared memory; the warps' partial softmax
 * states are merged through shared memory at the end.
 *
 * @param headDim a multiple of 16 in [32, 256]
 * @param dtype   the 16-bit type of Q, O and (16-bit formats) K and V
 * @param arch    the PTX target
 * @param kv      how K and V are stored
 * @param mTiles  m16 tiles of query rows per CTA: 1, 2 or 4, at most {@link #maxMTiles} (the FP32 output
 *                accumulators and the rest of a thread's state stay within 255 registers)
 * @param warps   2, 4 or 8
 * @param stages  2, 3 or 4 tiles per warp ring (stages - 1 in flight while one is computed)
 */
public record DecodeSpec(int headDim, DType dtype, Arch arch, KvFormat kv, int mTiles, int warps, int stages) {

    /** Keys per tile: one k16 step of P V and two n8 tiles of S. Block sizes are multiples of it. */
    public static final int TILE_KEYS = 16;
    /** Every head dim the decode kernels are generated for (the library's: 32..256 step 16). */
    public static final List<Integer> HEAD_DIMS = IntStream.rangeClosed(2, 16).map(i -> 16 * i).boxed().toList();
    /** Most query rows per sequence a decode call takes (speculative decoding, chunked prefill steps). */
    public static final int MAX_LQ = 16;
    /** Most splits a call may ask for (the combine kernel's shared weights are sized by it). */
    public static final int MAX_SPLITS_ASKED = 256;

    public DecodeSpec {
        Objects.requireNonNull(dtype, "dtype");
        Objects.requireNonNull(arch, "arch");
        Objects.requireNonNull(kv, "kv");
        if (!HEAD_DIMS.contains(headDim)) {
            throw new IllegalArgumentException("decode kernel: headDim = " + headDim + " is not supported; supported: "
                    + HEAD_DIMS);
        }
        if (mTiles != 1 && mTiles != 2 && mTiles != 4 || mTiles > maxMTiles(headDim, kv)) {
            throw new IllegalArgumentException("decode kernel: mTiles = " + mTiles + " must be 1, 2 or 4 and at most "
                    + maxMTiles(headDim, kv) + " at headDim = " + headDim + " (" + kv.id() + ")");
        }
        if (warps != 2 && warps != 4 && warps != 8) {
            throw new IllegalArgumentException("decode kernel: warps = " + warps + " must be 2, 4 or 8");
        }
        if (stages < 2 || stages > 4) {
            throw new IllegalArgumentException("decode kernel: stages = " + stages + " must be in [2, 4]");
        }
    }

    /** Query rows per CTA. */
    public int rows() {
        return 16 * mTiles;
    }

    public int threads() {
        return 32 * warps;
    }

    /**
     * The most m16 tiles a CTA may hold at this head dim: 16-bit formats 4 up to D = 48, 2 up to 128, else 1;
     * the quantized cache (more state per row: the mean term, per-row Q scales) 2 up to D = 96, else 1.
     */
    public static int maxMTiles(int headDim, KvFormat kv) {
        if (kv == KvFormat.PAGED_QUANT) return headDim <= 96 ? 2 : 1;
        return headDim <= 48 ? 4 : headDim <= 128 ? 2 : 1;
    }

    /** The m16 tiles of a CTA for {@code rows} query rows per kv head (group x Lq): as few as cover them, capped. */
    public static int mTilesFor(int headDim, KvFormat kv, int rows) {
        int need = (rows + 15) / 16;
        int mt = need <= 1 ? 1 : need <= 2 ? 2 : 4;
        return Math.min(mt, maxMTiles(headDim, kv));
    }

    /** The {@code .entry} name, e.g. {@code sageptx_decode_paged_fp16_d128_m1_w4_s3}. */
    public String kernelName() {
        return "sageptx_decode_" + kv.id().replace('-', '_') + "_" + dtype.shortName() + "_d" + headDim + "_m" + mTiles
                + "_w" + warps + "_s" + stages;
    }

    /** The canonical text of the spec (module cache key). */
    public String canonical() {
        return "kv=" + kv.id() + ",d=" + headDim + ",dtype=" + dtype.shortName() + ",m=" + mTiles + ",w=" + warps + ",s="
                + stages + ",arch=" + arch.target();
    }

    @Override
    public String toString() {
        return "decode " + kv.id() + " d" + headDim + " " + dtype.shortName() + " m" + mTiles + " w" + warps + " s" + stages
                + " " + arch.target();
    }
}
