package io.sageptx.cuda;

import jcuda.driver.CUresult;
import jcuda.driver.JCudaDriver;

/**
 * A CUDA driver call returned an error. Carries the {@code CUresult} code, its symbolic name and the
 * operation that failed; the message reads {@code "<operation> failed: <NAME> (<code>): <driver text>"}.
 *
 * <p>Note: this is {@code io.sageptx.cuda.CudaException}, unrelated to JCuda's own
 * {@code jcuda.CudaException} (which this package never relies on: JCuda's exceptions are switched
 * off and every return code is checked here).
 */
public class CudaException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    /** Result code used when no driver call produced one (e.g. the driver library could not be loaded). */
    public static final int NO_RESULT = -1;

    private final int result;
    private final String resultName;
    private final String operation;

    /** {@code operation} names what failed, e.g. {@code "cuMemAlloc(4096 bytes) on device 0"}. */
    public CudaException(int result, String operation) {
        this(result, operation, null, null);
    }

    /** As {@link #CudaException(int, String)}, with extra detail appended to the message. */
    public CudaException(int result, String operation, String detail) {
        this(result, operation, detail, null);
    }

    /** As {@link #CudaException(int, String, String)}, with a cause. */
    protected CudaException(int result, String operation, String detail, Throwable cause) {
        this(buildMessage(result, operation, detail), result, operation, cause);
    }

    /** For subclasses that compose their own message. */
    protected CudaException(String message, int result, String operation, Throwable cause) {
        super(message, cause);
        this.result = result;
        this.resultName = nameOf(result);
        this.operation = operation;
    }

    /** The raw {@code CUresult} code ({@link #NO_RESULT} if none). */
    public int result() {
        return result;
    }

    /** The symbolic name of {@link #result()}, e.g. {@code CUDA_ERROR_OUT_OF_MEMORY}. */
    public String resultName() {
        return resultName;
    }

    /** The operation that failed, as given by the caller. */
    public String operation() {
        return operation;
    }

    /**
     * Symbolic name of a CUresult code: {@code CUresult.stringFor}, falling back to the driver's own
     * {@code cuGetErrorName} for codes newer than JCuda 12.6 knows (a CUDA 13 driver may return those).
     */
    public static String nameOf(int result) {
        if (result == NO_RESULT) {
            return "NO_RESULT";
        }
        String name = CUresult.stringFor(result);
        if (name == null || name.startsWith("INVALID")) {
            String fromDriver = driverString(result, true);
            if (fromDriver != null) {
                return fromDriver;
            }
            return "CUresult " + result;
        }
        return name;
    }

    private static String buildMessage(int result, String operation, String detail) {
        StringBuilder sb = new StringBuilder();
        sb.append(operation == null ? "CUDA call" : operation).append(" failed");
        if (result != NO_RESULT) {
            sb.append(": ").append(nameOf(result)).append(" (").append(result).append(')');
            String text = driverString(result, false);
            if (text != null && !text.isBlank()) {
                sb.append(": ").append(text);
            }
        }
        if (detail != null && !detail.isEmpty()) {
            sb.append(result == NO_RESULT ? ": " : "\n").append(detail);
        }
        return sb.toString();
    }

    /** cuGetErrorName / cuGetErrorString, only when the driver binding is known to be loaded; null otherwise. */
    private static String driverString(int result, boolean name) {
        if (!Cuda.libraryLoaded()) {
            return null;
        }
        try {
            String[] out = new String[1];
            int r = name ? JCudaDriver.cuGetErrorName(result, out) : JCudaDriver.cuGetErrorString(result, out);
            return r == CUresult.CUDA_SUCCESS ? out[0] : null;
        } catch (Throwable t) {
            return null;
        }
    }
}
