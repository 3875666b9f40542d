package io.sageptx.cuda;

/**
 * No usable CUDA driver or device: the JCuda driver binding could not be loaded (no
 * {@code libcuda.so.1}), {@code cuInit} failed, or there are zero devices. {@link #reason()} is the
 * same text as {@link Cuda#unavailableReason()}.
 */
public class CudaUnavailableException extends CudaException {
    private static final long serialVersionUID = 1L;

    private final String reason;

    /** CUDA is unusable for {@code reason}; {@code result} is the driver's code, if any. */
    public CudaUnavailableException(int result, String reason) {
        super("CUDA unavailable: " + reason, result, "CUDA availability probe", null);
        this.reason = reason;
    }

    /** Why CUDA is unusable (one line). */
    public String reason() {
        return reason;
    }
}
