package io.sageptx.cache;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Instant;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Consumer;
import java.util.function.Supplier;

/**
 * The on-disk cache of compiled modules of one GPU (one folder per GPU model and compute capability).
 * {@link #load(ModuleKey, Supplier)} returns a loaded module: from the folder when a valid entry exists
 * (no JIT), else compiled from the PTX the supplier renders, loaded, and published.
 *
 * <p>An entry is a folder named by the key's SHA-256 holding {@code module.ptx}, {@code module.cubin}
 * (absent where the binary is the PTX image itself: the PTX and a NUL, the CUDA backend's) and
 * {@code meta.properties} (the full key, both checksums, sizes, compile time, per-kernel registers, spills and
 * shared memory). It is built in a temporary folder and published by one atomic rename, so
 * readers see a whole entry or none; the folder's {@link CacheIndex} is updated after that. When two
 * processes race, the first rename wins and the other process uses its own module and drops its copy.
 *
 * <p>An entry that is truncated, altered (checksum mismatch), unparsable, written for another key or
 * compute capability, or refused by the device when loaded is a miss: reported once per process
 * through the warning sink, moved aside, rebuilt and republished; it is never loaded and never crashes
 * the call. A folder that cannot be created or written (read-only, full) turns this cache into an
 * in-memory one for the rest of the process, with one warning.
 *
 * @param <M> the loaded module type
 */
public final class ModuleCache<M> {

    static final String PTX = "module.ptx";
    static final String CUBIN = "module.cubin";
    static final String META = "meta.properties";

    /** Entries reported as corrupt in this process (folder/digest), so each is reported once. */
    private static final Set<String> REPORTED = ConcurrentHashMap.newKeySet();

    private final Path folder;
    private final String computeCapability;
    private final CubinBackend<M> backend;
    private final Consumer<String> warnings;
    private final Map<String, Memo> memory = new ConcurrentHashMap<>();
    private final Map<String, Object> digestLocks = new ConcurrentHashMap<>();
    private volatile String memoryOnlyReason;

    private record Memo(byte[] cubin, EntryMetadata meta) {
    }

    /**
     * @param folder            this GPU's folder ({@code <root>/kernels/<gpu>}); null for memory only
     * @param computeCapability the device's exact compute capability (entries for another are foreign)
     * @param backend           compiles and loads
     * @param warnings          where the one-line warnings go (corrupt entries, unwritable folder)
     */
    public ModuleCache(Path folder, String computeCapability, CubinBackend<M> backend, Consumer<String> warnings) {
        this.folder = folder;
        this.computeCapability = Objects.requireNonNull(computeCapability, "computeCapability");
        this.backend = Objects.requireNonNull(backend, "backend");
        this.warnings = Objects.requireNonNull(warnings, "warnings");
        if (folder == null) {
            memoryOnlyReason = "no cache folder";
        } else {
            try {
                Files.createDirectories(folder);
                if (!Files.isWritable(folder)) throw new IOException("not writable");
            } catch (IOException | SecurityException e) {
                degrade("cannot create " + folder + " (" + describe(e) + ")");
            }
        }
    }

    /** This GPU's folder (null when the cache has none). */
    public Path folder() {
        return folder;
    }

    /** Why the cache keeps its modules in memory only, or null when it writes to its folder. */
    public String memoryOnlyReason() {
        return memoryOnlyReason;
    }

    /**
     * The module of {@code key}: loaded from disk when cached, else compiled from {@code ptx.get()},
     * loaded and published. Compile errors (bad PTX) propagate with the compiler's log.
     */
    public LoadedModule<M> load(ModuleKey key, Supplier<String> ptx) {
        Objects.requireNonNull(key, "key");
        Objects.requireNonNull(ptx, "ptx");
        if (!key.computeCapability().equals(computeCapability)) {
            throw new IllegalArgumentException("module key for compute capability " + key.computeCapability()
                    + " given to the cache of a " + computeCapability + " device");
        }
        String digest = key.digest();
        // one compile per key at a time within this process; other processes are handled by the rename
        synchronized (digestLocks.computeIfAbsent(digest, d -> new Object())) {
            Memo memo = memory.get(digest);
            if (memo != null) {
                long t0 = System.nanoTime();
                M m = backend.load(memo.cubin(), name(key));
                return new LoadedModule<>(m, LoadedModule.Source.MEMORY, 0, ms(t0), memo.meta());
            }
            if (folder != null) { // a read-only folder is still read
                LoadedModule<M> hit = fromDisk(key, digest);
                if (hit != null) return hit;
            }
            return compile(key, digest, ptx);
        }
    }

    private LoadedModule<M> fromDisk(ModuleKey key, String digest) {
        Path dir = folder.resolve(digest);
        if (!Files.isDirectory(dir)) return null;
        EntryMetadata meta;
        byte[] cubin;
        try {
            Entry e = readEntry(dir);
            e.checkKey(key, computeCapability);
            meta = e.meta();
            cubin = e.cubin();
        } catch (CorruptEntryException e) {
            discard(dir, key, digest, e.getMessage());
            return null;
        } catch (NoSuchFileException e) {
            if (!Files.isDirectory(dir)) return null; // removed under us by another process
            discard(dir, key, digest, "missing file " + e.getFile());
            return null;
        } catch (IOException e) {
            discard(dir, key, digest, "unreadable: " + describe(e));
            return null;
        }
        long t0 = System.nanoTime();
        M m;
        try {
            m = backend.load(cubin, name(key));
        } catch (RuntimeException e) {
            discard(dir, key, digest, "the device refused its cubin: " + firstLine(e));
            return null;
        }
        return new LoadedModule<>(m, LoadedModule.Source.DISK, 0, ms(t0), meta);
    }

    private LoadedModule<M> compile(ModuleKey key, String digest, Supplier<String> ptxSupplier) {
        String ptx = Objects.requireNonNull(ptxSupplier.get(), "the PTX supplier returned null");
        CubinBackend.Built<M> built = backend.build(ptx, name(key));
        CubinBackend.Compiled c = built.compiled();
        byte[] ptxBytes = ptx.getBytes(java.nio.charset.StandardCharsets.UTF_8);
        EntryMetadata meta = new EntryMetadata(key, Digests.sha256(ptxBytes), ptxBytes.length,
                Digests.sha256(c.cubin()), c.cubin().length, c.millis(), Instant.now().toString(),
                KernelStats.parseLog(c.infoLog() == null ? "" : c.infoLog()));
        M m = built.module();
        double loadMs = built.loadMillis();
        if (memoryOnlyReason == null) {
            try {
                publish(digest, ptxBytes, c.cubin(), meta);
            } catch (IOException | RuntimeException e) {
                degrade("cannot write to " + folder + " (" + describe(e) + ")");
            }
        }
        if (memoryOnlyReason != null) {
            memory.put(digest, new Memo(c.cubin().clone(), meta));
        }
        return new LoadedModule<>(m, LoadedModule.Source.COMPILED, c.millis(), loadMs, meta);
    }

    /** Builds the entry in a temporary folder, renames it into place, then updates the index. */
    private void publish(String digest, byte[] ptx, byte[] cubin, EntryMetadata meta) throws IOException {
        Files.createDirectories(folder);
        Path tmp = AtomicFiles.tempSibling(folder, digest);
        Files.createDirectory(tmp);
        try {
            AtomicFiles.writeDurably(tmp.resolve(PTX), ptx);
            // a binary that is the PTX image itself (the CUDA backend's: the PTX and a NUL, JIT-compiled on load) is
            // not written twice: readEntry rebuilds it from module.ptx and checks it against the metadata
            if (!isPtxImage(ptx, cubin)) AtomicFiles.writeDurably(tmp.resolve(CUBIN), cubin);
            AtomicFiles.writeDurably(tmp.resolve(META), meta.toBytes());
            Path target = folder.resolve(digest);
            try {
                AtomicFiles.move(tmp, target, false);
            } catch (IOException e) {
                // Linux reports a rename onto a non-empty folder as a plain FileSystemException
                // ("Directory not empty"), not always as FileAlreadyExists/DirectoryNotEmpty
                if (Files.isDirectory(target)) return; // another process published the key first: keep theirs
                throw e;
            }
        } finally {
            AtomicFiles.deleteTree(tmp);
        }
        CacheIndex.put(folder, digest, summary(meta.key()));
    }

    /** Reports a bad entry once, and moves it out of the way (another process may already have). */
    private void discard(Path dir, ModuleKey key, String digest, String reason) {
        if (REPORTED.add(folder + "/" + digest)) {
            warnings.accept("sageptx cache: entry " + digest.substring(0, 12) + " (" + summary(key) + ") in " + folder
                    + " is unusable: " + reason + "; rebuilding it");
        }
        Path aside = AtomicFiles.tempSibling(folder, "bad-" + digest);
        try {
            AtomicFiles.move(dir, aside, false);
            AtomicFiles.deleteTree(aside);
        } catch (IOException e) {
            // gone already (another process moved it) or not removable: the rebuild decides
        }
    }

    private void degrade(String reason) {
        synchronized (this) {
            if (memoryOnlyReason != null) return;
            memoryOnlyReason = reason;
        }
        warnings.accept("sageptx cache: " + reason + "; keeping compiled kernels in memory for this process");
    }

    /** The three files of an entry, read and checked against each other (not yet against a key). */
    record Entry(EntryMetadata meta, byte[] ptx, byte[] cubin) {

        void checkKey(ModuleKey wanted, String cc) {
            if (!meta.key().computeCapability().equals(cc)) {
                throw new CorruptEntryException("written for compute capability " + meta.key().computeCapability()
                        + ", this device is " + cc);
            }
            if (!meta.key().equals(wanted)) {
                throw new CorruptEntryException("written for another key (" + summary(meta.key()) + ")");
            }
        }
    }

    /** Reads and checks one entry folder: metadata parses, sizes and SHA-256 of PTX and cubin match. */
    static Entry readEntry(Path dir) throws IOException {
        EntryMetadata meta = EntryMetadata.parse(Files.readAllBytes(dir.resolve(META)));
        if (!dir.getFileName().toString().equals(meta.key().digest())) {
            throw new CorruptEntryException("folder name does not match the digest of its key");
        }
        byte[] ptx = Files.readAllBytes(dir.resolve(PTX));
        check("PTX", ptx, meta.ptxBytes(), meta.ptxSha256());
        Path cubinFile = dir.resolve(CUBIN);
        // no module.cubin: the binary is the PTX image (see publish); entries written before 2026-12-03 carry both
        byte[] cubin = !Files.exists(cubinFile) && meta.cubinBytes() == ptx.length + 1L ? ptxImage(ptx)
                : Files.readAllBytes(cubinFile);
        check("cubin", cubin, meta.cubinBytes(), meta.cubinSha256());
        return new Entry(meta, ptx, cubin);
    }

    /** The PTX image a driver JIT-compiles on load: the PTX text and a terminating NUL. */
    static byte[] ptxImage(byte[] ptx) {
        return java.util.Arrays.copyOf(ptx, ptx.length + 1);
    }

    static boolean isPtxImage(byte[] ptx, byte[] cubin) {
        return cubin.length == ptx.length + 1 && cubin[ptx.length] == 0
                && java.util.Arrays.equals(cubin, 0, ptx.length, ptx, 0, ptx.length);
    }

    private static void check(String what, byte[] data, long size, String sha) {
        if (data.length != size) {
            throw new CorruptEntryException(what + " has " + data.length + " bytes, the metadata says " + size
                    + (data.length < size ? " (truncated)" : ""));
        }
        if (!Digests.sha256(data).equals(sha)) {
            throw new CorruptEntryException(what + " checksum mismatch");
        }
    }

    static String summary(ModuleKey key) {
        return key.family() + " | " + key.spec();
    }

    private static String name(ModuleKey key) {
        return key.family() + " " + key.spec();
    }

    private static double ms(long t0) {
        return (System.nanoTime() - t0) / 1e6;
    }

    private static String firstLine(Throwable e) {
        String m = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
        return m.lines().findFirst().orElse(m);
    }

    private static String describe(Throwable e) {
        return e.getClass().getSimpleName() + (e.getMessage() == null ? "" : ": " + firstLine(e));
    }

}
