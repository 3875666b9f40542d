package io.sageptx.cache;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;

/**
 * What is in a cache root, read without a GPU: the GPU folders under {@code kernels/} and, for each,
 * its entries checked as a load would check them (metadata parses, sizes and checksums match, the
 * key's compute capability is the folder's). Used by {@code sageptx info} and {@code sageptx cache}.
 */
public final class CacheContents {

    /**
     * One entry folder.
     *
     * @param digest its name
     * @param meta   its metadata, or null when unreadable
     * @param error  why it is unusable, or null when it is fine
     * @param bytes  bytes on disk
     */
    public record EntryStatus(String digest, EntryMetadata meta, String error, long bytes) {
        /** Whether the entry is usable. */
        public boolean ok() {
            return error == null;
        }
    }

    /**
     * One GPU folder and its entries.
     *
     * @param name    the folder's name (GPU model and compute capability)
     * @param path    where it is
     * @param entries its entries, each checked
     */
    public record GpuFolder(String name, Path path, List<EntryStatus> entries) {
        /** Bytes on disk of every entry. */
        public long bytes() {
            return entries.stream().mapToLong(EntryStatus::bytes).sum();
        }

        /** How many entries are unusable. */
        public long bad() {
            return entries.stream().filter(e -> !e.ok()).count();
        }
    }

    private CacheContents() {
    }

    /** Every GPU folder under {@code root/kernels}, sorted by name. */
    public static List<GpuFolder> scan(Path root) throws IOException {
        Path kernels = CacheDirectory.kernels(root);
        List<GpuFolder> out = new ArrayList<>();
        if (!Files.isDirectory(kernels)) return out;
        for (Path gpu : list(kernels)) {
            if (!Files.isDirectory(gpu) || gpu.getFileName().toString().startsWith(".")) continue;
            List<EntryStatus> entries = new ArrayList<>();
            for (Path e : list(gpu)) {
                String n = e.getFileName().toString();
                if (Files.isDirectory(e) && !n.startsWith(".")) entries.add(check(gpu.getFileName().toString(), e));
            }
            out.add(new GpuFolder(gpu.getFileName().toString(), gpu, entries));
        }
        return out;
    }

    /** Checks one entry as a load would (except the device's own refusal, which needs the GPU). */
    static EntryStatus check(String gpuFolder, Path entry) {
        long bytes = size(entry);
        String digest = entry.getFileName().toString();
        try {
            ModuleCache.Entry e = ModuleCache.readEntry(entry);
            String cc = e.meta().key().computeCapability().replace(".", "");
            if (!gpuFolder.startsWith("sm_" + cc + "-") && !gpuFolder.equals("sm_" + cc)) {
                return new EntryStatus(digest, e.meta(), "written for compute capability "
                        + e.meta().key().computeCapability() + ", not this folder's GPU", bytes);
            }
            return new EntryStatus(digest, e.meta(), null, bytes);
        } catch (CorruptEntryException e) {
            return new EntryStatus(digest, null, e.getMessage(), bytes);
        } catch (IOException e) {
            return new EntryStatus(digest, null, "unreadable: " + e, bytes);
        }
    }

    /** Temporaries older than this are left over by a writer that died (live writers finish in seconds). */
    static final java.time.Duration STALE = java.time.Duration.ofMinutes(10);

    /**
     * Removes the unusable entries of a folder and the temporaries of writers that died, and rewrites
     * its index from the good entries; returns how many entries and temporaries were removed.
     */
    public static int repair(GpuFolder folder) throws IOException {
        int removed = 0;
        java.nio.file.attribute.FileTime cutoff = java.nio.file.attribute.FileTime.from(
                java.time.Instant.now().minus(STALE));
        for (Path p : list(folder.path())) {
            if (p.getFileName().toString().startsWith(".tmp-") && Files.getLastModifiedTime(p).compareTo(cutoff) < 0) {
                AtomicFiles.deleteTree(p);
                removed++;
            }
        }
        Map<String, String> index = new TreeMap<>();
        for (EntryStatus e : folder.entries()) {
            if (e.ok()) {
                index.put(e.digest(), ModuleCache.summary(e.meta().key()));
            } else {
                AtomicFiles.deleteTree(folder.path().resolve(e.digest()));
                removed++;
            }
        }
        CacheIndex.rewrite(folder.path(), index);
        return removed;
    }

    /** Deletes the kernel folders (all GPUs, or the one named); returns the bytes freed. */
    public static long clear(Path root, String gpuOrNull) throws IOException {
        Path kernels = CacheDirectory.kernels(root);
        if (gpuOrNull != null) {
            if (gpuOrNull.contains("/") || gpuOrNull.contains("..")) {
                throw new IllegalArgumentException("--gpu: '" + gpuOrNull + "' is not a folder name");
            }
            Path one = kernels.resolve(gpuOrNull);
            if (!Files.isDirectory(one)) {
                throw new IllegalArgumentException("--gpu: no folder " + one);
            }
            return AtomicFiles.deleteTree(one);
        }
        return AtomicFiles.deleteTree(kernels);
    }

    private static List<Path> list(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.sorted().toList();
        }
    }

    private static long size(Path dir) {
        try (Stream<Path> s = Files.walk(dir)) {
            return s.filter(Files::isRegularFile).mapToLong(p -> {
                try {
                    return Files.size(p);
                } catch (IOException e) {
                    return 0;
                }
            }).sum();
        } catch (IOException e) {
            return 0;
        }
    }
}
