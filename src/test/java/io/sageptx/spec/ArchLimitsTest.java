package io.sageptx.spec;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class ArchLimitsTest {

    private static final int KB = 1024;

    @Test
    void everyDeviceRow() {
        ArchLimits a100 = ArchLimits.forDevice(8, 0);
        assertEquals(163 * KB, a100.smemPerBlock());
        assertEquals(164 * KB, a100.smemPerSm());
        assertEquals(2048, a100.maxThreadsPerSm());
        assertEquals(ArchLimits.Fp8Rate.NONE, a100.fp8());
        ArchLimits rtx3090 = ArchLimits.forDevice(8, 6);
        assertEquals(99 * KB, rtx3090.smemPerBlock());
        assertEquals(100 * KB, rtx3090.smemPerSm());
        assertEquals(1536, rtx3090.maxThreadsPerSm());
        ArchLimits rtx4090 = ArchLimits.forDevice(8, 9);
        assertEquals(99 * KB, rtx4090.smemPerBlock());
        assertEquals(100 * KB, rtx4090.smemPerSm());
        assertEquals(24, rtx4090.maxCtasPerSm());
        assertEquals(ArchLimits.Fp8Rate.NATIVE, rtx4090.fp8());
        ArchLimits h100 = ArchLimits.forDevice(9, 0);
        assertEquals(227 * KB, h100.smemPerBlock());
        assertEquals(228 * KB, h100.smemPerSm());
        assertEquals(ArchLimits.Fp8Rate.EMULATED, h100.fp8());
        ArchLimits rtx5090 = ArchLimits.forDevice(12, 0);
        assertEquals(99 * KB, rtx5090.smemPerBlock());
        assertEquals(ArchLimits.Fp8Rate.NATIVE, rtx5090.fp8());
        for (ArchLimits l : ArchLimits.DEVICES) {
            assertEquals(65536, l.registersPerSm(), l.name());
            assertEquals(255, l.registersPerThread(), l.name());
            assertEquals(KB, l.smemReservedPerBlock(), l.name());
            assertTrue(l.smemPerBlock() < l.smemPerSm(), l.name());
            // the table's FP8 rate agrees with what the generator emits for the arch the device runs
            Arch arch = Arch.forDevice(l.computeCapability() / 10, l.computeCapability() % 10);
            assertEquals(arch.hasFp8Mma(), l.fp8() != ArchLimits.Fp8Rate.NONE, l.name());
        }
    }

    @Test
    void anArchGetsTheSmallestDeviceThatRunsItsPtx() {
        // sm_80 PTX also runs on sm_86 (99 KB per CTA): a kernel planned for SM80 must fit an RTX 3090
        ArchLimits sm80 = ArchLimits.of(Arch.SM80);
        assertEquals(99 * KB, sm80.smemPerBlock());
        assertEquals(100 * KB, sm80.smemPerSm());
        assertEquals(16, sm80.maxCtasPerSm());
        assertEquals(1536, sm80.maxThreadsPerSm());
        assertEquals(ArchLimits.Fp8Rate.NONE, sm80.fp8());
        assertEquals(99 * KB, ArchLimits.of(Arch.SM89).smemPerBlock());
        assertEquals(ArchLimits.Fp8Rate.NATIVE, ArchLimits.of(Arch.SM89).fp8());
        assertEquals(227 * KB, ArchLimits.of(Arch.SM90).smemPerBlock());
        assertEquals(ArchLimits.Fp8Rate.EMULATED, ArchLimits.of(Arch.SM90).fp8());
        assertEquals(99 * KB, ArchLimits.of(Arch.SM120).smemPerBlock());
        for (Arch a : Arch.values()) assertEquals(a.computeCapability(), ArchLimits.of(a).computeCapability());
        // a device the table does not know gets its arch's smallest limits
        assertEquals(ArchLimits.of(Arch.SM120), ArchLimits.forDevice(13, 0));
        assertEquals(ArchLimits.of(Arch.SM80), ArchLimits.forDevice(8, 8));
        assertThrows(UnsupportedDeviceException.class, () -> ArchLimits.forDevice(7, 5));
    }

    @Test
    void occupancyArithmetic() {
        ArchLimits l = ArchLimits.forDevice(8, 9);
        // shared memory: per CTA rounded to 128 B plus the 1 KB the system reserves
        assertEquals(2, l.ctasBySmem(40960));
        assertEquals(1, l.ctasBySmem(76800));
        assertEquals(0, l.ctasBySmem(100 * KB));
        assertTrue(l.fits(256, 99 * KB));
        assertFalse(l.fits(256, 99 * KB + 1));
        assertFalse(l.fits(2048, 1024));
        // threads: 1536 per SM
        assertEquals(6, l.ctasByThreads(256));
        assertEquals(12, l.ctasByThreads(128));
        // registers: per warp in units of 256
        assertEquals(2, l.ctasByRegisters(256, 128));
        assertEquals(1, l.ctasByRegisters(256, 129));
        assertEquals(1, l.ctasByRegisters(256, 255));
        assertEquals(3, l.ctasByRegisters(128, 168));
        assertEquals(0, l.ctasByRegisters(256, 256));
        assertEquals(1, l.ctasPerSm(256, 76800, 172));
        assertEquals(2, l.ctasPerSm(256, 40960, 128));
        // the register cap that leaves room for n CTAs
        assertEquals(255, l.registerBudget(256, 1));
        assertEquals(128, l.registerBudget(256, 2));
        assertEquals(255, l.registerBudget(128, 2));
        assertEquals(168, l.registerBudget(128, 3));
        assertEquals(2, l.ctasByRegisters(256, l.registerBudget(256, 2)));
    }

    @Test
    void stagesInTheSpecAndItsTextForms() {
        KernelSpec d = KernelSpec.defaults(Arch.SM89, 128, false, DType.FP16, DType.FP16);
        assertEquals(0, d.stages());
        KernelSpec s1 = d.toBuilder().stages(1).build();
        // only a non-zero depth appears in the text forms: specs without one keep their names and keys
        assertFalse(SpecCodec.encode(d).contains("stages"));
        assertEquals(SpecCodec.encode(d) + ",stages=1", SpecCodec.encode(s1));
        assertEquals(d.kernelName() + "_s1", s1.kernelName());
        assertEquals(d + " stages=1", s1.toString());
        assertEquals(s1, SpecCodec.decode(SpecCodec.encode(s1)));
        assertEquals(d, SpecCodec.decode(SpecCodec.encode(d)));
        assertEquals(3, d.toBuilder().stages(3).build().toBuilder().build().stages());
        IllegalArgumentException bad = assertThrows(IllegalArgumentException.class, () -> d.toBuilder().stages(4).build());
        assertTrue(bad.getMessage().contains("KernelSpec.stages = 4"), bad.getMessage());
        KernelSpec w = KernelSpec.defaults(Arch.SM90, 128, false, DType.FP16, DType.FP16).toBuilder().pv(PvVariant.FP8_F32ACC)
                .mma(MmaKind.WGMMA).build();
        assertThrows(IllegalArgumentException.class, () -> w.toBuilder().stages(2).build());
    }
}
