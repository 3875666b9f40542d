package io.sageptx.spec;

import java.util.List;
import java.util.Objects;

/**
 * Everything that changes the generated attention kernel. Validated on construction: an impossible
 * combination is refused with an {@link IllegalArgumentException} naming the field and what is allowed.
 *
 * @param headDim   D, the head dimension (32..256 in steps of 16)
 * @param blockQ    query rows per CTA
 * @param blockK    keys per main-loop block
 * @param warps     warps per CTA; each owns blockQ / warps query rows (16 or 32)
 * @param causal    causal mask (query i sees keys j &lt;= i + offset; the offset, 0 for top-left or Lk - Lq
 *                  for bottom-right alignment, is a runtime parameter of the kernel)
 * @param pv        how P·V is computed
 * @param quant     granularity of the INT8 Q and K scales
 * @param inType    dtype of Q, K, V
 * @param outType   dtype of O
 * @param arch      target architecture
 * @param mma       the main loop's tensor-core instructions: mma.sync, or wgmma on sm_90
 */
public record KernelSpec(int headDim, int blockQ, int blockK, int warps, boolean causal, PvVariant pv,
                         QuantGranularity quant, DType inType, DType outType, Arch arch, MmaKind mma) {

    /** A mma.sync spec. */
    public KernelSpec(int headDim, int blockQ, int blockK, int warps, boolean causal, PvVariant pv,
                      QuantGranularity quant, DType inType, DType outType, Arch arch) {
        this(headDim, blockQ, blockK, warps, causal, pv, quant, inType, outType, arch, MmaKind.SYNC);
    }

    /** Every multiple of 16 from 32 to 256: each one gets its own kernel (Q/K are zero-padded to 32 in D). */
    public static final List<Integer> HEAD_DIMS = java.util.stream.IntStream.rangeClosed(2, 16)
            .map(i -> 16 * i).boxed().toList();

    /** Keys per block: 64, or 32 for the FP16 PV variant (FP8 PV needs two k32 steps per block). */
    public static final List<Integer> BLOCK_KS = List.of(32, 64);
    public static final List<Integer> WARPS = List.of(4, 8);
    public static final List<Integer> WARP_ROWS = List.of(16, 32);

    public KernelSpec {
        Objects.requireNonNull(pv, "pv");
        Objects.requireNonNull(quant, "quant");
        Objects.requireNonNull(inType, "inType");
        Objects.requireNonNull(outType, "outType");
        Objects.requireNonNull(arch, "arch");
        Objects.requireNonNull(mma, "mma");
        require(HEAD_DIMS.contains(headDim), "headDim", headDim, HEAD_DIMS.toString());
        require(BLOCK_KS.contains(blockK), "blockK", blockK, BLOCK_KS.toString());
        require(blockK == 64 || !pv.isFp8(), "blockK", blockK, "64 with FP8 PV (" + pv.id() + ")");
        require(WARPS.contains(warps), "warps", warps, WARPS.toString());
        require(blockQ > 0 && blockQ % warps == 0 && WARP_ROWS.contains(blockQ / warps), "blockQ", blockQ,
                "warps * 16 or warps * 32 (" + warps * 16 + " or " + warps * 32 + " with " + warps + " warps)");
        require(pv != PvVariant.FP8_F16ACC || arch.hasFp8Mma(), "pv", pv.id(),
                "fp16 on " + arch.target() + " (FP8 mma.sync needs sm_89 or newer)");
        require(pv != PvVariant.FP8_F32ACC || arch.hasFp8Mma(), "pv", pv.id(),
                "fp16 on " + arch.target() + " (FP8 mma.sync needs sm_89 or newer)");
        if (mma == MmaKind.WGMMA) {
            require(arch == Arch.SM90, "mma", mma.id(), "sync on " + arch.target() + " (wgmma is sm_90a only)");
            require(pv.isFp8(), "pv", pv.id(), "fp8-f16acc or fp8-f32acc with wgmma (its PV reads FP8 V^T from shared memory)");
            require(warps % 4 == 0 && blockQ == warps * 16, "blockQ", blockQ,
                    "warps * 16 with wgmma (whole warpgroups of 64 rows; warps a multiple of 4)");
        }
    }

    private static void require(boolean ok, String field, Object value, String allowed) {
        if (!ok) {
            throw new IllegalArgumentException("KernelSpec." + field + " = " + value + " is not allowed; allowed: " + allowed);
        }
    }

    /**
     * The mma.sync spec for an architecture and call shape with the arch's default PV variant: the base that
     * the other specs are derived from (see {@link #preferred} for what the library runs).
     */
    public static KernelSpec defaults(Arch arch, int headDim, boolean causal, DType inType, DType outType) {
        PvVariant pv = arch.defaultPv();
        return new KernelSpec(headDim, 128, defaultBlockK(pv, headDim), 8, causal, pv, QuantGranularity.PER_THREAD,
                inType, outType, arch, MmaKind.SYNC);
    }

    /**
     * What the library runs when nothing is tuned. On sm_90 that is the wgmma kernel with FP8 PV and FP32
     * accumulators, at every head dim: measured on the H100 at N=16k, non-causal, end to end: D=48 351,
     * 64 475, 80 512, 96 605, 128 700, 176 565, 256 702 TFLOP/s, against 174, 229, 234, 260, 302, 280, 230
     * for the mma.sync INT8 + FP16 PV kernel. Elsewhere the mma.sync {@link #defaults}.
     */
    public static KernelSpec preferred(Arch arch, int headDim, boolean causal, DType inType, DType outType) {
        return preferred(arch, headDim, causal, inType, outType,
                arch == Arch.SM90 ? PvVariant.FP8_F32ACC : arch.defaultPv());
    }

    /** What the library runs for a given PV variant: the wgmma kernel on sm_90 when the variant is FP8. */
    public static KernelSpec preferred(Arch arch, int headDim, boolean causal, DType inType, DType outType, PvVariant pv) {
        KernelSpec s = defaults(arch, headDim, causal, inType, outType).withPv(pv);
        return arch == Arch.SM90 && pv.isFp8() ? s.withMma(MmaKind.WGMMA) : s;
    }

    /**
     * Keys per block by default: 64, except for the FP16 PV variant above D = 192, where the O accumulators
     * (D / 2 registers per thread) leave too few registers for 64-key score and P tiles without spills.
     */
    public static int defaultBlockK(PvVariant pv, int headDim) {
        return !pv.isFp8() && headDim > 192 ? 32 : 64;
    }

    /** The same spec with another PV variant; a default block length follows the variant's default. */
    public KernelSpec withPv(PvVariant p) {
        int bk = blockK == defaultBlockK(pv, headDim) ? defaultBlockK(p, headDim) : blockK;
        return new KernelSpec(headDim, blockQ, bk, warps, causal, p, quant, inType, outType, arch, mma);
    }

    public KernelSpec withQuant(QuantGranularity q) {
        return new KernelSpec(headDim, blockQ, blockK, warps, causal, pv, q, inType, outType, arch, mma);
    }

    public KernelSpec withTiles(int bq, int w) {
        return new KernelSpec(headDim, bq, blockK, w, causal, pv, quant, inType, outType, arch, mma);
    }

    public KernelSpec withCausal(boolean c) {
        return new KernelSpec(headDim, blockQ, blockK, warps, c, pv, quant, inType, outType, arch, mma);
    }

    public KernelSpec withTypes(DType in, DType out) {
        return new KernelSpec(headDim, blockQ, blockK, warps, causal, pv, quant, in, out, arch, mma);
    }

    /** The same spec with the given main-loop instructions (wgmma needs whole warpgroups: see the checks). */
    public KernelSpec withMma(MmaKind m) {
        return new KernelSpec(headDim, blockQ, blockK, warps, causal, pv, quant, inType, outType, arch, m);
    }

    public KernelSpec withArch(Arch a) {
        return new KernelSpec(headDim, blockQ, blockK, warps, causal, pv, quant, inType, outType, a, mma);
    }

    public int threads() {
        return warps * 32;
    }

    /** Query rows one warp owns. */
    public int warpRows() {
        return blockQ / warps;
    }

    /** D rounded up to the INT8 QK mma's k of 32: the row length of the Q8/K8 scratch and smem tiles. */
    public int paddedHeadDim() {
        return (headDim + 31) / 32 * 32;
    }

    /** m16 tiles per warp. */
    public int mTiles() {
        return warpRows() / 16;
    }

    /** Rows that share one set of Q scales: the warp tile (thread, warp) or the CTA tile (block). */
    public int qScaleTileRows() {
        return quant == QuantGranularity.PER_BLOCK ? blockQ : warpRows();
    }

    /** Largest |V8| after the per-channel V scale (see {@link PvVariant#vMax(int)}). */
    public float vMax() {
        return pv.vMax(blockK);
    }

    /** A name for the kernel that is a valid PTX identifier and unique per spec. */
    public String kernelName() {
        return "sage_attn_d" + headDim + "_q" + blockQ + "_k" + blockK + "_w" + warps + (causal ? "_causal" : "_full")
                + "_" + pv.id().replace("-", "") + "_" + quant.id() + "_" + inType.shortName() + "_" + outType.shortName()
                + "_" + arch.target() + (mma == MmaKind.WGMMA ? "a_wgmma" : "");
    }

    /** Short text form used in caches, logs and the CLI. */
    @Override
    public String toString() {
        return "d" + headDim + " q" + blockQ + " k" + blockK + " w" + warps + (causal ? " causal" : " full") + " pv="
                + pv.id() + " quant=" + quant.id() + " in=" + inType.shortName() + " out=" + outType.shortName() + " "
                + arch.target() + (mma == MmaKind.WGMMA ? " wgmma" : "");
    }
}
