package io.sageptx.ptx;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import io.sageptx.plan.SwizzledTile;
import io.sageptx.plan.WgmmaPlan;
import io.sageptx.spec.KernelSpec;
import io.sageptx.spec.MmaKind;
import io.sageptx.spec.PvVariant;

/**
 * Builds the model of the Hopper wgmma kernel and renders {@code attention_wgmma.stg}. The softmax,
 * P packing and epilogue parts of the model are the mma.sync kernel's ({@link AttentionKernelEmitter}):
 * a warp's wgmma accumulator and register-A layouts are the mma.sync ones, so the register naming is
 * shared. What differs is added here: the swizzled K and V^T stages, their descriptors and the wgmmas.
 */
public final class WgmmaKernelEmitter {

    /** A swizzled tile's copy slot parameters. */
    public record Swizzle(int chunksPerRow, int rowsPerPass, int rowBytes, int shift, int mask) {
    }

    /** Descriptor words besides the start address. */
    public record Descriptor(String loBits, String hi) {
    }

    /**
     * One wgmma: shape, accumulator type, D registers, A registers (empty: A from shared memory), the
     * descriptor's start-address step (16-byte units) and high word, and the scale-d predicate.
     */
    public record Wgmma(String shape, String accType, String d, String a, int descAdd, String hi, String scaleD) {
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

    /** One n8 tile of FP16 accumulators (rows g and g+8) and the FP32 outputs it is added to. */
    public record Flush(String lo, String hi, List<String> o) {
    }

    private WgmmaKernelEmitter() {
    }

    static final int MAX_REGISTERS_PER_SM = 65536;
    static final int REGISTERS_PER_THREAD = 128;

    /** The PTX target of wgmma kernels: the arch-specific sm_90a. */
    public static final String TARGET = "sm_90a";

    public static String emit(KernelSpec spec) {
        return TemplateRenderer.render("attention_wgmma", "wgmmaKernel", Map.of("k", model(spec)));
    }

    static Map<String, Object> model(KernelSpec spec) {
        if (spec.mma() != MmaKind.WGMMA) throw new IllegalArgumentException("not a wgmma spec: " + spec);
        WgmmaPlan plan = new WgmmaPlan(spec);
        Map<String, Object> k = AttentionKernelEmitter.model(spec);
        int d = spec.headDim();
        int bk = spec.blockK();
        boolean f16Acc = spec.pv() == PvVariant.FP8_F16ACC;
        k.put("target", TARGET);
        // Two 256-thread CTAs per SM (128 registers each) let one CTA's softmax overlap the other's wgmmas;
        // measured on the H100 at D=128, N=16k: FP16-accumulate PV 161 registers / 1 CTA 457 TFLOP/s.
        // Above D=128 the output accumulators alone take D/2 registers: one CTA per SM, up to 255 registers.
        k.put("minBlocks", d <= 128 ? MAX_REGISTERS_PER_SM / (spec.threads() * REGISTERS_PER_THREAD) : 1);
        k.put("f16Acc", f16Acc);
        k.put("qOffset", 0);
        int dPad = spec.paddedHeadDim();
        k.put("qCopyGroups", groups(plan.qTile(), "q", dPad, 0));
        k.put("kCopyGroups", groups(plan.kTile(), "k", dPad, (long) bk * dPad));
        k.put("groupCount", Math.max(1, plan.kTile().groups().size()));
        k.put("qDesc", descriptor(plan.qTile()));
        k.put("qWgBytes", plan.qWarpgroupBytes());
        k.put("kStage0", plan.kStage(0));
        k.put("kStageStride", plan.kStage(1) - plan.kStage(0));
        k.put("kStageStride16", (plan.kStage(1) - plan.kStage(0)) / 16);
        k.put("vStage0", plan.vStage(0));
        k.put("vStageStride", plan.vStage(1) - plan.vStage(0));
        k.put("vStageStride16", (plan.vStage(1) - plan.vStage(0)) / 16);
        k.put("vSwz", swizzle(plan.vTile()));
        k.put("kSwizzleName", plan.kTile().columns().stream().map(c -> c.width() + "-byte")
                .collect(java.util.stream.Collectors.joining(" + ")));
        k.put("vSwizzleName", plan.vTile().rowBytes() + "-byte");
        k.put("vDesc", descriptor(plan.vTile()));
        k.put("vLoads", groups(plan.vTile(), "v", 0, 0).get(0).loads());
        k.put("qkSteps", dPad / 32);
        k.put("pvSteps", bk / 32);
        k.put("pvDescription", f16Acc ? "FP16 accumulators from zero, added into FP32 once per block"
                : "FP32 accumulators: the running output itself");

        List<Wgmma> qk = new ArrayList<>();
        String sRegs = AttentionKernelEmitter.regs("%s", 0, bk / 2);
        for (int ks = 0; ks < dPad / 32; ks++) {
            SwizzledTile.Column c = plan.kTile().columnOf(32 * ks);
            qk.add(new Wgmma("m64n" + bk + "k32", "s32", sRegs, "", (c.base() + 32 * ks - c.start()) / 16,
                    hex(c.descriptorHigh()), ks == 0 ? "%pfalse" : "%ptrue"));
        }
        k.put("qk", qk);

        // P V: FP32 accumulators are the running output itself (one group of wgmmas). FP16 accumulators start
        // from zero each block and are added into O; at D >= 128 that is done in two halves of the channels,
        // so that 2 CTAs per SM (128 registers) need no spills.
        int groups = f16Acc && d >= 128 ? 2 : 1;
        int n = d / groups;
        int vRowBytes = plan.vTile().rowBytes();
        List<PvGroup> pv = new ArrayList<>();
        for (int h = 0; h < groups; h++) {
            String acc = f16Acc ? AttentionKernelEmitter.regs("%hacc", 0, n / 4) : AttentionKernelEmitter.regs("%o", 0, d / 2);
            List<Wgmma> ws = new ArrayList<>();
            for (int kk = 0; kk < bk / 32; kk++) {
                ws.add(new Wgmma("m64n" + n + "k32", f16Acc ? "f16" : "f32", acc, AttentionKernelEmitter.regs("%pa", 4 * kk, 4),
                        2 * kk + h * n * vRowBytes / 16, "", f16Acc && kk == 0 ? "%pfalse" : "%ptrue"));
            }
            List<Flush> flush = new ArrayList<>();
            if (f16Acc) {
                for (int nd = 0; nd < n / 8; nd++) {
                    List<String> o = new ArrayList<>();
                    int ndo = h * n / 8 + nd;
                    for (int i = 0; i < 4; i++) o.add("%o" + (4 * ndo + i));
                    flush.add(new Flush("%hacc" + 2 * nd, "%hacc" + (2 * nd + 1), o));
                }
            }
            pv.add(new PvGroup(ws, flush));
        }
        k.put("pvGroups", pv);
        k.put("hAccCount", n / 4);
        return k;
    }

    /** The slot parameters of a single-group tile (V^T: one 64-byte column). */
    private static Swizzle swizzle(SwizzledTile t) {
        SwizzledTile.Group g = t.groups().get(0);
        return new Swizzle(g.chunksPerRow(), g.rowsPerPass(), g.width(), g.shift(), g.mask());
    }

    /** Descriptor words of a tile's first column; the QK steps carry their own column's high word. */
    private static Descriptor descriptor(SwizzledTile t) {
        return new Descriptor(Integer.toString(t.descriptorLowBits()), hex(t.columns().get(0).descriptorHigh()));
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
