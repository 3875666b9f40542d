package io.sageptx.kernels.decode;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.DynamicTest.dynamicTest;

import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

import io.sageptx.call.CausalMode;
import io.sageptx.spec.Arch;
import io.sageptx.spec.DType;

/**
 * The quantized-cache decode kernel in the PTX emulator: against FP64 over the dequantized cache (the
 * kernel's own error, rel L1 &lt;= 1e-2) and over the original K/V (the FP8 bars: cos &gt;= 0.999, rel L1
 * &lt;= 0.045), caches built by a prefill and one-token appends.
 */
class QuantDecodeEmulationTest {

    static DecodeHarness.Case c(int d, DType t, int hq, int hkv, int lq, int[] lens, CausalMode m, int splits, int bs) {
        return new DecodeHarness.Case(KvFormat.PAGED_QUANT, d, t, hq, hkv, lq, lens, m, splits, bs, Arch.SM90,
                17L * d + hq + lq * 3L + bs);
    }

    static DecodeHarness.Case onArch(DecodeHarness.Case c, Arch a) {
        return new DecodeHarness.Case(c.kv(), c.d(), c.type(), c.hq(), c.hkv(), c.lq(), c.lens(), c.causal(), c.splits(), c.blockSize(), a, c.seed());
    }

    static void check(DecodeHarness.Case c, int prefill) {
        QuantHarness.Result r = QuantHarness.emulate(c, prefill, null);
        System.out.println(c + " prefill " + prefill + ": vs dequantized " + r.vsDequant() + " lse " + r.lseVsDequant()
                + " | vs original " + r.vsOriginal() + " lse " + r.lseVsOriginal() + " | splits " + r.plan().splits() + " "
                + r.plan().spec());
        assertEquals(0, r.vsDequant().nonFinite(), c + ": " + r.vsDequant());
        assertTrue(r.vsDequant().relL1() <= 1e-2, c + ": vs dequantized " + r.vsDequant());
        assertTrue(r.lseVsDequant() <= 2e-3, c + ": LSE vs dequantized " + r.lseVsDequant());
        assertTrue(r.vsOriginal().cosine() >= 0.999 && r.vsOriginal().relL1() <= 0.045, c + ": vs original " + r.vsOriginal());
        for (int f : r.flags()) assertEquals(0, f);
    }

    @TestFactory
    Stream<DynamicTest> matchesFp64() {
        List<DynamicTest> out = new ArrayList<>();
        CausalMode none = CausalMode.NONE;
        CausalMode br = CausalMode.BOTTOM_RIGHT;
        Object[][] cases = {
            {c(128, DType.FP16, 8, 2, 1, new int[] {200, 37}, none, 1, 16), 100},
            {c(64, DType.BF16, 4, 1, 4, new int[] {300, 1, 90}, br, 3, 64), 250},
            {c(48, DType.FP16, 8, 2, 8, new int[] {120}, br, 2, 32), 1},
            {c(96, DType.BF16, 2, 2, 16, new int[] {70, 10}, br, 1, 16), 40},
            {c(256, DType.FP16, 2, 1, 1, new int[] {150}, none, 2, 128), 128},
            {c(160, DType.FP16, 6, 3, 2, new int[] {64, 65}, CausalMode.TOP_LEFT, 1, 16), 64},
            // K8 rows: D = 32 padded (QuantTile swizzle 0), D = 64 two rows per 128 bytes (2), the rest swizzled (3)
            {c(32, DType.FP16, 4, 1, 2, new int[] {77, 20}, br, 2, 16), 50},
            // sm_80: e4m3 by the bit trick (sm_89 and newer: cvt, the bytes past a sequence's end zeroed first)
            {onArch(c(128, DType.FP16, 8, 2, 1, new int[] {200, 37}, none, 2, 16), Arch.SM80), 100},
            {onArch(c(80, DType.BF16, 4, 2, 4, new int[] {45, 130}, br, 1, 32), Arch.SM80), 30},
        };
        for (Object[] x : cases) {
            DecodeHarness.Case cs = (DecodeHarness.Case) x[0];
            int prefill = (Integer) x[1];
            out.add(dynamicTest(cs + " prefill " + prefill, () -> check(cs, prefill)));
        }
        return out.stream();
    }

    @Test
    void aBadLengthPoisonsItsSequence() {
        DecodeHarness.Case cs = c(64, DType.FP16, 4, 2, 1, new int[] {100, 80}, CausalMode.NONE, 2, 16);
        QuantHarness.Result r = QuantHarness.emulate(cs, 50, new int[] {1, 100000});
        assertEquals(0, r.flags()[0]);
        assertEquals(1, r.flags()[1]);
        for (int i = 4; i < 8; i++) assertTrue(Float.isNaN(r.lse()[i]), "row " + i);
        for (int i = 0; i < 4; i++) assertTrue(Float.isFinite(r.lse()[i]), "row " + i);
    }
}
