package io.sageptx.kernels.wgmma;

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

import io.sageptx.spec.Arch;
import io.sageptx.spec.DType;
import io.sageptx.spec.KernelSpec;
import io.sageptx.spec.MmaKind;
import io.sageptx.spec.Pipe;
import io.sageptx.spec.QkPrecision;
import io.sageptx.spec.PvVariant;
import io.sageptx.spec.QuantGranularity;
import io.sageptx.testing.Ptxas;

/** The Hopper wgmma kernel: every variant assembles for sm_90a without spills; layout and descriptor arithmetic. */
class WgmmaAssemblyTest {

    static List<KernelSpec> specs() {
        List<KernelSpec> out = new ArrayList<>();
        for (PvVariant pv : new PvVariant[] {PvVariant.FP8_F16ACC, PvVariant.FP8_F32ACC}) {
            for (int d : KernelSpec.HEAD_DIMS) {
                for (boolean causal : new boolean[] {false, true}) {
                    for (DType t : DType.values()) {
                        KernelSpec s = KernelSpec.defaults(Arch.SM90, d, causal, t, t).toBuilder().pv(pv).mma(MmaKind.WGMMA).build();
                        out.add(s);
                        out.add(s.toBuilder().tiles(64, 4).build());
                    }
                }
                for (QuantGranularity q : QuantGranularity.values()) {
                    out.add(KernelSpec.defaults(Arch.SM90, d, false, DType.FP16, DType.BF16).toBuilder().pv(pv).mma(MmaKind.WGMMA).quant(q).build());
                }
            }
        }
        // 128-key blocks (FP16 accumulators) on 64 rows: every head dim, causal or not, both dtypes, the granularities
        for (int d : KernelSpec.HEAD_DIMS) {
            for (boolean causal : new boolean[] {false, true}) {
                for (DType t : DType.values()) out.add(k128(d, causal, t, QuantGranularity.PER_THREAD));
            }
            for (QuantGranularity q : QuantGranularity.values()) out.add(k128(d, false, DType.FP16, q));
        }
        return out;
    }

    static KernelSpec k128(int d, boolean causal, DType t, QuantGranularity q) {
        return KernelSpec.defaults(Arch.SM90, d, causal, t, t).toBuilder().pv(PvVariant.FP8_F16ACC).mma(MmaKind.WGMMA)
                .tiles(64, 4).blockK(128).quant(q).build();
    }

    @TestFactory
    Stream<DynamicTest> everyVariantAssemblesWithoutSpills() {
        Ptxas.assumeAvailable();
        return specs().stream().distinct().map(spec -> dynamicTest(spec.toString(), () -> {
            String ptx = WgmmaEmitter.emit(spec);
            assertTrue(ptx.contains(".target sm_90a"), "wgmma needs sm_90a");
            int qkSteps = spec.paddedHeadDim() / 32;
            assertTrue(!ptx.contains("ldmatrix"), "Q is read by the tensor cores from shared memory");
            WgmmaPlan plan = new WgmmaPlan(spec);
            // the planner's channel groups, or one group over all channels where P V is issued in two halves
            int pvGroups = WgmmaEmitter.model(spec).pvGroups().size();
            assertEquals(WgmmaEmitter.splitPv(spec) ? 1 : plan.pvGroups().size(), pvGroups);
            int pvSteps = spec.blockK() / 32;
            // S over 128 keys with a K tile of several swizzle columns: one n64 wgmma per 64-key sub-tile and k-step
            int sParts = spec.blockK() > SwizzledTile.SUB_ROWS && plan.kTile().columns().size() > 1 ? 2 : 1;
            assertEquals(qkSteps * sParts + pvSteps * pvGroups, count(ptx, "wgmma.mma_async"),
                    "one wgmma per QK k-step (and K sub-tile), one per PV k-step and group");
            assertEquals(sParts == 1 ? qkSteps : 2 * qkSteps, count(ptx, "s32.s8.s8"));
            assertEquals(pvSteps * pvGroups, count(ptx, ", %pfalse, 1, 1;") + count(ptx, ", %ptrue, 1, 1;"));
            assertEquals(pvGroups, count(ptx, ", %pfalse, 1, 1;"), "every PV group starts from zero accumulators");
            assertTrue(!ptx.contains("mul.f32 %o"), "no separate rescale: folded into the flush");
            // compiled as a whole program (the kernel cache loads wgmma PTX images, not the linker's relocatable
            // code, which serializes every wgmma when the kernel calls a subroutine): no serialized wgmma either way
            // (known: the FP32-accumulate serial variants, tuner candidates only, get C7511 "insufficient register
            // resources for the wgmma pipeline" at D = 80-112 and above 128; docs/notes/wgmma-jit.md)
            Ptxas.Result r = Ptxas.assemble(ptx, WgmmaEmitter.TARGET);
            assertEquals(0, r.exitCode(), r.log());
            assertTrue(!r.log().toLowerCase().contains("warning"), r.log());
            if (spec.pv() == PvVariant.FP8_F16ACC) {
                assertTrue(!r.log().contains("C75") && !r.log().contains("serialized"), r.log());
            }
            Ptxas.EntryInfo info = r.entries().get(spec.kernelName());
            assertEquals(0, info.spillStores(), r.log());
            assertEquals(0, info.spillLoads(), r.log());
            assertEquals(0, info.stackFrame(), r.log());
            assertTrue(info.registers() <= Math.min(255, 65536 / spec.threads()), r.log());
        }));
    }

    /** The warp-specialized kernel (pipe=ws, issue 12): every head dim it takes, causal or not, both dtypes, granularities. */
    static List<KernelSpec> wsSpecs() {
        List<KernelSpec> out = new ArrayList<>();
        for (int d : KernelSpec.HEAD_DIMS) {
            if (d > MmaKind.WS_MAX_HEAD_DIM) continue;
            for (boolean causal : new boolean[] {false, true}) {
                for (DType t : DType.values()) {
                    out.add(KernelSpec.defaults(Arch.SM90, d, causal, t, t).toBuilder().pv(PvVariant.FP8_F16ACC).mma(MmaKind.WGMMA)
                            .pipe(Pipe.WS).build());
                }
            }
            for (QuantGranularity q : QuantGranularity.values()) {
                out.add(KernelSpec.defaults(Arch.SM90, d, false, DType.FP16, DType.BF16).toBuilder().pv(PvVariant.FP8_F16ACC)
                        .mma(MmaKind.WGMMA).quant(q).pipe(Pipe.WS).build());
            }
            out.add(KernelSpec.defaults(Arch.SM90, d, true, DType.FP16, DType.FP16).toBuilder().pv(PvVariant.FP8_F16ACC)
                    .mma(MmaKind.WGMMA).qk(QkPrecision.AUTO).pipe(Pipe.WS).build());
            // 128-key blocks (FP16 accumulators), up to WS_K128_MAX_HEAD_DIM
            if (d <= MmaKind.WS_K128_MAX_HEAD_DIM) {
                for (boolean causal : new boolean[] {false, true}) {
                    KernelSpec.Builder b = KernelSpec.defaults(Arch.SM90, d, causal, DType.FP16, DType.FP16).toBuilder()
                            .pv(PvVariant.FP8_F16ACC).mma(MmaKind.WGMMA).pipe(Pipe.WS).blockK(128);
                    out.add(b.build());
                }
            }
            // FP32 P V accumulators (fresh every block): D/4 more registers, up to WS_F32_MAX_HEAD_DIM
            if (d > MmaKind.WS_F32_MAX_HEAD_DIM) continue;
            for (boolean causal : new boolean[] {false, true}) {
                out.add(KernelSpec.defaults(Arch.SM90, d, causal, DType.BF16, DType.BF16).toBuilder().pv(PvVariant.FP8_F32ACC)
                        .mma(MmaKind.WGMMA).pipe(Pipe.WS).build());
            }
        }
        // with ping-pong of the consumer warpgroups: the same kernel plus named barriers
        List<KernelSpec> pp = new ArrayList<>();
        for (KernelSpec s : out) {
            if (s.quant() == QuantGranularity.PER_THREAD) {
                pp.add(s.toBuilder().pipe(Pipe.WSPP).build());
            }
        }
        out.addAll(pp);
        return out;
    }

    /**
     * Every warp-specialized variant: 384 threads (2 consumer warpgroups + the producer), the role split by
     * setmaxnreg, S wgmmas twice (block 0 before the loop, block j+1 inside it), P V twice (block j-1 inside the loop,
     * the last block after it), and ptxas 13.0 reports no spill, no stack and no serialized wgmma (its C7514, C7519
     * and C7520 notes fail the test: the overlap would be gone).
     */
    @TestFactory
    Stream<DynamicTest> everyWarpSpecializedVariantAssemblesWithoutSpills() {
        Ptxas.assumeAvailable();
        return wsSpecs().stream().distinct().map(spec -> dynamicTest(spec.toString(), () -> {
            assertEquals(384, spec.threads());
            assertTrue(spec.pipe().warpSpecialized());
            String ptx = WgmmaEmitter.emit(spec);
            assertTrue(ptx.contains(".maxntid 384, 1, 1"), "one CTA of 3 warpgroups");
            assertEquals(1, count(ptx, "setmaxnreg.dec.sync.aligned.u32 " + WgmmaEmitter.WS_PRODUCER_REGS + ";"));
            assertEquals(1, count(ptx, "setmaxnreg.inc.sync.aligned.u32 " + WgmmaEmitter.WS_CONSUMER_REGS + ";"));
            assertTrue(WgmmaEmitter.WS_PRODUCER_REGS * 128 + WgmmaEmitter.WS_CONSUMER_REGS * 256 <= 65536);
            int qkSteps = spec.paddedHeadDim() / 32;
            int sParts = spec.blockK() > SwizzledTile.SUB_ROWS && new WgmmaPlan(spec).kTile().columns().size() > 1 ? 2 : 1;
            assertEquals(2 * qkSteps * sParts + 2 * (spec.blockK() / 32), count(ptx, "wgmma.mma_async"),
                    "S(0) and S(j+1); P V(j-1) in the loop and the last block's after it (blockK / 32 k-steps each)");
            assertEquals(2, count(ptx, ", %pfalse, 1, 1;"), "P V starts from zero accumulators every block");
            assertEquals(3, count(ptx, "wgmma.wait_group.sync.aligned 0;"), "S(0), end of each block, the last P V");
            assertEquals(1, count(ptx, "wgmma.wait_group.sync.aligned 1;"), "P V(j-1) while S(j+1) may still run");
            assertEquals(1, count(ptx, "cp.async.mbarrier.arrive.noinc"));
            assertEquals(2, count(ptx, "fence.proxy.async.shared::cta"), "after each wait on a full stage");
            boolean pp = spec.pipe() == Pipe.WSPP;
            assertEquals(pp ? 3 : 1, count(ptx, "bar.sync"), "one CTA barrier (after the mbarrier init), ping-pong's own");
            assertEquals(pp ? 2 : 0, count(ptx, "bar.arrive"));
            Ptxas.Result r = Ptxas.assemble(ptx, WgmmaEmitter.TARGET);
            assertEquals(0, r.exitCode(), r.log());
            assertTrue(!r.log().toLowerCase().contains("warning"), r.log());
            assertTrue(!r.log().contains("C75") && !r.log().contains("serialized"), r.log());
            Ptxas.EntryInfo info = r.entries().get(spec.kernelName());
            assertEquals(0, info.spillStores(), r.log());
            assertEquals(0, info.spillLoads(), r.log());
            assertEquals(0, info.stackFrame(), r.log());
            // the launch count the setmaxnreg accounting assumes: 256 * (240 - 168) = 128 * (168 - 24)
            assertEquals(168, info.registers(), r.log());
            assertEquals(256 * (WgmmaEmitter.WS_CONSUMER_REGS - 168), 128 * (168 - WgmmaEmitter.WS_PRODUCER_REGS));
            WgmmaPlan p = new WgmmaPlan(spec);
            assertEquals(WgmmaPlan.WS_STAGES, p.stages());
            assertTrue(p.smemBytes() <= 227 * 1024, spec + ": " + p.smemBytes());
        }));
    }

    @Test
    void theWarpSpecializedKernelIsNamedAndRefusedWhereItCannotRun() {
        KernelSpec ws = wsSpecs().get(0);
        assertEquals(ws, io.sageptx.spec.SpecCodec.decode(io.sageptx.spec.SpecCodec.encode(ws)));
        assertTrue(io.sageptx.spec.SpecCodec.encode(ws).endsWith(",pipe=ws"));
        assertTrue(ws.kernelName().endsWith("_wgmma_ws"), ws.kernelName());
        KernelSpec serial = ws.toBuilder().pipe(Pipe.SERIAL).build();
        assertTrue(!io.sageptx.spec.SpecCodec.encode(serial).contains("pipe"), "the default schedule is not written");
        assertThrows(IllegalArgumentException.class, () -> ws.toBuilder().headDim(208).build());
        assertEquals(Pipe.WS, ws.toBuilder().headDim(192).build().pipe());
        assertThrows(IllegalArgumentException.class, () -> ws.toBuilder().pv(PvVariant.FP16).build());
        assertEquals(PvVariant.FP8_F32ACC, ws.toBuilder().pv(PvVariant.FP8_F32ACC).headDim(MmaKind.WS_F32_MAX_HEAD_DIM).build().pv());
        assertThrows(IllegalArgumentException.class, () -> ws.toBuilder().pv(PvVariant.FP8_F32ACC).headDim(160).build());
        assertThrows(IllegalArgumentException.class, () -> ws.toBuilder().tiles(64, 4).build());
        assertThrows(IllegalArgumentException.class, () -> ws.toBuilder().mma(MmaKind.SYNC).build());
        assertEquals(Pipe.SERIAL, ws.toBuilder().qk(QkPrecision.AUTO).build().autoPartner().pipe());
    }

    @Test
    void renderingIsDeterministic() {
        KernelSpec s = specs().get(0);
        assertEquals(WgmmaEmitter.emit(s), WgmmaEmitter.emit(s));
    }

    @Test
    void everyChunkOfATileHasItsOwnSlotAndSwizzlesRepeatEveryEightRows() {
        for (int rowBytes = 32; rowBytes <= 256; rowBytes += 32) {
            SwizzledTile t = new SwizzledTile(128, rowBytes, 256);
            Set<Integer> seen = new HashSet<>();
            for (int row = 0; row < 128; row++) {
                for (int b = 0; b < rowBytes; b += 16) {
                    int off = t.offset(row, b);
                    assertTrue(off >= 0 && off + 16 <= t.bytes(), "inside the tile");
                    assertTrue(seen.add(off), "slot used twice: row " + row + " byte " + b + " of " + rowBytes);
                    SwizzledTile.Column c = t.columnOf(b);
                    int rowStart = row / 64 * t.subTileBytes() + c.base() + row % 64 * c.width();
                    assertEquals(rowStart, off / c.width() * c.width(), "a chunk stays in its row of its column");
                }
            }
            assertEquals(128 * rowBytes, seen.size() * 16);
        }
        // 128-byte columns: chunk c of row r at c ^ (r % 8); 64-byte: c ^ ((r / 2) % 4); 32-byte: c ^ ((r / 4) % 2)
        assertEquals(3 * 128 + (1 ^ 3) * 16, new SwizzledTile(64, 128, 256).offset(3, 16));
        assertEquals(5 * 64 + (1 ^ 2) * 16, new SwizzledTile(64, 64, 256).offset(5, 16));
        SwizzledTile d96 = new SwizzledTile(64, 96, 256);
        assertEquals(List.of(64, 32), d96.columns().stream().map(SwizzledTile.Column::width).toList());
        assertEquals(64 * 64 + 4 * 32 + (0 ^ 1) * 16, d96.offset(4, 64));
    }

    @Test
    void columnsAreWidestFirstAndEveryKStepLiesInOneColumn() {
        SwizzledTile t = new SwizzledTile(64, 224, 256);
        assertEquals(List.of(128, 64, 32), t.columns().stream().map(SwizzledTile.Column::width).toList());
        for (int b = 0; b < 224; b += 32) {
            SwizzledTile.Column c = t.columnOf(b);
            assertTrue(b + 32 <= c.start() + c.width(), "k-step at byte " + b + " crosses its column");
            assertEquals(0, c.base() % (8 * c.width()), "column base on a swizzle atom");
        }
    }

    @Test
    void descriptorWordsCarryStrideAndSwizzleMode() {
        List<SwizzledTile.Column> c = new SwizzledTile(64, 224, 256).columns();
        assertEquals((1024 >> 4) | (1 << 30), c.get(0).descriptorHigh());
        assertEquals((512 >> 4) | (2 << 30), c.get(1).descriptorHigh());
        assertEquals((256 >> 4) | (3 << 30), c.get(2).descriptorHigh());
        assertEquals(1 << 16, new SwizzledTile(128, 64, 256).descriptorLowBits());
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
        KernelSpec base = KernelSpec.defaults(Arch.SM90, 128, false, DType.FP16, DType.FP16).toBuilder().pv(PvVariant.FP8_F32ACC).build();
        assertThrows(IllegalArgumentException.class, () -> base.toBuilder().arch(Arch.SM89).mma(MmaKind.WGMMA).build());
        assertThrows(IllegalArgumentException.class, () -> base.toBuilder().pv(PvVariant.FP16).mma(MmaKind.WGMMA).build());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> base.toBuilder().mma(MmaKind.WGMMA).tiles(64, 2).build());
        assertTrue(e.getMessage().contains("warps"), e.getMessage());
    }

    private static int count(String s, String what) {
        int n = 0;
        for (int i = s.indexOf(what); i >= 0; i = s.indexOf(what, i + 1)) n++;
        return n;
    }
}
