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

    /**
     * A module compiled and loaded at once: what a cache miss needs.
     *
     * @param compiled   what the cache stores
     * @param module     the loaded module
     * @param loadMillis the time of the load on its own (0 where compiling already loaded it)
     */
    record Built<M>(Compiled compiled, M module, double loadMillis) {
    }

    /**
     * Compiles {@code ptx} and loads the result. The default compiles, then loads the binary; a backend whose
     * compile already leaves a loaded module (the CUDA JIT) overrides this so that a miss compiles once.
     */
    default Built<M> build(String ptx, String name) {
        Compiled c = compile(ptx, name);
        long t0 = System.nanoTime();
        M m = load(c.cubin(), name);
        return new Built<>(c, m, (System.nanoTime() - t0) / 1e6);
    }
}
