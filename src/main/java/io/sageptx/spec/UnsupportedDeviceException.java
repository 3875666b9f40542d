package io.sageptx.spec;

/**
 * The GPU or its driver cannot run SagePTX's kernels: a compute capability below 8.0, or a CUDA driver
 * too old for the PTX ISA version a kernel needs. Thrown before anything is loaded or launched. It is an
 * {@link IllegalArgumentException} (the device is, in effect, an argument of the call), so callers that
 * catch bad arguments catch it too; catch it by its own type to tell a device problem apart.
 */
public class UnsupportedDeviceException extends IllegalArgumentException {
    private static final long serialVersionUID = 1L;

    /** A device or driver refused for {@code message} (names the device and what it lacks). */
    public UnsupportedDeviceException(String message) {
        super(message);
    }
}
