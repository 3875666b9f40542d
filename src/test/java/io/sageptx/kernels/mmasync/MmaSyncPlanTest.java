package io.sageptx.kernels.mmasync;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import io.sageptx.spec.Arch;
import io.sageptx.spec.ArchLimits;
import io.sageptx.spec.DType;
import io.sageptx.spec.KernelSpec;
import io.sageptx.spec.MmaKind;
import io.sageptx.spec.PvVariant;
import io.sageptx.spec.QuantGranularity;

class MmaSyncPlanTest {

    private static final int KIB48 = 48 * 1024;

    /** Every spec the constructor accepts (causal, quant and output dtype do not change the plan: one each). */
    static List<KernelSpec> allTileShapes() {
        List<KernelSpec> out = new ArrayList<>();
        for (Arch arch : Arch.values())
            for (int d : KernelSpec.HEAD_DIMS)
                for (int w : KernelSpec.WARPS)
                    for (int rows : KernelSpec.WARP_ROWS)
                        for (PvVariant pv : PvVariant.values())
                            for (DType in : DType.values()) {
                                if (pv.isFp8() && !arch.hasFp8Mma()) continue;
                                out.add(new KernelSpec(d, w * rows, KernelSpec.defaultBlockK(pv, d), w, false, pv, QuantGranularity.PER_THREAD, in,
                                        in, arch, MmaKind.SYNC));
                            }
        return out;
    }

    // ---------------------------------------------------------------- TileCopy

    @ParameterizedTest(name = "{0} rows x {1} B, {2} threads -> {3} chunks, {4} rows/pass, {5} passes")
    @CsvSource({
            // rows, rowBytes, threads, chunksPerRow, rowsPerPass, passes
            "128, 128, 256,  8, 32, 4",  // Q, D=128, 8 warps
            "64,  128, 256,  8, 32, 2",  // K, D=128
            "128,  64, 256,  4, 64, 2",  // FP8 V^T, D=128 (D rows of 64 tokens)
            "64,  256, 256, 16, 16, 4",  // FP16 V, D=128 (64 tokens of 256 bytes)
            "128,  64, 256,  4, 64, 2",  // Q, D=64
            "64,   64, 256,  4, 64, 1",  // K, D=64
            "64,  128, 256,  8, 32, 2",  // FP16 V, D=64
            "64,  128, 128,  8, 16, 4",  // Q, D=128, 4 warps
            "128,  64, 128,  4, 32, 4",  // FP8 V^T, D=128, 4 warps
            "64,  256, 128, 16,  8, 8",  // FP16 V, D=128, 4 warps
            "256, 128, 256,  8, 32, 8",  // Q, blockQ 256
            "16,   16,  16,  1, 16, 1",  // smallest
    })
    void tileCopyArithmetic(int rows, int rowBytes, int threads, int chunks, int rowsPerPass, int passes) {
        TileCopy t = TileCopy.padded(rows, rowBytes, threads);
        assertEquals(rows, t.rows());
        assertEquals(rowBytes, t.rowBytes());
        assertEquals(rowBytes + 16, t.smemRowBytes());
        assertEquals(threads, t.threads());
        assertEquals(chunks, t.chunksPerRow());
        assertEquals(rowsPerPass, t.rowsPerPass());
        assertEquals(passes, t.passes());
        assertEquals(rows * (rowBytes + 16), t.smemBytes());
        // every 16-byte chunk of the tile is copied exactly once
        assertEquals((long) rows * rowBytes / 16, (long) passes * threads);
    }

    @Test
    void tileCopyRefusesRowsThatAreNotWholeChunks() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> TileCopy.padded(64, 24, 256));
        assertTrue(e.getMessage().contains("rowBytes 24"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> TileCopy.padded(64, 100, 256));
    }

    @Test
    void tileCopyRefusesRowsWiderThanTheThreads() {
        // a row of 32 chunks is wider than 16 threads
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> TileCopy.padded(64, 512, 16));
        assertTrue(e.getMessage().contains("threads 16"), e.getMessage());
    }

    @Test
    void tileCopyWithIdleThreadsPredicatesEveryPass() {
        // 8 chunks per row, 100 threads -> 12 rows per pass by 96 threads; 64 rows take 6 passes (the last partial)
        TileCopy t = TileCopy.padded(64, 128, 100);
        assertEquals(12, t.rowsPerPass());
        assertEquals(96, t.activeThreads());
        assertTrue(t.idleThreads());
        assertEquals(6, t.passes());
        assertTrue(t.predicated());
        // D = 48 in 16-bit: 6 chunks, 256 threads -> 42 rows per pass by 252 threads
        TileCopy v = TileCopy.padded(64, 96, 256);
        assertEquals(42, v.rowsPerPass());
        assertEquals(252, v.activeThreads());
        assertEquals(2, v.passes());
    }

    @Test
    void tileCopyWithAPartialLastPassIsPredicated() {
        // 8 chunks per row, 256 threads -> 32 rows per pass; 48 rows is one and a half passes
        TileCopy t = TileCopy.padded(48, 128, 256);
        assertEquals(2, t.passes());
        assertTrue(t.predicated());
        assertTrue(!t.idleThreads());
        TileCopy whole = TileCopy.padded(64, 128, 256);
        assertTrue(!whole.predicated());
        assertEquals(2, whole.passes());
    }

    @Test
    void tileCopyExplicitPitch() {
        TileCopy t = new TileCopy(64, 128, 128, 256);
        assertEquals(128 * 64, t.smemBytes());
        assertEquals(2, t.passes());
    }

    // ---------------------------------------------------------------- MmaSyncPlan: concrete layouts

    @Test
    void singleBufferedFp8D128Layout() {
        MmaSyncPlan p = new MmaSyncPlan(KernelSpec.defaults(Arch.SM89, 128, false, DType.FP16, DType.FP16).toBuilder().stages(1).build());
        assertEquals(MmaSyncPlan.Schedule.SINGLE, p.schedule());
        // Q: 128 rows x (128 + 16) B; K: 64 x 144; FP8 V^T: 128 channels x (64 + 16)
        assertEquals(new TileCopy(128, 128, 144, 256), p.qTile());
        assertEquals(new TileCopy(64, 128, 144, 256), p.kTile());
        assertEquals(new TileCopy(128, 64, 80, 256), p.vTile());
        assertEquals(0, p.qOffset());
        assertEquals(128 * 144, p.kOffset());
        assertEquals(128 * 144 + 64 * 144, p.vOffset());
        assertEquals(128 * 144 + 64 * 144 + 128 * 80, p.smemBytes());
        assertEquals(37888, p.smemBytes());
        assertEquals(4, p.qkSteps());
        assertEquals(8, p.keyTiles());
        assertEquals(16, p.dimTiles());
        assertEquals(2, p.pvSteps());
    }

    @Test
    void singleBufferedFp16PvD128Layout() {
        for (DType t : DType.values()) {
            MmaSyncPlan p = new MmaSyncPlan(KernelSpec.defaults(Arch.SM80, 128, true, t, t).toBuilder().stages(1).build());
            // FP16 V: 64 tokens x (128 * 2 + 16) B
            assertEquals(new TileCopy(64, 256, 272, 256), p.vTile());
            assertEquals(18432, p.kOffset());
            assertEquals(27648, p.vOffset());
            assertEquals(27648 + 64 * 272, p.smemBytes());
            assertEquals(45056, p.smemBytes());
            assertEquals(4, p.pvSteps());
        }
    }

    @Test
    void singleBufferedD64Layouts() {
        MmaSyncPlan fp8 = new MmaSyncPlan(KernelSpec.defaults(Arch.SM120, 64, false, DType.BF16, DType.BF16).toBuilder().stages(1).build());
        assertEquals(128 * 80, fp8.kOffset());
        assertEquals(128 * 80 + 64 * 80, fp8.vOffset());
        assertEquals(new TileCopy(64, 64, 80, 256), fp8.vTile());
        assertEquals(20480, fp8.smemBytes());
        assertEquals(2, fp8.qkSteps());
        assertEquals(8, fp8.dimTiles());
        assertEquals(2, fp8.pvSteps());

        MmaSyncPlan fp16 = new MmaSyncPlan(KernelSpec.defaults(Arch.SM90, 64, false, DType.FP16, DType.FP16).toBuilder().stages(1).build());
        assertEquals(new TileCopy(64, 128, 144, 256), fp16.vTile());
        assertEquals(15360 + 64 * 144, fp16.smemBytes());
        assertEquals(24576, fp16.smemBytes());
        assertEquals(4, fp16.pvSteps());
    }

    @Test
    void alternativeTileShapeLayout() {
        KernelSpec s = KernelSpec.defaults(Arch.SM89, 128, false, DType.FP16, DType.FP16).toBuilder().tiles(64, 4).stages(1).build();
        MmaSyncPlan p = new MmaSyncPlan(s);
        assertEquals(new TileCopy(64, 128, 144, 128), p.qTile());
        assertEquals(4, p.qTile().passes());
        assertEquals(new TileCopy(128, 64, 80, 128), p.vTile());
        assertEquals(4, p.vTile().passes());
        assertEquals(9216, p.kOffset());
        assertEquals(18432, p.vOffset());
        assertEquals(28672, p.smemBytes());
    }

    @ParameterizedTest(name = "D={0} -> qkSteps {1}, dimTiles {2}")
    @CsvSource({"64, 2, 8", "128, 4, 16"})
    void mmaStepCounts(int d, int qkSteps, int dimTiles) {
        for (PvVariant pv : PvVariant.values()) {
            MmaSyncPlan p = new MmaSyncPlan(KernelSpec.defaults(Arch.SM89, d, false, DType.FP16, DType.FP16)
                    .toBuilder().pv(pv).build());
            assertEquals(qkSteps, p.qkSteps());
            assertEquals(8, p.keyTiles());
            assertEquals(dimTiles, p.dimTiles());
            assertEquals(pv.isFp8() ? 2 : 4, p.pvSteps());
            // the mma k-steps cover the dimensions exactly
            assertEquals(d, p.qkSteps() * 32);
            assertEquals(64, p.pvSteps() * (pv.isFp8() ? 32 : 16));
        }
    }

    // ---------------------------------------------------------------- MmaSyncPlan: every valid shape

    @Test
    void regionsAreAlignedDisjointAndLargeEnough() {
        for (KernelSpec base : allTileShapes()) {
            for (int st : KernelSpec.STAGES) {
                KernelSpec s = base.toBuilder().stages(st).build();
                MmaSyncPlan p = new MmaSyncPlan(s);
                String m = s.toString();
                assertEquals(s, p.spec());
                assertEquals(st == 0 ? p.stages() : st, p.stages(), m);
                assertTrue(p.stages() >= 1 && p.stages() <= 3, m);
                assertEquals(p.stages() == 1 ? MmaSyncPlan.Schedule.SINGLE : MmaSyncPlan.Schedule.PIPELINED, p.schedule(), m);
                for (int off : new int[] {p.qOffset(), p.kOffset(), p.vOffset(), p.kSlotBytes(), p.vSlotBytes(), p.smemBytes()}) {
                    assertEquals(0, off % MmaSyncPlan.SMEM_ALIGN, m);
                }
                assertEquals(0, p.qOffset(), m);
                assertTrue(p.qOffset() + p.qTile().smemBytes() <= p.kOffset(), m);
                // S K slots, then S V slots, each holding a whole tile, no overlap, no padding beyond the alignment
                assertTrue(p.kTile().smemBytes() <= p.kSlotBytes() && p.kSlotBytes() - p.kTile().smemBytes() < MmaSyncPlan.SMEM_ALIGN, m);
                assertTrue(p.vTile().smemBytes() <= p.vSlotBytes() && p.vSlotBytes() - p.vTile().smemBytes() < MmaSyncPlan.SMEM_ALIGN, m);
                assertEquals(p.kOffset() + p.stages() * p.kSlotBytes(), p.vOffset(), m);
                assertEquals(p.vOffset() + p.stages() * p.vSlotBytes(), p.smemBytes(), m);
                assertTrue(p.kOffset() - p.qTile().smemBytes() < MmaSyncPlan.SMEM_ALIGN, m);
                // tiles hold what the kernel needs: Q blockQ x D bytes, K blockK x D, V the whole block
                assertEquals(s.blockQ(), p.qTile().rows(), m);
                assertEquals(s.paddedHeadDim(), p.qTile().rowBytes(), m);
                assertEquals(s.blockK(), p.kTile().rows(), m);
                assertEquals(s.paddedHeadDim(), p.kTile().rowBytes(), m);
                assertEquals((long) s.blockK() * s.headDim() * (s.pv().isFp8() ? 1 : 2),
                        (long) p.vTile().rows() * p.vTile().rowBytes(), m);
                for (TileCopy t : List.of(p.qTile(), p.kTile(), p.vTile())) {
                    assertEquals(s.threads(), t.threads(), m);
                    assertEquals(t.rowBytes() + 16, t.smemRowBytes(), m);
                    // row pitch is 16 B-aligned but not a multiple of 128: ldmatrix rows fall in different banks
                    assertEquals(0, t.smemRowBytes() % 16, m);
                    assertTrue(t.smemRowBytes() % 128 != 0, m);
                }
            }
        }
    }

    @Test
    void eightLdmatrixRowsFallOnEightDistinctBankGroups() {
        // an ldmatrix phase reads eight 16-byte rows: with the pitch of every tile they hit 8 different
        // 16-byte bank groups (no conflicts), and a copy pass's 16-byte stores of one row are contiguous
        for (KernelSpec s : allTileShapes()) {
            MmaSyncPlan p = new MmaSyncPlan(s);
            for (TileCopy t : List.of(p.qTile(), p.kTile(), p.vTile())) {
                java.util.Set<Integer> groups = new java.util.HashSet<>();
                for (int r = 0; r < 8; r++) groups.add(r * t.smemRowBytes() / 16 % 8);
                assertEquals(8, groups.size(), s + " pitch " + t.smemRowBytes());
            }
        }
    }

    @Test
    void sharedMemoryFitsTheSmallestDeviceOfEveryArchByDefault() {
        for (KernelSpec s : allTileShapes()) {
            MmaSyncPlan p = new MmaSyncPlan(s);
            // the single-buffered layout of up to 128 rows and D = 128 needs no opt-in
            if (s.blockQ() <= 128 && s.headDim() <= 128) {
                int single = new MmaSyncPlan(s.toBuilder().stages(1).build()).smemBytes();
                assertTrue(single <= KIB48, s + ": " + single);
            }
            // with the tiles the defaults and the tuner use (up to 128 rows) the planner's depth always fits the
            // opt-in limit of the smallest device running the arch (256-row tiles at large D may not even
            // single-buffered: the tuner leaves out what does not fit)
            if (s.blockQ() <= 128) {
                assertTrue(p.fits(), s + ": " + p.smemBytes());
                assertTrue(p.smemBytes() <= ArchLimits.of(s.arch()).smemPerBlock(), s + ": " + p.smemBytes());
            }
        }
        // blockQ 256 with D=128 and FP16 V needs the opt-in above 48 KiB (the runtime sets the kernel's
        // max dynamic shared memory to smemBytes).
        KernelSpec big = KernelSpec.defaults(Arch.SM80, 128, false, DType.FP16, DType.FP16).toBuilder().tiles(256, 8).stages(1).build();
        assertEquals(256 * 144 + 64 * 144 + 64 * 272, new MmaSyncPlan(big).smemBytes());
        assertTrue(new MmaSyncPlan(big).smemBytes() > KIB48);
    }

    @Test
    void defaultPipelineDepthPerArch() {
        // D=128, 128 rows: three stages fit the 99 KB of sm_89 / sm_120 / the sm_80 family (RTX 30xx) and sm_90
        for (Arch a : Arch.values()) {
            KernelSpec s = KernelSpec.defaults(a, 128, false, DType.FP16, DType.FP16);
            MmaSyncPlan p = new MmaSyncPlan(s);
            assertEquals(3, p.stages(), s.toString());
            assertEquals(MmaSyncPlan.Schedule.PIPELINED, p.schedule());
        }
        MmaSyncPlan fp8 = new MmaSyncPlan(KernelSpec.defaults(Arch.SM89, 128, false, DType.FP16, DType.FP16));
        assertEquals(128 * 144 + 3 * (64 * 144 + 128 * 80), fp8.smemBytes());
        assertEquals(76800, fp8.smemBytes());
        assertEquals(128 * 144, fp8.kOffset());
        assertEquals(9216, fp8.kSlotBytes());
        assertEquals(10240, fp8.vSlotBytes());
        MmaSyncPlan fp16 = new MmaSyncPlan(KernelSpec.defaults(Arch.SM80, 128, false, DType.FP16, DType.FP16));
        assertEquals(18432 + 3 * (9216 + 17408), fp16.smemBytes());
        assertTrue(fp16.smemBytes() <= 99 * 1024);
        // D=64 FP8 f16-acc: two CTAs per SM, three stages keep both on sm_89 (2 x (40960 + 1 KB) <= 100 KB)
        MmaSyncPlan d64 = new MmaSyncPlan(KernelSpec.defaults(Arch.SM89, 64, false, DType.FP16, DType.FP16));
        assertEquals(Integer.valueOf(2), d64.minBlocks());
        assertEquals(3, d64.stages());
        assertEquals(40960, d64.smemBytes());
        assertEquals(2, d64.ctasPerSmBySmemAndThreads());
        assertEquals(128, d64.registerCap());
        // D=256 FP16 PV (32-key blocks): single-buffered (registers); FP8: three stages do not fit 99 KB
        assertEquals(1, new MmaSyncPlan(KernelSpec.defaults(Arch.SM89, 256, false, DType.FP16, DType.FP16)
                .toBuilder().pv(PvVariant.FP16).build()).stages());
        // D=256 FP8 on sm_89: Q 34816 B, one stage 37888 B: two stages (110592 B) do not fit 99 KB
        MmaSyncPlan d256 = new MmaSyncPlan(KernelSpec.defaults(Arch.SM89, 256, false, DType.FP16, DType.FP16));
        assertEquals(1, d256.stages());
        assertTrue(d256.fits());
        assertEquals(2, new MmaSyncPlan(KernelSpec.defaults(Arch.SM89, 192, false, DType.FP16, DType.FP16)).stages());
        assertEquals(3, new MmaSyncPlan(KernelSpec.defaults(Arch.SM90, 256, false, DType.FP16, DType.FP16)
                .toBuilder().pv(PvVariant.FP8_F16ACC).build()).stages());
    }

    @Test
    void launchBounds() {
        assertEquals(Integer.valueOf(2), MmaSyncPlan.launchMinBlocks(KernelSpec.defaults(Arch.SM89, 64, false, DType.FP16, DType.FP16)));
        assertEquals(Integer.valueOf(1), MmaSyncPlan.launchMinBlocks(KernelSpec.defaults(Arch.SM80, 64, false, DType.FP16, DType.FP16)));
        assertEquals(Integer.valueOf(2), MmaSyncPlan.launchMinBlocks(KernelSpec.defaults(Arch.SM80, 64, false, DType.FP16, DType.FP16)
                .toBuilder().tiles(64, 4).build()));
        assertEquals(null, MmaSyncPlan.launchMinBlocks(KernelSpec.defaults(Arch.SM89, 128, false, DType.FP16, DType.FP16)));
    }

    @Test
    void planDoesNotDependOnCausalQuantOrOutputType() {
        KernelSpec s = KernelSpec.defaults(Arch.SM89, 128, false, DType.FP16, DType.FP16);
        MmaSyncPlan a = new MmaSyncPlan(s);
        for (KernelSpec t : List.of(s.toBuilder().causal(true).build(), s.toBuilder().quant(QuantGranularity.PER_BLOCK).build(),
                s.toBuilder().types(DType.FP16, DType.BF16).build(), s.toBuilder().arch(Arch.SM120).build())) {
            MmaSyncPlan b = new MmaSyncPlan(t);
            assertEquals(a.qTile(), b.qTile());
            assertEquals(a.kTile(), b.kTile());
            assertEquals(a.vTile(), b.vTile());
            assertEquals(a.smemBytes(), b.smemBytes());
        }
    }

    @Test
    void alignRoundsUpToSmemAlign() {
        assertEquals(0, MmaSyncPlan.align(0));
        assertEquals(128, MmaSyncPlan.align(1));
        assertEquals(128, MmaSyncPlan.align(128));
        assertEquals(256, MmaSyncPlan.align(129));
    }
}
