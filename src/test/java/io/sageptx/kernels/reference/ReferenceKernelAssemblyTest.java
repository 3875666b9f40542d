package io.sageptx.kernels.reference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.DynamicTest.dynamicTest;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.regex.Pattern;

import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

import io.sageptx.reference.GpuReferenceAttention;
import io.sageptx.ptx.PtxVersions;
import io.sageptx.spec.Arch;
import io.sageptx.spec.DType;
import io.sageptx.testing.Ptxas;

/** The FP32 reference kernel assembles for every arch, head dim, mask and dtype, with no spills and no stack. */
class ReferenceKernelAssemblyTest {

    private static final int[] HEAD_DIMS = {32, 48, 64, 128, 256};
    private static final Pattern NO_STACK = Pattern.compile("(?<![0-9])0 bytes stack frame");
    private static final Pattern NO_SPILL_STORES = Pattern.compile("(?<![0-9])0 bytes spill stores");

    static List<ReferenceSpec> specs() {
        List<ReferenceSpec> out = new ArrayList<>();
        for (Arch arch : new Arch[] {Arch.SM80, Arch.SM89, Arch.SM90, Arch.SM120}) {
            for (int d : HEAD_DIMS) {
                for (boolean causal : new boolean[] {false, true}) {
                    for (DType t : DType.values()) out.add(new ReferenceSpec(d, causal, t, arch));
                }
            }
        }
        return out;
    }

    @TestFactory
    List<DynamicTest> assemblesWithoutSpills() {
        List<DynamicTest> tests = new ArrayList<>();
        for (ReferenceSpec spec : specs()) {
            tests.add(dynamicTest(spec.toString(), () -> {
                Ptxas.assumeAvailable();
                String target = spec.arch().target();
                Ptxas.Result r = Ptxas.assemble(ReferenceKernelEmitter.emit(spec), target);
                assertEquals(0, r.exitCode(), () -> spec + ": ptxas failed\n" + r.log());
                assertTrue(NO_SPILL_STORES.matcher(r.log()).find(), () -> spec + ": spill stores\n" + r.log());
                assertTrue(NO_STACK.matcher(r.log()).find(), () -> spec + ": stack frame\n" + r.log());
                Ptxas.EntryInfo e = r.entry(ReferenceKernelEmitter.kernelName(spec));
                assertTrue(e.noSpills(), () -> spec + ": " + e);
                if (spec.headDim() == 128) System.out.println("reference kernel " + spec + ": " + e);
            }));
        }
        return tests;
    }

    @Test
    void headerAndEntry() {
        for (Arch arch : Arch.values()) {
            ReferenceSpec spec = new ReferenceSpec(40, true, DType.BF16, arch);
            String ptx = ReferenceKernelEmitter.emit(spec);
            assertTrue(ptx.contains("\n.version " + PtxVersions.base(arch) + "\n"), ptx);
            assertTrue(ptx.contains("\n.target " + arch.target() + "\n"), ptx);
            assertTrue(ptx.contains(".visible .entry " + ReferenceKernelEmitter.kernelName(spec) + "("), ptx);
            assertEquals(ptx, ReferenceKernelEmitter.emit(spec), "deterministic");
        }
    }

    @Test
    void namesAreDistinct() {
        Set<String> names = new HashSet<>();
        for (int d = 8; d <= ReferenceSpec.MAX_HEAD_DIM; d += 8) {
            for (boolean causal : new boolean[] {false, true}) {
                for (DType t : DType.values()) {
                    assertTrue(names.add(ReferenceKernelEmitter.kernelName(new ReferenceSpec(d, causal, t, Arch.SM90))));
                }
            }
        }
        assertNotEquals(ReferenceKernelEmitter.emit(new ReferenceSpec(64, false, DType.FP16, Arch.SM90)),
                ReferenceKernelEmitter.emit(new ReferenceSpec(64, false, DType.BF16, Arch.SM90)));
    }

    @Test
    void everyMultipleOfEightRenders() {
        for (int d = 8; d <= ReferenceSpec.MAX_HEAD_DIM; d += 8) {
            String ptx = ReferenceKernelEmitter.emit(new ReferenceSpec(d, d % 16 == 0, DType.FP16, Arch.SM80));
            assertEquals(d % 32 != 0, ptx.contains("@%pv ld.global"), "d=" + d + ": tail predication");
        }
    }

    @Test
    void cublasStatusIsOneLine() {
        String s = GpuReferenceAttention.cublasStatus();
        assertTrue(s.startsWith("cuBLAS "), s);
        assertTrue(s.endsWith("using SagePTX's FP32 reference kernel"), s);
        assertTrue(!s.contains("\n"), s);
        assertEquals(s, GpuReferenceAttention.cublasStatus(), "cached");
    }

    @Test
    void rejectsBadHeadDims() {
        for (int d : new int[] {0, 4, 12, 100, 264, -8}) {
            assertThrows(IllegalArgumentException.class, () -> new ReferenceSpec(d, false, DType.FP16, Arch.SM90),
                    "d=" + d);
        }
        assertThrows(NullPointerException.class, () -> new ReferenceSpec(64, false, null, Arch.SM90));
        assertThrows(NullPointerException.class, () -> new ReferenceSpec(64, false, DType.FP16, null));
    }
}
