package io.sageptx.cache;

/**
 * What the cache needs from a device: compile PTX into the binary it stores, and load that binary. The
 * CUDA implementation is {@link DeviceKernelCache}'s (the whole-program JIT, storing the PTX image, and
 * {@code cuModuleLoadData});
 * tests give a stub so that the cache's file handling runs without a GPU.
 *
 * @param <M> the loaded module type
 */
public interface CubinBackend<M> {

    /**
     * A compiled module.
     *
     * @param cubin   the binary
     * @param infoLog the compiler's verbose log (parsed into {@link KernelStats}; may be empty)
     * @param millis  compile time in milliseconds
     */
    record Compiled(byte[] cubin, String infoLog, double millis) {
    }

    /** Compiles PTX into a cubin for this backend's device; throws with the compiler's log on failure. */
    Compiled compile(String ptx, String name);

    /** Loads a stored binary; throws a RuntimeException when the device refuses it. */
    M load(byte[] cubin, String name);
}
