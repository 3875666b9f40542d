package io.sageptx.spec;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sageptx.kernels.AttentionFamilies;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.ValueSource;

class KernelSpecTest {

    /** PTX identifier: a letter followed by letters, digits, _ or $; or _, $, % followed by at least one of those. */
    private static final Pattern PTX_IDENTIFIER =
            Pattern.compile("[A-Za-z][A-Za-z0-9_$]*|[_$%][A-Za-z0-9_$]+");

    private static KernelSpec spec(int headDim, int blockQ, int blockK, int warps, PvVariant pv, Arch arch) {
        return new KernelSpec(headDim, blockQ, blockK, warps, false, pv, QuantGranularity.PER_THREAD, DType.FP16,
                DType.FP16, arch, MmaKind.SYNC);
    }

    private static IllegalArgumentException refused(Executable e, String... mustContain) {
        IllegalArgumentException ex = assertThrows(IllegalArgumentException.class, e);
        for (String s : mustContain) {
            assertTrue(ex.getMessage().contains(s), "message '" + ex.getMessage() + "' should contain '" + s + "'");
        }
        return ex;
    }

    /** Every spec the constructor accepts. */
    static List<KernelSpec> allValidSpecs() {
        List<KernelSpec> out = new ArrayList<>();
        for (Arch arch : Arch.values())
            for (int d : KernelSpec.HEAD_DIMS)
                for (int bk : KernelSpec.BLOCK_KS)
                    for (int w : KernelSpec.WARPS)
                        for (int rows : KernelSpec.WARP_ROWS)
                            for (boolean causal : new boolean[] {false, true})
                                for (PvVariant pv : PvVariant.values())
                                    for (QuantGranularity q : QuantGranularity.values())
                                        for (DType in : DType.values())
                                            for (DType o : DType.values()) {
                                                if (bk == 128) continue; // the wgmma kernel's (blockK128OnlyForTheSerialWgmmaKernel)
                                                if (pv.isFp8() && (!arch.hasFp8Mma() || bk != 64)) continue;
                                                out.add(new KernelSpec(d, w * rows, bk, w, causal, pv, q, in, o, arch, MmaKind.SYNC));
                                            }
        return out;
    }

    // ---------------------------------------------------------------- defaults

    @ParameterizedTest
    @EnumSource(Arch.class)
    void defaultsAreValidForEveryArch(Arch arch) {
        for (int d : KernelSpec.HEAD_DIMS) {
            for (boolean causal : new boolean[] {false, true}) {
                for (DType in : DType.values()) {
                    for (DType out : DType.values()) {
                        KernelSpec s = KernelSpec.defaults(arch, d, causal, in, out);
                        assertEquals(d, s.headDim());
                        assertEquals(128, s.blockQ());
                        assertEquals(KernelSpec.defaultBlockK(arch.defaultPv(), d), s.blockK());
                        assertEquals(8, s.warps());
                        assertEquals(256, s.threads());
                        assertEquals(16, s.warpRows());
                        assertEquals(1, s.mTiles());
                        assertEquals(causal, s.causal());
                        assertEquals(arch.defaultPv(), s.pv());
                        assertEquals(QuantGranularity.PER_THREAD, s.quant());
                        assertEquals(in, s.inType());
                        assertEquals(out, s.outType());
                        assertEquals(arch, s.arch());
                    }
                }
            }
        }
    }

    @Test
    void defaultPvPerArch() {
        assertEquals(PvVariant.FP16, Arch.SM80.defaultPv());
        assertEquals(PvVariant.FP8_F16ACC, Arch.SM89.defaultPv());
        assertEquals(PvVariant.FP16, Arch.SM90.defaultPv());
        assertEquals(PvVariant.FP8_F16ACC, Arch.SM120.defaultPv());
    }

    @Test
    void archCapabilities() {
        assertEquals("sm_80", Arch.SM80.target());
        assertEquals("sm_89", Arch.SM89.target());
        assertEquals("sm_90", Arch.SM90.target());
        assertEquals("sm_120", Arch.SM120.target());
        assertEquals(false, Arch.SM80.hasFp8Mma());
        assertEquals(true, Arch.SM89.hasFp8Mma());
        assertEquals(true, Arch.SM90.hasFp8Mma());
        assertEquals(true, Arch.SM120.hasFp8Mma());
        assertEquals(false, Arch.SM90.nativeFp8F16Accumulate());
        assertEquals(true, Arch.SM89.nativeFp8F16Accumulate());
        assertEquals(true, Arch.SM120.nativeFp8F16Accumulate());
    }

    @Test
    void withersChangeOneField() {
        KernelSpec s = KernelSpec.defaults(Arch.SM89, 128, false, DType.FP16, DType.FP16);
        assertEquals(PvVariant.FP16, s.toBuilder().pv(PvVariant.FP16).build().pv());
        assertEquals(QuantGranularity.PER_WARP, s.toBuilder().quant(QuantGranularity.PER_WARP).build().quant());
        KernelSpec t = s.toBuilder().tiles(64, 4).build();
        assertEquals(64, t.blockQ());
        assertEquals(4, t.warps());
        assertEquals(16, t.warpRows());
        assertEquals(true, s.toBuilder().causal(true).build().causal());
        assertEquals(DType.BF16, s.toBuilder().types(DType.BF16, DType.FP16).build().inType());
        assertEquals(DType.FP16, s.toBuilder().types(DType.BF16, DType.FP16).build().outType());
        assertEquals(Arch.SM120, s.toBuilder().arch(Arch.SM120).build().arch());
        assertEquals(s, s.toBuilder().pv(PvVariant.FP16).pv(PvVariant.FP8_F16ACC).build());
        // withArch re-validates: the FP8 default of sm_89 is not allowed on sm_80
        refused(() -> s.toBuilder().arch(Arch.SM80).build(), "pv");
    }

    @Test
    void derivedSizes() {
        KernelSpec s = KernelSpec.defaults(Arch.SM89, 64, false, DType.FP16, DType.FP16);
        assertEquals(16, s.qScaleTileRows());
        assertEquals(128, s.toBuilder().quant(QuantGranularity.PER_BLOCK).build().qScaleTileRows());
        assertEquals(16, s.toBuilder().quant(QuantGranularity.PER_WARP).build().qScaleTileRows());
        KernelSpec w4 = s.toBuilder().tiles(128, 4).build();
        assertEquals(32, w4.warpRows());
        assertEquals(2, w4.mTiles());
        assertEquals(32, w4.qScaleTileRows());
        assertEquals(128, w4.threads());
    }

    // ---------------------------------------------------------------- refusals

    @Test
    void headDimsOutside32To256Step16AreRefused() {
        for (int d : new int[] {0, 16, 40, 72, 100, 264, 272, 512}) {
            refused(() -> spec(d, 128, 64, 8, PvVariant.FP16, Arch.SM80), "headDim", Integer.toString(d), "32", "48", "256");
        }
    }

    @Test
    void everyMultipleOf16From32To256IsAHeadDim() {
        assertEquals(15, KernelSpec.HEAD_DIMS.size());
        for (int d = 32; d <= 256; d += 16) {
            assertTrue(KernelSpec.HEAD_DIMS.contains(d), "D=" + d);
            assertEquals((d + 31) / 32 * 32, spec(d, 128, 64, 8, PvVariant.FP16, Arch.SM80).paddedHeadDim());
        }
    }

    @Test
    void fp8PvOnWgmmaNeeds64KeyBlocksAndWithPvFollowsTheDefaultBlock() {
        // mma.sync runs FP8 P V on 32-key blocks too (one k32 mma per flush); the wgmma kernel does not
        assertEquals(32, spec(256, 128, 32, 8, PvVariant.FP8_F16ACC, Arch.SM89).blockK());
        refused(() -> new KernelSpec(128, 128, 32, 8, false, PvVariant.FP8_F16ACC, QuantGranularity.PER_THREAD, DType.FP16,
                DType.FP16, Arch.SM90, MmaKind.WGMMA), "blockK", "32", "64 with FP8 PV");
        KernelSpec fp16 = KernelSpec.defaults(Arch.SM90, 256, false, DType.FP16, DType.FP16);
        assertEquals(32, fp16.blockK());
        assertEquals(64, fp16.toBuilder().pv(PvVariant.FP8_F16ACC).build().blockK());
        assertEquals(32, fp16.toBuilder().pv(PvVariant.FP8_F16ACC).pv(PvVariant.FP16).build().blockK());
        assertEquals(64, KernelSpec.defaults(Arch.SM90, 192, false, DType.FP16, DType.FP16).blockK());
    }

    @Test
    void blockK128IsRefused() {
        refused(() -> spec(128, 128, 128, 8, PvVariant.FP16, Arch.SM80), "blockK", "128", "32 or 64", "wgmma");
    }

    /** 128-key blocks: the serial INT8 wgmma kernel with FP16-accumulator FP8 P V only (vMax(128) = 1.125). */
    @Test
    void blockK128OnlyForTheSerialWgmmaKernel() {
        KernelSpec w = KernelSpec.defaults(Arch.SM90, 128, false, DType.FP16, DType.FP16).toBuilder().mma(MmaKind.WGMMA)
                .pv(PvVariant.FP8_F16ACC).tiles(64, 4).build();
        KernelSpec k128 = w.toBuilder().blockK(128).build();
        assertEquals(128, k128.blockK());
        assertEquals(1.125f, k128.vMax());
        assertTrue(128 * 448.0 * k128.vMax() < 65504.0);
        refused(() -> w.toBuilder().pv(PvVariant.FP8_F32ACC).blockK(128).build(), "blockK", "128");
        KernelSpec.Builder ws64 = KernelSpec.defaults(Arch.SM90, 64, false, DType.FP16, DType.FP16).toBuilder().mma(MmaKind.WGMMA)
                .pv(PvVariant.FP8_F16ACC).tiles(128, 8).pipe(Pipe.WSPP).blockK(128);
        refused(() -> w.toBuilder().blockK(128).pipe(Pipe.WS).tiles(128, 8).build(), "blockK", "128", "D = 96");
        assertEquals(128, ws64.build().blockK());
        refused(() -> w.toBuilder().blockK(128).qk(QkPrecision.AUTO).build(), "blockK", "128");
        refused(() -> KernelSpec.defaults(Arch.SM89, 128, false, DType.FP16, DType.FP16).toBuilder().blockK(128).build(),
                "blockK", "128");
    }

    @Test
    void threeWarpsAreRefused() {
        refused(() -> spec(128, 96, 64, 3, PvVariant.FP16, Arch.SM80), "warps", "3", "[4, 8]");
    }

    @ParameterizedTest
    @ValueSource(ints = {0, -128, 64, 96, 130, 192, 512})
    void blockQNotMatchingEightWarpsIsRefused(int blockQ) {
        refused(() -> spec(128, blockQ, 64, 8, PvVariant.FP16, Arch.SM80), "blockQ", Integer.toString(blockQ),
                "128", "256");
    }

    @ParameterizedTest
    @ValueSource(ints = {0, 32, 96, 256})
    void blockQNotMatchingFourWarpsIsRefused(int blockQ) {
        refused(() -> spec(64, blockQ, 64, 4, PvVariant.FP16, Arch.SM80), "blockQ", Integer.toString(blockQ),
                "64", "128");
    }

    @Test
    void fp8PvOnSm80IsRefused() {
        refused(() -> spec(128, 128, 64, 8, PvVariant.FP8_F16ACC, Arch.SM80), "pv", "fp8-f16acc", "fp16", "sm_80");
        refused(() -> spec(64, 128, 64, 8, PvVariant.FP8_F32ACC, Arch.SM80), "pv", "fp8-f32acc", "fp16", "sm_80");
    }

    @Test
    void messagesSayWhichSpecClassRefused() {
        refused(() -> spec(72, 128, 64, 8, PvVariant.FP16, Arch.SM80), "KernelSpec.headDim", "allowed");
    }

    @Test
    void nullFieldsAreRefused() {
        NullPointerException e = assertThrows(NullPointerException.class, () -> new KernelSpec(64, 128, 64, 8, false,
                null, QuantGranularity.PER_THREAD, DType.FP16, DType.FP16, Arch.SM89, MmaKind.SYNC));
        assertEquals("pv", e.getMessage());
        e = assertThrows(NullPointerException.class, () -> new KernelSpec(64, 128, 64, 8, false, PvVariant.FP16,
                QuantGranularity.PER_THREAD, DType.FP16, DType.FP16, null, MmaKind.SYNC));
        assertEquals("arch", e.getMessage());
    }

    // ---------------------------------------------------------------- parsers

    @Test
    void archParseAcceptsDocumentedForms() {
        assertEquals(Arch.SM89, Arch.parse("sm_89"));
        assertEquals(Arch.SM89, Arch.parse("89"));
        assertEquals(Arch.SM89, Arch.parse("SM89"));
        assertEquals(Arch.SM89, Arch.parse("SM_89"));
        assertEquals(Arch.SM80, Arch.parse("sm_80"));
        assertEquals(Arch.SM90, Arch.parse(" sm_90 "));
        assertEquals(Arch.SM120, Arch.parse("sm_120"));
        assertEquals(Arch.SM120, Arch.parse("120"));
        for (Arch a : Arch.values()) {
            assertEquals(a, Arch.parse(a.target()));
            assertEquals(a, Arch.parse(a.name()));
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"sm_75", "sm_86", "sm_100", "sm_90a", "ampere", "", "8.9", "sm_8"})
    void archParseRejectsJunk(String junk) {
        refused(() -> Arch.parse(junk), "arch", "'" + junk + "'", "sm_80, sm_89, sm_90, sm_120");
    }

    @Test
    void dtypeParse() {
        assertEquals(DType.FP16, DType.parse("fp16"));
        assertEquals(DType.FP16, DType.parse("FP16"));
        assertEquals(DType.BF16, DType.parse("bf16"));
        assertEquals(DType.BF16, DType.parse(" BF16 "));
        for (DType d : DType.values()) {
            assertEquals(d, DType.parse(d.shortName()));
            assertEquals(d, DType.parse(d.name()));
            assertEquals(2, d.bytes());
        }
        assertEquals("f16", DType.FP16.ptx());
        assertEquals("bf16", DType.BF16.ptx());
        for (String junk : List.of("fp32", "half", "", "int8")) {
            refused(() -> DType.parse(junk), "dtype", "'" + junk + "'", "fp16, bf16");
        }
    }

    @Test
    void pvParse() {
        assertEquals(PvVariant.FP8_F16ACC, PvVariant.parse("fp8-f16acc"));
        assertEquals(PvVariant.FP8_F32ACC, PvVariant.parse("fp8-f32acc"));
        assertEquals(PvVariant.FP16, PvVariant.parse("fp16"));
        assertEquals(PvVariant.FP8_F16ACC, PvVariant.parse("FP8_F16ACC"));
        assertEquals(PvVariant.FP8_F32ACC, PvVariant.parse(" FP8-F32ACC "));
        for (PvVariant p : PvVariant.values()) {
            assertEquals(p, PvVariant.parse(p.id()));
            assertEquals(p, PvVariant.parse(p.name()));
        }
        for (String junk : List.of("fp8", "int8", "", "f16acc")) {
            refused(() -> PvVariant.parse(junk), "pv", "'" + junk + "'", "fp8-f16acc, fp8-f32acc, fp16");
        }
    }

    @Test
    void quantParse() {
        assertEquals(QuantGranularity.PER_THREAD, QuantGranularity.parse("thread"));
        assertEquals(QuantGranularity.PER_WARP, QuantGranularity.parse("warp"));
        assertEquals(QuantGranularity.PER_BLOCK, QuantGranularity.parse("block"));
        assertEquals(QuantGranularity.PER_THREAD, QuantGranularity.parse("PER_THREAD"));
        assertEquals(QuantGranularity.PER_BLOCK, QuantGranularity.parse(" Block "));
        for (QuantGranularity q : QuantGranularity.values()) {
            assertEquals(q, QuantGranularity.parse(q.id()));
            assertEquals(q, QuantGranularity.parse(q.name()));
        }
        for (String junk : List.of("tensor", "", "per-thread", "channel")) {
            refused(() -> QuantGranularity.parse(junk), "quant", "'" + junk + "'", "thread, warp, block");
        }
    }

    @Test
    void quantGroups() {
        assertEquals(8, QuantGranularity.PER_THREAD.qGroupsPerTile());
        assertEquals(4, QuantGranularity.PER_THREAD.kGroupsPerBlock());
        assertEquals(1, QuantGranularity.PER_WARP.qGroupsPerTile());
        assertEquals(1, QuantGranularity.PER_WARP.kGroupsPerBlock());
        assertEquals(1, QuantGranularity.PER_BLOCK.qGroupsPerTile());
        assertEquals(1, QuantGranularity.PER_BLOCK.kGroupsPerBlock());
    }

    // ---------------------------------------------------------------- devices

    @Test
    void forDevice() {
        assertEquals(Arch.SM90, Arch.forDevice(9, 0));
        assertEquals(Arch.SM89, Arch.forDevice(8, 9));
        assertEquals(Arch.SM120, Arch.forDevice(12, 0));
        assertEquals(Arch.SM80, Arch.forDevice(8, 6));
        assertEquals(Arch.SM80, Arch.forDevice(8, 0));
        assertEquals(Arch.SM80, Arch.forDevice(8, 7));
        assertEquals(Arch.SM89, Arch.forDevice(10, 0), "Blackwell datacenter: portable sm_89 PTX, not sm_90a");
        assertEquals(Arch.SM120, Arch.forDevice(12, 1));
    }

    @Test
    void forDeviceRefusesOldGpus() {
        refused(() -> Arch.forDevice(7, 5), "7.5", "8.0", "sm_80");
        refused(() -> Arch.forDevice(6, 1), "6.1");
    }

    // ---------------------------------------------------------------- names

    @Test
    void kernelNamesAreValidPtxIdentifiersAndUnique() {
        List<KernelSpec> all = allValidSpecs();
        // 15 D x 2 warps x 2 rows x 2 causal x 3 quant x 2 x 2 dtypes x (blockK 64: 1 or 3 PV per arch;
        // blockK 32: FP16 PV on each of the 4 archs)
        assertEquals(15 * 2 * 2 * 2 * 3 * 2 * 2 * (1 + 3 + 3 + 3 + 4), all.size());
        Map<String, KernelSpec> byName = new HashMap<>();
        Map<String, KernelSpec> byText = new HashMap<>();
        for (KernelSpec s : all) {
            String name = s.kernelName();
            assertTrue(PTX_IDENTIFIER.matcher(name).matches(), "not a PTX identifier: " + name);
            assertTrue(name.length() < 1024, name);
            KernelSpec prev = byName.put(name, s);
            assertEquals(null, prev, () -> "same kernel name " + name + " for " + s + " and " + byName.get(name));
            KernelSpec prevText = byText.put(s.toString(), s);
            assertEquals(null, prevText, () -> "same toString for two specs: " + s);
        }
    }

    @Test
    void kernelNameOfDefaultSm89() {
        assertEquals("sage_attn_d128_q128_k64_w8_full_fp8f16acc_thread_fp16_fp16_sm_89",
                KernelSpec.defaults(Arch.SM89, 128, false, DType.FP16, DType.FP16).kernelName());
    }

    // ---------------------------------------------------------------- V range

    @Test
    void vMaxKeepsTheFp16PartialBelowFp16Max() {
        float v = PvVariant.FP8_F16ACC.vMax(64);
        assertEquals(2.25f, v);
        assertTrue(64 * 448.0 * v < 65504.0, "64 * 448 * vMax = " + 64 * 448.0 * v);
        for (KernelSpec s : allValidSpecs()) {
            if (s.pv() == PvVariant.FP8_F16ACC) {
                assertTrue(s.blockK() * 448.0 * s.vMax() < 65504.0, s.toString());
            }
        }
        assertEquals(448.0f, PvVariant.FP8_F32ACC.vMax(64));
        assertEquals(1.0f, PvVariant.FP16.vMax(64));
        KernelSpec s = KernelSpec.defaults(Arch.SM89, 128, false, DType.FP16, DType.FP16);
        assertEquals(PvVariant.FP8_F16ACC.vMax(64), s.vMax());
    }

    @Test
    void pvVariantProperties() {
        assertTrue(PvVariant.FP8_F16ACC.isFp8());
        assertTrue(PvVariant.FP8_F32ACC.isFp8());
        assertTrue(!PvVariant.FP16.isFp8());
    }

    @Test
    void preferredIsTheWgmmaFp8KernelOnSm90AndTheMmaSyncDefaultElsewhere() {
        for (int d : KernelSpec.HEAD_DIMS) {
            KernelSpec h = AttentionFamilies.preferred(Arch.SM90, d, true, DType.BF16, DType.FP16);
            assertEquals(MmaKind.WGMMA, h.mma());
            assertEquals(PvVariant.FP8_F16ACC, h.pv());
            assertEquals(d, h.headDim());
            KernelSpec h16 = AttentionFamilies.preferred(Arch.SM90, d, true, DType.BF16, DType.FP16, PvVariant.FP16);
            assertEquals(MmaKind.SYNC, h16.mma());
            // 32 rows per warp up to D = 128 on the H200, above D = 64 with 32-key blocks (MmaSyncFamily.warpPairTiles)
            assertEquals(d <= 128 ? 32 : 16, h16.warpRows(), h16.toString());
            if (d > 64 && d <= 128) assertEquals(32, h16.blockK(), h16.toString());
            assertEquals(MmaKind.WGMMA,
                    AttentionFamilies.preferred(Arch.SM90, d, false, DType.FP16, DType.FP16, PvVariant.FP8_F16ACC).mma());
            for (Arch a : new Arch[] {Arch.SM80, Arch.SM89, Arch.SM120}) {
                KernelSpec s = AttentionFamilies.preferred(a, d, false, DType.FP16, DType.FP16);
                KernelSpec base = KernelSpec.defaults(a, d, false, DType.FP16, DType.FP16);
                // 64 rows on 4 warps where two CTAs per SM measured faster (MmaSyncFamily.halfTiles), else the defaults
                boolean half = base.pv().isFp8() ? d >= 80 && d <= 128 : d <= 64;
                assertEquals(half ? base.toBuilder().tiles(64, 4).build() : base, s);
                assertEquals(MmaKind.SYNC, s.mma());
            }
        }
    }
}
