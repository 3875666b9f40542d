package io.sageptx.kernels.attention;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import io.sageptx.spec.Arch;
import io.sageptx.spec.DType;
import io.sageptx.spec.KernelSpec;
import io.sageptx.spec.PvVariant;
import io.sageptx.spec.QuantGranularity;

class ScratchLayoutTest {

    private static final KernelSpec FP8 = KernelSpec.defaults(Arch.SM89, 128, false, DType.FP16, DType.FP16);
    private static final KernelSpec FP16 = KernelSpec.defaults(Arch.SM80, 64, true, DType.BF16, DType.BF16);

    @ParameterizedTest(name = "Lq={0} -> {1}, Lk={2} -> {3}")
    @CsvSource({
            "1,    128,  1,    64",
            "128,  128,  64,   64",
            "129,  256,  65,   128",
            "255,  256,  127,  128",
            "256,  256,  128,  128",
            "4096, 4096, 4096, 4096",
            "4097, 4224, 4097, 4160",
    })
    void paddedLengthsAreWholeBlocks(int lq, int lqPad, int lk, int lkPad) {
        ScratchLayout l = new ScratchLayout(FP8, 1, 1, 1, lq, lk);
        assertEquals(lqPad, l.lqPadded());
        assertEquals(lkPad, l.lkPadded());
        assertEquals(lqPad / 128, l.qBlocks());
        assertEquals(lkPad / 64, l.kBlocks());
    }

    @Test
    void paddingFollowsTheSpecsBlockQ() {
        KernelSpec q64 = FP8.toBuilder().tiles(64, 4).build();
        assertEquals(64, new ScratchLayout(q64, 1, 1, 1, 1, 1).lqPadded());
        assertEquals(128, new ScratchLayout(q64, 1, 1, 1, 65, 1).lqPadded());
        KernelSpec q256 = FP8.toBuilder().tiles(256, 8).build();
        assertEquals(256, new ScratchLayout(q256, 1, 1, 1, 129, 1).lqPadded());
    }

    @Test
    void qScalesPerHeadForEachGranularity() {
        // default tiles: blockQ 128, 8 warps -> 16-row warp tiles
        int lq = 200; // padded to 256
        ScratchLayout thread = new ScratchLayout(FP8, 1, 1, 1, lq, 100);
        assertEquals(256 / 16, thread.qScaleTiles());
        assertEquals(256 / 16 * 8, thread.qScalesPerHead());
        ScratchLayout warp = new ScratchLayout(FP8.toBuilder().quant(QuantGranularity.PER_WARP).build(), 1, 1, 1, lq, 100);
        assertEquals(16, warp.qScaleTiles());
        assertEquals(16, warp.qScalesPerHead());
        ScratchLayout block = new ScratchLayout(FP8.toBuilder().quant(QuantGranularity.PER_BLOCK).build(), 1, 1, 1, lq, 100);
        assertEquals(2, block.qScaleTiles());
        assertEquals(2, block.qScalesPerHead());

        // 32-row warp tiles (blockQ 128, 4 warps)
        KernelSpec w4 = FP8.toBuilder().tiles(128, 4).build();
        assertEquals(8 * 8, new ScratchLayout(w4, 1, 1, 1, lq, 100).qScalesPerHead());
        assertEquals(8, new ScratchLayout(w4.toBuilder().quant(QuantGranularity.PER_WARP).build(), 1, 1, 1, lq, 100).qScalesPerHead());
        assertEquals(2, new ScratchLayout(w4.toBuilder().quant(QuantGranularity.PER_BLOCK).build(), 1, 1, 1, lq, 100).qScalesPerHead());
    }

    @Test
    void kScalesPerHeadForEachGranularity() {
        // Lk 100 -> 2 key blocks
        assertEquals(2 * 4, new ScratchLayout(FP8, 1, 1, 1, 1, 100).kScalesPerHead());
        assertEquals(2, new ScratchLayout(FP8.toBuilder().quant(QuantGranularity.PER_WARP).build(), 1, 1, 1, 1, 100).kScalesPerHead());
        assertEquals(2, new ScratchLayout(FP8.toBuilder().quant(QuantGranularity.PER_BLOCK).build(), 1, 1, 1, 1, 100).kScalesPerHead());
    }

    @Test
    void byteSizesFp8() {
        // B=2, H=8, Hkv=2, Lq=1000 (pad 1024), Lk=1000 (pad 1024), D=128
        ScratchLayout l = new ScratchLayout(FP8, 2, 8, 2, 1000, 1000);
        assertEquals(1024, l.lqPadded());
        assertEquals(1024, l.lkPadded());
        assertEquals(2L * 8 * 1024 * 128, l.q8Bytes());
        assertEquals(2L * 2 * 1024 * 128, l.k8Bytes());
        assertEquals(2L * 2 * 128 * 1024, l.v8Bytes());
        assertEquals(4L * 2 * 8 * (1024 / 16 * 8), l.qScaleBytes());
        assertEquals(4L * 2 * 2 * (1024 / 64 * 4), l.kScaleBytes());
        assertEquals(4L * 2 * 2 * 128, l.channelStatBytes());
        assertEquals(4L * 2 * 8 * 1024, l.qkmBytes());
    }

    @Test
    void byteSizesFp16PvHaveNoV8() {
        ScratchLayout l = new ScratchLayout(FP16, 3, 4, 4, 77, 333);
        assertEquals(PvVariant.FP16, FP16.pv());
        assertEquals(128, l.lqPadded());
        assertEquals(384, l.lkPadded());
        assertEquals(0, l.v8Bytes());
        assertEquals(3L * 4 * 128 * 64, l.q8Bytes());
        assertEquals(3L * 4 * 384 * 64, l.k8Bytes());
        assertEquals(4L * 3 * 4 * 64, l.channelStatBytes());
        assertEquals(4L * 3 * 4 * 128, l.qkmBytes());
        assertEquals(4L * 3 * 4 * (128 / 16 * 8), l.qScaleBytes());
        assertEquals(4L * 3 * 4 * (384 / 64 * 4), l.kScaleBytes());
    }

    @Test
    void largeShapesDoNotOverflowByteCounts() {
        // 16 x 64 heads x 131072 tokens x 128 = 2^34 bytes: above Integer.MAX_VALUE
        ScratchLayout l = new ScratchLayout(FP8, 16, 64, 8, 131072, 131072);
        assertEquals(16L * 64 * 131072 * 128, l.q8Bytes());
        assertTrue(l.q8Bytes() > Integer.MAX_VALUE);
        assertEquals(16L * 8 * 128 * 131072, l.v8Bytes());
        assertEquals(4L * 16 * 64 * 131072, l.qkmBytes());
    }

    @Test
    void gqaAndMqaShapesAreAccepted() {
        new ScratchLayout(FP8, 1, 32, 8, 1, 1);
        new ScratchLayout(FP8, 1, 32, 1, 1, 1);
        new ScratchLayout(FP8, 1, 32, 32, 1, 1);
    }

    @Test
    void nonPositiveSizesAreRefused() {
        int[][] bad = {{0, 1, 1, 1, 1}, {1, 0, 1, 1, 1}, {1, 1, 0, 1, 1}, {1, 1, 1, 0, 1}, {1, 1, 1, 1, 0},
                {-1, 1, 1, 1, 1}, {1, 1, 1, -5, 1}, {1, 1, 1, 1, -64}};
        for (int[] b : bad) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> new ScratchLayout(FP8, b[0], b[1], b[2], b[3], b[4]));
            assertTrue(e.getMessage().contains("positive"), e.getMessage());
        }
    }

    @Test
    void headsNotAMultipleOfKvHeadsAreRefused() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new ScratchLayout(FP8, 1, 12, 8, 1, 1));
        assertTrue(e.getMessage().contains("12"), e.getMessage());
        assertTrue(e.getMessage().contains("8"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> new ScratchLayout(FP8, 1, 4, 8, 1, 1));
    }

    @Test
    void roundUp() {
        assertEquals(0, ScratchLayout.roundUp(0, 64));
        assertEquals(64, ScratchLayout.roundUp(1, 64));
        assertEquals(64, ScratchLayout.roundUp(64, 64));
        assertEquals(128, ScratchLayout.roundUp(65, 64));
    }
}
