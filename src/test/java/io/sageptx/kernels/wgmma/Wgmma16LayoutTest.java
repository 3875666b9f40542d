package io.sageptx.kernels.wgmma;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.Test;

import io.sageptx.spec.Arch;
import io.sageptx.spec.DType;
import io.sageptx.spec.KernelSpec;
import io.sageptx.spec.MmaKind;
import io.sageptx.spec.PvVariant;
import io.sageptx.spec.QkPrecision;

/**
 * The 16-bit QK kernel's shared-memory layout on the CPU, without a GPU: every thread's copies of the Q, K and V
 * tiles (its slot, passes and chunks from the model the template lays out) are simulated into a map of shared
 * memory, and then every element every wgmma reads is found from its descriptor by the PTX ISA's canonical
 * layouts (K-major for Q and K: ((8,m),(T,2k)):((W/2,SBO),(1,T)); MN-major for V: ((T,W/16,m),(8,k)):
 * ((1,T,LBO),(W/2,SBO)), in 16-bit elements, T = 8, W the swizzle width in bytes) followed by the swizzle
 * (address bits [4, 4+log2(W/16)) XOR bits [7, ...)). Each must be the element the math needs: A(m, k) =
 * Q[64 wg + m][16 s + k], B(k, n) = K[n][16 s + k] for S, and B(k, n) = V[16 kk + k][c0 + n] for P V.
 */
class Wgmma16LayoutTest {

    private static final Pattern N = Pattern.compile("m64n(\\d+)k16");

    static List<KernelSpec> specs() {
        List<KernelSpec> out = new ArrayList<>();
        for (int d : KernelSpec.HEAD_DIMS) {
            for (int[] t : new int[][] {{128, 8, 64}, {64, 4, 64}, {128, 8, 32}, {64, 4, 32}}) {
                out.add(KernelSpec.defaults(Arch.SM90, d, false, DType.BF16, DType.BF16).toBuilder().pv(PvVariant.FP16)
                        .blockK(t[2]).tiles(t[0], t[1]).mma(MmaKind.WGMMA).qk(QkPrecision.FP16).build());
            }
        }
        return out;
    }

    /** Tag of element (row, channel) of tensor {@code which} (0 Q, 1 K, 2 V): what the copy puts in shared memory. */
    static long tag(int which, int row, int channel) {
        return 1L + which + 4L * (row * 1024L + channel);
    }

    /** Shared memory as 16-bit slots, each holding the tag of the element copied there (0: never written). */
    static final class Smem {
        final long[] slot;
        final int[] writes;

        Smem(int bytes) {
            slot = new long[bytes / 2];
            writes = new int[bytes / 2];
        }
    }

    /** Simulates every thread's copies of one tile (rows of 2D bytes) of tensor {@code which} into {@code stage}. */
    static void copy(Smem s, List<WgmmaEmitter.RowGroup> groups, int threads, int stage, int which, int subShift, int subMask) {
        for (WgmmaEmitter.RowGroup g : groups) {
            for (int thr = 0; thr < threads; thr++) {
                int col = thr & g.cprMask();
                int row0 = thr >> g.cprShift();
                int swz = (((row0 >> g.shift()) & g.mask()) ^ col) << 4;
                int slot = (row0 >> subShift) * g.subBytes() + (row0 & subMask) * g.width() + swz + stage;
                for (WgmmaEmitter.RowPass p : g.passes()) {
                    int row = row0 + p.rowOff();
                    if (p.tilePred() && row >= p.tileRows()) continue;
                    assertTrue(row < p.tileRows(), "an unpredicated pass copies row " + row + " of " + p.tileRows());
                    for (WgmmaEmitter.Chunk c : p.chunks()) {
                        int dst = slot + c.smem();
                        assertEquals(0, dst % 16, "16-byte aligned destination");
                        int ch0 = (c.global() + 16 * col) / 2;
                        for (int e = 0; e < 8; e++) {
                            s.slot[dst / 2 + e] = tag(which, row, ch0 + e);
                            s.writes[dst / 2 + e]++;
                        }
                    }
                }
            }
        }
    }

    static int width(int hi) {
        return switch (hi >>> 30) {
            case 1 -> 128;
            case 2 -> 64;
            case 3 -> 32;
            default -> throw new AssertionError("no swizzle mode in " + Integer.toHexString(hi));
        };
    }

    static int swizzle(int addr, int w) {
        int mask = w / 16 - 1;
        return addr ^ (((addr >> 7) & mask) << 4);
    }

    /** K-major element (row r, k) of an operand at start address {@code start}: 16-bit elements. */
    static int kMajor(int start, int sbo, int w, int r, int k) {
        return swizzle(start + (r % 8) * w + (r / 8) * sbo + (k / 8) * 16 + (k % 8) * 2, w);
    }

    /** MN-major element (k, n): n along the swizzled rows of w bytes, atoms of w/2 elements lbo apart. */
    static int mnMajor(int start, int lbo, int sbo, int w, int k, int n) {
        int t = n % 8;
        int chunk = (n / 8) % (w / 16);
        int atom = n / (w / 2);
        return swizzle(start + t * 2 + chunk * 16 + atom * lbo + (k % 8) * w + (k / 8) * sbo, w);
    }

    @Test
    void everyWgmmaReadsTheElementsTheMathNeeds() {
        for (KernelSpec spec : specs()) {
            WgmmaEmitter.Model16 m = WgmmaEmitter.model16(spec);
            WgmmaPlan plan = new WgmmaPlan(spec);
            int d = spec.headDim();
            int bk = spec.blockK();
            Smem s = new Smem(plan.smemBytes());
            int sh = m.subTile().shift();
            int sm = m.subTile().mask();
            copy(s, m.qGroups(), spec.threads(), 0, 0, sh, sm);
            for (int st = 0; st < 2; st++) {
                copy(s, m.kGroups(), spec.threads(), st == 0 ? m.kStage0() : m.kStage0() + m.kStageStride(), 1, sh, sm);
                copy(s, m.vGroups(), spec.threads(), st == 0 ? m.vStage0() : m.vStage0() + m.vStageStride(), 2, sh, sm);
            }
            for (int i = 0; i < s.writes.length; i++) {
                if (s.writes[i] > 1) fail(spec + ": shared byte " + 2 * i + " written " + s.writes[i] + " times");
            }
            int qElems = spec.blockQ() * d;
            int written = 0;
            for (int x : s.writes) written += x;
            assertEquals(qElems + 2 * 2 * bk * d, written, spec + ": every element of Q and both stages of K and V once");

            // S = Q K^T: per k16 step, both operands K-major; Q of each warpgroup
            assertEquals(d / 16, m.qk().size());
            for (int ks = 0; ks < m.qk().size(); ks++) {
                WgmmaEmitter.Wgmma16 w = m.qk().get(ks);
                int hi = (int) Long.parseLong(w.hi().substring(2), 16);
                int sbo = (hi & 0x3FFF) << 4;
                int wd = width(hi);
                assertEquals(bk, n(w.shape()));
                for (int wg = 0; wg < spec.warps() / 4; wg++) {
                    int start = wg * m.qWgBytes() + 16 * w.descAdd();
                    for (int r = 0; r < 64; r++) {
                        for (int k = 0; k < 16; k++) {
                            long got = s.slot[kMajor(start, sbo, wd, r, k) / 2];
                            if (got != tag(0, 64 * wg + r, 16 * ks + k)) {
                                fail(spec + ": S step " + ks + " reads A(" + r + ", " + k + ") of warpgroup " + wg + " wrong");
                            }
                        }
                    }
                }
                for (int st = 0; st < 2; st++) {
                    int start = m.kStage0() + st * m.kStageStride() + 16 * w.descAdd();
                    for (int n = 0; n < bk; n++) {
                        for (int k = 0; k < 16; k++) {
                            if (s.slot[kMajor(start, sbo, wd, n, k) / 2] != tag(1, n, 16 * ks + k)) {
                                fail(spec + ": S step " + ks + " stage " + st + " reads B(" + k + ", " + n + ") wrong");
                            }
                        }
                    }
                }
            }
            // O += P V: per k16 step and run of V columns, B MN-major; every output channel once per step
            int runs = plan.vRuns().size();
            assertEquals(bk / 16 * runs, m.pv().size());
            for (int i = 0; i < m.pv().size(); i++) {
                WgmmaEmitter.Wgmma16 w = m.pv().get(i);
                int kk = i / runs;
                int hi = (int) Long.parseLong(w.hi().substring(2), 16);
                int sbo = (hi & 0x3FFF) << 4;
                int wd = width(hi);
                int lbo = ((w.descAdd() >>> 16) & 0x3FFF) << 4;
                int nn = n(w.shape());
                int c0 = 2 * Integer.parseInt(w.d().substring(2, w.d().indexOf(',') < 0 ? w.d().length() : w.d().indexOf(',')));
                assertEquals(4, w.a().split(",").length);
                assertTrue(w.a().startsWith("%pa" + 4 * kk + ","), "P fragments of step " + kk + ": " + w.a());
                assertEquals(nn / 2, w.d().split(",").length);
                for (int st = 0; st < 2; st++) {
                    int start = m.vStage0() + st * m.vStageStride() + 16 * (w.descAdd() & 0xFFFF);
                    for (int k = 0; k < 16; k++) {
                        for (int n = 0; n < nn; n++) {
                            if (s.slot[mnMajor(start, lbo, sbo, wd, k, n) / 2] != tag(2, 16 * kk + k, c0 + n)) {
                                fail(spec + ": P V step " + kk + " run at channel " + c0 + " stage " + st + " reads B(" + k
                                        + ", " + n + ") wrong");
                            }
                        }
                    }
                }
            }
            int channels = plan.vRuns().stream().mapToInt(WgmmaPlan.VRun::n).sum();
            assertEquals(d, channels, spec + ": the runs cover every output channel once");
        }
    }

    private static int n(String shape) {
        Matcher x = N.matcher(shape);
        assertTrue(x.matches(), shape);
        return Integer.parseInt(x.group(1));
    }
}
