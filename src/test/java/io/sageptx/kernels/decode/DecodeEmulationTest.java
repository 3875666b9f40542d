package io.sageptx.kernels.decode;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.DynamicTest.dynamicTest;

import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

import io.sageptx.call.CausalMode;
import io.sageptx.spec.Arch;
import io.sageptx.spec.DType;

/**
 * The 16-bit decode kernels, run by {@link io.sageptx.testing.PtxEmulator} on the
 * CPU, against FP64 ({@link io.sageptx.numerics.DecodeReference}): dense and paged caches, ragged
 * lengths (0 included), GQA / MHA / MQA with 1, 2 and 4 m16 tiles and several row chunks, both causal
 * alignments with Lq > 1 (rows that see no key: O = 0, LSE = -inf), splits (combined by the kernel's last CTAs or by the combine kernel,
 * also when launched again on the same workspace), bf16,
 * head dims that leave copy lanes idle.
 */
class DecodeEmulationTest {

    static final double REL_L1 = 1e-2;

    static void check(DecodeHarness.Case c) {
        DecodeHarness.Result r = DecodeHarness.run(c);
        System.out.println(c + ": " + r.error() + " lseErr=" + r.lseMaxErr() + " empty=" + r.emptyRows() + " splits="
                + r.plan().splits() + " chunks=" + r.plan().chunks() + " spec=" + r.plan().spec());
        assertEquals(0, r.error().nonFinite(), c + ": " + r.error());
        assertTrue(r.error().relL1() <= REL_L1, c + ": " + r.error());
        assertTrue(r.lseMaxErr() <= 1e-3, c + ": LSE " + r.lseMaxErr());
        for (int f : r.flags()) assertEquals(0, f, c + ": a flag was set on good data");
    }

    static DecodeHarness.Case c(KvFormat kv, int d, DType t, int hq, int hkv, int lq, int[] lens, CausalMode m, int splits,
                                int bs, Arch arch) {
        return new DecodeHarness.Case(kv, d, t, hq, hkv, lq, lens, m, splits, bs, arch, 31L * d + hq + 7L * lq + splits);
    }

    static List<DecodeHarness.Case> cases() {
        List<DecodeHarness.Case> out = new ArrayList<>();
        KvFormat D = KvFormat.DENSE;
        KvFormat P = KvFormat.PAGED;
        DType f = DType.FP16;
        DType bf = DType.BF16;
        CausalMode none = CausalMode.NONE;
        CausalMode tl = CausalMode.TOP_LEFT;
        CausalMode br = CausalMode.BOTTOM_RIGHT;
        out.add(c(D, 64, f, 4, 2, 1, new int[] {37, 80}, none, 1, 0, Arch.SM90));
        out.add(c(D, 128, bf, 8, 2, 1, new int[] {200, 1, 0}, none, 1, 0, Arch.SM80));
        out.add(c(P, 128, f, 8, 2, 1, new int[] {150, 33, 16}, none, 1, 16, Arch.SM90));
        out.add(c(P, 128, f, 4, 1, 4, new int[] {300, 5}, br, 3, 32, Arch.SM89));
        out.add(c(P, 64, bf, 4, 4, 16, new int[] {100, 40, 9}, br, 2, 64, Arch.SM120));
        out.add(c(D, 64, f, 8, 2, 16, new int[] {70, 16}, tl, 1, 0, Arch.SM90));       // 64 rows: 2 m-tiles x 2 chunks
        out.add(c(P, 96, f, 6, 2, 5, new int[] {260, 3}, br, 4, 128, Arch.SM90));     // 15 rows, idle copy lanes
        out.add(c(D, 48, bf, 8, 1, 8, new int[] {90}, br, 2, 0, Arch.SM90));          // 64 rows: 4 m-tiles
        out.add(c(P, 256, f, 2, 1, 2, new int[] {120, 64}, none, 2, 256, Arch.SM90)); // 2 warps, 1 m-tile
        out.add(c(D, 160, bf, 3, 3, 1, new int[] {45, 0, 130}, none, 3, 0, Arch.SM89));
        out.add(c(P, 32, f, 16, 2, 3, new int[] {77, 200}, tl, 2, 16, Arch.SM80));
        out.add(c(D, 80, f, 2, 2, 16, new int[] {10, 3}, br, 1, 0, Arch.SM90));       // Lq > len: rows see nothing
        out.add(c(P, 240, bf, 4, 2, 1, new int[] {333}, none, 5, 32, Arch.SM90));
        // the combine's steps (16 splits at a time at D <= 128, 8 above) and LSE groups (32 splits each), in the
        // decode kernel's last CTA (rows <= warps)
        out.add(c(D, 128, f, 4, 1, 1, new int[] {700, 0}, none, 40, 0, Arch.SM90));   // 3 steps, the last part-full
        out.add(c(P, 240, bf, 2, 1, 1, new int[] {500}, none, 19, 16, Arch.SM89));    // 2 slots, partial tail: 3 steps
        out.add(c(D, 64, f, 2, 1, 1, new int[] {300, 65}, none, 130, 0, Arch.SM90)); // 5 LSE groups, empty splits
        // split calls of more rows per chunk than warps: the combine kernel after the decode kernel
        out.add(c(P, 64, f, 16, 2, 16, new int[] {150, 97}, br, 3, 16, Arch.SM90));   // 128 rows: 2 m-tiles x 4 chunks
        out.add(c(D, 128, bf, 12, 2, 4, new int[] {88, 200}, br, 4, 0, Arch.SM80));   // 24 rows: 2 chunks, one part-full
        return out;
    }

    /**
     * Bad device data: a block index out of range (negative, past the pool) or a length out of range
     * (negative, above the table's capacity) never faults; that sequence's O and LSE rows are NaN, its flag
     * is 1, and the other sequences are exact.
     */
    @TestFactory
    Stream<DynamicTest> badDeviceDataPoisonsOnlyItsSequence() {
        List<DynamicTest> out = new ArrayList<>();
        int[][] bads = {{1, 2, 100000}, {1, 0, -1}, {0, -1, -3}, {2, -1, 5000}};
        String[] names = {"block index past the pool", "block index -1", "negative length", "length above capacity"};
        for (int n = 0; n < bads.length; n++) {
            int[] bad = bads[n];
            for (int splits : new int[] {1, 3}) {
                DecodeHarness.Case c = c(KvFormat.PAGED, 64, DType.FP16, 4, 2, 2, new int[] {90, 120, 40}, CausalMode.BOTTOM_RIGHT,
                        splits, 16, Arch.SM90);
                out.add(dynamicTest(names[n] + " splits " + splits, () -> {
                    DecodeHarness.Result r = DecodeHarness.run(c, bad);
                    int b = bad[0];
                    int rowsPerSeq = c.hq() * c.lq();
                    int d = c.d();
                    for (int x = 0; x < c.lens().length; x++) {
                        assertEquals(x == b ? 1 : 0, r.flags()[x], "flag of sequence " + x);
                        for (int i = x * rowsPerSeq; i < (x + 1) * rowsPerSeq; i++) {
                            if (x == b) {
                                assertTrue(Float.isNaN(r.lse()[i]), "LSE row " + i + " of the bad sequence: " + r.lse()[i]);
                                assertTrue(Float.isNaN(r.o()[i * d]), "O row " + i + " of the bad sequence");
                            } else {
                                assertEquals(r.ref().lse()[i], r.lse()[i], 1e-3, "LSE row " + i);
                                for (int e = 0; e < d; e++) assertEquals(r.ref().o()[i * d + e], r.o()[i * d + e], 2e-2);
                            }
                        }
                    }
                }));
            }
        }
        return out.stream();
    }

    /**
     * A split call launched three times on one workspace (a prepared call, a CUDA graph replay): each launch's
     * last CTAs set their counters back to 0, so the third combines exactly like the first (the first case
     * combines in the decode kernel, the second in the combine kernel).
     */
    @TestFactory
    Stream<DynamicTest> splitCallsRepeatOnOneWorkspace() {
        return Stream.of(c(KvFormat.DENSE, 128, DType.FP16, 8, 2, 1, new int[] {400, 33}, CausalMode.NONE, 5, 0, Arch.SM90),
                        c(KvFormat.PAGED, 64, DType.BF16, 16, 2, 16, new int[] {150, 97}, CausalMode.BOTTOM_RIGHT, 3, 16, Arch.SM90))
                .map(c -> dynamicTest(c.toString(), () -> {
                    DecodeHarness.Result once = DecodeHarness.run(c, null, 1);
                    DecodeHarness.Result thrice = DecodeHarness.run(c, null, 3);
                    assertEquals(0, thrice.error().nonFinite(), c + ": " + thrice.error());
                    org.junit.jupiter.api.Assertions.assertArrayEquals(once.o(), thrice.o(), c + ": O of the third launch");
                    org.junit.jupiter.api.Assertions.assertArrayEquals(once.lse(), thrice.lse(), c + ": LSE of the third launch");
                }));
    }

    @TestFactory
    Stream<DynamicTest> matchesFp64() {
        return cases().stream().map(c -> dynamicTest(c.toString(), () -> check(c)));
    }
}
