package io.sageptx.kernels.wgmma;

import static io.sageptx.kernels.attention.AttentionCommon.regs;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

import io.sageptx.kernels.attention.AttentionCommon;
import io.sageptx.ptx.TemplateRenderer;
import io.sageptx.spec.KernelSpec;
import io.sageptx.spec.MmaKind;
import io.sageptx.spec.Pipe;
import io.sageptx.spec.PvVariant;

/**
 * Builds the model of the Hopper wgmma kernel and renders {@code wgmma/attention.stg} with it ({@code k})
 * and the model all attention families share ({@link AttentionCommon}, {@code a}): a warp's wgmma
 * accumulator and register-A layouts are the mma.sync ones, so the softmax, P packing and epilogue are the
 * shared ones. What is this family's: the swizzled K and V^T stages, their descriptors and the wgmmas.
 */
public final class WgmmaEmitter {

    /** A swizzled tile's copy slot parameters. */
    public record Swizzle(int chunksPerRow, int rowsPerPass, int rowBytes, int shift, int mask) {
    }

    /** Descriptor words besides the start address: low bits (leading byte offset), high word, address mask. */
    public record Descriptor(String loBits, String hi, int addrMask) {
    }

    /** Rows per sub-tile as a shift and a mask: sub-tile = row >> shift, row in it = row &amp; mask. */
    public record SubTile(int shift, int mask) {
    }

    /**
     * One wgmma: shape, accumulator type, D registers, A registers (empty: A from shared memory), the
     * descriptor's start-address step (16-byte units) and high word, and the scale-d predicate; {@code kDescAdd}
     * is the B descriptor's step where it differs from A's (an S wgmma over the second 64-key sub-tile of K).
     */
    public record Wgmma(String shape, String accType, String d, String a, int descAdd, int kDescAdd, String hi, String scaleD) {

        Wgmma(String shape, String accType, String d, String a, int descAdd, String hi, String scaleD) {
            this(shape, accType, d, a, descAdd, descAdd, hi, scaleD);
        }
    }

    /** One 16-byte copy per thread: shared-memory and global offsets, and whether it is predicated on the row. */
    public record Load(int smem, long global, boolean first, int rowOff, boolean pred, int rows) {
    }

    /**
     * A copy group of a swizzled tile (columns of one width) and this thread's registers for it: stage-0
     * destination, current destination, row, and global offset.
     */
    public record CopyGroup(int cpr, int shift, int mask, int width, int subBytes, String dst, String cur, String row,
                            String off, List<Load> loads, List<Load> nextLoads) {
    }

    /** wgmmas of P V over some output channels, then (FP16 accumulators) their flush into O. */
    public record PvGroup(List<Wgmma> wgmmas, List<Flush> flush) {
    }

    /**
     * One n8 tile of accumulators (rows g and g+8) flushed into the FP32 output: FP16 pairs {@code lo},
     * {@code hi} widened first when {@code f16}; then per register {@code o = o * alpha + acc}.
     */
    public record Flush(boolean f16, String lo, String hi, List<Term> terms) {
    }

    /** {@code o = o * alpha + acc}: one output register, its row's rescale, its accumulator. */
    public record Term(String o, String alpha, String acc) {
    }

    /**
     * The wgmma family's part of the template model.
     *
     * @param atomAlign      alignment of the shared-memory base (the swizzle atoms'), and that minus 1
     * @param warpgroupShift log2 of the warps per warpgroup: warp >> shift is the warpgroup
     * @param subTile        64-row sub-tiles of the swizzled tiles
     * @param pvParts        the parts of the split P V ({@link #splitPv}); empty: P V after the whole softmax
     */
    public record Model(int atomAlign, int atomAlignM1, int warpgroupShift, SubTile subTile, boolean f16Acc,
                        int accCount, int groupCount, int qOffset, List<CopyGroup> qCopyGroups,
                        List<CopyGroup> kCopyGroups, Descriptor qDesc, int qWgBytes, int kStage0, int kStageStride,
                        int kStageStride16, int vStage0, int vStageStride, int vStageStride16, Swizzle vSwz,
                        String kSwizzleName, String vSwizzleName, Descriptor vDesc, List<Load> vLoads, int qkSteps,
                        int pvSteps, String pvDescription, List<Wgmma> qk, List<PvGroup> pvGroups, boolean gate,
                        List<PvPart> pvParts) {
    }

    /**
     * A part of a key block in the serial kernel's split P V ({@link #splitPv}): its scores to P (each with its softmax
     * row), its A fragments, and the P V wgmmas of its k32 steps, issued as one commit group.
     */
    public record PvPart(List<ScoreExp> exps, List<AttentionCommon.Pack> packs, List<Wgmma> wgmmas) {
    }

    /** A score register and its softmax row (0: g, 1: g + 8). */
    public record ScoreExp(String x, int row) {
    }

    /**
     * Whether the serial kernel issues P V in parts of the key block, each as soon as its P is packed: the
     * exponentials of the later parts then run while the tensor cores multiply the earlier ones (intra-warpgroup
     * overlap without a second score register set). FP16 accumulators over all D channels in one group (one
     * commit per part, one wait, one flush); serial INT8 QK kernels with FP16 accumulators, every head dim but
     * D = 192 with 128-key blocks (4 bytes spilled at 255 registers: {@link #SPLIT_PV_K128_MAX_HEAD_DIM}).
     * Measured on the H200 (docs/notes/wgmma-split-pv.md): kernel-only +4 % at D = 128 16k, +4-12 % at D = 128 4k,
     * +4-6 % at D = 160, +8-11 % at D = 256. {@code -Dsageptx.dev.splitPv=false} turns it off for an A/B.
     */
    static boolean splitPv(KernelSpec spec) {
        return SPLIT_PV && !spec.pipe().warpSpecialized() && !spec.fp16Qk() && spec.pv() == PvVariant.FP8_F16ACC
                && spec.blockK() >= 64 && (spec.blockK() == 64 || spec.headDim() <= SPLIT_PV_K128_MAX_HEAD_DIM);
    }

    static final boolean SPLIT_PV = !"false".equalsIgnoreCase(System.getProperty("sageptx.dev.splitPv"));
    /** Largest head dim of the split P V with 128-key blocks (D = 192 spills 4 bytes with it). */
    static final int SPLIT_PV_K128_MAX_HEAD_DIM = 176;
    /**
     * Parts of the split P V: one per k32 step (four at 128 keys, two at 64) where the thread has more than 128
     * registers; two within 128 (D <= 64: four parts spill 4 bytes in 6 of its variants). Four parts against two:
     * 0 to +12 % at D = 128 4k, equal at D = 128 16k, +0-3 % at D = 64 16k (two runs each).
     */
    static int splitPvParts(KernelSpec spec) {
        return Math.min(spec.blockK() / 32, registersPerThread(spec) > REGISTERS_PER_THREAD || spec.headDim() > 128 ? 4 : 2);
    }

    static final int MAX_REGISTERS_PER_SM = 65536;
    static final int REGISTERS_PER_THREAD = 128;
    static final int WARPS_PER_WARPGROUP = 4;
    /** The descriptor's start address field: 14 bits of address / 16. */
    static final int DESCRIPTOR_ADDRESS_MASK = (1 << 14) - 1;

    /** The PTX target of wgmma kernels: the arch-specific sm_90a. */
    public static final String TARGET = "sm_90a";

    private WgmmaEmitter() {
    }

    public static String emit(KernelSpec spec) {
        if (spec.pipe().warpSpecialized()) {
            Model k = model(spec);
            return TemplateRenderer.render("wgmma/ws", "wgmmaKernelWs", Map.of("a", common(spec), "k", k, "w", ws(spec, k)));
        }
        if (spec.fp16Qk()) {
            return TemplateRenderer.render("wgmma/attention", "wgmmaKernel16", Map.of("a", common(spec), "k", model16(spec)));
        }
        return TemplateRenderer.render("wgmma/attention", "wgmmaKernel", Map.of("a", common(spec), "k", model(spec)));
    }

    // ------------------------------------------------------------------------------------ 16-bit QK kernel

    /** One 16-byte chunk of a row copy: its byte in the tile (relative to the thread's slot) and in the row. */
    public record Chunk(int smem, int global) {
    }

    /**
     * One pass of a row copy: rows {@code rowOff} further than the thread's first; {@code tilePred} when a
     * pass has more rows than the tile (those threads copy nothing).
     */
    public record RowPass(int rowOff, boolean tilePred, int tileRows, List<Chunk> chunks) {
    }

    /**
     * The columns of one width of a swizzled tile copied from the caller's rows: chunks per row (and as a
     * shift and mask), the swizzle's row shift and mask, the width, the sub-tile size, the registers of the
     * thread's stage-0 slot and of the current stage's slot, and the passes.
     */
    public record RowGroup(int cpr, int cprShift, int cprMask, int shift, int mask, int width, int subBytes, String dst,
                           String cur, List<RowPass> passes) {
    }

    /**
     * One 16-bit wgmma: shape, operand type, D registers, A registers (empty: A from shared memory), the
     * descriptor's low-word addend (start address / 16, plus the leading byte offset field for V) and high word,
     * and the scale-d predicate.
     */
    public record Wgmma16(String shape, String type, String d, String a, int descAdd, String hi, String scaleD) {
    }

    /**
     * The wgmma family's model of the 16-bit QK kernel.
     *
     * @param qGroups  Q tile copy groups (the CTA's query rows, once)
     * @param kGroups  K block copy groups; {@code vGroups} the same for V (both tiles are blockK rows of 2D bytes)
     * @param qk       the S wgmmas, one per k16 step (32 bytes of a row, inside one column)
     * @param pv       the P V wgmmas: per k16 step (16 keys), one per run of V columns of one width
     */
    public record Model16(int atomAlign, int atomAlignM1, int warpgroupShift, SubTile subTile, int groupCount, int vGroupCount,
                          List<RowGroup> qGroups, List<RowGroup> kGroups, List<RowGroup> vGroups, Descriptor qDesc,
                          int qWgBytes, int kStage0, int kStageStride, int kStageStride16, int vStage0, int vStageStride,
                          int vStageStride16, String swizzleName, String vRunsName, int qkSteps, int pvSteps,
                          List<Wgmma16> qk, List<Wgmma16> pv) {
    }

    static Model16 model16(KernelSpec spec) {
        if (spec.mma() != MmaKind.WGMMA || !spec.fp16Qk()) throw new IllegalArgumentException("not a 16-bit QK wgmma spec: " + spec);
        WgmmaPlan plan = new WgmmaPlan(spec);
        int d = spec.headDim();
        int bk = spec.blockK();
        String type = spec.inType().ptx();

        List<Wgmma16> qk = new ArrayList<>();
        String xRegs = regs("%x", 0, bk / 2);
        for (int ks = 0; ks < d / 16; ks++) {
            SwizzledTile.Column c = plan.kTile().columnOf(32 * ks);
            qk.add(new Wgmma16("m64n" + bk + "k16", type, xRegs, "", (c.base() + 32 * ks - c.start()) / 16,
                    hex(c.descriptorHigh()), ks == 0 ? "%pfalse" : "%ptrue"));
        }
        // P V into the running output (FP32 accumulators across blocks, rescaled first: 16-bit products are
        // accumulated in FP32, not in the reduced precision of the FP8 path). Step kk reads tokens 16kk..16kk+15:
        // rows 16kk.. of every column, two 8-row core-matrix groups (the stride byte offset apart).
        List<Wgmma16> pv = new ArrayList<>();
        for (int kk = 0; kk < bk / 16; kk++) {
            for (WgmmaPlan.VRun r : plan.vRuns()) {
                int start = r.base() + 16 * kk * r.width();
                pv.add(new Wgmma16("m64n" + r.n() + "k16", type, regs("%o", r.c0() / 2, r.n() / 2), regs("%pa", 4 * kk, 4),
                        start / 16 + ((r.leadingByteOffset() >> 4) << 16), hex(r.descriptorHigh()), "%ptrue"));
            }
        }
        int sub = SwizzledTile.SUB_ROWS;
        return new Model16(WgmmaPlan.ATOM_ALIGN, WgmmaPlan.ATOM_ALIGN - 1, Integer.numberOfTrailingZeros(WARPS_PER_WARPGROUP),
                new SubTile(Integer.numberOfTrailingZeros(sub), sub - 1), plan.kTile().groups().size(), plan.vTile().groups().size(), rowGroups(plan.qTile(), "q"),
                rowGroups(plan.kTile(), "k"), rowGroups(plan.vTile(), "v"), descriptor(plan.qTile()), plan.qWarpgroupBytes(),
                plan.kStage(0), plan.kStage(1) - plan.kStage(0), (plan.kStage(1) - plan.kStage(0)) / 16, plan.vStage(0),
                plan.vStage(1) - plan.vStage(0), (plan.vStage(1) - plan.vStage(0)) / 16,
                plan.kTile().columns().stream().map(c -> c.width() + "-byte").collect(Collectors.joining(" + ")),
                plan.vRuns().stream().map(r -> "n" + r.n() + " (" + r.width() + "-byte)").collect(Collectors.joining(" + ")),
                d / 16, bk / 16, qk, pv);
    }

    /** The copy groups of a tile read from the caller's rows, with the registers named {@code name}. */
    private static List<RowGroup> rowGroups(SwizzledTile t, String name) {
        List<RowGroup> out = new ArrayList<>();
        List<SwizzledTile.Group> gs = t.groups();
        for (int i = 0; i < gs.size(); i++) {
            SwizzledTile.Group g = gs.get(i);
            List<RowPass> passes = new ArrayList<>();
            for (int p = 0; p < g.passes(); p++) {
                List<Chunk> chunks = new ArrayList<>();
                for (SwizzledTile.Column c : g.columns()) chunks.add(new Chunk(c.base() + t.passOffset(g, p), c.start()));
                passes.add(new RowPass(p * g.rowsPerPass(), g.predicated(), t.rows(), chunks));
            }
            out.add(new RowGroup(g.chunksPerRow(), Integer.numberOfTrailingZeros(g.chunksPerRow()), g.chunksPerRow() - 1,
                    g.shift(), g.mask(), g.width(), t.subTileBytes(), "%" + name + "dst" + i, "%" + name + "cur" + i, passes));
        }
        return out;
    }

    /**
     * The shared part of the model. Two 256-thread CTAs per SM (128 registers each) let one CTA's softmax
     * overlap the other's wgmmas; measured on the H100 at D=128, N=16k: FP16-accumulate PV 161 registers /
     * 1 CTA 457 TFLOP/s. Above D=128 the output accumulators alone take D/2 registers: one CTA per SM, up
     * to 255 registers.
     */
    /**
     * The register budget of a thread of the serial kernel: 128 (two 256-thread or four 128-thread CTAs per SM),
     * and {@link #K128_REGISTERS_PER_THREAD} for 128-key blocks above D = 64, whose 64 score registers per thread
     * do not fit beside D / 2 output registers in 128 (ptxas 13.0 spills 40 bytes at D = 80, 240 at D = 128;
     * 168 registers spill nothing up to D = 128: three 128-thread CTAs per SM).
     */
    static int registersPerThread(KernelSpec spec) {
        return spec.blockK() == 128 && spec.headDim() > 64 ? K128_REGISTERS_PER_THREAD : REGISTERS_PER_THREAD;
    }

    static final int K128_REGISTERS_PER_THREAD = 168;

    static AttentionCommon common(KernelSpec spec) {
        int lanes = AttentionCommon.REDUCE_LANES;
        if (spec.pipe().warpSpecialized()) return AttentionCommon.of(spec, TARGET, 1, lanes); // one CTA per SM, setmaxnreg per role
        int minBlocks = spec.headDim() <= 128 ? MAX_REGISTERS_PER_SM / (spec.threads() * registersPerThread(spec)) : 1;
        return AttentionCommon.of(spec, TARGET, minBlocks, lanes);
    }

    static Model model(KernelSpec spec) {
        if (spec.mma() != MmaKind.WGMMA) throw new IllegalArgumentException("not a wgmma spec: " + spec);
        WgmmaPlan plan = new WgmmaPlan(spec);
        int d = spec.headDim();
        int bk = spec.blockK();
        boolean f16Acc = spec.pv() == PvVariant.FP8_F16ACC;
        int dPad = spec.paddedHeadDim();

        // S: one wgmma per k-step over the whole key block, or, where the block spans K sub-tiles of several
        // swizzle columns (128 keys, D not a power of two), one per 64-key sub-tile: the hardware steps 8-row groups
        // by the stride byte offset, which runs from a column of one sub-tile into the next column, not into the
        // next sub-tile. The accumulator registers of an n64 pair are those of one n128 (ordered by n8 tile).
        List<Wgmma> qk = new ArrayList<>();
        int sub = SwizzledTile.SUB_ROWS;
        int parts = bk > sub && plan.kTile().columns().size() > 1 ? bk / sub : 1;
        int nPart = bk / parts;
        for (int ks = 0; ks < dPad / 32; ks++) {
            SwizzledTile.Column c = plan.kTile().columnOf(32 * ks);
            int add = (c.base() + 32 * ks - c.start()) / 16;
            for (int h = 0; h < parts; h++) {
                qk.add(new Wgmma("m64n" + nPart + "k32", "s32", regs("%s", h * nPart / 2, nPart / 2), "", add,
                        add + h * plan.kTile().subTileBytes() / 16, hex(c.descriptorHigh()), ks == 0 ? "%pfalse" : "%ptrue"));
            }
        }

        // P V: per block into fresh accumulators (FP16 or FP32), in groups of output channels small enough for
        // the register budget (WgmmaPlan.pvGroups), each flushed into O with the rescale folded in.
        int vRowBytes = plan.vTile().rowBytes();
        List<PvGroup> pv = new ArrayList<>();
        int accCount = 0;
        boolean split = splitPv(spec);
        for (int[] g : split ? List.of(new int[] {0, d}) : plan.pvGroups()) {
            int c0 = g[0];
            int n = g[1];
            int regs = f16Acc ? n / 4 : n / 2;
            accCount = Math.max(accCount, regs);
            String acc = regs(f16Acc ? "%hacc" : "%tacc", 0, regs);
            List<Wgmma> ws = new ArrayList<>();
            for (int kk = 0; kk < bk / 32; kk++) {
                ws.add(new Wgmma("m64n" + n + "k32", f16Acc ? "f16" : "f32", acc, regs("%pa", 4 * kk, 4),
                        2 * kk + c0 * vRowBytes / 16, "", kk == 0 ? "%pfalse" : "%ptrue"));
            }
            pv.add(new PvGroup(ws, flushes(c0, n, f16Acc, "%alpha")));
        }
        return new Model(WgmmaPlan.ATOM_ALIGN, WgmmaPlan.ATOM_ALIGN - 1, Integer.numberOfTrailingZeros(WARPS_PER_WARPGROUP),
                new SubTile(Integer.numberOfTrailingZeros(sub), sub - 1), f16Acc, accCount,
                Math.max(1, plan.kTile().groups().size()), 0, groups(plan.qTile(), "q", dPad, 0),
                groups(plan.kTile(), "k", dPad, (long) bk * dPad), descriptor(plan.qTile()), plan.qWarpgroupBytes(),
                plan.kStage(0), plan.kStage(1) - plan.kStage(0), (plan.kStage(1) - plan.kStage(0)) / 16,
                plan.vStage(0), plan.vStage(1) - plan.vStage(0), (plan.vStage(1) - plan.vStage(0)) / 16,
                swizzle(plan.vTile()),
                plan.kTile().columns().stream().map(c -> c.width() + "-byte").collect(Collectors.joining(" + ")),
                plan.vTile().rowBytes() + "-byte", descriptor(plan.vTile()), groups(plan.vTile(), "v", 0, 0).get(0).loads(),
                dPad / 32, bk / 32, (f16Acc ? "FP16" : "FP32") + " accumulators from zero every block, in "
                        + pv.size() + " group(s) of channels, each flushed into O = O * alpha + acc", qk, pv,
                spec.qk() == io.sageptx.spec.QkPrecision.AUTO, split ? parts(spec, pv.get(0)) : List.of());
    }

    /**
     * The parts of the key block for the split P V ({@link #splitPvParts} of them, at most one per k32 step): score
     * registers, A fragments and wgmmas of each.
     */
    private static List<PvPart> parts(KernelSpec spec, PvGroup group) {
        AttentionCommon a = common(spec);
        int keyTiles = spec.blockK() / 8;
        int steps = group.wgmmas().size();
        int parts = splitPvParts(spec);
        int packs = a.pPacks().size();
        List<PvPart> out = new ArrayList<>();
        for (int h = 0; h < parts; h++) {
            List<ScoreExp> exps = new ArrayList<>();
            // one m16 tile per warp: n8 tile n holds scores %x[4n..4n+3], registers 2 and 3 in row g + 8
            for (int n = h * keyTiles / parts; n < (h + 1) * keyTiles / parts; n++) {
                for (int i = 0; i < 4; i++) exps.add(new ScoreExp("%x" + (4 * n + i), i >> 1));
            }
            out.add(new PvPart(exps, a.pPacks().subList(h * packs / parts, (h + 1) * packs / parts),
                    group.wgmmas().subList(h * steps / parts, (h + 1) * steps / parts)));
        }
        return out;
    }

    /**
     * The flush of P V accumulators of channels {@code [c0, c0 + n)} into O: per n8 tile, {@code o = o * alpha + acc}
     * with the rescale of its row in {@code alpha<row>} ({@code %alpha}: this block's; the warp-specialized kernel
     * flushes block j-1 after block j's softmax, with the saved {@code %alphap}).
     */
    static List<Flush> flushes(int c0, int n, boolean f16Acc, String alpha) {
        List<Flush> flush = new ArrayList<>();
        for (int nd = 0; nd < n / 8; nd++) {
            int ndo = c0 / 8 + nd;
            List<Term> terms = new ArrayList<>();
            for (int i = 0; i < 4; i++) {
                String o = "%o" + (4 * ndo + i);
                String al = alpha + (i >> 1); // registers 0, 1: row g; 2, 3: row g + 8
                terms.add(new Term(o, al, f16Acc ? "%facc" + i : "%tacc" + (4 * nd + i)));
            }
            flush.add(f16Acc ? new Flush(true, "%hacc" + 2 * nd, "%hacc" + (2 * nd + 1), terms)
                    : new Flush(false, "", "", terms));
        }
        return flush;
    }

    // ------------------------------------------------------------------------- warp-specialized kernel (issue 12)

    /** One stage of the ring: its index and the byte offset of its mbarriers from the first full (empty) one. */
    public record Stage(int s, int off) {
    }

    /**
     * The warp-specialized kernel's part of the model ({@code w}; {@code k} is the ordinary one's, with copy slots
     * for the producer's 128 threads and one P V group of all D channels).
     *
     * @param stages          stages of the K/V ring, and the list of them (mbarrier offsets)
     * @param consumerThreads threads of the two consumer warpgroups (warps 0..7: the rows of the shared templates)
     * @param producerRegs    the producer warpgroup's register count after {@code setmaxnreg.dec}
     * @param consumerRegs    the consumers' after {@code setmaxnreg.inc}: 128 * producer + 256 * consumer <= 65536
     * @param full0           offset of full[0] (empty[0] is {@code empty0}); full[s] completes when the producer's
     *                        {@code fullCount} threads' copies of the stage have landed, empty[s] when the
     *                        {@code emptyCount} consumer warps finished reading it
     * @param pv              the P V wgmmas of one block (one group: all D channels, FP16 accumulators)
     * @param flushPrev       flush of block j-1 inside the loop (after block j's softmax: rescale {@code %alphap})
     * @param flushLast       flush of the last block after the loop ({@code %alpha})
     * @param pFrags          the P fragment registers (zeroed once for the P V(-1) that zeroes the accumulators)
     * @param alphas          the softmax rows of a thread (0 .. rows-1)
     * @param pingPong        the consumer warpgroups issue their wgmmas in turn (named barriers 1 and 2, 256 threads)
     */
    public record Ws(int stages, List<Stage> stageList, int consumerThreads, int consumerWarpgroups, int producerRegs, int consumerRegs, int full0,
                     int empty0, int fullCount, int emptyCount, int kStageStride16, int vStageStride16, List<Wgmma> pv,
                     List<Flush> flushPrev, List<Flush> flushLast, List<String> pFrags, List<String> alphas,
                     boolean pingPong) {
    }

    /** Registers of a producer thread after setmaxnreg.dec (copy addresses and loop counters only). */
    public static final int WS_PRODUCER_REGS = 24;
    /**
     * Registers of a consumer thread after setmaxnreg.inc: 256 * (240 - 168) = 128 * (168 - 24), all the producer gives
     * back. Chosen by ptxas 13.0: with 24 / 240 every head dim up to 192 assembles without spills (ws and wspp);
     * 40 / 232 spills 16 B at D = 160 and 176 (and 32 / 240 too: the allocator is not monotone in the limits),
     * while up to D = 128 40 / 232, 40 / 208 and 40 / 192 are clean as well; 40 / 184 spills at D = 128.
     */
    public static final int WS_CONSUMER_REGS = 240;

    static Ws ws(KernelSpec spec, Model k) {
        WgmmaPlan plan = new WgmmaPlan(spec);
        int st = plan.stages();
        List<Stage> stages = new ArrayList<>();
        for (int s = 0; s < st; s++) stages.add(new Stage(s, 8 * s));
        if (k.pvGroups().size() != 1) throw new IllegalStateException("pipe=ws runs one P V group: " + spec);
        int d = spec.headDim();
        int consumers = spec.warps() * 32;
        // the consumers' setmaxnreg.inc takes registers the producer's setmaxnreg.dec gave back to the CTA's pool: with
        // the launch count R (ptxas: 65536 / 384 rounded down to 8 = 168), consumers * (C - R) <= 128 * (R - P)
        int launch = MAX_REGISTERS_PER_SM / spec.threads() / 8 * 8;
        if (consumers * (WS_CONSUMER_REGS - launch) > KernelSpec.PRODUCER_THREADS * (launch - WS_PRODUCER_REGS)) {
            throw new IllegalStateException("setmaxnreg counts exceed what the producer gives back: " + spec);
        }
        List<String> alphas = new ArrayList<>();
        for (int r = 0; r < spec.mTiles() * 2; r++) alphas.add(Integer.toString(r));
        return new Ws(st, stages, consumers, consumers / 128, WS_PRODUCER_REGS, WS_CONSUMER_REGS, plan.barriers(), plan.barriers() + 8 * st,
                KernelSpec.PRODUCER_THREADS, spec.warps(), k.kStageStride16(), k.vStageStride16(),
                k.pvGroups().get(0).wgmmas(), flushes(0, d, k.f16Acc(), "%alphap"), flushes(0, d, k.f16Acc(), "%alpha"),
                java.util.stream.IntStream.range(0, spec.mTiles() * (spec.blockK() / 32) * 4).mapToObj(i -> "%pa" + i).toList(),
                alphas, spec.pipe() == Pipe.WSPP);
    }

    /** The slot parameters of a single-group tile (V^T: one 64-byte column). */
    private static Swizzle swizzle(SwizzledTile t) {
        SwizzledTile.Group g = t.groups().get(0);
        return new Swizzle(g.chunksPerRow(), g.rowsPerPass(), g.width(), g.shift(), g.mask());
    }

    /** Descriptor words of a tile's first column; the QK steps carry their own column's high word. */
    private static Descriptor descriptor(SwizzledTile t) {
        return new Descriptor(Integer.toString(t.descriptorLowBits()), hex(t.columns().get(0).descriptorHigh()),
                DESCRIPTOR_ADDRESS_MASK);
    }

    private static String hex(int v) {
        return String.format("0x%08X", v);
    }

    /**
     * The copy groups of a tile with the registers named {@code name}: per column of the group's width and
     * per pass, the shared-memory offset (column base + the pass's first row) and the global offset (column
     * start + the pass's rows times {@code globalRowBytes}); {@code nextBlock} is added for the next block.
     */
    private static List<CopyGroup> groups(SwizzledTile t, String name, long globalRowBytes, long nextBlock) {
        List<CopyGroup> out = new ArrayList<>();
        List<SwizzledTile.Group> gs = t.groups();
        for (int i = 0; i < gs.size(); i++) {
            SwizzledTile.Group g = gs.get(i);
            out.add(new CopyGroup(g.chunksPerRow(), g.shift(), g.mask(), g.width(), t.subTileBytes(), "%" + name + "dst" + i,
                    "%" + name + "cur" + i, "%" + name + "r" + i, "%rd_" + name + "off" + i, loads(t, g, globalRowBytes, 0),
                    loads(t, g, globalRowBytes, nextBlock)));
        }
        return out;
    }

    private static List<Load> loads(SwizzledTile t, SwizzledTile.Group g, long globalRowBytes, long globalBase) {
        List<Load> out = new ArrayList<>();
        for (SwizzledTile.Column c : g.columns()) {
            for (int p = 0; p < g.passes(); p++) {
                int rowOff = p * g.rowsPerPass();
                out.add(new Load(c.base() + t.passOffset(g, p), globalBase + c.start() + rowOff * globalRowBytes,
                        out.isEmpty(), rowOff, g.predicated(), t.rows()));
            }
        }
        return out;
    }
}
