package io.sageptx.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

import io.sageptx.call.AttentionArgs;
import io.sageptx.spec.Arch;
import io.sageptx.spec.DType;
import io.sageptx.spec.MmaKind;
import io.sageptx.spec.PvVariant;
import io.sageptx.spec.QkPrecision;
import io.sageptx.testing.SystemProperties;

/** The short-sequence rule: which calls run the 16-bit QK kernel when they ask for nothing (no GPU needed). */
class ShortSequencesTest {

    private static AttentionArgs.Builder call(int d, int n, boolean causal) {
        return AttentionArgs.builder().q(1L << 20).k(2L << 20).v(3L << 20).o(4L << 20).batch(4).heads(32).seqLen(n).headDim(d).dtype(DType.FP16)
                .causal(causal);
    }

    @Test
    void shortCallsOnSm90RunSixteenBitQkUpToTheMeasuredCrossover() {
        assertTrue(ShortSequences.uses16BitQk(call(128, 1536, false).build(), Arch.SM90, true));
        assertFalse(ShortSequences.uses16BitQk(call(128, 2048, false).build(), Arch.SM90, true));
        assertTrue(ShortSequences.uses16BitQk(call(128, 2048, true).build(), Arch.SM90, true));   // 1024 keys a row
        assertFalse(ShortSequences.uses16BitQk(call(128, 4096, true).build(), Arch.SM90, true));  // 2048 keys a row
        assertTrue(ShortSequences.uses16BitQk(call(64, 1536, false).build(), Arch.SM90, true));
        assertFalse(ShortSequences.uses16BitQk(call(64, 2048, false).build(), Arch.SM90, true));
        assertTrue(ShortSequences.uses16BitQk(call(96, 1024, false).build(), Arch.SM90, true));
    }

    @Test
    void autoOnAShortCallGivesEveryHeadToSixteenBitQk() {
        assertTrue(ShortSequences.uses16BitQk(call(128, 1024, false).qkPrecision(QkPrecision.AUTO).build(), Arch.SM90, true));
        assertFalse(ShortSequences.uses16BitQk(call(128, 8192, false).qkPrecision(QkPrecision.AUTO).build(), Arch.SM90, true));
        assertFalse(ShortSequences.uses16BitQk(call(128, 1024, false).qkPrecision(QkPrecision.AUTO).build(), Arch.SM89, true));
        assertFalse(ShortSequences.uses16BitQk(call(128, 1024, false).qkPrecision(QkPrecision.AUTO).build(), Arch.SM90, false));
        assertFalse(ShortSequences.uses16BitQk(call(128, 1024, false).qkPrecision(QkPrecision.AUTO).pv(PvVariant.FP8_F32ACC)
                .build(), Arch.SM90, true), "a PV variant asked for keeps the gated INT8 kernel");
        SystemProperties.with(ShortSequences.PROPERTY, "auto", () -> {
            AttentionArgs shortAuto = call(128, 1024, false).qkPrecision(QkPrecision.AUTO).qkDecisions(5L << 20).build();
            assertEquals(QkPrecision.FP16, AttentionRunner.defaultSpec(shortAuto, Arch.SM90).qk());
            assertEquals(0, AttentionRunner.workspaceBytes(shortAuto, Arch.SM90), "no scratch: no quantization pass");
            assertEquals(QkPrecision.AUTO, AttentionRunner.defaultSpec(call(128, 8192, false).qkPrecision(QkPrecision.AUTO).build(),
                    Arch.SM90).qk());
        });
    }

    @Test
    void anythingAskedForAnotherArchOrALargeHeadDimKeepsTheAskedOrInt8Kernel() {
        assertFalse(ShortSequences.uses16BitQk(call(128, 1024, false).build(), Arch.SM90, false), "policy int8");
        assertFalse(ShortSequences.uses16BitQk(call(128, 1024, false).qkPrecision(QkPrecision.INT8).build(), Arch.SM90, true));
        assertFalse(ShortSequences.uses16BitQk(call(128, 1024, false).pv(PvVariant.FP8_F32ACC).build(), Arch.SM90, true));
        assertFalse(ShortSequences.uses16BitQk(call(128, 1024, false).build(), Arch.SM89, true));
        assertFalse(ShortSequences.uses16BitQk(call(128, 1024, false).build(), Arch.SM80, true));
        assertFalse(ShortSequences.uses16BitQk(call(256, 1024, false).build(), Arch.SM90, true));
    }

    @Test
    void theDefaultSpecOfAShortCallIsTheWgmmaSixteenBitKernelAndOfALongOneTheInt8Kernel() {
        SystemProperties.with(ShortSequences.PROPERTY, "auto", () -> {
            var s = AttentionRunner.defaultSpec(call(128, 1024, false).build(), Arch.SM90);
            assertEquals(QkPrecision.FP16, s.qk());
            assertEquals(MmaKind.WGMMA, s.mma());
            assertEquals(QkPrecision.INT8, AttentionRunner.defaultSpec(call(128, 16384, false).build(), Arch.SM90).qk());
            System.setProperty(ShortSequences.PROPERTY, "int8");
            assertEquals(QkPrecision.INT8, AttentionRunner.defaultSpec(call(128, 1024, false).build(), Arch.SM90).qk());
            System.setProperty(ShortSequences.PROPERTY, "fast");
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, ShortSequences::enabled);
            assertTrue(e.getMessage().contains("allowed: auto, int8"), e.getMessage());
        });
    }
}
