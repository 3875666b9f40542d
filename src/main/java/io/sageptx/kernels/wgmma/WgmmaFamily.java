package io.sageptx.kernels.wgmma;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

import io.sageptx.kernels.attention.AttentionFamily;
import io.sageptx.spec.Arch;
import io.sageptx.spec.DType;
import io.sageptx.spec.KernelSpec;
import io.sageptx.spec.MmaKind;
import io.sageptx.spec.Pipe;
import io.sageptx.spec.PvVariant;
import io.sageptx.spec.QkPrecision;
import io.sageptx.spec.QuantGranularity;

/**
 * The Hopper kernel with warpgroup MMAs ({@code wgmma}, arch-specific target {@code sm_90a}): INT8 QK and
 * FP8 PV read from swizzled shared memory. Served only on compute capability 9.0: sm_90a code loads on no
 * other chip. The sm_90 default for FP8 PV at every head dim. Also the opt-in 16-bit QK precision
 * ({@link QkPrecision#FP16}: 16-bit QK and PV, FP32 accumulators), only when a call asks for it.
 */
public final class WgmmaFamily implements AttentionFamily {

    @Override
    public MmaKind mma() {
        return MmaKind.WGMMA;
    }

    @Override
    public String description() {
        return "wgmma INT8 QK + FP8 PV, or opt-in 16-bit QK + 16-bit PV (sm_90a, compute capability 9.0 only)";
    }

    @Override
    public String variantPrefix() {
        return "wgmma-";
    }

    @Override
    public boolean serves(Arch arch) {
        return arch == Arch.SM90;
    }

    /**
     * FP8 PV with FP16 accumulators by default (the method's own PV): since every FP8 variant accumulates each
     * block from zero (issue 11), the FP32-accumulate variant is no faster and FP16 accumulation is faster at
     * small head dims (H200, N=16k, non-causal, end to end: D=64 461 vs 423, D=128 651 vs 651 TFLOP/s).
     * No FP16 PV variant.
     */
    @Override
    public Optional<KernelSpec> preferred(Arch arch, int headDim, boolean causal, DType in, DType out, PvVariant pv) {
        if (PREFERRED_PIPE != Pipe.SERIAL) {
            Optional<KernelSpec> s = preferred(arch, headDim, causal, in, out, pv, PREFERRED_PIPE);
            if (s.isPresent()) return s;
        }
        return preferred(arch, headDim, causal, in, out, pv, Pipe.SERIAL);
    }

    /**
     * The schedule {@link #preferred(Arch, int, boolean, DType, DType, PvVariant)} picks where it can run it (else
     * serial). Serial until the GPU shows the warp-specialized kernel ({@link Pipe#WS}, issue 12) faster and
     * correct: making that the default is this one line ({@code Pipe.WS} or {@code Pipe.WSPP}); the calls it cannot run (D > 192,
     * FP32-accumulate PV) keep the serial kernel.
     */
    static final Pipe PREFERRED_PIPE = Pipe.SERIAL;

    /**
     * The spec of a PV variant with the schedule asked for: serial, or the warp-specialized kernel (FP8 PV, 128 rows on
     * 2 consumer warpgroups, D <= {@link MmaKind#wsMaxHeadDim}; empty elsewhere).
     */
    @Override
    public Optional<KernelSpec> preferred(Arch arch, int headDim, boolean causal, DType in, DType out, PvVariant pv,
                                          Pipe pipe) {
        PvVariant p = pv == null ? PvVariant.FP8_F16ACC : pv;
        if (!serves(arch) || !p.isFp8()) return Optional.empty();
        KernelSpec serial = KernelSpec.defaults(arch, headDim, causal, in, out).toBuilder().pv(p).mma(MmaKind.WGMMA).build();
        if (pipe != Pipe.SERIAL) return ws(serial, pipe);
        if (p == PvVariant.FP8_F16ACC && headDim <= K128_MAX_HEAD_DIM) {
            return Optional.of(serial.toBuilder().tiles(64, 4).blockK(128).build());
        }
        // FP16 accumulators above K128_MAX_HEAD_DIM: 64-key blocks on one warpgroup too
        boolean oneWarpgroup = headDim <= ONE_WARPGROUP_MAX_HEAD_DIM || p == PvVariant.FP8_F16ACC;
        return Optional.of(oneWarpgroup ? serial.toBuilder().tiles(64, 4).build() : serial);
    }

    /**
     * Up to this head dim the FP16-accumulator default runs 128-key blocks on 64 rows / one warpgroup: per key the
     * flush of the FP16 partials, the row max / rescale and the block's barriers and waits are paid half as often
     * (PTX instructions per 64 keys in the loop, D=64 316 -> 252, D=128 401 -> 298). Above it (D = 208..256) 64-key
     * blocks on 64 rows: with 128 keys the 64 score registers beside D / 2 output registers leave too few for the
     * tensor-core pipeline (255 registers, one CTA per SM). Measured on the H200 (B=4 H=32 fp16, end to end, TFLOP/s,
     * 4k / 16k non-causal, old default -> 128-key 64 x 4; runs 32-34 of docs/benchmarks.md): D=48 333 / 394 -> 386 /
     * 458, D=64 415 / 492 -> 489 / 572, D=96 477 / 522-580 -> 508 / 615-631, D=112 508 / 627 -> 567 / 689, D=128
     * 553 / 684 -> 598 / 708, D=144 368 / 446 -> 508 / 635, D=160 404 / 486 -> 533 / 636, D=176 409 / 499 -> 557 /
     * 668, D=192 444 / 542 -> 581 / 663; D=208 430 / 524 -> 396 / 479 (64-key 64 x 4: 466 / 559), D=256 508 / 626 ->
     * 475 / 592 (64-key 64 x 4: 534 / 641). 128 x 8 with 128-key blocks is slower (D=128: 223 registers, one CTA
     * per SM: 461 / 561). docs/notes/wgmma-k128.md.
     */
    static final int K128_MAX_HEAD_DIM = 192;

    /**
     * (FP32-accumulator P V, which has no 128-key blocks: {@link #K128_MAX_HEAD_DIM} rules FP16 accumulators.)
     * Up to this head dim the serial default is 64 rows on one warpgroup (4 CTAs per SM at D = 64, each with its own
     * barriers, so one CTA's softmax runs under another's wgmmas) instead of 128 rows on two. Measured on the H200 with
     * whole-program wgmma code (B=4 H=32 fp16, end to end, TFLOP/s, 4k / 16k non-causal, 128 x 8 -> 64 x 4): D=32
     * 224 / 256 -> 272 / 315, D=48 300 / 354 -> 332 / 394, D=64 369 / 434 -> 413 / 495 (causal 16k 425 -> 470), D=80
     * 405 / 513 -> 422 / 506, D=96 458 / 559 -> 478 / 580; D=128 558 / 678 -> 552 / 641 (keeps 128 x 8).
     */
    static final int ONE_WARPGROUP_MAX_HEAD_DIM = 96;

    /**
     * The warp-specialized form (pipe {@code ws} or {@code wspp}) of a serial wgmma spec (its tiles become 128 rows /
     * 8 consumer warps), if it has one.
     */
    static Optional<KernelSpec> ws(KernelSpec serial, Pipe pipe) {
        if (!serial.pv().isFp8() || serial.headDim() > MmaKind.wsMaxHeadDim(serial.pv()) || serial.fp16Qk()) {
            return Optional.empty();
        }
        return Optional.of(serial.toBuilder().tiles(128, 8).pipe(pipe).build());
    }

    /**
     * 16-bit QK: the 16-bit PV kernel with 64-key blocks at every head dim (the O accumulators stay in registers:
     * no FP8 channel groups; 0 spills up to D = 256 with 64-key blocks), 128 rows on 8 warps. Only with 16-bit PV
     * (or none asked); INT8 is the other method's.
     */
    @Override
    public Optional<KernelSpec> preferred(Arch arch, int headDim, boolean causal, DType in, DType out, PvVariant pv,
                                          QkPrecision qk) {
        if (qk == QkPrecision.AUTO) {
            // the INT8 kernel of the ordinary heads (the default's PV, or the FP8 one asked for), gated; its
            // partner (KernelSpec.autoPartner) runs the others
            // (on 128 rows / 8 warps at every head dim: its partner is then the plain qk=fp16 default, fp16Qk)
            return preferred(arch, headDim, causal, in, out, pv).map(s -> s.toBuilder().tiles(128, 8).blockK(64)
                    .qk(QkPrecision.AUTO).build());
        }
        if (qk != QkPrecision.FP16) return preferred(arch, headDim, causal, in, out, pv);
        if (!serves(arch) || (pv != null && pv != PvVariant.FP16)) return Optional.empty();
        return Optional.of(fp16Qk(arch, headDim, causal, in, out));
    }

    private static KernelSpec fp16Qk(Arch arch, int headDim, boolean causal, DType in, DType out) {
        return KernelSpec.defaults(arch, headDim, causal, in, out).toBuilder().pv(PvVariant.FP16).blockK(64)
                .tiles(128, 8).quant(QuantGranularity.PER_THREAD).mma(MmaKind.WGMMA).qk(QkPrecision.FP16).build();
    }

    /**
     * 16-bit QK: the tiles 128 / 8 and 64 / 4 with 64-key blocks, and 128 / 8 with 32-key blocks; qk=auto: the
     * INT8 candidates, gated (each with its 16-bit partner of the same tiles).
     */
    @Override
    public List<KernelSpec> candidates(Arch arch, int headDim, boolean causal, DType in, DType out, QkPrecision qk) {
        if (qk == QkPrecision.AUTO) {
            // (64-key blocks only: the gated kernel shares its workspace layout with a 16-bit partner of 64-key blocks)
            return candidates(arch, headDim, causal, in, out).stream().filter(s -> s.blockK() == 64)
                    .map(s -> s.toBuilder().qk(QkPrecision.AUTO).build()).toList();
        }
        if (qk != QkPrecision.FP16) return candidates(arch, headDim, causal, in, out);
        List<KernelSpec> list = new ArrayList<>();
        if (!serves(arch)) return list;
        KernelSpec base = fp16Qk(arch, headDim, causal, in, out);
        list.add(base);
        list.add(base.toBuilder().tiles(64, 4).build());
        list.add(base.toBuilder().blockK(32).build());
        return list;
    }

    /**
     * Both FP8 accumulator variants x whole-warpgroup tiles (64 rows / 4 warps, 128 / 8) x the granularities, serial;
     * 128-key blocks on 64 rows (FP16 accumulators) x the granularities;
     * and the warp-specialized kernels (128 rows; ws and wspp; both accumulator variants) x the granularities where
     * they run ({@link MmaKind#wsMaxHeadDim}).
     */
    @Override
    public List<KernelSpec> candidates(Arch arch, int headDim, boolean causal, DType in, DType out) {
        List<KernelSpec> list = new ArrayList<>();
        if (!serves(arch)) return list;
        KernelSpec base = KernelSpec.defaults(arch, headDim, causal, in, out);
        for (PvVariant pv : new PvVariant[] {PvVariant.FP8_F32ACC, PvVariant.FP8_F16ACC}) {
            for (int[] t : new int[][] {{128, 8}, {64, 4}}) {
                for (QuantGranularity q : QuantGranularity.values()) {
                    list.add(base.toBuilder().pv(pv).tiles(t[0], t[1]).quant(q).mma(MmaKind.WGMMA).pipe(Pipe.SERIAL).build());
                }
            }
        }
        // 128-key blocks (FP16 accumulators) on one warpgroup
        for (QuantGranularity q : QuantGranularity.values()) {
            list.add(base.toBuilder().pv(PvVariant.FP8_F16ACC).tiles(64, 4).blockK(128).quant(q).mma(MmaKind.WGMMA)
                    .pipe(Pipe.SERIAL).build());
        }
        // the warp-specialized kernels (issue 12), without and with ping-pong, at every granularity, where they run;
        // with 128-key blocks up to MmaKind.WS_K128_MAX_HEAD_DIM (FP16 accumulators)
        boolean wsK128 = headDim <= MmaKind.WS_K128_MAX_HEAD_DIM;
        List<KernelSpec> wsK128List = new ArrayList<>();
        for (PvVariant pv : new PvVariant[] {PvVariant.FP8_F16ACC, PvVariant.FP8_F32ACC}) {
            for (Pipe pipe : new Pipe[] {Pipe.WS, Pipe.WSPP}) {
                for (QuantGranularity q : QuantGranularity.values()) {
                    ws(base.toBuilder().pv(pv).quant(q).mma(MmaKind.WGMMA).build(), pipe).ifPresent(s -> {
                        list.add(s);
                        if (wsK128 && pv == PvVariant.FP8_F16ACC) wsK128List.add(s.toBuilder().blockK(128).build());
                    });
                }
            }
        }
        list.addAll(wsK128List);
        return list;
    }

    @Override
    public int smemBytes(KernelSpec spec) {
        return new WgmmaPlan(spec).smemBytes();
    }

    /** The default summary; for the warp-specialized kernels also its roles, ring and register split. */
    @Override
    public String launchSummary(KernelSpec spec, io.sageptx.spec.ArchLimits device) {
        String base = AttentionFamily.super.launchSummary(spec, device);
        if (!spec.pipe().warpSpecialized()) return base;
        return base + String.format("; warp-specialized%s: 1 producer + %d consumer warpgroups, %d K/V stages, setmaxnreg "
                        + "%d / %d", spec.pipe() == Pipe.WSPP ? " (ping-pong)" : "", spec.warps() / 4,
                new WgmmaPlan(spec).stages(), WgmmaEmitter.WS_PRODUCER_REGS, WgmmaEmitter.WS_CONSUMER_REGS);
    }

    @Override
    public String emit(KernelSpec spec) {
        return WgmmaEmitter.emit(spec);
    }
}
