package io.sageptx.ptx;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.DynamicTest.dynamicTest;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;

import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

import io.sageptx.plan.SwizzledTile;
import io.sageptx.plan.WgmmaPlan;
import io.sageptx.spec.Arch;
import io.sageptx.spec.DType;
import io.sageptx.spec.KernelSpec;
import io.sageptx.spec.MmaKind;
import io.sageptx.spec.PvVariant;
import io.sageptx.spec.QuantGranularity;
import io.sageptx.testing.Ptxas;

/** The Hopper wgmma kernel: every variant assembles for sm_90a without spills; layout and descriptor arithmetic. */
class WgmmaAssemblyTest {

    static List<KernelSpec> specs() {
        List<KernelSpec> out = new ArrayList<>();
        for (PvVariant pv : new PvVariant[] {PvVariant.FP8_F16ACC, PvVariant.FP8_F32ACC}) {
            for (int d : KernelSpec.WGMMA_HEAD_DIMS) {
                for (boolean causal : new boolean[] {false, true}) {
                    for (DType t : DType.values()) {
                        KernelSpec s = KernelSpec.defaults(Arch.SM90, d, causal, t, t).withPv(pv).withMma(MmaKind.WGMMA);
                        out.add(s);
                        out.add(s.withTiles(64, 4));
                    }
                }
                for (QuantGranularity q : QuantGranularity.values()) {
                    out.add(KernelSpec.defaults(Arch.SM90, d, false, DType.FP16, DType.BF16).withPv(pv)
                            .withMma(MmaKind.WGMMA).withQuant(q));
                }
            }
        }
        return out;
    }

    @TestFactory
    Stream<DynamicTest> everyVariantAssemblesWithoutSpills() {
        Ptxas.assumeAvailable();
        return specs().stream().distinct().map(spec -> dynamicTest(spec.toString(), () -> {
            String ptx = AttentionKernelEmitter.emit(spec);
            assertTrue(ptx.contains(".target sm_90a"), "wgmma needs sm_90a");
            int qkSteps = spec.headDim() / 32;
            assertTrue(!ptx.contains("ldmatrix"), "Q is read by the tensor cores from shared memory");
            int pvGroups = spec.pv() == PvVariant.FP8_F16ACC && spec.headDim() >= 128 ? 2 : 1;
            assertEquals(qkSteps + 2 * pvGroups, count(ptx, "wgmma.mma_async"),
                    "one wgmma per QK k-step, 2 per PV group (FP16 accumulators: channel halves at D >= 128)");
            Ptxas.Result r = Ptxas.assemble(ptx, WgmmaKernelEmitter.TARGET);
            assertEquals(0, r.exitCode(), r.log());
            assertTrue(!r.log().toLowerCase().contains("warning"), r.log());
            Ptxas.EntryInfo info = r.entries().get(spec.kernelName());
            assertEquals(0, info.spillStores(), r.log());
            assertEquals(0, info.spillLoads(), r.log());
            assertEquals(0, info.stackFrame(), r.log());
            assertTrue(info.registers() <= 65536 / spec.threads(), r.log());
        }));
    }

    @Test
    void renderingIsDeterministic() {
        KernelSpec s = specs().get(0);
        assertEquals(AttentionKernelEmitter.emit(s), AttentionKernelEmitter.emit(s));
    }

    @Test
    void swizzleMapsEveryChunkOfARowToADistinctSlotAndRepeatsEveryEightRows() {
        for (int rowBytes : new int[] {64, 128}) {
            SwizzledTile t = new SwizzledTile(64, rowBytes, 256);
            for (int row = 0; row < 64; row++) {
                Set<Integer> seen = new HashSet<>();
                for (int c = 0; c < t.chunksPerRow(); c++) {
                    int off = t.offset(row, c);
                    assertEquals(row * rowBytes, off / rowBytes * rowBytes, "chunk stays in its row");
                    seen.add(off);
                    assertEquals(t.offset(row % 8, c) + (row / 8) * 8 * rowBytes, off, "period of 8 rows");
                }
                assertEquals(t.chunksPerRow(), seen.size());
            }
        }
        // 128-byte rows: chunk c of row r at c ^ (r % 8); 64-byte rows: c ^ ((r / 2) % 4)
        assertEquals(3 * 128 + (1 ^ 3) * 16, new SwizzledTile(64, 128, 256).offset(3, 1));
        assertEquals(5 * 64 + (1 ^ 2) * 16, new SwizzledTile(64, 64, 256).offset(5, 1));
    }

    @Test
    void descriptorWordsCarryStrideAndSwizzleMode() {
        SwizzledTile k128 = new SwizzledTile(64, 128, 256);
        assertEquals((1024 >> 4) | (1 << 30), k128.descriptorHigh());
        SwizzledTile v64 = new SwizzledTile(128, 64, 256);
        assertEquals((512 >> 4) | (2 << 30), v64.descriptorHigh());
        assertEquals(1 << 16, v64.descriptorLowBits());
    }

    @Test
    void stagesAreAtomAlignedAndFitTheSharedMemoryOfAnSm() {
        for (KernelSpec s : specs()) {
            WgmmaPlan p = new WgmmaPlan(s);
            for (int st = 0; st < 2; st++) {
                assertEquals(0, p.kStage(st) % 1024);
                assertEquals(0, p.vStage(st) % 1024);
            }
            assertTrue(p.kStage(0) >= p.qTile().bytes());
            assertTrue(p.smemBytes() <= 227 * 1024, s + ": " + p.smemBytes());
        }
    }

    @Test
    void wgmmaSpecsAreRefusedWhereTheyCannotRun() {
        KernelSpec base = KernelSpec.defaults(Arch.SM90, 128, false, DType.FP16, DType.FP16).withPv(PvVariant.FP8_F32ACC);
        assertThrows(IllegalArgumentException.class, () -> base.withArch(Arch.SM89).withMma(MmaKind.WGMMA));
        assertThrows(IllegalArgumentException.class, () -> base.withPv(PvVariant.FP16).withMma(MmaKind.WGMMA));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> base.withMma(MmaKind.WGMMA).withTiles(64, 2));
        assertTrue(e.getMessage().contains("warps"), e.getMessage());
    }

    private static int count(String s, String what) {
        int n = 0;
        for (int i = s.indexOf(what); i >= 0; i = s.indexOf(what, i + 1)) n++;
        return n;
    }
}
