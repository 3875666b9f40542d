package io.sageptx.kernels.mmasync;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import io.sageptx.kernels.attention.AttentionCommon;
import io.sageptx.ptx.TemplateRenderer;
import io.sageptx.spec.KernelSpec;
import io.sageptx.spec.MmaKind;
import io.sageptx.spec.PvVariant;

import static io.sageptx.kernels.attention.AttentionCommon.regs;

/**
 * Builds the model of the mma.sync attention kernel for one spec and renders {@code mmasync/attention.stg}
 * with it ({@code k}) and the model all attention families share ({@link AttentionCommon}, {@code a}).
 * Register naming beyond the shared one: Q fragments {@code %qf[(mt*qkSteps+ks)*4+i]}, K and V fragments
 * {@code %kf0..3}, {@code %vf0..3}.
 */
public final class MmaSyncEmitter {

    /** An ldmatrix: destination registers, byte offset from the lane's row address, {@code .trans} or empty. */
    public record Frag(String regs, int offset, String trans) {
    }

    /** One S mma: D, A (Q fragment), B (K fragment) and C registers. */
    public record QkMma(String d, String a, String b, String c) {
    }

    /** One key-tile pair x k-step of Q K^T: Q fragments to re-read first (D above 128), the K fragment, the mmas. */
    public record QkStep(List<Frag> qFrags, Frag frag, List<QkMma> mmas) {
    }

    /** One m16n8k16 step of 16-bit P V: A (P) and B (V) registers. */
    public record Pv16Step(String a, String b) {
    }

    /** The P V mmas of one m16 tile and 8 output channels. */
    public record PvMma(String a0, String b0, String a1, String b1, List<String> o, String oList, String type,
                        List<Pv16Step> steps) {
    }

    /** One V fragment load and the mmas that use it. */
    public record PvStep(Frag frag, List<PvMma> mmas) {
    }

    /** One pass of a tile copy; {@code pred}: not every thread copies a row of the tile in this pass. */
    public record Copy(int smem, long global, boolean first, int rowOff, boolean pred, int rows) {
    }

    /**
     * The mma.sync family's part of the template model.
     *
     * @param pvDescription what P V does, in words
     * @param qOffset       shared-memory offsets of the Q, K and V tiles, then their row pitches
     * @param vPassInBytes  bytes of 16-bit V rows one copy pass moves
     * @param qFragCount    Q fragment registers (all k-steps, or one re-read per step above D = 128)
     * @param pvTemplate    the P V sub-template: {@code pvF16Acc}, {@code pvF32Acc} or {@code pv16}
     */
    public record Model(String pvDescription, int qOffset, int kOffset, int vOffset, int qPitch, int kPitch, int vPitch,
                        TileCopy qCopy, TileCopy kCopy, TileCopy vCopy, int vPassInBytes, List<Copy> qLoads,
                        List<Copy> kLoads, List<Copy> vLoads, int qFragCount, List<Frag> qFrags, List<QkStep> qk,
                        List<PvStep> pv, String pvTemplate) {
    }

    private MmaSyncEmitter() {
    }

    /** The PTX of the mma.sync attention kernel of {@code spec}. */
    public static String emit(KernelSpec spec) {
        return TemplateRenderer.render("mmasync/attention", "kernel", Map.of("a", common(spec), "k", model(spec)));
    }

    /**
     * The shared part of the model. Launch bounds: ptxas' own occupancy guess (about 96 registers) spills
     * some 128-thread D=64 kernels; asking for two CTAs per SM opens up to 255. Up to D = 64 ptxas, left
     * alone, caps some 256-thread kernels below what they need (80 registers at D = 32, 128 at D = 64 with
     * FP8 f32-acc PV) and spills; asking for one CTA per SM lifts the cap. Above D = 64 the same hints make
     * ptxas schedule more aggressively and spill, so none is given (KernelAssemblyTest checks every variant).
     */
    static AttentionCommon common(KernelSpec spec) {
        Integer minBlocks = spec.headDim() > 64 ? null : spec.threads() <= 128 ? Integer.valueOf(2) : Integer.valueOf(1);
        return AttentionCommon.of(spec, spec.arch().target(), minBlocks);
    }

    static Model model(KernelSpec spec) {
        if (spec.mma() != MmaKind.SYNC) throw new IllegalArgumentException("not an mma.sync spec: " + spec);
        MmaSyncPlan plan = new MmaSyncPlan(spec);
        int mTiles = spec.mTiles();
        int qkSteps = plan.qkSteps();
        int keyTiles = plan.keyTiles();
        int dimTiles = plan.dimTiles();
        int pvSteps = plan.pvSteps();
        boolean fp8 = spec.pv().isFp8();
        String inType = spec.inType().ptx();

        // Q fragments: one ldmatrix.x4 per (m-tile, k-step), kept in registers for the whole key loop up to
        // D = 128; above, the O accumulators need those registers and Q is re-read from shared memory right
        // before each of its mmas.
        boolean qReload = reloadsQ(spec);
        int qRegSteps = qReload ? 1 : qkSteps;
        List<Frag> qFrags = new ArrayList<>();
        for (int mt = 0; mt < mTiles; mt++) {
            for (int ks = 0; ks < qkSteps; ks++) {
                qFrags.add(new Frag(regs("%qf", (mt * qRegSteps + (qReload ? 0 : ks)) * 4, 4),
                        mt * 16 * plan.qTile().smemRowBytes() + ks * 32, ""));
            }
        }

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

        // P V.
        List<PvStep> pv = new ArrayList<>();
        int vPitch = plan.vTile().smemRowBytes();
        String pvTemplate;
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
            pvTemplate = spec.pv() == PvVariant.FP8_F16ACC ? "pvF16Acc" : "pvF32Acc";
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
            pvTemplate = "pv16";
        }
        String pvDescription = switch (spec.pv()) {
            case FP8_F16ACC -> "e4m3, mma m16n8k32 with FP16 accumulators";
            case FP8_F32ACC -> "e4m3, mma m16n8k32 with FP32 accumulators";
            case FP16 -> spec.inType().shortName() + ", mma m16n8k16 with FP32 accumulators";
        };
        return new Model(pvDescription, plan.qOffset(), plan.kOffset(), plan.vOffset(), plan.qTile().smemRowBytes(),
                plan.kTile().smemRowBytes(), vPitch, plan.qTile(), plan.kTile(), plan.vTile(),
                plan.vTile().rowsPerPass() * spec.inType().bytes(),
                copies(plan.qTile(), spec.paddedHeadDim()), copies(plan.kTile(), spec.paddedHeadDim()),
                copies(plan.vTile(), (long) spec.headDim() * spec.inType().bytes()), mTiles * qRegSteps * 4,
                qReload ? List.of() : qFrags, qk, pv, pvTemplate);
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
}
