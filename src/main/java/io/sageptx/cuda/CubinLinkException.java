package io.sageptx.cuda;

/**
 * The driver's linker failed on PTX that the driver's JIT accepts: the PTX is valid, but no cubin could
 * be obtained through {@code cuLink*}. Callers may fall back to loading the PTX itself.
 */
public final class CubinLinkException extends CudaException {
    public CubinLinkException(int result, String what) {
        super(result, what);
    }
}
