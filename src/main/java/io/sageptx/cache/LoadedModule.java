package io.sageptx.cache;

/**
 * A module the cache handed out, with where it came from and what it cost.
 *
 * @param module        the loaded module
 * @param source        where its binary came from
 * @param compileMillis time spent compiling PTX into the cubin in this call (0 when none)
 * @param loadMillis    time spent loading the stored image (cuModuleLoadData of the PTX image: the driver JITs
 *                      it unless its compute cache holds that PTX)
 * @param metadata      the entry's metadata
 * @param <M>           the module type
 */
public record LoadedModule<M>(M module, Source source, double compileMillis, double loadMillis,
                              EntryMetadata metadata) {

    /** Where a module's binary came from. */
    public enum Source {
        /** read from the cache folder (no compile) */
        DISK,
        /** compiled from PTX in this call (and published to the folder when it is writable) */
        COMPILED,
        /** from the in-memory cache of a process whose cache folder is not writable */
        MEMORY
    }

    /** Compile plus load time. */
    public double totalMillis() {
        return compileMillis + loadMillis;
    }
}
