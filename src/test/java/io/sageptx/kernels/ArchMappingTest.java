package io.sageptx.kernels;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.Test;

import io.sageptx.spec.Arch;
import io.sageptx.spec.DType;
import io.sageptx.spec.KernelSpec;
import io.sageptx.spec.MmaKind;
import io.sageptx.spec.PvVariant;
import io.sageptx.spec.UnsupportedDeviceException;

/**
 * Every compute capability from 8.0 gets an arch whose PTX loads there, and the default kernel of every
 * head dim and PV variant is of a family that serves it; no device but 9.0 is handed an arch-specific
 * ({@code sm_90a}) target.
 */
class ArchMappingTest {

    private static final Pattern TARGET = Pattern.compile("(?m)^\\.target\\s+(\\S+)");

    @ParameterizedTest(name = "cc {0}.{1} -> {2}, default family {3}, portable {4}")
    @CsvSource({
            "8, 0, sm_80,  sync,  false",
            "8, 6, sm_80,  sync,  true",
            "8, 7, sm_80,  sync,  true",
            "8, 9, sm_89,  sync,  false",
            "9, 0, sm_90,  wgmma, false",
            "10, 0, sm_89, sync,  true",
            "10, 3, sm_89, sync,  true",
            "11, 0, sm_89, sync,  true",
            "12, 0, sm_120, sync, false",
            "12, 1, sm_120, sync, true",
            "13, 0, sm_120, sync, true",
    })
    void everyComputeCapabilityGetsAFamilyWhosePtxLoadsThere(int major, int minor, String target, String family,
                                                           boolean portable) {
        Arch.DeviceTarget t = Arch.target(major, minor);
        assertEquals(target, t.arch().target());
        assertEquals(portable, t.portable(), t.note());
        int cc = major * 10 + minor;
        assertTrue(t.arch().computeCapability() <= cc, "PTX of a newer arch never loads on an older device");
        KernelSpec def = AttentionFamilies.preferred(t.arch(), 128, false, DType.FP16, DType.FP16);
        assertEquals(MmaKind.parse(family), def.mma());
        for (int d : KernelSpec.HEAD_DIMS) {
            for (PvVariant pv : PvVariant.values()) {
                if (pv.isFp8() && !t.arch().hasFp8Mma()) continue;
                for (boolean causal : new boolean[] {false, true}) {
                    KernelSpec s = AttentionFamilies.preferred(t.arch(), d, causal, DType.BF16, DType.BF16, pv);
                    assertTrue(AttentionFamilies.of(s).serves(t.arch()), s.toString());
                    if (d == 64 || d == 128) {
                        Matcher m = TARGET.matcher(AttentionModules.module(s).ptx().get());
                        assertTrue(m.find());
                        String ptxTarget = m.group(1);
                        boolean archSpecific = ptxTarget.endsWith("a") || ptxTarget.endsWith("f");
                        assertFalse(archSpecific && cc != 90, "cc " + major + "." + minor + " got " + ptxTarget + " for " + s);
                    }
                }
            }
        }
    }

    @Test
    void olderDevicesAreRefusedAndUserArchNamesResolve() {
        assertThrows(UnsupportedDeviceException.class, () -> Arch.target(7, 5));
        assertEquals(Arch.SM80, Arch.resolve("sm_86").arch());
        assertTrue(Arch.resolve("sm_86").note().contains("8.6"));
        assertEquals(Arch.SM90, Arch.resolve("sm_90a").arch());
        assertFalse(Arch.resolve("sm_90a").portable());
        assertEquals(Arch.SM89, Arch.resolve("sm_100").arch());
        assertEquals(Arch.SM89, Arch.resolve("sm_100a").arch());
        assertEquals(Arch.SM120, Arch.resolve("12.0").arch());
        assertEquals(Arch.SM120, Arch.resolve("sm_120f").arch());
        assertEquals(Arch.SM89, Arch.resolve("89").arch());
        assertThrows(IllegalArgumentException.class, () -> Arch.resolve("volta"));
        assertThrows(UnsupportedDeviceException.class, () -> Arch.resolve("sm_75"));
    }
}
