package io.sageptx.cache;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.TreeMap;

/**
 * {@code index.properties} of a GPU folder: entry digest = family and spec, for listing. Written after
 * the entry it names is published, under a cross-process lock, by atomic replacement. Lookups never
 * need it (they go straight to the entry folder), so a lost index update costs nothing but a line
 * in {@code cache list}; {@code cache verify} rebuilds it from the entries.
 */
public final class CacheIndex {

    /** The index file's name in a GPU folder. */
    public static final String FILE = "index.properties";
    static final String LOCK = ".index.lock";

    private CacheIndex() {
    }

    /** Adds or replaces one line. */
    static void put(Path gpuFolder, String digest, String summary) throws IOException {
        update(gpuFolder, m -> m.put(digest, summary));
    }

    /** Removes one line. */
    static void remove(Path gpuFolder, String digest) throws IOException {
        update(gpuFolder, m -> m.remove(digest));
    }

    /** Replaces the whole index. */
    static void rewrite(Path gpuFolder, Map<String, String> lines) throws IOException {
        update(gpuFolder, m -> {
            m.clear();
            m.putAll(lines);
        });
    }

    /** The index's lines (empty when missing or unreadable). */
    public static Map<String, String> read(Path gpuFolder) {
        Path f = gpuFolder.resolve(FILE);
        if (!Files.isRegularFile(f)) return new TreeMap<>();
        try {
            return PropertiesText.parse(Files.readAllBytes(f));
        } catch (IOException | RuntimeException e) {
            return new TreeMap<>();
        }
    }

    private static void update(Path gpuFolder, java.util.function.Consumer<Map<String, String>> change)
            throws IOException {
        try {
            AtomicFiles.withLock(gpuFolder.resolve(LOCK), () -> {
                Map<String, String> m = read(gpuFolder);
                change.accept(m);
                try {
                    AtomicFiles.replace(gpuFolder.resolve(FILE),
                            PropertiesText.format("SagePTX kernel cache index: digest = family | spec", m));
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
                return null;
            });
        } catch (UncheckedIOException e) {
            throw e.getCause();
        }
    }
}
