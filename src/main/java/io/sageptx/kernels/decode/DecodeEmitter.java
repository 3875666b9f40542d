package io.sageptx.kernels.decode;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.IntUnaryOperator;

import io.sageptx.ptx.PtxFloats;
import io.sageptx.ptx.PtxVersions;
import io.sageptx.ptx.TemplateRenderer;

/**
 * Builds the model of a decode kernel ({@code templates/decode/decode.stg} for the 16-bit formats,
 * {@code decode_q8.stg} for the quantized cache) from its {@link DecodeSpec} and {@link DecodePlan}: every
 * register list, offset and count. Registers: S accumulators {@code %s[(mt*2 + nt)*4 + e]} (m16 tile mt,
 * n8 key tile nt, element e: rows g + 8*(e/2), keys 8 nt + 2t + e%2), output accumulators
 * {@code %o[(mt*D/8 + n)*4 + e]} (channels 8n + 2t + e%2), one softmax state per row half
 * {@code i = mt*2 + half}.
 */
public final class DecodeEmitter {

    public record Row(int i, int rowOff, String x0, String x1, String x2, String x3, List<String> os, int statOff) {
    }

    public record QLoad(int k, int base, boolean partial) {
    }

    public record Frag(String regs, int offset) {
    }

    public record Pre(int s, int tileOff) {
    }

    public record QkMt(String q, int qOffset, String d0, String d1, String c0, String c1) {
    }

    /** One k16 step: its ldmatrix lane base register ({@code %ka<base>}) and offset from it. */
    public record QkStep(int base, int offset, List<QkMt> mts) {
    }

    public record Mask(String s, int keyOff, String lim) {
    }

    public record Pack(String dst, String hi, String lo) {
    }

    public record PvMt(String o0, String o1, String p) {
    }

    public record PvStep(int base, int offset, List<PvMt> mts) {
    }

    /** One copy pass: rows row0 + rowOff; destination %kd<base> + smem (K) and + vsmem (V). */
    public record Pass(int rowOff, int base, int smem, int vsmem, boolean rowPred, int rowLimit, boolean last) {
    }

    /**
     * A lane's swizzled copy destination register (%kd<j> / %ld<j>) for rows row0 + rowOff, shared by the passes
     * whose rows get the same chunk XOR ({@link #passBases}).
     */
    public record CopyBase(int j, int rowOff) {
    }

    /** An ldmatrix lane base: logical chunk 2q + (the lane's half) of its row, swizzled by the lane's row. */
    public record FragBase(int q, int twoQ) {
    }

    public record OStore(int offset, String a, String b) {
    }

    public record Item(int k, int base, boolean partial) {
    }

    public record WarpOff(int stat, int o) {
    }

    /** Running max a row starts from: finite, far below any real scaled score (base-2 logits). */
    static final float INIT_MAX = -1e30f;

    private DecodeEmitter() {
    }

    /** The PTX module (one kernel) of {@code spec}. */
    public static String emit(DecodeSpec spec) {
        if (spec.kv() == KvFormat.PAGED_QUANT) return TemplateRenderer.render("decode/decode_q8", "kernel", Map.of("m", model(spec)));
        return TemplateRenderer.render("decode/decode", "kernel", Map.of("m", model(spec)));
    }

    /**
     * The destination register of each copy pass of a swizzled tile: pass ps copies rows row0 + ps * rpp (row0 <
     * rpp, the lane's first row), and passes whose rows get the same chunk XOR {@code rowXor} for every row0
     * share one register, named after their first pass (added to {@code bases}); the others of its group are
     * whole rows further, an immediate offset.
     */
    static int[] passBases(int rpp, int passes, IntUnaryOperator rowXor, List<CopyBase> bases) {
        int[] base = new int[passes];
        List<List<Integer>> signatures = new ArrayList<>();
        for (int ps = 0; ps < passes; ps++) {
            List<Integer> sig = new ArrayList<>();
            for (int x = 0; x < rpp; x++) sig.add(rowXor.applyAsInt(x + ps * rpp));
            int j = signatures.indexOf(sig);
            if (j < 0) {
                j = signatures.size();
                signatures.add(sig);
                bases.add(new CopyBase(j, ps * rpp));
            }
            base[ps] = j;
        }
        return base;
    }

    static String regs(String prefix, int from, int n) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < n; i++) {
            if (i > 0) sb.append(", ");
            sb.append(prefix).append(from + i);
        }
        return sb.toString();
    }

    static Map<String, Object> model(DecodeSpec s) {
        DecodePlan p = DecodePlan.of(s);
        int d = s.headDim();
        int mt = s.mTiles();
        int nTiles = d / 8;          // n8 output channel tiles
        int kSteps = d / 16;         // k16 steps of Q K^T
        boolean quant = s.kv() == KvFormat.PAGED_QUANT;
        boolean qInRegs = !quant && mt * d <= 128;
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("title", s.toString());
        m.put("name", s.kernelName());
        m.put("params", DecodeKernels.decodeAbi().paramBlock());
        m.put("ptxVersion", PtxVersions.base(s.arch()));
        m.put("target", s.arch().target());
        m.put("threads", s.threads());
        m.put("maxRegs", p.maxRegisters());
        m.put("warps", s.warps());
        m.put("warpsM1", s.warps() - 1);
        m.put("warpsLog2", Integer.numberOfTrailingZeros(s.warps()));
        m.put("rowsPerCta", s.rows());
        m.put("type", quant ? "f16" : s.dtype().ptx());
        m.put("outType", s.dtype().ptx());
        m.put("paged", s.kv().paged());
        m.put("qInRegs", qInRegs);
        m.put("initMax", PtxFloats.hex(INIT_MAX));
        m.put("ln2", PtxFloats.hex((float) Math.log(2.0)));
        m.put("combine", SplitCombine.model(s.headDim(), s.dtype()));
        m.put("combineWeights", SplitCombine.WEIGHTS_OFFSET);
        m.put("counterBytes", SplitCombine.COUNTER_BYTES);
        m.put("qRegion", p.qRegion());
        m.put("regionBytes", p.regionBytes());
        m.put("ringBytes", p.ringBytes());
        m.put("slotBytes", p.slotBytes());
        m.put("qPitch", p.qPitch());
        m.put("kvPitch", p.kvPitch());
        m.put("vOffset", DecodeSpec.TILE_KEYS * p.kvPitch());
        m.put("oPitch", p.oPitch());
        m.put("statOffset", p.statOffset());
        m.put("oRowBytes", 4 * d);
        m.put("chunksPerRow", p.chunksPerRow());
        m.put("rowsPerPass", p.rowsPerPass());
        m.put("activeLanes", p.activeLanes());
        m.put("idleLanes", p.activeLanes() < 32);
        int ahead = s.stages() - 1;
        m.put("ahead", ahead);
        m.put("aheadM1", ahead - 1);
        m.put("aheadTiles", ahead * s.warps());
        m.put("qfCount", qInRegs ? mt * kSteps * 4 : 4);
        m.put("paCount", mt * 4);
        m.put("sCount", mt * 8);
        m.put("oCount", mt * nTiles * 4);
        m.put("rowCount", mt * 2);

        // rows (m16 tile, half)
        List<Row> rows = new ArrayList<>();
        for (int t = 0; t < mt; t++) {
            for (int h = 0; h < 2; h++) {
                int i = t * 2 + h;
                List<String> os = new ArrayList<>();
                for (int n = 0; n < nTiles; n++) {
                    int base = (t * nTiles + n) * 4 + 2 * h;
                    os.add("%o" + base);
                    os.add("%o" + (base + 1));
                }
                int s0 = t * 8;
                rows.add(new Row(i, 16 * t + 8 * h, "%s" + (s0 + 2 * h), "%s" + (s0 + 2 * h + 1), "%s" + (s0 + 4 + 2 * h),
                        "%s" + (s0 + 4 + 2 * h + 1), os, p.statOffset() + (16 * t + 8 * h) * 8));
            }
        }
        m.put("rows", rows);
        m.put("rowsAfter0", rows.subList(1, rows.size()));
        List<String> oRegs = new ArrayList<>();
        for (int i = 0; i < mt * nTiles * 4; i++) oRegs.add("%o" + i);
        m.put("oRegs", oRegs);

        // Q tile loads: rows * D/8 chunks of 16 bytes over the CTA's threads
        int qcpr = d / 8;
        int qChunks = s.rows() * qcpr;
        m.put("qChunksPerRow", qcpr);
        m.put("qChunks", qChunks);
        List<QLoad> ql = new ArrayList<>();
        for (int k = 0; k * s.threads() < qChunks; k++) {
            ql.add(new QLoad(k, k * s.threads(), (k + 1) * s.threads() > qChunks));
        }
        m.put("qLoads", ql);
        List<Frag> qFrags = new ArrayList<>();
        if (qInRegs) {
            for (int t = 0; t < mt; t++) {
                for (int kk = 0; kk < kSteps; kk++) {
                    qFrags.add(new Frag(regs("%qf", (t * kSteps + kk) * 4, 4), t * 16 * p.qPitch() + kk * 32));
                }
            }
        }
        m.put("qFrags", qFrags);

        // the ring's first tiles
        List<Pre> pre = new ArrayList<>();
        for (int st = 0; st < ahead; st++) pre.add(new Pre(st, st * s.warps()));
        m.put("prologue", pre);

        // tile copy passes (16-bit formats): rows row0 + pass * rpp, swizzled destinations
        List<Pass> passes = new ArrayList<>();
        int rpp = p.rowsPerPass();
        List<CopyBase> cb = new ArrayList<>();
        int[] bases = passBases(rpp, p.passes(), DecodePlan::rowXor, cb);
        int vOff = DecodeSpec.TILE_KEYS * p.kvPitch();
        for (int ps = 0; ps < p.passes(); ps++) {
            int rowOff = ps * rpp;
            int smem = (rowOff - cb.get(bases[ps]).rowOff()) * p.kvPitch();
            boolean pred = p.activeLanes() < 32 || rowOff + rpp > DecodeSpec.TILE_KEYS;
            passes.add(new Pass(rowOff, bases[ps], smem, smem + vOff, pred, DecodeSpec.TILE_KEYS - rowOff, ps == p.passes() - 1));
        }
        m.put("passes", passes);
        m.put("copyBases", cb);
        m.put("copyBaseCount", cb.size());
        // ldmatrix lane bases: step k16 st reads logical chunks 2st, 2st + 1 = 8 (st / 4) + 2 (st % 4) + half, so
        // four bases (st % 4) and offsets of 128 (st / 4) bytes cover every step
        int nFrag = Math.min(4, kSteps);
        List<FragBase> fb = new ArrayList<>();
        for (int q = 0; q < nFrag; q++) fb.add(new FragBase(q, 2 * q));
        m.put("fragBases", fb);
        m.put("fragBaseCount", nFrag);

        // S = Q K^T
        List<QkStep> qk = new ArrayList<>();
        for (int kk = 0; kk < kSteps; kk++) {
            List<QkMt> mts = new ArrayList<>();
            for (int t = 0; t < mt; t++) {
                String q = qInRegs ? regs("%qf", (t * kSteps + kk) * 4, 4) : regs("%qf", 0, 4);
                String d0 = regs("%s", t * 8, 4);
                String d1 = regs("%s", t * 8 + 4, 4);
                String zero = "%fzero, %fzero, %fzero, %fzero";
                mts.add(new QkMt(q, t * 16 * p.qPitch() + kk * 32, d0, d1, kk == 0 ? zero : d0, kk == 0 ? zero : d1));
            }
            qk.add(new QkStep(kk % 4, kk / 4 * 128, mts));
        }
        m.put("qk", qk);

        // masks: element (t, nt, e) is key kc + 2t + 8 nt + e%2 of row half e/2
        List<Mask> masks = new ArrayList<>();
        for (int t = 0; t < mt; t++) {
            for (int nt = 0; nt < 2; nt++) {
                for (int e = 0; e < 4; e++) {
                    masks.add(new Mask("%s" + ((t * 2 + nt) * 4 + e), 8 * nt + (e & 1), "%lim" + (t * 2 + e / 2)));
                }
            }
        }
        m.put("masks", masks);

        // P -> A fragments: a0 = (g, keys 2t..) = S nt0 e0,e1; a1 = (g+8) nt0 e2,e3; a2 = nt1 e0,e1; a3 = nt1 e2,e3
        List<Pack> packs = new ArrayList<>();
        for (int t = 0; t < mt; t++) {
            for (int a = 0; a < 4; a++) {
                int nt = a / 2;
                int e = (a % 2) * 2;
                int sReg = (t * 2 + nt) * 4 + e;
                packs.add(new Pack("%pa" + (t * 4 + a), "%s" + (sReg + 1), "%s" + sReg));
            }
        }
        m.put("packs", packs);

        // O += P V: per pair of n8 channel tiles one ldmatrix.x4.trans
        List<PvStep> pv = new ArrayList<>();
        for (int pair = 0; pair < nTiles / 2; pair++) {
            List<PvMt> mts = new ArrayList<>();
            for (int t = 0; t < mt; t++) {
                mts.add(new PvMt(regs("%o", (t * nTiles + 2 * pair) * 4, 4), regs("%o", (t * nTiles + 2 * pair + 1) * 4, 4),
                        regs("%pa", t * 4, 4)));
            }
            pv.add(new PvStep(pair % 4, pair / 4 * 128, mts));
        }
        m.put("pv", pv);

        // the warp's partial O into shared memory: row 16t + 8h + g, channels 8n + 2t
        List<OStore> os = new ArrayList<>();
        for (int t = 0; t < mt; t++) {
            for (int h = 0; h < 2; h++) {
                for (int n = 0; n < nTiles; n++) {
                    int base = (t * nTiles + n) * 4 + 2 * h;
                    os.add(new OStore((16 * t + 8 * h) * p.oPitch() + 32 * n, "%o" + base, "%o" + (base + 1)));
                }
            }
        }
        m.put("oStores", os);

        // merge items: rows x D/4 over the CTA's threads
        int chunks4 = d / 4;
        int items = s.rows() * chunks4;
        m.put("chunks4", chunks4);
        m.put("itemCount", items);
        List<Item> it = new ArrayList<>();
        for (int k = 0; k * s.threads() < items; k++) it.add(new Item(k, k * s.threads(), (k + 1) * s.threads() > items));
        m.put("items", it);
        List<WarpOff> all = new ArrayList<>();
        for (int w = 0; w < s.warps(); w++) all.add(new WarpOff(w * p.regionBytes(), w * p.regionBytes()));
        m.put("allWarpOffsets", all);
        m.put("warpOffsets", all.subList(1, all.size()));
        if (quant) DecodeQ8Model.add(m, s, p);
        return m;
    }
}
