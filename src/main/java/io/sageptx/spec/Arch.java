package io.sageptx.spec;

import java.util.Arrays;
import java.util.stream.Collectors;

/**
 * A GPU architecture the generator can target, with what its tensor cores offer. Every device of
 * compute capability 8.0 or newer maps to one ({@link #forDevice}); devices without a target of their
 * own get portable PTX of an older one (sm_80, sm_89 and sm_120 PTX is JIT-compiled forward by the
 * driver), never an arch-specific target ({@code sm_90a}) of another chip.
 */
public enum Arch {
    /** Ampere (A100, RTX 30): INT8 QK and FP16 PV; also the PTX of 8.6 to 8.8. */
    SM80(80, false),
    /** Ada (RTX 40, L4, L40): native FP8 mma.sync with FP16 accumulators, the method's target. */
    SM89(89, true),
    /** Hopper (H100, H200): the wgmma family (sm_90a) by default, the mma.sync family too. */
    SM90(90, false),
    /** Blackwell GeForce (RTX 50): native FP8 mma.sync with FP16 accumulators. */
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
     * The PV variant of the mma.sync kernel on this arch when nothing else is asked for or tuned: the FP8
     * f16-accumulate mma where it is native (sm_89, sm_120, the method's targets); INT8 QK + FP16 PV where
     * FP8 mma.sync is missing (sm_80) or only emulated by F2FP + HMMA (sm_90, where the measured FP16 PV
     * kernel is faster than the emulated FP8 one: 435 vs 365 TFLOP/s at D=128).
     */
    public PvVariant defaultPv() {
        return nativeFp8F16Accumulate ? PvVariant.FP8_F16ACC : PvVariant.FP16;
    }

    /**
     * A device's compute capability and the arch the generator uses for it, with a note when the device has
     * no target of its own (its kernels are the portable PTX of {@code arch}, compiled forward by the driver).
     *
     * @param major the compute capability's major number
     * @param minor its minor number
     * @param arch  the arch whose PTX the device runs
     * @param note  why a device runs another arch's PTX; empty when it runs its own
     */
    public record DeviceTarget(int major, int minor, Arch arch, String note) {
        /** True when the device runs another arch's PTX (JIT-compiled forward), not PTX of its own target. */
        public boolean portable() {
            return !note.isEmpty();
        }
    }

    /**
     * The arch the generator uses for a device of compute capability major.minor.
     *
     * @throws UnsupportedDeviceException below compute capability 8.0
     */
    public static Arch forDevice(int major, int minor) {
        return target(major, minor).arch();
    }

    /**
     * The arch for a device and why, for every compute capability from 8.0: 8.0-8.8 the sm_80 family (8.6,
     * 8.7: sm_80 PTX), 8.9 sm_89, 9.0 sm_90 (the only device that gets the arch-specific sm_90a wgmma
     * kernel), 9.1-11.x sm_89 PTX (Blackwell datacenter 10.x and Thor 11.0 accept FP8 mma.sync; sm_120 PTX
     * would not load below 12.0), 12.x sm_120, and any newer, unknown one sm_120 PTX.
     *
     * @throws UnsupportedDeviceException below compute capability 8.0
     */
    public static DeviceTarget target(int major, int minor) {
        int cc = major * 10 + minor;
        String name = "compute capability " + major + "." + minor;
        if (cc < 80) {
            throw new UnsupportedDeviceException(name + " is not supported: SagePTX needs 8.0 or newer (INT8 mma.sync "
                    + "m16n8k32); supported: " + Arrays.stream(values()).map(Arch::target).collect(Collectors.joining(", "))
                    + " and newer devices through their PTX");
        }
        if (cc == 80) return new DeviceTarget(major, minor, SM80, "");
        if (cc < 89) return new DeviceTarget(major, minor, SM80, name + " runs the sm_80 family's PTX");
        if (cc == 89) return new DeviceTarget(major, minor, SM89, "");
        if (cc == 90) return new DeviceTarget(major, minor, SM90, "");
        if (cc < 120) {
            return new DeviceTarget(major, minor, SM89, name + " has no target of its own here: it runs sm_89 PTX "
                    + "(FP8 mma.sync), compiled for it by the driver; no arch-specific kernel of another chip");
        }
        if (cc <= 121) return new DeviceTarget(major, minor, SM120, cc == 120 ? "" : name + " runs sm_120 PTX");
        return new DeviceTarget(major, minor, SM120, name + " is newer than SagePTX knows: it runs sm_120 PTX, "
                + "compiled for it by the driver");
    }

    /** Parses {@code sm_89}, {@code 89} or {@code SM89}: exactly one of this enum's targets. */
    public static Arch parse(String text) {
        String t = text.trim().toLowerCase().replaceFirst("^sm_?", "");
        for (Arch a : values()) {
            if (Integer.toString(a.computeCapability).equals(t)) return a;
        }
        throw new IllegalArgumentException("arch: '" + text + "' is not one of "
                + Arrays.stream(values()).map(Arch::target).collect(Collectors.joining(", "))
                + " (other architectures: Arch.resolve)");
    }

    /**
     * What a user names as an architecture, mapped like a device of that compute capability: {@code sm_86}
     * (the sm_80 family, with a note), {@code sm_90a} (sm_90, whose wgmma kernel is the arch-specific sm_90a
     * target), {@code sm_100}, {@code sm_120f}, {@code 8.6}, {@code 89}. Arch-specific suffixes ({@code a},
     * {@code f}) are read as the plain compute capability: SagePTX itself decides where an arch-specific
     * kernel is used (only on 9.0).
     */
    public static DeviceTarget resolve(String text) {
        String t = text.trim().toLowerCase().replaceFirst("^(sm|compute)_?", "").replaceFirst("[af]$", "");
        int major;
        int minor;
        try {
            if (t.contains(".")) {
                String[] p = t.split("\\.", 2);
                major = Integer.parseInt(p[0]);
                minor = Integer.parseInt(p[1]);
            } else {
                int cc = Integer.parseInt(t);
                major = cc / 10;
                minor = cc % 10;
            }
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("arch: '" + text + "' is not an architecture; use sm_80, sm_86, sm_89, "
                    + "sm_90, sm_90a, sm_100, sm_120 or a compute capability such as 8.6");
        }
        if (major < 0 || minor < 0 || minor > 9) {
            throw new IllegalArgumentException("arch: '" + text + "' is not an architecture");
        }
        return target(major, minor);
    }
}
