package io.sageptx.cuda;

/**
 * The driver's linker failed on PTX that the driver's JIT accepts: the PTX is valid, but no cubin could
 * be obtained through {@code cuLink*}. Callers may fall back to loading the PTX itself.
 */
public final class CubinLinkException extends CudaException {
    /** The linker's failure {@code result} in {@code what}. */
    public CubinLinkException(int result, String what) {
        super(result, what);
    }
}
