package io.sageptx.kernels.mmasync;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import io.sageptx.kernels.attention.AttentionCommon;
import io.sageptx.ptx.TemplateRenderer;
import io.sageptx.spec.KernelSpec;
import io.sageptx.spec.MmaKind;
import io.sageptx.spec.PvVariant;
import io.sageptx.spec.QkPrecision;

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
        /** The matrix count, one per destination register: {@code x4}, or {@code x2} (V^T of a 32-key FP8 block). */
        public String count() {
            return "x" + regs.split(",").length;
        }
    }

    /** One S mma: D, A (Q fragment), B (K fragment) and C registers; the 16-bit operand type (16-bit QK only). */
    public record QkMma(String d, String a, String b, String c, String type) {
    }

    /** One key-tile pair x k-step of Q K^T: Q fragments to re-read first (D above 128), the K fragment, the mmas. */
    public record QkStep(List<Frag> qFrags, Frag frag, List<QkMma> mmas) {
    }

    /** One m16n8k16 step of 16-bit P V: A (P) and B (V) registers. */
    public record Pv16Step(String a, String b) {
    }

    /**
     * The P V mmas of one m16 tile and 8 output channels; FP8: {@code acc0}, {@code acc1} the FP16 accumulator
     * pair, {@code facc} the four FP32 values of the flush (or the FP32 accumulators).
     */
    public record PvMma(String a0, String b0, String a1, String b1, List<String> o, String oList, String type,
                        List<Pv16Step> steps, String acc0, String acc1, List<String> facc, String faccList) {
    }

    /** One V fragment load and the mmas that use it. */
    public record PvStep(Frag frag, List<PvMma> mmas) {
    }

    /** One pass of a tile copy; {@code pred}: not every thread copies a row of the tile in this pass. */
    public record Copy(int smem, long global, boolean first, int rowOff, boolean pred, int rows) {
    }

    /**
     * The copy of one key block's K or V tile into a ring slot. {@code loop}: issued in the key loop into the
     * slot whose address is in {@code dst} (the passes' offsets are the slot's own), for block j + {@code block};
     * else in the prologue for block {@code block}, into slot {@code block % stages} (the offsets include the
     * slot's). Either way only when that block is one of the CTA's ({@code < nkb}).
     */
    public record BlockCopy(boolean loop, int block, String dst, List<Copy> passes) {
    }

    /** One commit group of the pipeline's prologue: Q (the first group only), then K and V block copies. */
    public record Group(boolean withQ, List<BlockCopy> k, List<BlockCopy> v) {
    }

    /**
     * The pipeline (stages S above one): group 0 = Q + K(0) + V(0), group i = K(i) + V(i) for i = 1..S-2 before
     * the loop; iteration j copies K and V of block j+S-1 into slot (j-1) % S. The template's comments derive
     * the wait counts.
     *
     * @param prologue     the commit groups before the loop
     * @param prologueWait the {@code cp.async.wait_group} count that leaves Q and block 0 landed (S-2)
     * @param loopWait     the count at the end of iteration j that leaves block j+1 landed (S-2)
     * @param kLoop        the loop's K copy (block j + S - 1)
     * @param vLoop        the loop's V copy (block j + S - 1)
     * @param sl1Init      (j + 1) % S at j = 0
     * @param slmInit      (j - 1) % S at j = 0, i.e. S - 1
     */
    public record Pipeline(int stages, int kSlotBytes, int vSlotBytes, List<Group> prologue, int prologueWait,
                           int loopWait, BlockCopy kLoop, BlockCopy vLoop, int sl1Init, int slmInit) {
    }

    /**
     * The mma.sync family's part of the template model.
     *
     * @param pvDescription what P V does, in words
     * @param qOffset       shared-memory offsets of the Q, K and V tiles, then their row pitches
     * @param vPassInBytes  bytes of 16-bit V rows one copy pass moves
     * @param qFragCount    Q fragment registers (all k-steps, or one re-read per step above D = 128)
     * @param pvTemplate    the P V sub-template: {@code pvF16Acc}, {@code pvF32Acc} or {@code pv16}
     * @param single        the single-buffered loop (one stage), else the pipelined one
     * @param pipe          the pipeline (unused by the single-buffered loop)
     * @param kFragRegs     K fragment registers of the pipelined loop (one set per ldmatrix)
     * @param vFragRegs     V fragment registers of the pipelined loop
     * @param accRegs       FP8 P V accumulator registers of the pipelined loop (one set per output tile)
     * @param q16           16-bit QK (KernelSpec.qk = fp16): Q and K from the caller's tensors, m16n8k16 into FP32
     * @param gate          qk=auto: the INT8 kernel leaves the heads flagged for 16-bit QK
     * @param qkDescription what S = Q K^T does, in words
     * @param qkTemplate    the S sub-template: {@code qkMma} (INT8) or {@code qk16Mma}
     * @param qPassInBytes  16-bit QK: bytes of 16-bit Q rows one copy pass moves (per element of token stride)
     * @param kPassInBytes  16-bit QK: the same for K
     * @param kBlockTemplate the K block copy: {@code kBlock} (INT8 scratch) or {@code kBlock16} (the caller's K)
     * @param rescaleTemplate the O rescale: {@code lazyRescaleO} (16-bit P V, skipped when no row's max moved) or
     *                       {@code rescaleO} (FP8 P V, where it fuses into the flush)
     */
    public record Model(String pvDescription, int qOffset, int kOffset, int vOffset, int qPitch, int kPitch, int vPitch,
                        TileCopy qCopy, TileCopy kCopy, TileCopy vCopy, int vPassInBytes, List<Copy> qLoads,
                        List<Copy> kLoads, List<Copy> vLoads, int qFragCount, List<Frag> qFrags, List<QkStep> qk,
                        List<PvStep> pv, String pvTemplate, boolean single, Pipeline pipe,
                        int kFragRegs, int vFragRegs, int accRegs, boolean q16, boolean gate, String qkDescription,
                        String qkTemplate, int qPassInBytes, int kPassInBytes, String kBlockTemplate,
                        String rescaleTemplate) {
    }

    private MmaSyncEmitter() {
    }

    /** The PTX of the mma.sync attention kernel of {@code spec}. */
    public static String emit(KernelSpec spec) {
        return TemplateRenderer.render("mmasync/attention", "kernel", Map.of("a", common(spec), "k", model(spec)));
    }

    /** The shared part of the model; the launch bounds are the plan's ({@link MmaSyncPlan#minBlocks}). */
    static AttentionCommon common(KernelSpec spec) {
        return AttentionCommon.of(spec, spec.arch().target(), new MmaSyncPlan(spec).minBlocks());
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
        boolean q16 = spec.fp16Qk();
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

        // Fragment and accumulator registers: the single-buffered kernel reuses %kf0..3, %vf0..3, %acc0..1 and
        // %facc0..3 for every step; the pipelined ones give each step its own (%kfr, %vfr, %acr, %fac), so that
        // no ldmatrix waits for the mma that read the previous fragment and chained mmas of different output
        // tiles interleave (ptxas otherwise pads the dependent chains with no-ops).
        boolean distinct = plan.schedule() != MmaSyncPlan.Schedule.SINGLE;

        // Q K^T: per pair of key n-tiles and k-step, one ldmatrix.x4 of K, then two mmas per m-tile. (k-steps
        // outermost, which lets a re-read Q fragment die after its k-step, measured the same within 1-3 %, either
        // way depending on the kernel: ptxas schedules the mmas itself.)
        List<QkStep> qk = new ArrayList<>();
        for (int np = 0; np < keyTiles / 2; np++) {
            for (int ks = 0; ks < qkSteps; ks++) {
                List<Frag> reload = new ArrayList<>();
                if (qReload) {
                    for (int mt = 0; mt < mTiles; mt++) reload.add(qFrags.get(mt * qkSteps + ks));
                }
                int kf = distinct ? (np * qkSteps + ks) * 4 : 0;
                String kp = distinct ? "%kfr" : "%kf";
                Frag f = new Frag(regs(kp, kf, 4), np * 16 * plan.kTile().smemRowBytes() + ks * 32, "");
                List<QkMma> mmas = new ArrayList<>();
                for (int mt = 0; mt < mTiles; mt++) {
                    for (int h = 0; h < 2; h++) {
                        // INT8: int32 scores %s, converted later; 16-bit: FP32 scores straight into %x
                        String d = regs(q16 ? "%x" : "%s", (mt * keyTiles + 2 * np + h) * 4, 4);
                        String zero = q16 ? "%fzero, %fzero, %fzero, %fzero" : "%zero, %zero, %zero, %zero";
                        mmas.add(new QkMma(d, regs("%qf", (mt * qRegSteps + (qReload ? 0 : ks)) * 4, 4),
                                regs(kp, kf + 2 * h, 2), ks == 0 ? zero : d, q16 ? inType : ""));
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
            // 64-key blocks: one ldmatrix.x4 of V^T (8 channels x 64 keys) feeds two chained k32 mmas; 32-key
            // blocks: an x2 (8 channels x 32 keys) feeds one (a1, b1 null)
            boolean twoSteps = pvSteps == 2;
            for (int nd = 0; nd < dimTiles; nd++) {
                int vf = distinct ? nd * 4 : 0;
                String vp = distinct ? "%vfr" : "%vf";
                Frag f = new Frag(regs(vp, vf, twoSteps ? 4 : 2), nd * 8 * vPitch, "");
                List<PvMma> mmas = new ArrayList<>();
                for (int mt = 0; mt < mTiles; mt++) {
                    List<String> o = oList(mt, nd, dimTiles);
                    int acc = distinct ? (mt * dimTiles + nd) * 4 : 0;
                    List<String> facc = List.of(regs(distinct ? "%fac" : "%facc", acc, 4).split(", "));
                    mmas.add(new PvMma(regs("%pa", (mt * pvSteps) * 4, 4), regs(vp, vf, 2),
                            twoSteps ? regs("%pa", (mt * pvSteps + 1) * 4, 4) : null,
                            twoSteps ? regs(vp, vf + 2, 2) : null, o, String.join(", ", o), "", List.of(),
                            (distinct ? "%acr" : "%acc") + (acc / 2), (distinct ? "%acr" : "%acc") + (acc / 2 + 1), facc,
                            String.join(", ", facc)));
                }
                pv.add(new PvStep(f, mmas));
            }
            pvTemplate = spec.pv() == PvVariant.FP8_F16ACC ? "pvF16Acc" : "pvF32Acc";
        } else {
            for (int nd = 0; nd < dimTiles; nd++) {
                for (int kp = 0; kp < pvSteps / 2; kp++) {
                    int vf = distinct ? (nd * (pvSteps / 2) + kp) * 4 : 0;
                    String vp = distinct ? "%vfr" : "%vf";
                    Frag f = new Frag(regs(vp, vf, 4), nd * 16 + kp * 32 * vPitch, ".trans");
                    List<PvMma> mmas = new ArrayList<>();
                    for (int mt = 0; mt < mTiles; mt++) {
                        List<String> o = oList(mt, nd, dimTiles);
                        List<Pv16Step> steps = List.of(
                                new Pv16Step(regs("%pa", (mt * pvSteps + 2 * kp) * 4, 4), regs(vp, vf, 2)),
                                new Pv16Step(regs("%pa", (mt * pvSteps + 2 * kp + 1) * 4, 4), regs(vp, vf + 2, 2)));
                        mmas.add(new PvMma("", "", "", "", o, String.join(", ", o), inType, steps, "", "", List.of(), ""));
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
        long qkRow = plan.qkRowBytes();
        List<Copy> kLoads = copies(plan.kTile(), qkRow, 0);
        List<Copy> vLoads = copies(plan.vTile(), (long) spec.headDim() * spec.inType().bytes(), 0);
        return new Model(pvDescription, plan.qOffset(), plan.kOffset(), plan.vOffset(), plan.qTile().smemRowBytes(),
                plan.kTile().smemRowBytes(), vPitch, plan.qTile(), plan.kTile(), plan.vTile(),
                plan.vTile().rowsPerPass() * spec.inType().bytes(),
                copies(plan.qTile(), qkRow, 0), kLoads, vLoads, mTiles * qRegSteps * 4,
                qReload ? List.of() : qFrags, qk, pv, pvTemplate, plan.schedule() == MmaSyncPlan.Schedule.SINGLE,
                pipeline(plan, kLoads, vLoads),
                keyTiles / 2 * qkSteps * 4, fp8 ? dimTiles * 4 : dimTiles * pvSteps / 2 * 4, mTiles * dimTiles * 4,
                q16, spec.qk() == QkPrecision.AUTO,
                q16 ? "Q K^T in FP32 (m16n8k16 " + spec.inType().shortName() + ")" : "Q8 K8^T in int32 (m16n8k32 s8)",
                q16 ? "qk16Mma" : "qkMma", plan.qTile().rowsPerPass() * spec.inType().bytes(),
                plan.kTile().rowsPerPass() * spec.inType().bytes(), q16 ? "kBlock16" : "kBlock",
                lazyRescale(spec) ? "lazyRescaleO" : "rescaleO");
    }

    /**
     * Whether the kernel skips the O rescale in blocks where no row of a warp has a new max ({@code lazyRescaleO}):
     * 16-bit P V (which accumulates straight into O; FP8 P V fuses the rescale into its flush) with two m16 tiles
     * per warp above D = 64. Measured on the H200 (FP16 PV, N=16k, end to end): 128 x 4 tiles at D=128 406-417 vs
     * 371-376 TFLOP/s eager (with 32-key blocks 408 vs 361); slower elsewhere: D=64 on 128 x 4 345-351 vs 360, 128 x 8
     * at D=128 298-300 vs 339 (ptxas interleaves the eager multiplies with the P V mmas, which the branch prevents).
     */
    static boolean lazyRescale(KernelSpec spec) {
        return !spec.pv().isFp8() && spec.mTiles() > 1 && spec.headDim() > 64;
    }

    /** The pipeline's copy groups and wait counts (see {@link Pipeline}). */
    static Pipeline pipeline(MmaSyncPlan plan, List<Copy> kLoads, List<Copy> vLoads) {
        int st = plan.stages();
        KernelSpec spec = plan.spec();
        List<Group> groups = new ArrayList<>();
        for (int g = 0; g < st - 1; g++) {
            groups.add(new Group(g == 0,
                    List.of(prologueCopy(plan.kTile(), plan.qkRowBytes(), g, g * plan.kSlotBytes(), "%skdst")),
                    List.of(prologueCopy(plan.vTile(), (long) spec.headDim() * spec.inType().bytes(), g,
                            g * plan.vSlotBytes(), "%svdst"))));
        }
        return new Pipeline(st, plan.kSlotBytes(), plan.vSlotBytes(), groups, Math.max(0, st - 2), Math.max(0, st - 2),
                new BlockCopy(true, st - 1, "%skw", kLoads), new BlockCopy(true, st - 1, "%svw", vLoads), 1 % st, st - 1);
    }

    private static BlockCopy prologueCopy(TileCopy tile, long globalRowBytes, int block, int slotOffset, String dst) {
        return new BlockCopy(false, block, dst, copies(tile, globalRowBytes, slotOffset));
    }

    /**
     * Whether the kernel re-reads Q fragments from shared memory in every key block: where a warp's Q rows would
     * hold more than {@value #Q_RESIDENT_MAX_ROW_CHANNELS} channels of 16 rows in registers (INT8: the padded head
     * dim; 16-bit QK, twice the fragment registers per channel: the head dim; times the warp's m16 tiles). One m16
     * tile keeps Q up to D = 128; two (32 rows per warp) up to D = 64: at D = 128 their O accumulators and scores
     * (192 registers) leave no room for 32 more, and ptxas spilled 20-144 bytes with Q resident.
     */
    public static boolean reloadsQ(KernelSpec spec) {
        int channels = spec.fp16Qk() ? spec.headDim() : spec.paddedHeadDim();
        return channels * spec.mTiles() > Q_RESIDENT_MAX_ROW_CHANNELS;
    }

    /** Channels x m16 tiles of a warp whose Q fragments stay in registers for the whole key loop. */
    public static final int Q_RESIDENT_MAX_ROW_CHANNELS = 128;

    private static List<Copy> copies(TileCopy tile, long globalRowBytes, int smemOffset) {
        List<Copy> out = new ArrayList<>();
        for (int p = 0; p < tile.passes(); p++) {
            int rowOff = p * tile.rowsPerPass();
            boolean pred = tile.idleThreads() || rowOff + tile.rowsPerPass() > tile.rows();
            out.add(new Copy(smemOffset + rowOff * tile.smemRowBytes(), rowOff * globalRowBytes, p == 0, rowOff, pred,
                    tile.rows()));
        }
        return out;
    }

    private static List<String> oList(int mt, int nd, int dimTiles) {
        List<String> o = new ArrayList<>();
        for (int i = 0; i < 4; i++) o.add("%o" + ((mt * dimTiles + nd) * 4 + i));
        return o;
    }
}
