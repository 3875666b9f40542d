package io.sageptx.kernels.decode;

import io.sageptx.spec.Arch;
import io.sageptx.spec.ArchLimits;
import io.sageptx.spec.DType;

/**
 * The numbers of one decode kernel: its shared memory layout, how a warp copies a tile of keys, and the
 * default spec and split count for a call. Shared memory (dynamic, 128-byte aligned regions):
 *
 * <pre>
 *   [0, qBytes)                      Q tile: rows x D 16-bit, row pitch qPitch (2D + 16 bytes)
 *   [qRegion + w * regionBytes, ...) warp w: its ring of `stages` slots, each slot K then V of one tile
 *                                    (16 rows each, pitch kvPitch = 2D rounded up to 128 bytes, swizzled;
 *                                    INT8 K / e4m3 V^T and K scales for the quantized cache, whose
 *                                    warp region then holds `stages` entries of block statistics: see
 *                                    QuantTile); after the key loop the same bytes hold the warp's FP32
 *                                    partial O (rows x D, pitch 4D + 16) and its (m, l) per row
 * </pre>
 *
 * The Q and O rows (written by st.shared) have pitches of 16 (mod 128) bytes, which keep the eight rows of
 * every ldmatrix in distinct bank groups. The K and V rows of the 16-bit formats, written by cp.async, must
 * not be padded that way: a 16-byte cp.async whose shared destination rows are not 128-byte aligned asks L2
 * for 1.5x the sectors it copies (measured on the H200, {@code tools/gpu/micro/cpasync_pitch.cu}: 4.28 TB/s
 * with a 272-byte pitch, 4.67 with 256 or 384; {@code docs/notes/decode.md}). Their rows are 128-byte
 * multiples instead, and the 16-byte chunk c of row r sits at chunk {@code c ^ (r & 7)} of its row
 * ({@link #rowXor}), so the eight rows an ldmatrix reads still hit distinct bank groups.
 */
public record DecodePlan(DecodeSpec spec, int kvPitch, int slotBytes, int ringBytes, int qPitch, int qRegion,
                         int oPitch, int statOffset, int mergeBytes, int regionBytes, int smemBytes,
                         int chunksPerRow, int rowsPerPass, int activeLanes, int passes) {

    /** Dynamic shared memory a CTA may take on sm_90 so that two CTAs share an SM (228 KB). */
    public static final int BUDGET_SM90 = 112 * 1024;
    /** Dynamic shared memory a CTA may take elsewhere (99 KB per block on sm_86, sm_89, sm_120). */
    public static final int BUDGET_OTHER = 96 * 1024;

    public static DecodePlan of(DecodeSpec s) {
        int d = s.headDim();
        int rows = s.rows();
        int kvPitch;
        int slot;
        int statRing = 0;
        if (s.kv() == KvFormat.PAGED_QUANT) {
            QuantTile qt = QuantTile.of(d);
            kvPitch = qt.kPitch();
            slot = qt.slotBytes();
            // the ring of block statistics after the slots: `stages` entries, enough for any chunk size
            statRing = s.stages() * qt.statStride();
        } else {
            kvPitch = swizzledPitch(2 * d);
            slot = 2 * DecodeSpec.TILE_KEYS * kvPitch;
        }
        int ring = s.stages() * slot;
        int qPitch = 2 * d + 16;
        // the quantized cache keeps each row's Q scale (times sm_scale log2 e) after the rows, then the rows
        // quantized to INT8 (pitch D + 16) for the INT8 QK mma
        int qRegion = s.kv() == KvFormat.PAGED_QUANT ? align(q8Offset(rows, qPitch) + rows * q8Pitch(d)) : align(rows * qPitch);
        int oPitch = 4 * d + 16;
        int statOffset = rows * oPitch;
        int merge = statOffset + rows * 8;
        int region = align(Math.max(ring + statRing, merge));
        // after the merge the same bytes hold the split combine's weights (SplitCombine), which a CTA of small
        // warp regions might not have room for otherwise
        int smem = Math.max(qRegion + s.warps() * region, SplitCombine.sharedBytes(s.warps()));
        int cpr = s.kv() == KvFormat.PAGED_QUANT ? d / 16 : d / 8;
        int rpp = 32 / cpr;
        int passes = (DecodeSpec.TILE_KEYS + rpp - 1) / rpp;
        return new DecodePlan(s, kvPitch, slot, ring, qPitch, qRegion, oPitch, statOffset, merge, region, smem, cpr, rpp,
                rpp * cpr, passes);
    }

    /** Where the INT8 Q rows of the quantized kernel start in the Q region (after the 16-bit rows and their scales). */
    static int q8Offset(int rows, int qPitch) {
        return (rows * qPitch + 4 * rows + 15) / 16 * 16;
    }

    /** Bytes between INT8 Q rows: D + 16 (the 8 rows x 4 words of an A fragment load hit distinct banks). */
    static int q8Pitch(int d) {
        return d + 16;
    }

    /** The pitch of swizzled rows of {@code rowBytes}: a multiple of 128 bytes, at least 128. */
    static int swizzledPitch(int rowBytes) {
        return Math.max(128, align(rowBytes));
    }

    /**
     * The swizzle of the 16-bit formats' K/V tiles (pitch a multiple of 128): 16-byte chunk c of row r sits at
     * chunk {@code c ^ rowXor(r)} of its row. XOR only changes the chunk's low three bits, so a chunk stays
     * within its 128-byte group and the row.
     */
    public static int rowXor(int row) {
        return row & 7;
    }

    static int align(int bytes) {
        return (bytes + 127) / 128 * 128;
    }

    /** Shared memory a decode CTA may use on {@code arch}. */
    public static int budget(Arch arch) {
        return arch == Arch.SM90 ? BUDGET_SM90 : BUDGET_OTHER;
    }

    /**
     * The default spec for a call: as few m16 tiles as cover the {@code rowsPerKvHead} = group x Lq rows
     * (capped by the head dim), then 4 warps with the deepest ring (4, 3, 2 stages) that fits the arch's
     * budget, else 2 warps. On sm_90 a 16-bit cache with more than 16 rows per kv head takes 8 warps (one CTA
     * per SM) with the deepest ring that fits a CTA's shared memory.
     */
    public static DecodeSpec defaults(Arch arch, int headDim, DType dtype, KvFormat kv, int rowsPerKvHead) {
        int mt = DecodeSpec.mTilesFor(headDim, kv, rowsPerKvHead);
        if (arch == Arch.SM90 && kv != KvFormat.PAGED_QUANT && rowsPerKvHead > 16) {
            // more than one m-tile of rows per kv head (speculative decoding, chunked prefill steps): one CTA of
            // 8 warps per SM. Measured on the H200 (2026-12-02, D=128, 32/8, Lq=16, dense): 1.07-1.10x
            // at B=64, 1.14-1.21x at B=8 against 4 warps x 3 stages; at Lq=1 it made no difference (0.98-1.04) and
            // the quantized kernel gained at some shapes and lost up to 15 % at others, so both keep the rule below.
            // Its registers allow one such CTA per SM (registerFloor), so it takes the deepest ring (4, 3, 2 stages)
            // that fits a CTA's shared memory: 8 warps x (stages - 1) tiles in flight per SM.
            for (int st = 4; st >= 2; st--) {
                DecodeSpec wide = new DecodeSpec(headDim, dtype, arch, kv, mt, 8, st);
                if (of(wide).smemBytes() <= ArchLimits.of(arch).smemPerBlock()) return wide;
            }
        }
        int budget = budget(arch);
        for (int w : new int[] {4, 2}) {
            for (int st = 4; st >= 2; st--) {
                DecodeSpec s = new DecodeSpec(headDim, dtype, arch, kv, mt, w, st);
                if (of(s).smemBytes() <= budget) return s;
            }
        }
        throw new IllegalStateException("no decode spec fits " + budget + " bytes of shared memory at headDim = " + headDim);
    }

    /**
     * The spec of a call of {@code ctas} CTAs (before any split) on {@code sms} SMs: {@code base} (from
     * {@link #defaults}), or the same warps with a shallower ring where that makes the CTAs' waves fuller. A call
     * of fewer CTAs than 80 % of the base's slots keeps the deepest ring (its CTAs, or its split, fit in one
     * wave); a larger one runs in waves and its last wave decides: 512 CTAs of the D=64 16-bit kernel with 4
     * stages (3 per SM, 396 slots on 132 SMs) run in a second wave 29 % full; with 3 stages (4 per SM) in one
     * 97 % full (measured 249 vs 277 us, B=64 32/8 Lk=8k). A shallower ring replaces the deepest only when its
     * waves are fuller by more than 5 %.
     */
    public static DecodeSpec forCall(DecodeSpec base, long ctas, int sms, int smemPerSm) {
        int slots = sms * of(base).ctasPerSm(smemPerSm);
        if (ctas < 0.8 * slots) return base;
        DecodeSpec best = base;
        double bestEff = waveEfficiency(ctas, slots);
        for (int st = base.stages() - 1; st >= 2; st--) {
            DecodeSpec s = new DecodeSpec(base.headDim(), base.dtype(), base.arch(), base.kv(), base.mTiles(), base.warps(), st);
            double eff = waveEfficiency(ctas, sms * of(s).ctasPerSm(smemPerSm));
            if (eff > bestEff * 1.05) {
                best = s;
                bestEff = eff;
            }
        }
        return best;
    }

    /** How full the waves of {@code ctas} CTAs over {@code slots} resident at once are, on average (0, 1]. */
    static double waveEfficiency(long ctas, int slots) {
        long waves = (ctas + slots - 1) / slots;
        return (double) ctas / ((double) waves * slots);
    }

    /** Row chunks (CTAs per (sequence, kv head, split)) for {@code rowsPerKvHead} rows. */
    public int rowChunks(int rowsPerKvHead) {
        return (rowsPerKvHead + spec.rows() - 1) / spec.rows();
    }

    /** Most CTAs per SM the planner asks for (more give a memory-bound kernel nothing: 16 warps hold enough loads). */
    public static final int MAX_CTAS_PER_SM = 4;

    /**
     * Registers per thread the kernel needs without spilling, at least: a conservative floor from ptxas counts
     * (ptxas 13.0, every variant squeezed to the budgets of 1-4 CTAs per SM; {@code DecodeAssemblyTest} checks
     * every variant the planner can pick). 16-bit K/V: one m16 tile of 4 warps needs 128 registers up to D=64, 167
     * at D=96, 180 at D=112 and 197 at D=128 (squeezed to 168 for three CTAs per SM it assembled here without
     * spills, but the H200's driver JIT gave it 8 bytes of local memory; 160-166 registers spill 4-8 bytes: no
     * margin), so from D=112 it gets the whole 255; two or more m16 tiles, or 8 warps, need up to 168 (the D=64
     * two-tile kernel spills 224 bytes at 128).
     * The quantized kernel (INT8 Q K fragments, FP8 V conversion) grows with the head dim: one m16 tile fits 128
     * up to D=64 and 168 up to D=96 (D=128 spills 248 bytes at 128); two tiles fit 168 up to D=64 (D=80 spilled 4-12 bytes at 168 once the split combine
     * joined the kernel); the rest get
     * the whole 255.
     */
    public int registerFloor() {
        int d = spec.headDim();
        if (spec.kv() == KvFormat.PAGED_QUANT) {
            if (spec.mTiles() == 1) return d <= 64 ? 128 : d <= 96 ? 168 : 255;
            return d <= 64 ? 168 : 255;
        }
        if (spec.mTiles() >= 2 || spec.warps() == 8) return 168;
        return d <= 64 ? 128 : d <= 96 ? 168 : 255;
    }

    /**
     * CTAs of this kernel an SM holds at once: the fewest of what shared memory (1 KB reserved per CTA), the
     * arch's thread slots and {@link #registerFloor} registers per thread allow, at most {@value #MAX_CTAS_PER_SM}.
     * The kernel is assembled with {@code .maxnreg} = {@link #maxRegisters} so that the residency the split
     * heuristic counts on is the one the GPU gives.
     */
    public int ctasPerSm(int smemPerSm) {
        ArchLimits l = ArchLimits.of(spec.arch());
        return Math.min(residency(l, smemPerSm), l.ctasByRegisters(spec.threads(), maxRegisters()));
    }

    /** The {@code .maxnreg} of the kernel: the register budget of the CTAs per SM the arch's table allows (<= 255). */
    public int maxRegisters() {
        ArchLimits l = ArchLimits.of(spec.arch());
        return Math.min(l.registersPerThread(), l.registerBudget(spec.threads(), residency(l, l.smemPerSm())));
    }

    private int residency(ArchLimits l, int smemPerSm) {
        int bySmem = smemPerSm / (smemBytes + 1024);
        int byThreads = l.maxThreadsPerSm() / spec.threads();
        int byRegs = l.ctasByRegisters(spec.threads(), registerFloor());
        return Math.max(1, Math.min(MAX_CTAS_PER_SM, Math.min(bySmem, Math.min(byThreads, byRegs))));
    }

    /** Fewest key tiles a split gets from the heuristic: four per warp, so each ring fills. */
    public int minTilesPerSplit() {
        return 4 * spec.warps();
    }

    /** Most splits the heuristic picks (the partial workspace grows with it). */
    public static final int MAX_SPLITS = 128;

    /**
     * CTAs per SM a split call aims at: one for the 16-bit formats (a CTA of 4 warps keeps enough loads in flight
     * to take its SM's share of DRAM bandwidth; a second on the same SM only shares it), two for the quantized
     * cache (whose per-key work is twice the 16-bit kernel's per byte) where its residency allows. Measured on
     * the H200 (2026-12-02, seventh session, docs/bench/2026-12-02-h200-run16-splits-*.csv): B=1 32/8 D=128 dense
     * is fastest at 16 splits (128 CTAs), 32/4 at 32, Lq=16 at 8 (16 CTAs before the split); the quantized cache
     * at 256-264 CTAs; B=32 32/4 dense unsplit (128 CTAs), quantized at 2 splits.
     */
    public int splitTargetPerSm(int smemPerSm) {
        return spec.kv() == KvFormat.PAGED_QUANT ? Math.min(2, ctasPerSm(smemPerSm)) : 1;
    }

    /**
     * The split count of the heuristic for {@code ctas} = sequences x kv heads x row chunks CTAs on {@code sms}
     * SMs aiming at {@code perSm} CTAs each ({@link #splitTargetPerSm}): a split count s gives ctas * s CTAs of
     * nearly equal work (each sequence's visible keys are divided evenly) in ceil(ctas * s / (sms * perSm))
     * rounds, so a call takes about rounds / s of its unsplit time. Picks the smallest s within 5 % of the
     * least such cost, every split keeping at least {@link #minTilesPerSplit} tiles of the longest sequence and
     * s <= {@link #MAX_SPLITS}.
     */
    public int splits(long ctas, int maxKeys, int sms, int perSm) {
        if (ctas <= 0 || sms <= 0 || perSm <= 0) return 1;
        int tiles = Math.max(1, (maxKeys + DecodeSpec.TILE_KEYS - 1) / DecodeSpec.TILE_KEYS);
        int most = Math.max(1, Math.min(MAX_SPLITS, tiles / minTilesPerSplit()));
        long target = (long) sms * perSm;
        double[] cost = new double[most + 1];
        double least = Double.MAX_VALUE;
        for (int s = 1; s <= most; s++) {
            long rounds = (ctas * s + target - 1) / target;
            cost[s] = (double) rounds / s;
            least = Math.min(least, cost[s]);
        }
        for (int s = 1; s <= most; s++) {
            if (cost[s] <= least * 1.05) return s;
        }
        return 1;
    }
}
