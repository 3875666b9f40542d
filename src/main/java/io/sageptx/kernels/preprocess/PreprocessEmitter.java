package io.sageptx.kernels.preprocess;

import io.sageptx.ptx.PtxFloats;
import io.sageptx.ptx.PtxVersions;
import io.sageptx.ptx.TemplateRenderer;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import java.util.stream.IntStream;

import io.sageptx.numerics.QkIndicator;
import io.sageptx.spec.DType;
import io.sageptx.spec.QkPrecision;
import io.sageptx.spec.KernelSpec;
import io.sageptx.spec.QuantGranularity;

/**
 * Builds the model of the preprocessing module of a spec ({@code preprocess.stg}): kernels
 * {@code <name>_kvstats}, {@code <name>_quant_q}, {@code <name>_quant_k} and, for FP8 PV,
 * {@code <name>_quant_v}. All of them run with {@link #THREADS} threads per CTA.
 */
public final class PreprocessEmitter {

    /** The lane offsets of a warp's butterfly reduction. */
    private static final List<Integer> BUTTERFLY = List.of(16, 8, 4, 2, 1);


    public static final int THREADS = 256;
    /** Floor of an absmax before it becomes a scale: an all-zero group quantizes to zeros, never NaN. */
    public static final float ABSMAX_FLOOR = 1e-6f;

    public record Unpack(String src, String lo, String hi) {
    }

    /**
     * One pass of a row-quantization thread: its CTA-row offset, value and raw registers, unpack units, and the
     * byte offset of its 16-byte staging chunks in shared memory (one per thread, {@code i * THREADS * 16}).
     */
    public record Slot(int i, int rowOff, List<String> values, String first, List<Unpack> units, List<String> raws,
                       int stageOff) {

        /** The raw registers as a PTX vector operand list. */
        public String rawList() {
            return String.join(", ", raws);
        }
    }

    public record Elem(int i, int bytes) {
    }

    public record VSlot(int rowOff, int wordOff) {
    }

    /** One pass of the unrolled statistics walk: its index, its K and V load registers and their unpacking. */
    public record StatPass(int i, String kRegs, String vRegs, List<Unpack> kUnits, List<Unpack> vUnits) {
    }

    /**
     * FP8 V is quantized around its channel mean where |mean| * this > the channel's absmax, else as given
     * (mean 0): smoothing pays when the mean wastes the e4m3 grid (V = N(0,1) + 5..50: rel-L1 0.0015-0.021 ->
     * 0.0003-0.0015 on the H200) and costs ~5% of rel-L1 on zero-mean V (CPU model), so it is done only
     * where the mean is more than a quarter of the absmax.
     */
    public static final float V_SMOOTH_RATIO = 4.0f;

    /** Passes of K and V the statistics kernel has in flight per thread. */
    static final int STAT_UNROLL = 4;

    private PreprocessEmitter() {
    }

    public static String kvStatsName(KernelSpec s) {
        return s.kernelName() + "_kvstats";
    }

    public static String quantQName(KernelSpec s) {
        return s.kernelName() + "_quant_q";
    }

    public static String quantKName(KernelSpec s) {
        return s.kernelName() + "_quant_k";
    }

    public static String quantVName(KernelSpec s) {
        return s.kernelName() + "_quant_v";
    }

    public static String qkDecideName(KernelSpec s) {
        return s.kernelName() + "_qkdecide";
    }

    /** One sum of the decision kernel (see {@code qkDecide} in preprocess.stg). */
    public record DecideSum(String param, String stride, String head, String count, boolean grouped, int groups,
                            boolean square, String acc, String label, int threads) {
    }

    /**
     * Tokens per CTA of the FP8 V transform: 64, or 32 above D = 128 so that its FP32 staging tile
     * [tokens][D + 1] stays within 48 KiB of static shared memory, and at most the key block (LkPad is a multiple
     * of the block: a 64-token tile over 32-key blocks would write past a channel's row into the next one). The
     * grid is LkPad / this.
     */
    public static int vTileTokens(KernelSpec spec) {
        return Math.min(spec.headDim() > 128 ? 32 : 64, spec.blockK());
    }

    public static String emit(KernelSpec spec) {
        return TemplateRenderer.render("preprocess/preprocess", "module", Map.of("m", model(spec)));
    }

    static Map<String, Object> model(KernelSpec spec) {
        int d = spec.headDim();
        int chunks = d / 8;
        int rowsPerPass = THREADS / chunks;
        boolean bf16 = spec.inType() == DType.BF16;

        Map<String, Object> m = new LinkedHashMap<>();
        m.put("title", spec.toString());
        m.put("name", spec.kernelName());
        m.put("ptxVersion", PtxVersions.base(spec.arch()));
        m.put("target", spec.arch().target());
        m.put("threads", THREADS);
        m.put("kvStatsParams", PreprocessKernels.KV_STATS.paramBlock());
        m.put("quantVParams", PreprocessKernels.QUANT_V.paramBlock());
        m.put("fp8", spec.pv().isFp8());
        m.put("bf16", bf16);
        m.put("headDim", d);
        m.put("inBytes", spec.inType().bytes());
        m.put("statIdle", rowsPerPass * chunks != THREADS);
        m.put("statActive", rowsPerPass * chunks);
        m.put("blockK", spec.blockK());
        m.put("blockKm1", spec.blockK() - 1);
        m.put("chunksPerRow", chunks);
        m.put("rowsPerPass", rowsPerPass);
        m.put("rowBytes", d * spec.inType().bytes());
        m.put("passBytes", rowsPerPass * d * spec.inType().bytes());
        m.put("statSlots", THREADS * 8);
        m.put("elemIdx", IntStream.range(0, 8).boxed().collect(Collectors.toList()));
        m.put("kUnits", units("%kr", "%kx"));
        // the statistics walk loads STAT_UNROLL passes of K and V before using any (memory-level parallelism
        // for short sequences, where 128-ish CTAs walk the tokens)
        List<StatPass> unroll = new ArrayList<>();
        for (int u = 0; u < STAT_UNROLL; u++) {
            unroll.add(new StatPass(u, "%ku" + 4 * u + ", %ku" + (4 * u + 1) + ", %ku" + (4 * u + 2) + ", %ku" + (4 * u + 3),
                    "%vu" + 4 * u + ", %vu" + (4 * u + 1) + ", %vu" + (4 * u + 2) + ", %vu" + (4 * u + 3),
                    unitsFrom("%ku", 4 * u, "%kx"), unitsFrom("%vu", 4 * u, "%vx")));
        }
        m.put("statUnroll", unroll);
        m.put("statUnrollRegs", 4 * STAT_UNROLL);
        m.put("statUnrollCount", STAT_UNROLL);
        m.put("rowsPerPassLast", (STAT_UNROLL - 1) * rowsPerPass);
        m.put("rowsPerUnroll", STAT_UNROLL * rowsPerPass);
        m.put("vUnits", units("%vr", "%vx"));
        m.put("xUnits", units("%raw", "%x"));
        m.put("passes", IntStream.range(0, rowsPerPass).mapToObj(r -> r * d * 4).collect(Collectors.toList()));
        m.put("tinyAbs", PtxFloats.hex(ABSMAX_FLOOR));
        m.put("invVMax", PtxFloats.hex(1.0f / spec.vMax()));
        m.put("smoothRatio", PtxFloats.hex(V_SMOOTH_RATIO));

        boolean thread = spec.quant() == QuantGranularity.PER_THREAD;
        m.put("q", quantRows(spec, quantQName(spec), spec.qScaleTileRows(), spec.quant().qGroupsPerTile(),
                thread ? 8 : 1, 1, false, bf16, spec.blockQ()));
        m.put("k", quantRows(spec, quantKName(spec), spec.blockK(), spec.quant().kGroupsPerBlock(),
                thread ? 8 : 1, thread ? 2 : 1, true, bf16, spec.blockK()));

        // FP8 V: load slots over a tile of vTokens tokens, store slots over D rows of vTokens / 4 words.
        int tokens = vTileTokens(spec);
        List<VSlot> loads = new ArrayList<>();
        for (int p = 0; p < (tokens + rowsPerPass - 1) / rowsPerPass; p++) loads.add(new VSlot(p * rowsPerPass, 0));
        List<VSlot> stores = new ArrayList<>();
        int words = d * tokens / 4;
        for (int p = 0; p < (words + THREADS - 1) / THREADS; p++) stores.add(new VSlot(0, p * THREADS));
        int pitch = d + 1;
        m.put("vTokens", tokens);
        m.put("vWords", words);
        m.put("vWordsPerChannel", tokens / 4);
        m.put("vWordShift", Integer.numberOfTrailingZeros(tokens / 4));
        m.put("vWordMask", tokens / 4 - 1);
        m.put("vIdle", rowsPerPass * chunks != THREADS);
        m.put("vActive", rowsPerPass * chunks);
        m.put("vLoadSlots", loads);
        m.put("vStoreSlots", stores);
        m.put("vTilePitch", pitch);
        m.put("vTileFloats", tokens * pitch);
        m.put("vTileRowBytes", pitch * 4);
        m.put("vTileRow8Bytes", 8 * pitch * 4);
        m.put("vTileRow9Bytes", 9 * pitch * 4);
        m.put("vsRowBytes", d * 4);
        m.put("elems", IntStream.range(0, 8).mapToObj(i -> new Elem(i, 4 * i)).collect(Collectors.toList()));
        boolean auto = spec.qk() == QkPrecision.AUTO;
        m.put("auto", auto);
        if (auto) m.put("decide", decide(spec));
        return m;
    }

    /** The model of the qk=auto decision kernel: its sums, reductions and constants (threshold: QkIndicator's). */
    private static Map<String, Object> decide(KernelSpec spec) {
        Map<String, Object> d = new LinkedHashMap<>();
        int warps = THREADS / 32;
        d.put("name", qkDecideName(spec));
        d.put("params", PreprocessKernels.QK_DECIDE.paramBlock());
        d.put("threads", THREADS);
        d.put("redSlots", 4 * warps);
        d.put("qTileRows", spec.qScaleTileRows());
        d.put("qTileRowsM1", spec.qScaleTileRows() - 1);
        d.put("blockK", spec.blockK());
        d.put("blockKm1", spec.blockK() - 1);
        d.put("qGroups", spec.quant().qGroupsPerTile());
        d.put("kGroups", spec.quant().kGroupsPerBlock());
        d.put("headDim", spec.headDim());
        d.put("sums", List.of(
                new DecideSum("p_qs", "p_qsstride", "%bh", "%nq", true, spec.quant().qGroupsPerTile(), true, "%qs2", "QD_QS", THREADS),
                new DecideSum("p_ks", "p_ksstride", "%bhkv", "%nk", true, spec.quant().kGroupsPerBlock(), true, "%ks2", "QD_KS", THREADS),
                new DecideSum("p_qss", "p_qtiles", "%bh", "%nq", false, 0, false, "%q2", "QD_QSS", THREADS),
                new DecideSum("p_kss", "p_kblocks", "%bhkv", "%nk", false, 0, false, "%k2", "QD_KSS", THREADS)));
        d.put("shuffles", BUTTERFLY);
        d.put("warpSlots", IntStream.range(0, warps).mapToObj(w -> 16 * w).collect(Collectors.toList()));
        d.put("ln2", PtxFloats.hex((float) Math.log(2.0)));
        d.put("sqrtD12", PtxFloats.hex((float) Math.sqrt(spec.headDim() / 12.0)));
        d.put("threshold", PtxFloats.hex(QkIndicator.THRESHOLD));
        return d;
    }

    /** Rows per CTA that a row-quantization CTA aims at: 64 rows keep every thread's loads in flight together. */
    static final int QUANT_CTA_ROWS = 64;

    /**
     * Scale tiles one row-quantization CTA covers: several when a tile is small (Q's per-thread tiles are 16 rows:
     * one 16-byte load per thread, one memory latency per 4 KB, 1.6 TB/s measured on the H200) and the rows of a
     * pass lie on whole lanes (chunks per row a power of two), else one.
     */
    public static int tilesPerCta(KernelSpec spec, int tileRows, int exitRows) {
        if (!rowsOnWholeLanes(spec) || tileRows >= QUANT_CTA_ROWS || QUANT_CTA_ROWS % tileRows != 0 || exitRows % QUANT_CTA_ROWS != 0) {
            return 1;
        }
        return QUANT_CTA_ROWS / tileRows;
    }

    /**
     * Whether the 16-byte chunks of a row (padded D / 8 of them) are a power of two up to 32: then every row of a pass
     * lies on whole, aligned lanes of one warp, and a row's values can be reduced by a butterfly over its lanes.
     */
    static boolean rowsOnWholeLanes(KernelSpec spec) {
        int chunks = spec.paddedHeadDim() / 8;
        return Integer.bitCount(chunks) == 1 && chunks <= 32;
    }

    /** Shared memory of one staging pass of a row-quantization CTA: a 16-byte chunk per thread. */
    static final int STAGE_SLOT_BYTES = THREADS * 16;

    /**
     * Dynamic shared memory of a row-quantization CTA that covers {@code ctaRows} rows: every 16-byte chunk of its
     * rows lands there by {@code cp.async} (so a thread holds no registers for bytes in flight and more CTAs fit an
     * SM), and is read back by the thread that copied it, once for the group maxima and once to quantize.
     */
    static int stageBytes(KernelSpec spec, int ctaRows) {
        return slots(spec, ctaRows) * STAGE_SLOT_BYTES;
    }

    /** Passes (16-byte chunks per thread) of a row-quantization CTA that covers {@code ctaRows} rows. */
    private static int slots(KernelSpec spec, int ctaRows) {
        int rowsPerPass = THREADS / (spec.paddedHeadDim() / 8);
        return (ctaRows + rowsPerPass - 1) / rowsPerPass;
    }

    /** Dynamic shared memory of the Q quantization CTA. */
    public static int qStageBytes(KernelSpec spec) {
        return stageBytes(spec, qTilesPerCta(spec) * spec.qScaleTileRows());
    }

    /** Dynamic shared memory of the K quantization CTA. */
    public static int kStageBytes(KernelSpec spec) {
        return stageBytes(spec, kTilesPerCta(spec) * spec.blockK());
    }

    /** Tiles per CTA of the Q quantization. */
    public static int qTilesPerCta(KernelSpec spec) {
        return tilesPerCta(spec, spec.qScaleTileRows(), spec.blockQ());
    }

    /** Tiles per CTA of the K quantization. */
    public static int kTilesPerCta(KernelSpec spec) {
        return tilesPerCta(spec, spec.blockK(), spec.blockK());
    }

    private static Map<String, Object> quantRows(KernelSpec spec, String name, int tileRows, int groups, int gmod,
                                                 int gdiv, boolean subtractMean, boolean bf16, int exitRows) {
        int d = spec.headDim();
        int dp = spec.paddedHeadDim();
        int chunks = dp / 8;
        int rowsPerPass = THREADS / chunks;
        int tpc = tilesPerCta(spec, tileRows, exitRows);
        int ctaRows = tpc * tileRows;
        int slots = slots(spec, ctaRows);
        boolean lanes = rowsOnWholeLanes(spec);
        if (tileRows % gmod != 0) throw new IllegalStateException("scale groups must repeat within a tile: " + spec);
        if (tpc > 1 && (!lanes || tileRows % (32 / chunks) != 0)) {
            throw new IllegalStateException("a warp's rows must lie in one tile: " + spec);
        }
        Map<String, Object> q = new LinkedHashMap<>();
        q.put("name", name);
        q.put("params", PreprocessKernels.quantRows(spec).paramBlock());
        q.put("threads", THREADS);
        q.put("bf16", bf16);
        q.put("headDim", d);
        q.put("chunksPerRow", chunks);
        q.put("realChunks", d / 8);
        q.put("padCols", dp != d);
        q.put("idle", rowsPerPass * chunks != THREADS);
        q.put("activeThreads", rowsPerPass * chunks);
        q.put("dstRowBytes", dp);
        q.put("inBytes", spec.inType().bytes());
        q.put("exitRows", exitRows);
        q.put("exitRowsM1", exitRows - 1);
        q.put("rowBytes", d * spec.inType().bytes());
        q.put("meanRowBytes", d * 4);
        q.put("tileRows", tileRows);
        q.put("tpc", tpc);
        q.put("tpcM1", tpc - 1);
        q.put("multi", tpc > 1);
        q.put("ctaRows", ctaRows);
        q.put("groups", groups);
        q.put("groupsCta", groups * tpc);
        q.put("gmod", gmod);
        q.put("gdiv", gdiv);
        q.put("subtractMean", subtractMean);
        q.put("valueCount", slots * 8);
        q.put("stageBytes", stageBytes(spec, ctaRows));
        q.put("rawCount", slots * 4);
        q.put("meanRegs", IntStream.range(0, 8).mapToObj(i -> "%mn" + i).collect(Collectors.toList()));
        // butterfly over the lanes of one row (rows on whole lanes): one shared atomic per row, not per thread
        q.put("rowLanes", lanes ? IntStream.iterate(chunks / 2, o -> o >= 1, o -> o / 2).boxed().collect(Collectors.toList())
                : List.of());
        q.put("dotParts", ctaRows * chunks);
        q.put("dotRowBytes", chunks * 4);
        q.put("dotChunkBytes", IntStream.range(1, chunks).map(c -> 4 * c).boxed().collect(Collectors.toList()));
        q.put("tinyAbs", PtxFloats.hex(ABSMAX_FLOOR));
        q.put("inv127", PtxFloats.hex(1.0f / 127.0f));
        List<Slot> list = new ArrayList<>();
        for (int s = 0; s < slots; s++) {
            List<String> values = new ArrayList<>();
            for (int e = 0; e < 8; e++) values.add("%x" + (s * 8 + e));
            List<String> raws = new ArrayList<>();
            for (int r = 0; r < 4; r++) raws.add("%raw" + (4 * s + r));
            List<Unpack> u = new ArrayList<>();
            for (int r = 0; r < 4; r++) u.add(new Unpack(raws.get(r), values.get(2 * r), values.get(2 * r + 1)));
            list.add(new Slot(s, s * rowsPerPass, values, values.get(0), u, raws, s * STAGE_SLOT_BYTES));
        }
        q.put("slots", list);
        q.put("sumsq", spec.qk() == QkPrecision.AUTO);
        q.put("shuffles", BUTTERFLY);
        return q;
    }

    private static List<Unpack> unitsFrom(String src, int first, String dst) {
        List<Unpack> u = new ArrayList<>();
        for (int r = 0; r < 4; r++) u.add(new Unpack(src + (first + r), dst + (2 * r), dst + (2 * r + 1)));
        return u;
    }

    private static List<Unpack> units(String src, String dst) {
        List<Unpack> u = new ArrayList<>();
        for (int r = 0; r < 4; r++) u.add(new Unpack(src + r, dst + (2 * r), dst + (2 * r + 1)));
        return u;
    }
}
