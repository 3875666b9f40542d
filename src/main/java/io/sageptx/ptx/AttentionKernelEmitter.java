package io.sageptx.ptx;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import java.util.stream.IntStream;

import io.sageptx.plan.AttentionPlan;
import io.sageptx.plan.TileCopy;
import io.sageptx.spec.KernelSpec;
import io.sageptx.spec.MmaKind;
import io.sageptx.spec.PvVariant;
import io.sageptx.spec.QuantGranularity;

/**
 * Builds the model of the fused attention kernel for one spec and renders {@code attention.stg}.
 * Register naming: Q fragments {@code %qf[(mt*qkSteps+ks)*4+i]}, S {@code %s/%x[(mt*keyTiles+n)*4+i]},
 * O {@code %o[(mt*dimTiles+nd)*4+i]}, P fragments {@code %pa[(mt*pvSteps+kk)*4+i]}, where mt is the
 * warp's m16 tile, n/nd an n8 tile, ks/kk a k-step and i the mma register.
 */
public final class AttentionKernelEmitter {

    /** log2(448): the shift that puts P = exp2(s - m + shift) in (0, 448], the e4m3 range. */
    static final float LOG2_FP8_MAX = (float) (Math.log(448.0) / Math.log(2.0));

    public record Frag(String regs, int offset, String trans) {
    }

    public record QkMma(String d, String a, String b, String c) {
    }

    /** One key-tile pair x k-step of Q K^T: Q fragments to re-read first (D above 128), the K fragment, the mmas. */
    public record QkStep(List<Frag> qFrags, Frag frag, List<QkMma> mmas) {
    }

    public record Row(int i, int rowOff, String first, String second, List<String> rest, List<String> all) {
    }

    public record Mask(int i, int keyOff, int rowOff) {
    }

    public record ORow(String reg, int row) {
    }

    public record Pack(String dst, String x0, String x1, String x2, String x3, String type) {
    }

    public record Pv16Step(String a, String b) {
    }

    public record PvMma(String a0, String b0, String a1, String b1, List<String> o, String oList, String type,
                        List<Pv16Step> steps) {
    }

    public record PvStep(Frag frag, List<PvMma> mmas) {
    }

    public record Store(int row, String o0, String o1, int offset, int vsOffset, String type) {
    }

    /** One pass of a tile copy; {@code pred}: not every thread copies a row of the tile in this pass. */
    public record Copy(int smem, long global, boolean first, int rowOff, boolean pred, int rows) {
    }

    private AttentionKernelEmitter() {
    }

    /** The PTX of the fused kernel of a spec: this mma.sync kernel, or the wgmma one for wgmma specs. */
    public static String emit(KernelSpec spec) {
        if (spec.mma() == MmaKind.WGMMA) return WgmmaKernelEmitter.emit(spec);
        return TemplateRenderer.render("attention", "kernel", Map.of("k", model(spec)));
    }

    static Map<String, Object> model(KernelSpec spec) {
        AttentionPlan plan = new AttentionPlan(spec);
        int mTiles = spec.mTiles();
        int qkSteps = plan.qkSteps();
        int keyTiles = plan.keyTiles();
        int dimTiles = plan.dimTiles();
        int pvSteps = plan.pvSteps();
        boolean fp8 = spec.pv().isFp8();
        String inType = spec.inType().ptx();

        Map<String, Object> k = new LinkedHashMap<>();
        k.put("title", spec.toString());
        k.put("name", spec.kernelName());
        k.put("ptxVersion", PtxVersions.isa(spec));
        k.put("target", spec.arch().target());
        k.put("threads", spec.threads());
        // ptxas' own occupancy guess (about 96 registers) spills some 128-thread D=64 kernels; asking for two
        // CTAs per SM opens up to 255. At D=128 the same hint makes ptxas spill instead, so it is left out
        // there (KernelAssemblyTest checks every variant for spills).
        // Up to D = 64 ptxas, left alone, caps some 256-thread kernels below what they need (80 registers at
        // D = 32, 128 at D = 64 with FP8 f32-acc PV) and spills; asking for one CTA per SM lifts the cap.
        // Above D = 64 the same hint makes ptxas schedule more aggressively and spill, so none is given.
        k.put("minBlocks", spec.headDim() > 64 ? null : spec.threads() <= 128 ? Integer.valueOf(2) : Integer.valueOf(1));
        k.put("causal", spec.causal());
        k.put("fp8", fp8);
        k.put("threadQuant", spec.quant() == QuantGranularity.PER_THREAD);
        k.put("headDim", spec.headDim());
        k.put("qkRowBytes", spec.paddedHeadDim());
        k.put("inBytes", spec.inType().bytes());
        k.put("outBytes", spec.outType().bytes());
        k.put("blockQ", spec.blockQ());
        k.put("blockK", spec.blockK());
        k.put("blockKm1", spec.blockK() - 1);
        k.put("warpRows", spec.warpRows());
        k.put("qScaleTileRows", spec.qScaleTileRows());
        k.put("qGroups", spec.quant().qGroupsPerTile());
        k.put("qGroupOf", spec.quant() == QuantGranularity.PER_THREAD ? "g (rows = g mod 8)" : "0");
        k.put("outType", spec.outType().shortName());
        k.put("vDescription", fp8 ? "e4m3 V^T [B][Hkv][D][LkPad], tokens permuted in every 16, per-channel scaled"
                : "V [B][Hkv][Lk][D], " + spec.inType().shortName());
        k.put("pvDescription", switch (spec.pv()) {
            case FP8_F16ACC -> "e4m3, mma m16n8k32 with FP16 accumulators";
            case FP8_F32ACC -> "e4m3, mma m16n8k32 with FP32 accumulators";
            case FP16 -> spec.inType().shortName() + ", mma m16n8k16 with FP32 accumulators";
        });
        k.put("log2Max", PtxFloats.hex(LOG2_FP8_MAX));
        k.put("qOffset", plan.qOffset());
        k.put("kOffset", plan.kOffset());
        k.put("vOffset", plan.vOffset());
        k.put("qPitch", plan.qTile().smemRowBytes());
        k.put("kPitch", plan.kTile().smemRowBytes());
        k.put("vPitch", plan.vTile().smemRowBytes());
        k.put("qCopy", plan.qTile());
        k.put("kCopy", plan.kTile());
        k.put("vCopy", plan.vTile());
        k.put("kBlockBytes", spec.blockK() * spec.paddedHeadDim());
        k.put("vBlockInBytes", spec.blockK() * spec.inType().bytes());
        k.put("vPassInBytes", plan.vTile().rowsPerPass() * spec.inType().bytes());
        k.put("kScaleBlockBytes", 4 * spec.quant().kGroupsPerBlock());

        int rowCount = mTiles * 2;
        k.put("rowCount", rowCount);
        k.put("sCount", mTiles * keyTiles * 4);
        k.put("oCount", mTiles * dimTiles * 4);
        k.put("pFragCount", mTiles * pvSteps * 4);

        // Tile copies: constant offsets per pass (global offsets per pass are constant for Q and K rows).
        k.put("qLoads", copies(plan.qTile(), spec.paddedHeadDim()));
        k.put("kLoads", copies(plan.kTile(), spec.paddedHeadDim()));
        k.put("vLoads", copies(plan.vTile(), (long) spec.headDim() * spec.inType().bytes()));

        // Q fragments: one ldmatrix.x4 per (m-tile, k-step), kept in registers for the whole key loop up to
        // D = 128; above, the O accumulators need those registers and Q is re-read from shared memory right
        // before each of its mmas.
        boolean qReload = reloadsQ(spec);
        int qRegSteps = qReload ? 1 : qkSteps;
        k.put("qFragCount", mTiles * qRegSteps * 4);
        List<Frag> qFrags = new ArrayList<>();
        for (int mt = 0; mt < mTiles; mt++) {
            for (int ks = 0; ks < qkSteps; ks++) {
                qFrags.add(new Frag(regs("%qf", (mt * qRegSteps + (qReload ? 0 : ks)) * 4, 4),
                        mt * 16 * plan.qTile().smemRowBytes() + ks * 32, ""));
            }
        }
        k.put("qFrags", qReload ? List.of() : qFrags);

        // Q K^T: per pair of key n-tiles and k-step, one ldmatrix.x4 of K, then two mmas per m-tile.
        List<QkStep> qk = new ArrayList<>();
        for (int np = 0; np < keyTiles / 2; np++) {
            for (int ks = 0; ks < qkSteps; ks++) {
                List<Frag> reload = new ArrayList<>();
                if (qReload) {
                    for (int mt = 0; mt < mTiles; mt++) reload.add(qFrags.get(mt * qkSteps + ks));
                }
                Frag f = new Frag("%kf0, %kf1, %kf2, %kf3", np * 16 * plan.kTile().smemRowBytes() + ks * 32, "");
                List<QkMma> mmas = new ArrayList<>();
                for (int mt = 0; mt < mTiles; mt++) {
                    for (int h = 0; h < 2; h++) {
                        String d = regs("%s", (mt * keyTiles + 2 * np + h) * 4, 4);
                        mmas.add(new QkMma(d, regs("%qf", (mt * qRegSteps + (qReload ? 0 : ks)) * 4, 4),
                                h == 0 ? "%kf0, %kf1" : "%kf2, %kf3", ks == 0 ? "%zero, %zero, %zero, %zero" : d));
                    }
                }
                qk.add(new QkStep(reload, f, mmas));
            }
        }
        k.put("qk", qk);
        k.put("sRegs", IntStream.range(0, mTiles * keyTiles * 4).boxed().collect(Collectors.toList()));

        // Masks and rows of the softmax.
        List<Mask> masks = new ArrayList<>();
        for (int mt = 0; mt < mTiles; mt++) {
            for (int n = 0; n < keyTiles; n++) {
                for (int i = 0; i < 4; i++) {
                    masks.add(new Mask(sIdx(mt, n, i, keyTiles), 8 * n + (i & 1), mt * 16 + (i >> 1) * 8));
                }
            }
        }
        k.put("masks", masks);
        List<Row> rows = new ArrayList<>();
        for (int mt = 0; mt < mTiles; mt++) {
            for (int h = 0; h < 2; h++) {
                List<String> xs = new ArrayList<>();
                for (int n = 0; n < keyTiles; n++) {
                    xs.add("%x" + sIdx(mt, n, 2 * h, keyTiles));
                    xs.add("%x" + sIdx(mt, n, 2 * h + 1, keyTiles));
                }
                rows.add(new Row(mt * 2 + h, mt * 16 + h * 8, xs.get(0), xs.get(1), xs.subList(2, xs.size()), xs));
            }
        }
        k.put("rows", rows);
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
        k.put("oRegs", oRegs);
        k.put("oRows", oRows);

        // P packing into A fragments.
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
        k.put("pPacks", packs);
        k.put("packTemplate", fp8 ? "packFp8" : "pack16");

        // P V.
        List<PvStep> pv = new ArrayList<>();
        int vPitch = plan.vTile().smemRowBytes();
        if (fp8) {
            for (int nd = 0; nd < dimTiles; nd++) {
                Frag f = new Frag("%vf0, %vf1, %vf2, %vf3", nd * 8 * vPitch, "");
                List<PvMma> mmas = new ArrayList<>();
                for (int mt = 0; mt < mTiles; mt++) {
                    List<String> o = oList(mt, nd, dimTiles);
                    mmas.add(new PvMma(regs("%pa", (mt * pvSteps) * 4, 4), "%vf0, %vf1", regs("%pa", (mt * pvSteps + 1) * 4, 4),
                            "%vf2, %vf3", o, String.join(", ", o), "", List.of()));
                }
                pv.add(new PvStep(f, mmas));
            }
            k.put("pvTemplate", spec.pv() == PvVariant.FP8_F16ACC ? "pvF16Acc" : "pvF32Acc");
        } else {
            for (int nd = 0; nd < dimTiles; nd++) {
                for (int kp = 0; kp < pvSteps / 2; kp++) {
                    Frag f = new Frag("%vf0, %vf1, %vf2, %vf3", nd * 16 + kp * 32 * vPitch, ".trans");
                    List<PvMma> mmas = new ArrayList<>();
                    for (int mt = 0; mt < mTiles; mt++) {
                        List<String> o = oList(mt, nd, dimTiles);
                        List<Pv16Step> steps = List.of(
                                new Pv16Step(regs("%pa", (mt * pvSteps + 2 * kp) * 4, 4), "%vf0, %vf1"),
                                new Pv16Step(regs("%pa", (mt * pvSteps + 2 * kp + 1) * 4, 4), "%vf2, %vf3"));
                        mmas.add(new PvMma("", "", "", "", o, String.join(", ", o), inType, steps));
                    }
                    pv.add(new PvStep(f, mmas));
                }
            }
            k.put("pvTemplate", "pv16");
        }
        k.put("pv", pv);

        // Stores: per row and 8 output channels, two values of this thread.
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
        k.put("stores", stores);
        return k;
    }

    /** Whether the kernel re-reads Q fragments from shared memory in every key block (D above 128). */
    public static boolean reloadsQ(KernelSpec spec) {
        return spec.paddedHeadDim() > 128;
    }

    private static List<Copy> copies(TileCopy tile, long globalRowBytes) {
        List<Copy> out = new ArrayList<>();
        for (int p = 0; p < tile.passes(); p++) {
            int rowOff = p * tile.rowsPerPass();
            boolean pred = tile.idleThreads() || rowOff + tile.rowsPerPass() > tile.rows();
            out.add(new Copy(rowOff * tile.smemRowBytes(), rowOff * globalRowBytes, p == 0, rowOff, pred, tile.rows()));
        }
        return out;
    }

    private static List<String> oList(int mt, int nd, int dimTiles) {
        List<String> o = new ArrayList<>();
        for (int i = 0; i < 4; i++) o.add("%o" + ((mt * dimTiles + nd) * 4 + i));
        return o;
    }

    private static int sIdx(int mt, int n, int i, int keyTiles) {
        return (mt * keyTiles + n) * 4 + i;
    }

    private static String x(int mt, int n, int i, int keyTiles) {
        return "%x" + sIdx(mt, n, i, keyTiles);
    }

    static String regs(String prefix, int first, int count) {
        return IntStream.range(first, first + count).mapToObj(i -> prefix + i).collect(Collectors.joining(", "));
    }
}
