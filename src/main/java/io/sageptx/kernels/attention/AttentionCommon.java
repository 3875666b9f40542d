package io.sageptx.kernels.attention;

import java.util.ArrayList;
import java.util.List;
import java.util.stream.Collectors;
import java.util.stream.IntStream;

import io.sageptx.ptx.PtxFloats;
import io.sageptx.ptx.PtxVersions;
import io.sageptx.spec.KernelSpec;
import io.sageptx.spec.QuantGranularity;

/**
 * The part of an attention kernel's template model that every attention family shares, read by the
 * sub-templates of {@code templates/attention/common.stg} (prologue, masking, online softmax, P packing,
 * epilogue, LSE) as their explicit argument {@code a}. Both families keep a warp's scores, P fragments and
 * output accumulators in the mma.sync m16n8 register layout (a wgmma warp's accumulator layout is the
 * same), so the register naming is shared: S {@code %s/%x[(mt*keyTiles+n)*4+i]}, O
 * {@code %o[(mt*dimTiles+nd)*4+i]}, P fragments {@code %pa[(mt*pvSteps+kk)*4+i]} (mt: the warp's m16 tile,
 * n/nd an n8 tile, kk a 32-key (FP8) or 16-key (FP16) step, i the mma register).
 *
 * @param rowTemps    whether the row reductions use temporaries (more than one lane, {@link #folds})
 * @param reduceTemps their count ({@code %rt<n>})
 * @param head       title, names, target, launch bounds, parameter block
 * @param qGroupOf   the Q scale group of a thread, in words (a comment)
 * @param log2Max    log2(448), the shift that puts P in (0, 448]
 * @param initMax    the running max's finite start
 * @param ln2        ln(2), from the base-2 LSE to the natural log
 * @param rows       the rows of the softmax (two per m16 tile: g and g+8)
 * @param masks      one per score register: its key and row offsets
 * @param sRegs      score register indices
 * @param oRegs      output accumulator registers
 * @param oRows      output registers with their softmax row
 * @param pPacks     FP32 P values to A fragments
 * @param packTemplate {@code packFp8} or {@code pack16}
 * @param vBlockInBytes bytes between the first 16-bit V rows of two key blocks, per token stride unit
 * @param stores     per row and 8 channels, the two output values of a thread
 * @param lseQkm     whether the LSE adds sm_scale * (q . kmean) (the K smoothing of INT8 QK); not for 16-bit QK,
 *                   whose K is not smoothed
 */
public record AttentionCommon(boolean rowTemps, int reduceTemps, KernelHeader head, boolean causal, boolean fp8, boolean threadQuant, int headDim,
                              int qkRowBytes, int inBytes, int outBytes, int blockQ, int blockK, int blockKm1,
                              int warpRows, int qScaleTileRows, int qGroups, String qGroupOf, String outType,
                              String log2Max, String initMax, String ln2, int rowCount, int sCount, int oCount,
                              int pFragCount, int kBlockBytes, int kScaleBlockBytes, int vBlockInBytes, List<Row> rows, List<Mask> masks,
                              List<Integer> sRegs, List<String> oRegs, List<ORow> oRows, List<Pack> pPacks,
                              String packTemplate, List<Store> stores, boolean lseQkm) {

    /** log2(448): the shift that puts P = exp2(s - m + shift) in (0, 448], the e4m3 range. */
    public static final float LOG2_FP8_MAX = (float) (Math.log(448.0) / Math.log(2.0));
    /** The running max starts finite, so that exp2(m_old - m_new) of a first block is 0, never NaN. */
    public static final float INIT_MAX = -1e30f;

    /**
     * One row of the softmax: all of a thread's score registers of it, and the folds that reduce them to the
     * thread's row max (into {@code %mx<i>}) and row sum (into {@code %rs<i>}).
     */
    public record Row(int i, int rowOff, List<String> all, List<Fold> maxFolds, List<Fold> sumFolds) {
    }

    /** One step of a reduction: {@code dst = op(a, b)}. */
    public record Fold(String dst, String a, String b) {
    }

    /**
     * Independent partial results per row reduction (max and sum over a thread's scores of a row). One chain
     * through 32 scores (128-key blocks) is 31 dependent FMNMX or FADD, each waiting for the last; three partial
     * chains joined by a small tree cut the depth to 12 at the cost of two registers per row (issue 12:
     * stall_wait was the largest stall reason of the 128-key wgmma kernel, docs/notes/wgmma-k128.md; four lanes
     * spill a few bytes at D = 128). {@code -Dsageptx.dev.reduceLanes} overrides it for an A/B.
     */
    public static final int REDUCE_LANES = Integer.getInteger("sageptx.dev.reduceLanes", 3);

    /**
     * The folds that reduce {@code xs} into {@code dst} with {@code lanes} partial results ({@code lanes - 1}
     * temporaries {@code temp<first..>}): each partial starts from a pair, the rest of the values go round robin,
     * then the partials join pairwise. With one lane it is the plain left-to-right chain.
     */
    public static List<Fold> folds(List<String> xs, String dst, String temp, int first, int lanes) {
        int l = Math.max(1, Math.min(lanes, xs.size() / 2));
        List<String> acc = new ArrayList<>();
        acc.add(dst);
        for (int j = 1; j < l; j++) acc.add(temp + (first + j - 1));
        List<Fold> out = new ArrayList<>();
        for (int j = 0; j < l; j++) out.add(new Fold(acc.get(j), xs.get(2 * j), xs.get(2 * j + 1)));
        for (int m = 2 * l; m < xs.size(); m++) {
            String a = acc.get((m - 2 * l) % l);
            out.add(new Fold(a, a, xs.get(m)));
        }
        for (int s = 1; s < l; s *= 2) {
            for (int i = 0; i + s < l; i += 2 * s) out.add(new Fold(acc.get(i), acc.get(i), acc.get(i + s)));
        }
        return out;
    }

    /** A score register's key offset (from the thread's first key) and row offset (from its first row). */
    public record Mask(int i, int keyOff, int rowOff) {
    }

    /** An output accumulator and its softmax row. */
    public record ORow(String reg, int row) {
    }

    /** Four (FP8) or two (16-bit) FP32 P values into one A-fragment register. */
    public record Pack(String dst, String x0, String x1, String x2, String x3, String type) {
    }

    /** Two output channels of a row: registers, byte offset in the row and in the V scales. */
    public record Store(int row, String o0, String o1, int offset, int vsOffset, String type) {
    }

    /**
     * The shared model of {@code spec}'s attention kernel.
     *
     * @param target    the PTX target (the family's: {@code sm_90a} for wgmma)
     * @param minBlocks the {@code .minnctapersm} hint, or null
     */
    public static AttentionCommon of(KernelSpec spec, String target, Integer minBlocks) {
        return of(spec, target, minBlocks, 1);
    }

    /**
     * The same with {@code lanes} partial results per row reduction ({@link #folds}; 1: one chain). The wgmma
     * family takes {@link #REDUCE_LANES}; the mma.sync family keeps one chain (its register budget is tighter:
     * three lanes spill 4 bytes at D = 80 and 224 for sm_120 and at D = 96 with 16-bit QK).
     */
    public static AttentionCommon of(KernelSpec spec, String target, Integer minBlocks, int lanes) {
        int mTiles = spec.mTiles();
        int keyTiles = spec.blockK() / 8;
        int dimTiles = spec.headDim() / 8;
        boolean fp8 = spec.pv().isFp8();
        int pvSteps = spec.blockK() / (fp8 ? 32 : 16);
        String inType = spec.inType().ptx();
        KernelHeader head = new KernelHeader(spec.toString(), spec.kernelName(), PtxVersions.isa(spec), target,
                spec.threads(), minBlocks, AttentionAbi.of(spec).paramBlock());

        List<Mask> masks = new ArrayList<>();
        for (int mt = 0; mt < mTiles; mt++) {
            for (int n = 0; n < keyTiles; n++) {
                for (int i = 0; i < 4; i++) masks.add(new Mask(sIdx(mt, n, i, keyTiles), 8 * n + (i & 1), mt * 16 + (i >> 1) * 8));
            }
        }
        List<Row> rows = new ArrayList<>();
        for (int mt = 0; mt < mTiles; mt++) {
            for (int h = 0; h < 2; h++) {
                List<String> xs = new ArrayList<>();
                for (int n = 0; n < keyTiles; n++) {
                    xs.add(x(mt, n, 2 * h, keyTiles));
                    xs.add(x(mt, n, 2 * h + 1, keyTiles));
                }
                int ri = mt * 2 + h;
                int t0 = ri * (lanes - 1);
                rows.add(new Row(ri, mt * 16 + h * 8, xs, folds(xs, "%mx" + ri, "%rt", t0, lanes),
                        folds(xs, "%rs" + ri, "%rt", t0, lanes)));
            }
        }
        List<String> oRegs = new ArrayList<>();
        List<ORow> oRows = new ArrayList<>();
        for (int mt = 0; mt < mTiles; mt++) {
            for (int nd = 0; nd < dimTiles; nd++) {
                for (int i = 0; i < 4; i++) {
                    String r = "%o" + ((mt * dimTiles + nd) * 4 + i);
                    oRegs.add(r);
                    oRows.add(new ORow(r, mt * 2 + (i >> 1)));
                }
            }
        }
        List<Pack> packs = new ArrayList<>();
        for (int mt = 0; mt < mTiles; mt++) {
            for (int kk = 0; kk < pvSteps; kk++) {
                for (int q = 0; q < 4; q++) {
                    String dst = "%pa" + ((mt * pvSteps + kk) * 4 + q);
                    int lo = q >> 1;       // a2, a3 take the second half of the k-step
                    int hi = q & 1;        // a1, a3 take row g+8 (accumulator registers 2, 3)
                    if (fp8) {
                        // keys 16*(2kk+lo) + {2t, 2t+1, 8+2t, 9+2t}: n-tiles 4kk+2lo and 4kk+2lo+1
                        int n0 = 4 * kk + 2 * lo;
                        packs.add(new Pack(dst, x(mt, n0, 2 * hi, keyTiles), x(mt, n0, 2 * hi + 1, keyTiles),
                                x(mt, n0 + 1, 2 * hi, keyTiles), x(mt, n0 + 1, 2 * hi + 1, keyTiles), ""));
                    } else {
                        // keys 16kk + 8lo + {2t, 2t+1}: n-tile 2kk+lo
                        int n0 = 2 * kk + lo;
                        packs.add(new Pack(dst, x(mt, n0, 2 * hi, keyTiles), x(mt, n0, 2 * hi + 1, keyTiles), "", "", inType));
                    }
                }
            }
        }
        List<Store> stores = new ArrayList<>();
        for (int mt = 0; mt < mTiles; mt++) {
            for (int h = 0; h < 2; h++) {
                for (int nd = 0; nd < dimTiles; nd++) {
                    int base = (mt * dimTiles + nd) * 4 + 2 * h;
                    stores.add(new Store(mt * 2 + h, "%o" + base, "%o" + (base + 1), nd * 8 * spec.outType().bytes(),
                            nd * 32, spec.outType().ptx()));
                }
            }
        }
        boolean thread = spec.quant() == QuantGranularity.PER_THREAD;
        return new AttentionCommon(lanes > 1, mTiles * 2 * (lanes - 1), head, spec.causal(), fp8, thread, spec.headDim(), spec.paddedHeadDim(),
                spec.inType().bytes(), spec.outType().bytes(), spec.blockQ(), spec.blockK(), spec.blockK() - 1,
                spec.warpRows(), spec.qScaleTileRows(), spec.quant().qGroupsPerTile(), thread ? "g (rows = g mod 8)" : "0",
                spec.outType().shortName(), PtxFloats.hex(LOG2_FP8_MAX), PtxFloats.hex(INIT_MAX),
                PtxFloats.hex((float) Math.log(2.0)), mTiles * 2, mTiles * keyTiles * 4, mTiles * dimTiles * 4,
                mTiles * pvSteps * 4, spec.blockK() * spec.paddedHeadDim(), 4 * spec.quant().kGroupsPerBlock(),
                spec.blockK() * spec.inType().bytes(), rows,
                masks, IntStream.range(0, mTiles * keyTiles * 4).boxed().collect(Collectors.toList()), oRegs, oRows,
                packs, fp8 ? "packFp8" : "pack16", stores, !spec.fp16Qk());
    }

    private static int sIdx(int mt, int n, int i, int keyTiles) {
        return (mt * keyTiles + n) * 4 + i;
    }

    private static String x(int mt, int n, int i, int keyTiles) {
        return "%x" + sIdx(mt, n, i, keyTiles);
    }

    /** {@code prefix<first>, ..., prefix<first+count-1>}. */
    public static String regs(String prefix, int first, int count) {
        return IntStream.range(first, first + count).mapToObj(i -> prefix + i).collect(Collectors.joining(", "));
    }
}
