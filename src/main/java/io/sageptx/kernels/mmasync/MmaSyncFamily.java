package io.sageptx.kernels.mmasync;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

import io.sageptx.kernels.attention.AttentionFamily;
import io.sageptx.spec.Arch;
import io.sageptx.spec.ArchLimits;
import io.sageptx.spec.DType;
import io.sageptx.spec.KernelSpec;
import io.sageptx.spec.MmaKind;
import io.sageptx.spec.PvVariant;
import io.sageptx.spec.QkPrecision;
import io.sageptx.spec.QuantGranularity;
import io.sageptx.spec.Sync16Tiles;

/**
 * The SageAttention2++ kernel with warp-level {@code mma.sync}: INT8 QK (m16n8k32) and FP8 (m16n8k32) or
 * 16-bit (m16n8k16) PV, for every architecture (sm_80 has no FP8 mma and runs the FP16 PV variant). Also the
 * opt-in 16-bit QK kernel ({@link QkPrecision#FP16}: m16n8k16 QK and PV on the caller's Q, K, V, FP32
 * accumulators) and qk=auto (the INT8 kernel gated per head, then its 16-bit partner) on every architecture.
 */
public final class MmaSyncFamily implements AttentionFamily {

    /** Tile shapes (blockQ, warps) the tuner tries. */
    public static final List<int[]> TILES = List.of(new int[] {64, 4}, new int[] {128, 4}, new int[] {128, 8});

    @Override
    public MmaKind mma() {
        return MmaKind.SYNC;
    }

    @Override
    public String description() {
        return "mma.sync INT8 QK + FP8 or FP16 PV, or opt-in 16-bit QK + 16-bit PV (every architecture)";
    }

    @Override
    public String variantPrefix() {
        return "";
    }

    @Override
    public boolean serves(Arch arch) {
        return true;
    }

    @Override
    public Optional<KernelSpec> preferred(Arch arch, int headDim, boolean causal, DType in, DType out, PvVariant pv) {
        KernelSpec base = KernelSpec.defaults(arch, headDim, causal, in, out);
        PvVariant p = pv == null ? base.pv() : pv;
        if (p.isFp8() && !arch.hasFp8Mma()) return Optional.empty();
        KernelSpec s = base.toBuilder().pv(p).build();
        if (warpPairTiles(arch, p, headDim)) return Optional.of(warpPair(s));
        return Optional.of(halfTiles(p, headDim) ? s.toBuilder().tiles(64, 4).build() : s);
    }

    /**
     * Whether the default tile is 128 query rows on 4 warps ({@link #warpPair}): two m16 tiles per warp, so each K
     * and V fragment a warp reads from shared memory feeds twice the mmas (with 16 rows per warp a 64-key block at
     * D = 128 and 16-bit V reads 24 KB of shared memory per warp, more than the SM's 128 bytes per clock deliver in
     * the block's tensor time). Measured on the H200 (B=4 H=32 fp16, end to end, TFLOP/s, 4k / 16k, against the
     * previous default): D=64 FP16 PV 321 / 360 vs 297 / 322 (64 x 4), FP8 f16-acc 273 / 312 vs 267 / 303 (128 x 8);
     * D=128 FP16 PV with 32-key blocks 370-373 / 408 vs 307 / 339 (128 x 8). FP8 at D=128 keeps 64 x 4: its 32-row
     * kernel gains 3 % and ptxas 13.0 spills 4-24 bytes there. Other architectures keep their tiles (a tuner
     * candidate, {@link #TILES}) until measured on those GPUs.
     */
    static boolean warpPairTiles(Arch arch, PvVariant pv, int headDim) {
        return arch == Arch.SM90 && (headDim <= 64 || (!pv.isFp8() && headDim <= 128));
    }

    /**
     * Whether the default tile is 64 query rows on 4 warps instead of 128 on 8: a warp's rows and registers are the
     * same, but two or three CTAs share an SM where registers allow, and their barriers are independent, so one CTA's
     * softmax runs under another's MMAs. Measured on the H200 (B=4 H=32, end to end, TFLOP/s, 4k / 16k): FP8 f16-acc
     * D=128 266 / 298 (128 x 8) vs 307 / 345 (64 x 4); FP16 PV D=64 242 / 270 vs 292 / 315. Slower elsewhere
     * (FP8 D=64 265 / 302 vs 242 / 273; FP16 PV D=128 339 vs 326 at 16k), and above D=128 the registers leave one
     * CTA per SM (4 warps): those keep 128 x 8. FP8 at D = 80-112 (2026-12-03, same bench, non-causal): 257 / 296,
     * 289 / 332, 306 / 350 on 64 x 4 vs 216 / 241, 238 / 268, 264 / 299 on 128 x 8 (causal alike).
     */
    static boolean halfTiles(PvVariant pv, int headDim) {
        return pv.isFp8() ? headDim >= 80 && headDim <= 128 : headDim <= 64;
    }

    /**
     * 128 rows on 4 warps; above D = 64 with 16-bit P V also 32-key blocks (the scores of 32 rows x 64 keys next to
     * 32 rows of O leave ptxas 13.0 no registers: 80-128 bytes spilled at D = 80-128; with 32-key blocks none).
     */
    static KernelSpec warpPair(KernelSpec s) {
        KernelSpec.Builder b = s.toBuilder().tiles(128, 4);
        if (warpPairNeedsShortBlocks(s.pv(), s.headDim())) b.blockK(32);
        return b.build();
    }

    /** Whether {@link #warpPair} also takes 32-key blocks: 16-bit P V above D = 64. */
    static boolean warpPairNeedsShortBlocks(PvVariant pv, int headDim) {
        return !pv.isFp8() && headDim > 64;
    }

    /**
     * 16-bit QK: the 16-bit PV kernel with the first tiles of {@link Sync16Tiles#ORDER} whose two stages fit the
     * arch (128 rows on 8 warps with 64-key blocks where they fit, else 32-key blocks, else 64 rows), the planner's
     * depth; only with 16-bit PV (or none asked); up to D = {@link Sync16Tiles#MAX_HEAD_DIM}. qk=auto: the INT8 spec of the PV asked for (or the default),
     * gated; its partner ({@link KernelSpec#autoPartner}) is the qk=fp16 spec.
     */
    @Override
    public Optional<KernelSpec> preferred(Arch arch, int headDim, boolean causal, DType in, DType out, PvVariant pv,
                                          QkPrecision qk) {
        if (qk == QkPrecision.INT8) return preferred(arch, headDim, causal, in, out, pv);
        if (!Sync16Tiles.serves(headDim)) return Optional.empty();
        if (qk == QkPrecision.AUTO) {
            return preferred(arch, headDim, causal, in, out, pv).map(s -> s.toBuilder().qk(QkPrecision.AUTO).build());
        }
        if (pv != null && pv != PvVariant.FP16) return Optional.empty();
        int[] t = Sync16Tiles.preferred(arch, headDim);
        return Optional.of(fp16Qk(arch, headDim, causal, in, out).toBuilder().tiles(t[0], t[1]).blockK(t[2]).build());
    }

    private static KernelSpec fp16Qk(Arch arch, int headDim, boolean causal, DType in, DType out) {
        return KernelSpec.defaults(arch, headDim, causal, in, out).toBuilder().pv(PvVariant.FP16)
                .quant(QuantGranularity.PER_THREAD).qk(QkPrecision.FP16).build();
    }

    /**
     * 16-bit QK: every tile of {@link Sync16Tiles#ORDER} that fits the arch, at the planner's depth and (where three
     * stages are the planner's) also two. qk=auto: the INT8 candidates at the planner's depth, gated. Both up to
     * D = {@link Sync16Tiles#MAX_HEAD_DIM}.
     */
    @Override
    public List<KernelSpec> candidates(Arch arch, int headDim, boolean causal, DType in, DType out, QkPrecision qk) {
        if (qk == QkPrecision.INT8) return candidates(arch, headDim, causal, in, out);
        if (!Sync16Tiles.serves(headDim)) return List.of();
        if (qk == QkPrecision.AUTO) {
            return candidates(arch, headDim, causal, in, out).stream().filter(s -> s.stages() == 0)
                    .map(s -> s.toBuilder().qk(QkPrecision.AUTO).build()).toList();
        }
        List<KernelSpec> list = new ArrayList<>();
        KernelSpec base = fp16Qk(arch, headDim, causal, in, out);
        int[] preferred = Sync16Tiles.preferred(arch, headDim);
        for (int[] t : Sync16Tiles.ORDER) {
            if (!Sync16Tiles.fits(arch, headDim, t[0], t[2])) continue;
            // 64 rows with 32-key blocks: only as the fallback of large head dims on 99 KB parts (at D = 128 its
            // three-stage kernel spills on sm_89)
            if (t == Sync16Tiles.ORDER.get(Sync16Tiles.ORDER.size() - 1) && t != preferred) continue;
            KernelSpec s = base.toBuilder().tiles(t[0], t[1]).blockK(t[2]).build();
            addIfFits(list, s);
            if (new MmaSyncPlan(s).stages() == 3) addIfFits(list, s.toBuilder().stages(2).build());
        }
        return list;
    }

    /**
     * Every PV variant the arch runs x {@link #TILES} x quantization granularity with the planner's pipeline
     * depth (16-bit P V on 128 x 4 above D = 64 also with 32-key blocks, {@link #warpPair}), and with per-thread
     * scales also the other depth of 2 and 3; specs whose shared memory or threads
     * do not fit the arch's smallest device ({@link io.sageptx.spec.ArchLimits#of}) are left out, so a tuned
     * winner always launches on the GPU it was tuned for.
     */
    @Override
    public List<KernelSpec> candidates(Arch arch, int headDim, boolean causal, DType in, DType out) {
        List<KernelSpec> list = new ArrayList<>();
        KernelSpec base = KernelSpec.defaults(arch, headDim, causal, in, out);
        for (PvVariant pv : PvVariant.values()) {
            if (pv.isFp8() && !arch.hasFp8Mma()) continue;
            for (int[] t : TILES) {
                for (QuantGranularity q : QuantGranularity.values()) {
                    KernelSpec s;
                    try {
                        s = base.toBuilder().pv(pv).tiles(t[0], t[1]).quant(q).build();
                    } catch (IllegalArgumentException e) {
                        continue; // not valid for this shape
                    }
                    addIfFits(list, s);
                    // 32 rows per warp above D = 64 also with 32-key blocks: for 16-bit P V the default's warpPair; for
                    // FP8 P V spill-free there (on the H200, FP8 emulated, it ties 64 x 4 at D = 128: 345.6 vs 345.2
                    // TFLOP/s at 16k; native FP8 on sm_89 / sm_120 leaves the kernel more bound by shared memory,
                    // which 32 rows per warp halves)
                    if (s.warpRows() == 32 && headDim > 64) addIfFits(list, s.toBuilder().blockK(32).build());
                    if (q == QuantGranularity.PER_THREAD) {
                        int planned = new MmaSyncPlan(s).stages();
                        for (int st = 2; st <= 3; st++) {
                            if (st != planned) addIfFits(list, s.toBuilder().stages(st).build());
                        }
                    }
                }
            }
        }
        return list;
    }

    private static void addIfFits(List<KernelSpec> list, KernelSpec s) {
        if (new MmaSyncPlan(s).fits()) list.add(s);
    }

    @Override
    public int smemBytes(KernelSpec spec) {
        return new MmaSyncPlan(spec).smemBytes();
    }

    /** Threads, shared memory, pipeline, register cap, CTAs per SM and fit on {@code device}. */
    @Override
    public String launchSummary(KernelSpec spec, ArchLimits device) {
        MmaSyncPlan p = new MmaSyncPlan(spec);
        int smem = p.smemBytes();
        return String.format("threads %d, dynamic smem %d B, stages %d (%s), register cap %d (%s); on %s: CTAs/SM "
                        + "by smem and threads %d, fits %s", spec.threads(), smem, p.stages(), p.schedule().name().toLowerCase(),
                device.registerBudget(spec.threads(), p.minBlocks() == null ? 1 : p.minBlocks()),
                p.minBlocks() == null ? "no .minnctapersm" : ".minnctapersm " + p.minBlocks(), device.name(),
                Math.min(device.ctasBySmem(smem), device.ctasByThreads(spec.threads())),
                device.fits(spec.threads(), smem) ? "yes" : "NO");
    }

    @Override
    public String emit(KernelSpec spec) {
        return MmaSyncEmitter.emit(spec);
    }
}
