package io.sageptx.kernels.merge;

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

import io.sageptx.spec.Arch;
import io.sageptx.spec.DType;
import io.sageptx.testing.Ptxas;

/**
 * The LSE merge kernels assemble with ptxas for every target, head dim 32..256 (step 16, plus odd
 * multiples of 8 that leave a partial lane slot), both dtypes and part counts from 1 to the per-launch
 * maximum, with no spills; and the PTX text is deterministic and names its entry.
 */
class LseMergeAssemblyTest {

    static Stream<MergeSpec> specs() {
        List<MergeSpec> out = new ArrayList<>();
        for (Arch arch : Arch.values()) {
            for (DType t : DType.values()) {
                for (int d = 32; d <= 256; d += 16) out.add(new MergeSpec(d, d == 128 ? 3 : 2, t, arch));
                out.add(new MergeSpec(8, 1, t, arch));
                out.add(new MergeSpec(40, 5, t, arch));
                out.add(new MergeSpec(256, MergeSpec.MAX_PARTS, t, arch));
            }
        }
        return out.stream();
    }

    @TestFactory
    Stream<DynamicTest> assemblesWithoutSpills() {
        Ptxas.assumeAvailable();
        return specs().map(s -> dynamicTest(s.toString(), () -> {
            String ptx = LseMergeEmitter.emit(s);
            Ptxas.Result r = Ptxas.assemble(ptx, s.arch().target());
            assertEquals(0, r.exitCode(), r.log());
            Ptxas.EntryInfo e = r.entry(LseMergeEmitter.kernelName(s));
            assertTrue(e.noSpills(), e.toString());
        }));
    }

    @Test
    void textIsDeterministicAndComplete() {
        MergeSpec s = new MergeSpec(96, 3, DType.BF16, Arch.SM89);
        String a = LseMergeEmitter.emit(s);
        assertEquals(a, LseMergeEmitter.emit(s));
        assertTrue(a.contains(".visible .entry sageptx_merge_bf16_d96_p3("));
        assertTrue(a.contains(".target sm_89"));
        assertTrue(a.contains("cvt.rn.bf16x2.f32"));
        assertTrue(a.contains("bar.warp.sync"));
        // D = 96: 12 lanes of 8 channels; the rest of the warp only reads the LSEs
        assertTrue(a.contains("setp.lt.u32 %pl, %lane, 12;"));
        for (int p = 0; p < 3; p++) assertTrue(a.contains(".param .u64 p_o" + p + ",") && a.contains(".param .u64 p_lse" + p + ","));
        assertTrue(!LseMergeEmitter.emit(new MergeSpec(256, 2, DType.FP16, Arch.SM90)).contains("setp.lt.u32 %pl"),
                "D = 256 fills the warp: no lane predicate");
    }

    @Test
    void specRefusesWhatTheKernelCannotDo() {
        assertThrows(IllegalArgumentException.class, () -> new MergeSpec(12, 2, DType.FP16, Arch.SM90));
        assertThrows(IllegalArgumentException.class, () -> new MergeSpec(264, 2, DType.FP16, Arch.SM90));
        assertThrows(IllegalArgumentException.class, () -> new MergeSpec(64, 0, DType.FP16, Arch.SM90));
        assertThrows(IllegalArgumentException.class, () -> new MergeSpec(64, MergeSpec.MAX_PARTS + 1, DType.FP16, Arch.SM90));
    }
}
