package io.sageptx.kernels.wgmma;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.DynamicTest.dynamicTest;

import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

import io.sageptx.kernels.AttentionFamilies;
import io.sageptx.kernels.AttentionModules;
import io.sageptx.kernels.preprocess.PreprocessEmitter;
import io.sageptx.kernels.preprocess.PreprocessKernels;
import io.sageptx.spec.Arch;
import io.sageptx.spec.DType;
import io.sageptx.spec.KernelSpec;
import io.sageptx.spec.MmaKind;
import io.sageptx.spec.PvVariant;
import io.sageptx.spec.QkPrecision;
import io.sageptx.testing.Ptxas;

/**
 * qk=auto: the gated INT8 wgmma kernel (every head dim, causal and not, both dtypes, both FP8 PV variants, tiles
 * 128/8 and 64/4) assembles without spills and with no more registers than the plain one; its preprocessing
 * module (the INT8 kernels with the tiles' sums of squares, and the decision kernel) too; the partner is the
 * 16-bit QK spec of the same tiles.
 */
class QkAutoAssemblyTest {

    static List<KernelSpec> specs() {
        List<KernelSpec> out = new ArrayList<>();
        for (int d : KernelSpec.HEAD_DIMS) {
            for (boolean causal : new boolean[] {false, true}) {
                out.add(auto(d, causal, DType.BF16, PvVariant.FP8_F16ACC, 128, 8));
            }
            if (d == 64 || d == 128 || d == 256) {
                out.add(auto(d, false, DType.FP16, PvVariant.FP8_F32ACC, 128, 8));
                out.add(auto(d, true, DType.FP16, PvVariant.FP8_F16ACC, 64, 4));
            }
        }
        return out;
    }

    static KernelSpec auto(int d, boolean causal, DType t, PvVariant pv, int rows, int warps) {
        return AttentionFamilies.preferred(Arch.SM90, d, causal, t, t, pv, QkPrecision.AUTO).toBuilder().tiles(rows, warps).build();
    }

    @TestFactory
    Stream<DynamicTest> gatedKernelsAndTheirPreprocessingAssembleWithoutSpills() {
        Ptxas.assumeAvailable();
        return specs().stream().map(spec -> dynamicTest(spec.toString(), () -> {
            String ptx = AttentionModules.module(spec).ptx().get();
            assertTrue(ptx.contains("[p_qkflags]") && ptx.contains("qk=auto: is this head this kernel's?"));
            assertEquals(1, count(ptx, "setp.ne.u32 %p0, %tmp, 0;\n    @%p0 bra.uni EXIT;"), "heads flagged 16-bit leave");
            Ptxas.EntryInfo gated = assemble(ptx, spec.kernelName());
            KernelSpec plain = spec.toBuilder().qk(QkPrecision.INT8).build();
            Ptxas.EntryInfo base = assemble(AttentionModules.module(plain).ptx().get(), plain.kernelName());
            // the gate costs a few registers at most (ptxas's allocation varies by a few between near-identical PTX)
            assertTrue(gated.registers() <= base.registers() + 4, gated + " vs " + base);

            String pre = PreprocessKernels.module(spec).ptx().get();
            assertEquals(2, count(pre, "st.global.f32 [%rd_sc], %f;\nQR_SSDONE:"), "Q and K write their tiles' sums of squares");
            Ptxas.Result r = Ptxas.assemble(pre, spec.arch().target() + "a");
            assertEquals(0, r.exitCode(), r.log());
            assertTrue(!r.log().toLowerCase().contains("warning"), r.log());
            assertEquals(5, r.entries().size(), r.entries().keySet().toString());
            assertTrue(r.entries().containsKey(PreprocessEmitter.qkDecideName(spec)));
            r.entries().values().forEach(e -> assertTrue(e.noSpills(), e.toString()));

            KernelSpec p = spec.autoPartner();
            assertEquals(QkPrecision.FP16, p.qk());
            assertEquals(PvVariant.FP16, p.pv());
            assertEquals(spec.blockQ(), p.blockQ());
            assertEquals(spec.warps(), p.warps());
            assertEquals(MmaKind.WGMMA, p.mma());
        }));
    }

    @Test
    void autoWithWgmmaIsRefusedWithFp16Pv() {
        KernelSpec a = auto(128, false, DType.BF16, PvVariant.FP8_F16ACC, 128, 8);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> a.toBuilder().pv(PvVariant.FP16).build());
        assertTrue(e.getMessage().contains("KernelSpec.qk = auto"), e.getMessage());
        // the mma.sync family has qk=auto too, with any PV (MmaSync16AssemblyTest)
        assertEquals(MmaKind.SYNC, a.toBuilder().mma(MmaKind.SYNC).pv(PvVariant.FP16).build().mma());
        assertTrue(a.kernelName().endsWith("_wgmma_qkauto"), a.kernelName());
        assertThrows(IllegalStateException.class, () -> a.autoPartner().autoPartner());
    }

    private static Ptxas.EntryInfo assemble(String ptx, String entry) {
        Ptxas.Result r = Ptxas.assemble(ptx, WgmmaEmitter.TARGET);
        assertEquals(0, r.exitCode(), r.log());
        assertTrue(!r.log().toLowerCase().contains("warning"), r.log());
        Ptxas.EntryInfo e = r.entry(entry);
        assertTrue(e.noSpills(), e.toString());
        return e;
    }

    private static int count(String s, String what) {
        int n = 0;
        for (int i = s.indexOf(what); i >= 0; i = s.indexOf(what, i + 1)) n++;
        return n;
    }
}
