package io.sageptx.ptx;

import io.sageptx.spec.Arch;
import io.sageptx.spec.KernelSpec;
import io.sageptx.spec.MmaKind;
import io.sageptx.spec.PvVariant;
import io.sageptx.spec.UnsupportedDeviceException;

/** The lowest PTX ISA version that has every instruction a kernel uses, so older drivers load it. */
public final class PtxVersions {
    private PtxVersions() {
    }

    /**
     * ISA for a kernel: 8.7 for the f16-accumulate FP8 mma and sm_120, 8.4 for the f32 one, 8.0 for the 16-bit
     * wgmma kernel (wgmma and sm_90a appear in 8.0), else 7.8.
     */
    public static String isa(KernelSpec spec) {
        if (spec.pv() == PvVariant.FP8_F16ACC || spec.arch() == Arch.SM120) return "8.7";
        if (spec.pv() == PvVariant.FP8_F32ACC) return "8.4";
        if (spec.mma() == MmaKind.WGMMA) return "8.0";
        return base(spec.arch());
    }

    /**
     * ISA for the helper kernels (preprocessing, reference): cvt e4m3x2 needs 7.8 on sm_90 but 8.1 on
     * sm_89; sm_120 appears in 8.7.
     */
    public static String base(Arch arch) {
        return switch (arch) {
            case SM120 -> "8.7";
            case SM89 -> "8.1";
            default -> "7.8";
        };
    }

    /** The CUDA driver version (as cuDriverGetVersion reports it) that first accepts an ISA version. */
    public static int minDriver(String isa) {
        return switch (isa) {
            case "7.8" -> 11080;
            case "8.0" -> 12000;
            case "8.1" -> 12010;
            case "8.4" -> 12040;
            case "8.7" -> 12080;
            default -> throw new IllegalArgumentException("unknown PTX ISA " + isa);
        };
    }

    /**
     * Refuses a driver (cuDriverGetVersion) too old to load PTX of ISA {@code isa}, before anything is loaded.
     *
     * @param device names the device in the message
     * @param what   names the kernel(s) in the message
     * @throws UnsupportedDeviceException when {@code driverVersion < minDriver(isa)}
     */
    public static void requireDriver(int driverVersion, String isa, String device, String what) {
        int need = minDriver(isa);
        if (driverVersion < need) {
            throw new UnsupportedDeviceException("driver: the CUDA driver of " + device + " supports CUDA "
                    + driverVersion / 1000 + "." + driverVersion % 1000 / 10 + "; " + what + " needs PTX ISA " + isa
                    + ", which needs a driver for CUDA " + need / 1000 + "." + need % 1000 / 10 + " or newer");
        }
    }
}
