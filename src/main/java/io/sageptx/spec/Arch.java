package io.sageptx.spec;

import java.util.Arrays;
import java.util.stream.Collectors;

/** A GPU architecture the generator can target, with what its tensor cores offer. */
public enum Arch {
    SM80(80, false),
    SM89(89, true),
    SM90(90, false),
    SM120(120, true);

    private final int computeCapability;
    private final boolean nativeFp8F16Accumulate;

    Arch(int computeCapability, boolean nativeFp8F16Accumulate) {
        this.computeCapability = computeCapability;
        this.nativeFp8F16Accumulate = nativeFp8F16Accumulate;
    }

    /** Compute capability as major*10+minor (80, 89, 90, 120). */
    public int computeCapability() {
        return computeCapability;
    }

    /** PTX target name, e.g. {@code sm_89}. */
    public String target() {
        return "sm_" + computeCapability;
    }

    /** Whether the arch has FP8 (e4m3) mma.sync at all (sm_89 and newer; Hopper emulates it). */
    public boolean hasFp8Mma() {
        return computeCapability >= 89;
    }

    /** Whether FP8 mma.sync with FP16 accumulators runs natively (QMMA) rather than emulated. */
    public boolean nativeFp8F16Accumulate() {
        return nativeFp8F16Accumulate;
    }

    /**
     * The PV variant the library uses on this arch when nothing else is asked for or tuned:
     * the FP8 f16-accumulate mma where it is native (sm_89, sm_120, the method's targets); INT8 QK +
     * FP16 PV where FP8 mma.sync is missing (sm_80) or only emulated by F2FP + HMMA (sm_90, where the
     * measured FP16 PV kernel is faster than the emulated FP8 one: 435 vs 365 TFLOP/s at D=128).
     */
    public PvVariant defaultPv() {
        return nativeFp8F16Accumulate ? PvVariant.FP8_F16ACC : PvVariant.FP16;
    }

    /**
     * The arch the generator uses for a device of compute capability major.minor.
     *
     * @throws UnsupportedDeviceException below compute capability 8.0
     */
    public static Arch forDevice(int major, int minor) {
        int cc = major * 10 + minor;
        if (cc >= 120) return SM120;
        if (cc >= 100) return SM90; // Blackwell datacenter: FP8 mma.sync accepted, treated like Hopper
        if (cc == 90) return SM90;
        if (cc >= 89) return SM89;
        if (cc >= 80) return SM80;
        throw new UnsupportedDeviceException("compute capability " + major + "." + minor
                + " is not supported: SagePTX needs 8.0 or newer (INT8 mma.sync m16n8k32); supported: "
                + Arrays.stream(values()).map(Arch::target).collect(Collectors.joining(", ")));
    }

    /** Parses {@code sm_89}, {@code 89} or {@code SM89}. */
    public static Arch parse(String text) {
        String t = text.trim().toLowerCase().replaceFirst("^sm_?", "");
        for (Arch a : values()) {
            if (Integer.toString(a.computeCapability).equals(t)) return a;
        }
        throw new IllegalArgumentException("arch: '" + text + "' is not one of "
                + Arrays.stream(values()).map(Arch::target).collect(Collectors.joining(", ")));
    }
}
