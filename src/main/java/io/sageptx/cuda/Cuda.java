package io.sageptx.cuda;

import java.util.regex.Matcher;
import java.util.regex.Pattern;

import jcuda.driver.CUresult;
import jcuda.driver.JCudaDriver;

/**
 * Static entry points: return-code checking and a probe for a usable driver and device.
 *
 * <p>JCuda's own exceptions are switched off ({@code JCudaDriver.setExceptionsEnabled(false)}) when
 * the probe first runs; every driver call in this package checks its return code with
 * {@link #check(int, String)} instead, so that failures name the operation. (Should other code in the
 * process switch JCuda's exceptions back on, calls still work, but a failure then surfaces as JCuda's
 * terser {@code jcuda.CudaException}.)
 *
 * <p>The probe runs once, on the first call of {@link #available()}, {@link #unavailableReason()},
 * {@link #deviceCount()}, {@link #driverVersion()} or {@link #requireAvailable()}, and its result is
 * cached for the life of the JVM.
 */
public final class Cuda {

    private Cuda() {
    }

    /** What the probe found. */
    private record Probe(boolean libraryLoaded, boolean available, String reason, int result,
                         int deviceCount, int driverVersion) {
    }

    private static final Object LOCK = new Object();
    private static volatile Probe probe;

    /** Throws {@link CudaException} naming {@code what} when {@code result} is not {@code CUDA_SUCCESS}. */
    public static void check(int result, String what) {
        if (result != CUresult.CUDA_SUCCESS) {
            throw new CudaException(result, what);
        }
    }

    /**
     * True when the driver binding loads, {@code cuInit(0)} succeeds and at least one device exists.
     * Never throws; the result is cached.
     */
    public static boolean available() {
        return probe().available();
    }

    /** Why CUDA is unavailable (one line), or {@code null} when {@link #available()} is true. */
    public static String unavailableReason() {
        Probe p = probe();
        return p.available() ? null : p.reason();
    }

    /** Throws {@link CudaUnavailableException} with {@link #unavailableReason()} unless {@link #available()}. */
    public static void requireAvailable() {
        Probe p = probe();
        if (!p.available()) {
            throw new CudaUnavailableException(p.result(), p.reason());
        }
    }

    /** Number of CUDA devices; 0 when there is no driver or cuInit fails. Never throws. */
    public static int deviceCount() {
        return probe().deviceCount();
    }

    /**
     * The driver's CUDA version as {@code cuDriverGetVersion} reports it (1000*major + 10*minor, e.g.
     * 13000 for CUDA 13.0); 0 when the driver library cannot be loaded. Never throws.
     */
    public static int driverVersion() {
        return probe().driverVersion();
    }

    /** Formats a CUDA version number such as 13000 or 12060 as "13.0" or "12.6". */
    public static String formatVersion(int version) {
        return (version / 1000) + "." + (version % 1000) / 10;
    }

    /** Whether the JCuda driver binding (and hence libcuda) loaded; false before the probe ran. */
    static boolean libraryLoaded() {
        Probe p = probe;
        return p != null && p.libraryLoaded();
    }

    private static Probe probe() {
        Probe p = probe;
        if (p != null) {
            return p;
        }
        synchronized (LOCK) {
            if (probe == null) {
                probe = runProbe();
            }
            return probe;
        }
    }

    private static Probe runProbe() {
        try {
            JCudaDriver.setExceptionsEnabled(false);
        } catch (Throwable t) {
            return new Probe(false, false,
                    "the JCuda driver binding could not be loaded (no NVIDIA driver?): " + describe(t),
                    CudaException.NO_RESULT, 0, 0);
        }
        try {
            int[] version = {0};
            int r = JCudaDriver.cuDriverGetVersion(version);
            int driverVersion = r == CUresult.CUDA_SUCCESS ? version[0] : 0;
            r = JCudaDriver.cuInit(0);
            if (r != CUresult.CUDA_SUCCESS) {
                return new Probe(true, false, "cuInit(0) failed: " + CudaException.nameOf(r) + " (" + r + ")",
                        r, 0, driverVersion);
            }
            int[] count = {0};
            r = JCudaDriver.cuDeviceGetCount(count);
            if (r != CUresult.CUDA_SUCCESS) {
                return new Probe(true, false, "cuDeviceGetCount failed: " + CudaException.nameOf(r) + " (" + r + ")",
                        r, 0, driverVersion);
            }
            if (count[0] <= 0) {
                return new Probe(true, false, "the CUDA driver reports no devices",
                        CUresult.CUDA_ERROR_NO_DEVICE, 0, driverVersion);
            }
            return new Probe(true, true, null, CUresult.CUDA_SUCCESS, count[0], driverVersion);
        } catch (Throwable t) {
            return new Probe(true, false, "probing the CUDA driver failed: " + describe(t),
                    CudaException.NO_RESULT, 0, 0);
        }
    }

    private static final Pattern SO_NOT_FOUND =
            Pattern.compile("(\\S+\\.so[.0-9]*): cannot open shared object file[^\\n]*");

    /**
     * One line: the shared library the loader could not open when the message names one (JCuda's
     * message nests several stack traces), else the root cause's class and message, bounded in length.
     */
    private static String describe(Throwable t) {
        Throwable root = t;
        while (root.getCause() != null && root.getCause() != root) {
            root = root.getCause();
        }
        String full = root.getMessage() == null ? "" : root.getMessage();
        Matcher m = SO_NOT_FOUND.matcher(full);
        String lastMissing = null;
        while (m.find()) {
            lastMissing = m.group().trim();
        }
        if (lastMissing != null) {
            // e.g. "libcuda.so.1: cannot open shared object file: No such file or directory"
            return root.getClass().getSimpleName() + ": " + lastMissing;
        }
        String msg = root.getClass().getSimpleName() + (full.isEmpty() ? "" : ": " + full.replaceAll("\\s+", " ").trim());
        return msg.length() > 300 ? msg.substring(0, 300) + "..." : msg;
    }
}
