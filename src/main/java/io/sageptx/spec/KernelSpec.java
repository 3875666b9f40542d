package io.sageptx.spec;

import java.util.List;
import java.util.Objects;
import java.util.stream.IntStream;

/**
 * Everything that changes the generated attention kernel. Validated on construction: an impossible
 * combination is refused with an {@link IllegalArgumentException} naming the field and what is allowed
 * (the checks of the main-loop instructions are {@link MmaKind#check}'s). Build one with
 * {@link #builder} or derive one from another with {@link #toBuilder()}; its text forms (the canonical
 * line, the PTX kernel name, the short label) all come from {@link SpecCodec}.
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
 * @param mma       the main loop's tensor-core instructions (the kernel family): mma.sync, or wgmma on sm_90
 * @param stages    mma.sync only: the K/V pipeline depth, 1 (single-buffered: copy, wait, compute), 2 or 3; 0
 *                  (the default) lets the family's planner choose for the arch ({@code MmaSyncPlan}). Only a
 *                  non-zero value appears in the spec's text forms, so specs without it keep their names and keys.
 * @param qk        the precision of the QK product: INT8 (the method, the default) or the input's 16-bit type
 *                  (opt-in; needs 16-bit PV; mma.sync and wgmma), or AUTO (per head, on the GPU)
 * @param pipe      the main loop's schedule: SERIAL (the default) or WS, the warp-specialized wgmma kernel (a
 *                  producer warpgroup more than {@code warps}: {@link #threads()} counts it); only a non-default
 *                  value appears in the text forms
 */
public record KernelSpec(int headDim, int blockQ, int blockK, int warps, boolean causal, PvVariant pv,
                         QuantGranularity quant, DType inType, DType outType, Arch arch, MmaKind mma, int stages,
                         QkPrecision qk, Pipe pipe) {

    /** Pipeline depths a spec may ask for; 0 is the planner's choice. */
    public static final List<Integer> STAGES = List.of(0, 1, 2, 3);

    /** Every multiple of 16 from 32 to 256: each one gets its own kernel (Q/K are zero-padded to 32 in D). */
    public static final List<Integer> HEAD_DIMS = IntStream.rangeClosed(2, 16).map(i -> 16 * i).boxed().toList();

    /** Keys per block: 64, or 32 for the FP16 PV variant (FP8 PV needs two k32 steps per block). */
    public static final List<Integer> BLOCK_KS = List.of(32, 64, 128);
    /** Warps per CTA. */
    public static final List<Integer> WARPS = List.of(4, 8);
    /** Query rows per warp (blockQ / warps). */
    public static final List<Integer> WARP_ROWS = List.of(16, 32);

    public KernelSpec {
        Objects.requireNonNull(pv, "pv");
        Objects.requireNonNull(quant, "quant");
        Objects.requireNonNull(inType, "inType");
        Objects.requireNonNull(outType, "outType");
        Objects.requireNonNull(arch, "arch");
        Objects.requireNonNull(mma, "mma");
        Objects.requireNonNull(qk, "qk");
        Objects.requireNonNull(pipe, "pipe");
        require(HEAD_DIMS.contains(headDim), "headDim", headDim, HEAD_DIMS.toString());
        require(BLOCK_KS.contains(blockK), "blockK", blockK, BLOCK_KS.toString());
        require(blockK == 64 || !pv.isFp8() || mma == MmaKind.SYNC || (blockK == 128 && qk == QkPrecision.INT8
                && (pipe == Pipe.SERIAL || headDim <= MmaKind.WS_K128_MAX_HEAD_DIM)), "blockK",
                blockK, "64 with FP8 PV (" + pv.id() + ") on " + mma.id() + " (128 with the serial INT8 wgmma kernel, and with pipe="
                        + pipe.id() + " up to D = " + MmaKind.WS_K128_MAX_HEAD_DIM + ")");
        require(blockK != 128 || (mma == MmaKind.WGMMA && pv == PvVariant.FP8_F16ACC), "blockK", blockK,
                "32 or 64 (128: the serial INT8 wgmma kernel with FP8 P V and FP16 accumulators)");
        require(WARPS.contains(warps), "warps", warps, WARPS.toString());
        require(blockQ > 0 && blockQ % warps == 0 && WARP_ROWS.contains(blockQ / warps), "blockQ", blockQ,
                "warps * 16 or warps * 32 (" + warps * 16 + " or " + warps * 32 + " with " + warps + " warps)");
        require(!pv.isFp8() || arch.hasFp8Mma(), "pv", pv.id(),
                "fp16 on " + arch.target() + " (FP8 mma.sync needs sm_89 or newer)");
        require(STAGES.contains(stages), "stages", stages, STAGES + " (0: the planner's choice)");
        require(stages == 0 || mma == MmaKind.SYNC, "stages", stages, "0 with " + mma.id() + " (its pipeline is fixed)");
        require(qk != QkPrecision.FP16 || pv == PvVariant.FP16, "qk", qk.id(),
                "int8 with pv=" + pv.id() + " (qk=fp16 needs pv=fp16: 16-bit QK and 16-bit PV)");
        require(qk != QkPrecision.AUTO || pv.isFp8() || mma == MmaKind.SYNC, "qk", qk.id(),
                "int8 or fp16 with pv=" + pv.id() + " and mma=" + mma.id() + " (qk=auto with mma=wgmma is its INT8 kernel"
                        + " with FP8 PV and its 16-bit QK partner; with mma=sync any PV)");
        require(qk == QkPrecision.INT8 || mma != MmaKind.SYNC || Sync16Tiles.serves(headDim), "headDim", headDim,
                "32.." + Sync16Tiles.MAX_HEAD_DIM + " with qk=" + qk.id() + " and mma=sync (above, the 16-bit QK mma.sync"
                        + " kernel spills; qk=fp16 and auto up to D = 256 run with mma=wgmma on sm_90)");
        require(qk != QkPrecision.FP16 || mma != MmaKind.SYNC || stages != 1, "stages", stages,
                "0, 2 or 3 with qk=fp16 and mma=sync (the 16-bit QK mma.sync kernel is pipelined)");
        mma.check(headDim, blockQ, warps, pv, arch, qk);
        require(pipe == Pipe.SERIAL || mma == MmaKind.WGMMA, "pipe", pipe.id(), "serial with mma=" + mma.id()
                + " (the warp-specialized schedule is the wgmma family's)");
        if (pipe.warpSpecialized()) mma.checkWs(headDim, blockQ, warps, pv, qk);
    }

    /** A spec of the default schedule. */
    public KernelSpec(int headDim, int blockQ, int blockK, int warps, boolean causal, PvVariant pv,
                      QuantGranularity quant, DType inType, DType outType, Arch arch, MmaKind mma, int stages,
                      QkPrecision qk) {
        this(headDim, blockQ, blockK, warps, causal, pv, quant, inType, outType, arch, mma, stages, qk, Pipe.SERIAL);
    }

    /** A spec with the planner's pipeline depth and INT8 QK. */
    public KernelSpec(int headDim, int blockQ, int blockK, int warps, boolean causal, PvVariant pv,
                      QuantGranularity quant, DType inType, DType outType, Arch arch, MmaKind mma) {
        this(headDim, blockQ, blockK, warps, causal, pv, quant, inType, outType, arch, mma, 0, QkPrecision.INT8);
    }

    /** A spec with a pipeline depth and INT8 QK. */
    public KernelSpec(int headDim, int blockQ, int blockK, int warps, boolean causal, PvVariant pv,
                      QuantGranularity quant, DType inType, DType outType, Arch arch, MmaKind mma, int stages) {
        this(headDim, blockQ, blockK, warps, causal, pv, quant, inType, outType, arch, mma, stages, QkPrecision.INT8);
    }

    /** A spec with the planner's pipeline depth and a QK precision. */
    public KernelSpec(int headDim, int blockQ, int blockK, int warps, boolean causal, PvVariant pv,
                      QuantGranularity quant, DType inType, DType outType, Arch arch, MmaKind mma, QkPrecision qk) {
        this(headDim, blockQ, blockK, warps, causal, pv, quant, inType, outType, arch, mma, 0, qk);
    }

    /** Refuses a field value with the field's name and what is allowed. */
    static void require(boolean ok, String field, Object value, String allowed) {
        if (!ok) {
            throw new IllegalArgumentException("KernelSpec." + field + " = " + value + " is not allowed; allowed: " + allowed);
        }
    }

    /**
     * The base spec of an architecture and call shape: the mma.sync kernel with the arch's default PV
     * variant, 128 query rows on 8 warps, per-thread scales. What the library runs by default is the
     * attention family registry's choice ({@code AttentionFamilies.preferred}).
     */
    public static KernelSpec defaults(Arch arch, int headDim, boolean causal, DType inType, DType outType) {
        PvVariant pv = arch.defaultPv();
        return new KernelSpec(headDim, 128, defaultBlockK(pv, headDim), 8, causal, pv, QuantGranularity.PER_THREAD,
                inType, outType, arch, MmaKind.SYNC);
    }

    /** A builder that starts from {@link #defaults} for fp16 in and out, not causal. */
    public static Builder builder(Arch arch, int headDim) {
        return defaults(arch, headDim, false, DType.FP16, DType.FP16).toBuilder();
    }

    /** A builder that starts from this spec. */
    public Builder toBuilder() {
        return new Builder(this);
    }

    /**
     * Keys per block by default: 64, except for the FP16 PV variant above D = 192, where the O accumulators
     * (D / 2 registers per thread) leave too few registers for 64-key score and P tiles without spills.
     */
    public static int defaultBlockK(PvVariant pv, int headDim) {
        return !pv.isFp8() && headDim > 192 ? 32 : 64;
    }

    /** Threads per CTA: the compute warps, and for {@link Pipe#WS} (and WSPP) the producer warpgroup. */
    public int threads() {
        return warps * 32 + (pipe.warpSpecialized() ? PRODUCER_THREADS : 0);
    }

    /** Threads of the producer warpgroup of a {@link Pipe#WS} kernel (not counted in {@code warps}). */
    public static final int PRODUCER_THREADS = 128;

    /** Query rows one warp owns. */
    public int warpRows() {
        return blockQ / warps;
    }

    /** Whether S = Q K^T is computed in the input's 16-bit type ({@link QkPrecision#FP16}). */
    public boolean fp16Qk() {
        return qk == QkPrecision.FP16;
    }

    /**
     * The 16-bit QK spec that runs the heads an {@link QkPrecision#AUTO} spec gives to it: the same head dim,
     * causal mode, dtypes and family, 16-bit QK and PV; wgmma: the same tiles with 64-key blocks; mma.sync: the
     * family's default 16-bit tiles for the arch ({@link Sync16Tiles#preferred}: what a qk=fp16 call runs), since
     * the INT8 kernel's tiles need not fit twice their bytes.
     */
    public KernelSpec autoPartner() {
        if (qk != QkPrecision.AUTO) throw new IllegalStateException("not a qk=auto spec: " + this);
        Builder b = toBuilder().pv(PvVariant.FP16).blockK(64).quant(QuantGranularity.PER_THREAD).qk(QkPrecision.FP16)
                .pipe(Pipe.SERIAL);
        if (mma == MmaKind.SYNC) {
            int[] t = Sync16Tiles.preferred(arch, headDim);
            b.tiles(t[0], t[1]).blockK(t[2]).stages(0);
        }
        return b.build();
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

    /** The PTX kernel name ({@link SpecCodec#kernelName}): a valid identifier, unique per spec. */
    public String kernelName() {
        return SpecCodec.kernelName(this);
    }

    /** The short label of logs and the CLI ({@link SpecCodec#label}). */
    @Override
    public String toString() {
        return SpecCodec.label(this);
    }

    /**
     * Builds a {@link KernelSpec} field by field; {@link #build()} validates. Setting the PV variant also
     * moves a default block length to the new variant's default ({@link KernelSpec#defaultBlockK}).
     */
    public static final class Builder {
        private int headDim;
        private int blockQ;
        private int blockK;
        private int warps;
        private boolean causal;
        private PvVariant pv;
        private QuantGranularity quant;
        private DType inType;
        private DType outType;
        private Arch arch;
        private MmaKind mma;
        private int stages;
        private QkPrecision qk;
        private Pipe pipe;

        private Builder(KernelSpec s) {
            headDim = s.headDim;
            blockQ = s.blockQ;
            blockK = s.blockK;
            warps = s.warps;
            causal = s.causal;
            pv = s.pv;
            quant = s.quant;
            inType = s.inType;
            outType = s.outType;
            arch = s.arch;
            mma = s.mma;
            stages = s.stages;
            qk = s.qk;
            pipe = s.pipe;
        }

        /** D. */
        public Builder headDim(int d) {
            headDim = d;
            return this;
        }

        /** Query rows per CTA and warps per CTA together (they constrain each other). */
        public Builder tiles(int rows, int warpCount) {
            blockQ = rows;
            warps = warpCount;
            return this;
        }

        /** Keys per main-loop block ({@link KernelSpec#BLOCK_KS}). */
        public Builder blockK(int keys) {
            blockK = keys;
            return this;
        }

        /** Causal mask (the alignment is a run-time parameter). */
        public Builder causal(boolean c) {
            causal = c;
            return this;
        }

        /** The PV variant; a block length at the old variant's default follows to the new one's. */
        public Builder pv(PvVariant p) {
            Objects.requireNonNull(p, "pv");
            if (blockK == defaultBlockK(pv, headDim)) blockK = defaultBlockK(p, headDim);
            pv = p;
            return this;
        }

        /** Granularity of the INT8 scales. */
        public Builder quant(QuantGranularity q) {
            quant = q;
            return this;
        }

        /** Input and output dtypes. */
        public Builder types(DType in, DType out) {
            inType = in;
            outType = out;
            return this;
        }

        /** Target architecture. */
        public Builder arch(Arch a) {
            arch = a;
            return this;
        }

        /** The kernel family. */
        public Builder mma(MmaKind m) {
            mma = m;
            return this;
        }

        /** The K/V pipeline depth (mma.sync): 1, 2, 3, or 0 for the planner's choice. */
        public Builder stages(int n) {
            stages = n;
            return this;
        }

        /** The precision of the QK product (FP16 needs {@code pv(PvVariant.FP16)}). */
        public Builder qk(QkPrecision q) {
            qk = q;
            return this;
        }

        /** The main loop's schedule ({@link Pipe#WS}: the warp-specialized wgmma kernel). */
        public Builder pipe(Pipe p) {
            pipe = p;
            return this;
        }

        /** The spec; refused with an IllegalArgumentException naming the field when invalid. */
        public KernelSpec build() {
            return new KernelSpec(headDim, blockQ, blockK, warps, causal, pv, quant, inType, outType, arch, mma, stages, qk, pipe);
        }
    }
}
