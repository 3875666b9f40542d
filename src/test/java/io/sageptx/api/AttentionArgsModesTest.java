package io.sageptx.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sageptx.call.AttentionArgs;
import io.sageptx.call.CausalMode;
import io.sageptx.call.Strides;
import io.sageptx.call.TensorLayout;
import org.junit.jupiter.api.Test;

import io.sageptx.spec.Arch;
import io.sageptx.spec.DType;
import io.sageptx.spec.KernelSpec;

/** Layouts, strides, causal modes and varlen arguments: defaults, the index arithmetic and the refusals. */
class AttentionArgsModesTest {

    private static final long P = 0x10000;

    private static AttentionArgs.Builder base() {
        return AttentionArgs.builder().q(P).k(2 * P).v(3 * P).o(4 * P).batch(2).heads(8).kvHeads(2).lq(100).lk(300)
                .headDim(80);
    }

    private static void refused(AttentionArgs.Builder b, String... words) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> b.build().validate());
        for (String w : words) assertTrue(e.getMessage().contains(w), "'" + e.getMessage() + "' should name " + w);
    }

    @Test
    void bhldIsTheDefaultLayout() {
        AttentionArgs a = base().build().validate();
        assertEquals(new Strides(8L * 100 * 80, 100 * 80, 80), a.qStrides());
        assertEquals(new Strides(2L * 300 * 80, 300 * 80, 80), a.kStrides());
        assertEquals(a.kStrides(), a.vStrides());
        assertEquals(a.qStrides(), a.oStrides());
    }

    @Test
    void blhdStridesPutHeadsInsideTokens() {
        AttentionArgs a = base().layout(TensorLayout.BLHD).build().validate();
        assertEquals(new Strides(100L * 8 * 80, 80, 8 * 80), a.qStrides());
        assertEquals(new Strides(300L * 2 * 80, 80, 2 * 80), a.kStrides());
        assertEquals(a.qStrides(), a.oStrides());
    }

    @Test
    void stridesAddressEveryElementOnce() {
        // element (b, h, t, c) at b*sb + h*sh + t*st + c covers [0, B*H*L*D) exactly once in both layouts
        for (TensorLayout l : TensorLayout.values()) {
            Strides s = l.strides(3, 5, 16);
            boolean[] seen = new boolean[2 * 3 * 5 * 16];
            for (int b = 0; b < 2; b++)
                for (int h = 0; h < 3; h++)
                    for (int t = 0; t < 5; t++)
                        for (int c = 0; c < 16; c++) {
                            int i = (int) (b * s.batch() + h * s.head() + t * s.token() + c);
                            assertFalse(seen[i], l + " twice " + i);
                            seen[i] = true;
                        }
        }
    }

    @Test
    void explicitStridesOverrideTheLayout() {
        // Q, K, V as views of a fused [B][L][3][H][D] tensor
        long row = 3L * 8 * 80;
        AttentionArgs a = base().kvHeads(8).lk(100).qStrides(100 * row, 80, row).kStrides(100 * row, 80, row)
                .vStrides(100 * row, 80, row).build().validate();
        assertEquals(new Strides(100 * row, 80, row), a.qStrides());
        assertEquals(new Strides(100 * row, 80, row), a.vStrides());
        assertEquals(TensorLayout.BHLD.strides(8, 100, 80), a.oStrides());
    }

    @Test
    void varlenUsesThePackedLayoutAndTheMaxLengths() {
        AttentionArgs a = base().varlen(5 * P, 6 * P, 3000, 3100).build().validate();
        assertTrue(a.isVarlen());
        assertEquals(3000, a.lq());
        assertEquals(3100, a.lk());
        assertEquals(Strides.packed(8, 80), a.qStrides());
        assertEquals(new Strides(0, 80, 8 * 80), a.qStrides());
        assertEquals(new Strides(0, 80, 2 * 80), a.kStrides());
    }

    @Test
    void causalTrueMeansTopLeftAndIsRefusedWhenAmbiguous() {
        AttentionArgs a = base().lk(100).causal(true).build().validate();
        assertEquals(CausalMode.TOP_LEFT, a.causalMode());
        assertTrue(a.causal());
        refused(base().causal(true), "causal(true)", "lq = 100", "lk = 300", "TOP_LEFT", "BOTTOM_RIGHT");
        refused(base().lk(100).varlen(5 * P, 6 * P, 100, 100).causal(true), "cu_seqlens", "BOTTOM_RIGHT");
        // the same pointer for Q and K: one set of lengths, no ambiguity
        assertTrue(base().varlen(5 * P, 5 * P, 100, 100).causal(true).build().validate().causal());
        assertEquals(CausalMode.BOTTOM_RIGHT, base().causal(CausalMode.BOTTOM_RIGHT).build().validate().causalMode());
        assertEquals(CausalMode.TOP_LEFT, base().causal(CausalMode.TOP_LEFT).build().validate().causalMode());
        assertFalse(base().causal(false).build().validate().causal());
        refused(base().causal((CausalMode) null), "causal mode");
    }

    @Test
    void stridesMustKeep16ByteLoadsAndDisjointOutputRows() {
        refused(base().qStrides(8000, 800, 84), "qStrides", "multiple of 8");
        refused(base().kStrides(-8, 800, 80), "kStrides", "negative");
        refused(base().vStrides(8000, 4, 80), "vStrides", "multiple of 8");
        refused(base().oStrides(8000, 800, 3), "oStrides", "multiple of 2");
        refused(base().oStrides(8000, 800, 40), "oStrides", "overlap");
        refused(base().oStrides(8000, 8, 80 * 8), "oStrides", "overlap");
    }

    @Test
    void varlenNeedsBothAlignedOffsetArrays() {
        refused(base().varlen(0, 6 * P, 10, 10), "cu_seqlens_q", "cu_seqlens_k", "batch + 1 = 3");
        refused(base().varlen(5 * P, 0, 10, 10), "cu_seqlens");
        refused(base().varlen(5 * P + 2, 6 * P, 10, 10), "4-byte aligned");
        refused(base().varlen(5 * P, 6 * P, 0, 10), "lq = 0");
    }

    @Test
    void aSpecMustMatchTheCausalMode() {
        KernelSpec full = KernelSpec.defaults(Arch.SM90, 80, false, DType.FP16, DType.FP16);
        refused(base().causal(CausalMode.BOTTOM_RIGHT).spec(full), "does not match", "BOTTOM_RIGHT");
        KernelSpec causal = full.toBuilder().causal(true).build();
        assertTrue(base().causal(CausalMode.BOTTOM_RIGHT).spec(causal).build().validate().causal());
    }

    @Test
    void everyHeadDimFrom32To256InStepsOf16IsAccepted() {
        for (int d = 32; d <= 256; d += 16) base().headDim(d).build().validate();
        refused(base().headDim(40), "headDim = 40");
        refused(base().headDim(272), "headDim = 272");
    }
}
