package io.sageptx.kernels.decode;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import io.sageptx.ptx.PtxFloats;

/**
 * The parts of a decode kernel's model that only the quantized cache ({@code decode_q8.stg}) uses: the tile
 * copy of its four segments, the QK steps over pairs of 16-channel groups (INT8 K by ldmatrix, converted to
 * f16 exactly), the per-block mean term, the PV groups of 32 channels (e4m3 V^T by ldmatrix, converted to
 * f16 x 2^-8 exactly) with their per-channel scales.
 *
 * <p>Key order inside a tile: S element (m16 tile, n8 tile nt, e) of lane t is key {@code 4t + 2nt + e%2},
 * so that a lane's P values are the keys 4t .. 4t+3 that one 32-bit word of V^T holds; the K fragment's n
 * index r of tile nt reads K row {@code 4(r/2) + r%2 + 2nt}. Q channels are permuted the same way inside
 * each group of 16: k index 2t, 2t+1, 2t+8, 2t+9 is channel 4t .. 4t+3.
 */
final class DecodeQ8Model {

    /** A K8 copy pass: rows row0 + rowOff, destination %ld<base> + smem (swizzled), source + global. */
    record KPass(int rowOff, int base, int smem, int global, boolean rowPred, int rowLimit) {
    }

    /** An ldmatrix lane base of K8: the x4 or x2 lane rows, logical chunk twoQ + (x4: the lane's half). */
    record KFragBase(int j, boolean x4, int twoQ) {
    }

    record FlatPass(int k, int off, int smem, boolean partial, int lanes) {
    }

    /** One k16 group of a QK step: the mean term q^ . kmean (f16 mma), its Q and kmean offsets. */
    record Group(int qOff, int meanOff, boolean first, List<Mt> mts) {
    }

    record Mt(String a, String aLoad0, String aLoad1, int q0, int q1, String sm, String zm) {
    }

    /** A fragment held in registers for the whole key loop: its registers and where the lane loads them from. */
    record QReg(String regs, String load0, String load1, int q0, int q1, boolean v2) {
    }

    /**
     * The INT8 mma of one m16 tile in a QK step: A = the INT8 Q rows (words at q0 .. q3 from the lane's
     * address: rows g, g + 8, channels 4t .. of each 16), B = the K8 words as ldmatrix gave them (nt 0: b0,
     * nt 1: b1), S32 accumulators s0 (nt 0), s1 (nt 1).
     */
    record IMt(int q0, int q1, int q2, int q3, String b0, String b1, String s0, String s1, String z0, String z1, String a,
               boolean regsHeld) {
    }

    /** One ldmatrix of K8: x4 (two groups: one k32 mma per n8 tile) or x2 (one group: k16), the raw registers it fills. */
    record KStep(int base, int off, boolean x4, String raw, List<IMt> imts, List<Group> groups) {
    }

    /** S32 score to f32. */
    record SCvt(String f, String i) {
    }

    record PvQ(String pa, String o0, String o1, String o2, String o3) {
    }

    record VTile(String raw, String b0, String b1, int vsOff, List<PvQ> mts) {
    }

    record VGroup(int off, boolean x4, String raw, List<VTile> tiles) {
    }

    record QMask(String s, int keyOff, String lim) {
    }

    record Scale(String s, String ks, String m, String a) {
    }

    private DecodeQ8Model() {
    }

    static void add(Map<String, Object> m, DecodeSpec s, DecodePlan p) {
        int d = s.headDim();
        int mt = s.mTiles();
        QuantTile qt = QuantTile.of(d);
        m.put("qaOff", s.rows() * p.qPitch());
        m.put("q8RowOff", 8 * p.qPitch());
        m.put("kPitch", qt.kPitch());
        m.put("kSwz3", qt.swizzle() == 3);
        m.put("kSwz2", qt.swizzle() == 2);
        m.put("vOff", qt.vOffset());
        m.put("statStride", qt.statStride());
        m.put("statRingEnd", p.ringBytes() + s.stages() * qt.statStride());
        m.put("ksOff", qt.kScaleOffset());
        m.put("msOff", 6 * d);   // in a statistics entry: kmean [2D], vscale [4D], meanScale
        m.put("d", d);
        m.put("d2", 2 * d);
        m.put("statTail", qt.statBytes());   // the K scales follow the statistics in the pool
        m.put("neg8", PtxFloats.hex(8f));
        m.put("inv256", PtxFloats.hex(1f / 256f));
        // sm_89 and newer convert e4m3 to f16 in one instruction per two codes (exact values, not x 2^-8: O
        // is then 256 times the sum and is scaled once after the key loop)
        m.put("cvtE4m3", s.arch().hasFp8Mma());
        m.put("bf16", s.dtype() == io.sageptx.spec.DType.BF16);
        // the warp-uniform skip of the output rescale keeps every row's alpha live a little longer: above
        // D = 208 the quantized kernel is at 255 registers and rescales row by row instead
        m.put("skipRescale", d <= 208);

        // K8 rows: D/16 chunks per row, rows row0 + pass * rpp
        int cpr = p.chunksPerRow();       // DecodePlan: D / 16 for the quantized cache
        int rpp = p.rowsPerPass();
        int active = p.activeLanes();
        m.put("kChunksPerRow", cpr);
        m.put("kRowsPerPass", rpp);
        m.put("kActive", active);
        m.put("kIdle", active < 32);
        // swizzled destinations: passes with the same row XORs share a register (DecodeEmitter.passBases)
        List<KPass> kp = new ArrayList<>();
        List<DecodeEmitter.CopyBase> kcb = new ArrayList<>();
        int[] bases = DecodeEmitter.passBases(rpp, p.passes(), qt::rowXor, kcb);
        for (int ps = 0; ps < p.passes(); ps++) {
            int r = ps * rpp;
            int smem = (r - kcb.get(bases[ps]).rowOff()) * qt.kPitch();
            kp.add(new KPass(r, bases[ps], smem, r * d, active < 32 || r + rpp > DecodeSpec.TILE_KEYS, DecodeSpec.TILE_KEYS - r));
        }
        m.put("kPasses", kp);
        m.put("kCopyBases", kcb);
        m.put("kCopyBaseCount", kcb.size());
        m.put("vPasses", flat(d, qt.vOffset()));                          // D chunks of V^T
        m.put("statPasses", flat(qt.statBytes() / 16, 0));                // kmean, vscale, meanScale

        // QK: pairs of 16-channel groups; the residual term by INT8 mma (Q quantized per row in the kernel),
        // the mean term by f16 mma
        int groups = d / 16;
        int q8p = DecodePlan.q8Pitch(d);
        m.put("q8Off", DecodePlan.q8Offset(s.rows(), p.qPitch()));
        m.put("q8Pitch", q8p);
        m.put("inv127", PtxFloats.hex(1f / 127f));
        m.put("f127", PtxFloats.hex(127f));
        // one m16 tile and D <= 128: the INT8 and f16 Q fragments stay in registers (48 at D = 128)
        boolean qRegs = mt == 1 && d <= 128;
        m.put("qRegs", qRegs);
        List<QReg> q8Regs = new ArrayList<>();
        List<QReg> qhRegs = new ArrayList<>();
        int nq8 = 0;
        int nqh = 0;
        List<KStep> ks = new ArrayList<>();
        List<KFragBase> kfb = new ArrayList<>();
        // chunk kk (+ the x4 lane's half) of the lane's row: swizzled, chunks of the same class mod 8 (mod 4 for
        // D = 64) share a lane base and differ by 128-byte offsets; unswizzled, one base per ldmatrix shape
        int period = qt.swizzle() == 3 ? 8 : qt.swizzle() == 2 ? 4 : Integer.MAX_VALUE;
        for (int kk = 0; kk < groups; kk += 2) {
            boolean x4 = kk + 1 < groups;
            int twoQ = qt.swizzle() == 0 ? 0 : kk % period;
            int off = qt.swizzle() == 0 ? kk * 16 : kk / period * 128;
            int base = -1;
            for (KFragBase f : kfb) if (f.x4() == x4 && f.twoQ() == twoQ) base = f.j();
            if (base < 0) {
                base = kfb.size();
                kfb.add(new KFragBase(base, x4, twoQ));
            }
            // raw regs: x4: (nt0, kk), (nt0, kk+1), (nt1, kk), (nt1, kk+1); x2: (nt0, kk), (nt1, kk)
            int nraw = x4 ? 4 : 2;
            List<IMt> imts = new ArrayList<>();
            for (int t = 0; t < mt; t++) {
                String s0 = DecodeEmitter.regs("%si", t * 8, 4);
                String s1 = DecodeEmitter.regs("%si", t * 8 + 4, 4);
                String zero = "%zero, %zero, %zero, %zero";
                int q0 = t * 16 * q8p + kk * 16;
                String a = x4 ? "%qi0, %qi1, %qi2, %qi3" : "%qi0, %qi1";
                if (qRegs) {
                    int n = x4 ? 4 : 2;
                    a = DecodeEmitter.regs("%q8r", nq8, n);
                    // words: rows g (q0), g + 8 (q0 + 8 pitch); + 16 channels for the k32 half
                    q8Regs.add(new QReg("%q8r" + nq8, "%q8r" + (nq8 + 1), "", q0, q0 + 8 * q8p, false));
                    if (x4) q8Regs.add(new QReg("%q8r" + (nq8 + 2), "%q8r" + (nq8 + 3), "", q0 + 16, q0 + 8 * q8p + 16, false));
                    nq8 += n;
                }
                imts.add(new IMt(q0, q0 + 8 * q8p, q0 + 16, q0 + 8 * q8p + 16, x4 ? "%kf0, %kf1" : "%kf0", x4 ? "%kf2, %kf3" : "%kf1",
                        s0, s1, kk == 0 ? zero : s0, kk == 0 ? zero : s1, a, qRegs));
            }
            List<Group> gs = new ArrayList<>();
            for (int gi = 0; gi < (x4 ? 2 : 1); gi++) {
                int g = kk + gi;
                List<Mt> mts = new ArrayList<>();
                for (int t = 0; t < mt; t++) {
                    String sm = DecodeEmitter.regs("%sm", t * 4, 4);
                    String zero = "%fzero, %fzero, %fzero, %fzero";
                    int q0 = t * 16 * p.qPitch() + g * 32;
                    String a = "%qa0, %qa1, %qa2, %qa3";
                    if (qRegs) {
                        String r0 = "%qhr" + nqh, r1 = "%qhr" + (nqh + 1), r2 = "%qhr" + (nqh + 2), r3 = "%qhr" + (nqh + 3);
                        a = r0 + ", " + r1 + ", " + r2 + ", " + r3;
                        qhRegs.add(new QReg(r0 + ", " + r2, r1 + ", " + r3, "", q0, q0 + 8 * p.qPitch(), true));
                        nqh += 4;
                    }
                    mts.add(new Mt(a, "%qa0, %qa2", "%qa1, %qa3", q0, q0 + 8 * p.qPitch(), sm, g == 0 ? zero : sm));
                }
                gs.add(new Group(g * 32, g * 32, g == 0, mts));
            }
            ks.add(new KStep(base, off, x4, DecodeEmitter.regs("%kf", 0, nraw), imts, gs));
        }
        m.put("kSteps", ks);
        m.put("kFragBases", kfb);
        m.put("kFragBaseCount", kfb.size());
        m.put("q8Regs", q8Regs);
        m.put("qhRegs", qhRegs);
        m.put("nq8", Math.max(1, nq8));
        m.put("nqh", Math.max(1, nqh));
        List<SCvt> cv = new ArrayList<>();
        for (int i = 0; i < mt * 8; i++) cv.add(new SCvt("%s" + i, "%si" + i));
        m.put("sCvts", cv);

        // masks and scaling: element (t, nt, e) is key 4 lane_t + 2 nt + e % 2 of row half e / 2
        List<QMask> masks = new ArrayList<>();
        List<Scale> scales = new ArrayList<>();
        for (int t = 0; t < mt; t++) {
            for (int nt = 0; nt < 2; nt++) {
                for (int e = 0; e < 4; e++) {
                    String sr = "%s" + ((t * 2 + nt) * 4 + e);
                    int row = t * 2 + e / 2;
                    masks.add(new QMask(sr, 2 * nt + (e & 1), "%lim" + row));
                    scales.add(new Scale(sr, "%ksv" + (2 * nt + (e & 1)), "%mrow" + row, "%qs" + row));
                }
            }
        }
        m.put("qMasks", masks);
        m.put("scales", scales);
        List<String[]> meanRows = new ArrayList<>();
        for (int t = 0; t < mt; t++) {
            meanRows.add(new String[] {"%mrow" + (2 * t), "%sm" + (4 * t)});
            meanRows.add(new String[] {"%mrow" + (2 * t + 1), "%sm" + (4 * t + 2)});
        }
        List<Scale> mr = new ArrayList<>();
        for (String[] x : meanRows) mr.add(new Scale("", "", x[0], x[1]));
        m.put("meanRows", mr);
        m.put("smCount", 4 * mt);

        // PV: groups of 32 channels (the last of 16 when D/16 is odd)
        int nTiles = d / 8;
        List<VGroup> vg = new ArrayList<>();
        for (int x = 0; x * 32 < d; x++) {
            boolean x4 = (x + 1) * 32 <= d;
            int tiles = x4 ? 4 : 2;
            List<VTile> vt = new ArrayList<>();
            for (int i = 0; i < tiles; i++) {
                int n = 4 * x + i;
                List<PvQ> os = new ArrayList<>();
                for (int t = 0; t < mt; t++) {
                    int o = (t * nTiles + n) * 4;
                    os.add(new PvQ(DecodeEmitter.regs("%pa", t * 4, 4), "%o" + o, "%o" + (o + 1), "%o" + (o + 2), "%o" + (o + 3)));
                }
                vt.add(new VTile("%vf" + i, "%vh" + (2 * i), "%vh" + (2 * i + 1), 2 * d + 32 * n, os));
            }
            vg.add(new VGroup(x * 512, x4, DecodeEmitter.regs("%vf", 0, tiles), vt));
        }
        m.put("vGroups", vg);
        List<String> pas = new ArrayList<>();
        for (int t = 0; t < mt; t++) pas.add(DecodeEmitter.regs("%pa", t * 4, 4));
        m.put("paRegs", pas);
    }

    static List<FlatPass> flat(int chunks, int smemBase) {
        List<FlatPass> out = new ArrayList<>();
        for (int k = 0; k * 32 < chunks; k++) {
            int lanes = Math.min(32, chunks - 32 * k);
            out.add(new FlatPass(k, 512 * k, smemBase + 512 * k, lanes < 32, lanes));
        }
        return out;
    }
}
