package io.sageptx.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;

import org.junit.jupiter.api.Test;

import io.sageptx.call.AttentionArgs;
import io.sageptx.kernels.AttentionFamilies;
import io.sageptx.kernels.attention.ScratchLayout;
import io.sageptx.spec.Arch;
import io.sageptx.spec.DType;
import io.sageptx.spec.KernelSpec;
import io.sageptx.spec.MmaKind;
import io.sageptx.spec.PvVariant;
import io.sageptx.spec.QkPrecision;
import io.sageptx.spec.SpecCodec;
import io.sageptx.tune.CandidateSpace;

/**
 * The opt-in QK precision of a call, host side: what a call asking for it runs, what it needs, and that neither
 * the defaults nor the tuner ever switch a call's precision.
 */
class QkPrecisionModeTest {

    private static final long P = 0x10000;

    private static AttentionArgs.Builder call() {
        return AttentionArgs.builder().q(P).k(2 * P).v(3 * P).o(4 * P).batch(2).heads(8).kvHeads(2).lq(100).lk(300)
                .headDim(96).dtype(DType.BF16);
    }

    @Test
    void aCallThatAsksForFp16QkRunsTheWgmma16BitKernelAndNeedsNoScratch() {
        AttentionArgs a = call().qkPrecision(QkPrecision.FP16).build().validate();
        KernelSpec s = AttentionRunner.defaultSpec(a, Arch.SM90);
        assertEquals(QkPrecision.FP16, s.qk());
        assertEquals(MmaKind.WGMMA, s.mma());
        assertEquals(PvVariant.FP16, s.pv());
        assertEquals(64, s.blockK());
        assertEquals(0, AttentionRunner.workspaceBytes(a, Arch.SM90), "the kernel reads the caller's tensors");
        ScratchLayout l = new ScratchLayout(s, 2, 8, 2, 100, 300);
        assertEquals(0, l.q8Bytes() + l.k8Bytes() + l.v8Bytes() + l.qScaleBytes() + l.kScaleBytes() + l.qkmBytes()
                + l.channelStatBytes() + l.vStatBytes());
        // pv fp16 asked for explicitly is the same
        assertEquals(s, AttentionRunner.defaultSpec(call().qkPrecision(QkPrecision.FP16).pv(PvVariant.FP16).build(), Arch.SM90));
    }

    @Test
    void withoutTheModeNothingChanges() {
        for (Arch arch : Arch.values()) {
            // beyond the short-sequence crossover (ShortSequencesTest: shorter calls run 16-bit QK on sm_90)
            AttentionArgs a = call().lk(8192).build().validate();
            assertEquals(QkPrecision.INT8, a.qk());
            KernelSpec s = AttentionRunner.defaultSpec(a, arch);
            assertEquals(QkPrecision.INT8, s.qk());
            assertEquals(AttentionFamilies.preferred(arch, 96, false, DType.BF16, DType.BF16), s);
            assertEquals(s, AttentionRunner.defaultSpec(call().lk(8192).qkPrecision(QkPrecision.INT8).build(), arch));
            assertEquals(s, AttentionRunner.defaultSpec(call().qkPrecision(QkPrecision.INT8).build(), arch), "asked for");
            assertTrue(AttentionRunner.workspaceBytes(a, arch) > 0);
        }
    }

    @Test
    void everyArchHasTheModeAndItIsRefusedWithFp8Pv() {
        for (Arch arch : new Arch[] {Arch.SM80, Arch.SM89, Arch.SM120}) {
            // the mma.sync 16-bit QK kernel, no scratch
            AttentionArgs a = call().qkPrecision(QkPrecision.FP16).build().validate();
            KernelSpec s = AttentionRunner.defaultSpec(a, arch);
            assertEquals(MmaKind.SYNC, s.mma());
            assertEquals(QkPrecision.FP16, s.qk());
            assertEquals(0, AttentionRunner.workspaceBytes(a, arch));
            KernelSpec auto = AttentionRunner.defaultSpec(call().qkPrecision(QkPrecision.AUTO).build().validate(), arch);
            assertEquals(MmaKind.SYNC, auto.mma());
            assertEquals(s, auto.autoPartner(), "auto's partner is what a qk=fp16 call runs");
            // above D = 208 the mma.sync kernel spills: refused, naming the precision and the arch
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> AttentionRunner.defaultSpec(call().headDim(256).qkPrecision(QkPrecision.FP16).build().validate(), arch));
            assertTrue(e.getMessage().contains("qkPrecision = fp16") && e.getMessage().contains(arch.target()), e.getMessage());
        }
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> call().qkPrecision(QkPrecision.FP16).pv(PvVariant.FP8_F16ACC).build().validate());
        assertTrue(e.getMessage().contains("qkPrecision = fp16") && e.getMessage().contains("pv"), e.getMessage());
        KernelSpec int8 = AttentionFamilies.preferred(Arch.SM90, 96, false, DType.BF16, DType.BF16);
        e = assertThrows(IllegalArgumentException.class,
                () -> call().qkPrecision(QkPrecision.FP16).spec(int8).build().validate());
        assertTrue(e.getMessage().contains("qkPrecision"), e.getMessage());
        // a spec of 16-bit QK asked for by itself needs no qkPrecision
        KernelSpec q16 = AttentionFamilies.preferred(Arch.SM90, 96, false, DType.BF16, DType.BF16, null, QkPrecision.FP16);
        assertEquals(QkPrecision.FP16, call().spec(q16).build().validate().qk());
    }

    @Test
    void autoRunsTheDefaultInt8KernelGatedWithItsSixteenBitPartner() {
        // a long call: short sm_90 calls give every head to 16-bit QK (ShortSequencesTest)
        AttentionArgs a = call().lk(8192).qkPrecision(QkPrecision.AUTO).qkDecisions(8 * P).build().validate();
        KernelSpec s = AttentionRunner.defaultSpec(a, Arch.SM90);
        KernelSpec def = AttentionRunner.defaultSpec(call().qkPrecision(QkPrecision.INT8).build(), Arch.SM90);
        // on 128 rows / 8 warps with 64-key blocks (the INT8 default at D <= 128 is 64 / 4 with 128-key blocks): its
        // partner is the qk=fp16 call's kernel
        assertEquals(def.toBuilder().tiles(128, 8).blockK(64).qk(QkPrecision.AUTO).build(), s, "the default INT8 spec, gated");
        assertEquals(AttentionRunner.defaultSpec(call().qkPrecision(QkPrecision.FP16).build(), Arch.SM90), s.autoPartner(),
                "its partner is what a qk=fp16 call runs");
        ScratchLayout l = new ScratchLayout(s, 2, 8, 2, 100, 8192);
        assertEquals(4L * 2 * 8 + 4L * 2 * 8 * l.qScaleTiles() + 4L * 2 * 2 * l.kBlocks(), l.qkStatBytes());
        assertTrue(AttentionRunner.workspaceBytes(a, Arch.SM90)
                > AttentionRunner.workspaceBytes(call().lk(8192).qkPrecision(QkPrecision.INT8).build(), Arch.SM90));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> call().qkDecisions(8 * P).build().validate());
        assertTrue(e.getMessage().contains("qkDecisions") && e.getMessage().contains("auto"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> call().qkPrecision(QkPrecision.AUTO).qkDecisions(8 * P + 2).build().validate());
        assertTrue(e.getMessage().contains("aligned"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> AttentionRunner.defaultSpec(call().headDim(256).qkPrecision(QkPrecision.AUTO).build(), Arch.SM89));
        assertTrue(e.getMessage().contains("qkPrecision = auto"), e.getMessage());
        TuningKey k = new TuningKey("g", DType.BF16, DType.BF16, 96, false, 512, QkPrecision.AUTO);
        List<KernelSpec> c = CandidateSpace.standard().enumerate(Arch.SM90, k);
        assertTrue(c.size() > 18, c.toString());
        // the wgmma family's first: 12 serial + 6 warp-specialized (pipe=ws, wspp) x 3 granularities
        assertTrue(c.subList(0, 18).stream().allMatch(x -> x.qk() == QkPrecision.AUTO && x.pv().isFp8() && x.mma() == MmaKind.WGMMA),
                "the wgmma family's first");
        assertTrue(c.stream().allMatch(x -> x.qk() == QkPrecision.AUTO));
        assertEquals(s.toBuilder().headDim(96).build(), c.get(0));
    }

    @Test
    void tuningKeysAndCandidatesKeepThePrecision() {
        TuningKey int8 = new TuningKey("g", DType.BF16, DType.BF16, 64, true, 2048);
        TuningKey q16 = new TuningKey("g", DType.BF16, DType.BF16, 64, true, 2048, QkPrecision.FP16);
        assertEquals("bf16-bf16.d64.causal.n2048", int8.id(), "INT8 keys are the ids of before");
        assertEquals("bf16-bf16.d64.causal.n2048.qkfp16", q16.id());
        assertEquals(q16, TuningKey.parse("g", q16.id()));
        assertEquals(int8, TuningKey.parse("g", int8.id()));
        assertThrows(IllegalArgumentException.class, () -> TuningKey.parse("g", "bf16-bf16.d64.causal.n2048.x"));

        List<KernelSpec> plain = CandidateSpace.standard().enumerate(Arch.SM90, int8);
        assertTrue(plain.stream().allMatch(s -> s.qk() == QkPrecision.INT8), "no 16-bit QK unless asked for");
        List<KernelSpec> fp16 = CandidateSpace.standard().enumerate(Arch.SM90, q16);
        assertTrue(fp16.size() > 3, fp16.toString());
        assertTrue(fp16.subList(0, 3).stream().allMatch(s -> s.qk() == QkPrecision.FP16 && s.mma() == MmaKind.WGMMA));
        assertTrue(fp16.stream().allMatch(s -> s.qk() == QkPrecision.FP16), "then the mma.sync family's");
        assertEquals(AttentionFamilies.preferred(Arch.SM90, 64, true, DType.BF16, DType.BF16, null, QkPrecision.FP16), fp16.get(0));
        for (KernelSpec s : fp16) assertEquals(s, SpecCodec.decode(SpecCodec.encode(s)));
        List<KernelSpec> sm89 = AttentionFamilies.candidates(Arch.SM89, 64, true, DType.BF16, DType.BF16, QkPrecision.FP16);
        assertTrue(!sm89.isEmpty() && sm89.stream().allMatch(s -> s.qk() == QkPrecision.FP16 && s.mma() == MmaKind.SYNC));
        assertTrue(AttentionFamilies.candidates(Arch.SM89, 256, true, DType.BF16, DType.BF16, QkPrecision.FP16).isEmpty());
    }
}
