package io.sageptx.runtime;

import io.sageptx.spec.SpecCodec;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Consumer;
import java.util.stream.Stream;

import io.sageptx.cache.AtomicFiles;
import io.sageptx.cache.CacheDirectory;
import io.sageptx.cache.PropertiesText;
import io.sageptx.spec.KernelSpec;

/**
 * The tuned winners, one file per GPU ({@code <root>/tuning/<gpu>.properties}), kept apart from the
 * kernel cache so that clearing compiled kernels keeps the tuning. Lines: {@code <key id>.spec},
 * {@code <key id>.ms}, {@code <key id>.tuned}. Read once per process and GPU; a store is a locked
 * read-modify-write with atomic replacement, so concurrent tuners lose no key. A malformed line is
 * ignored with one warning; an unwritable folder keeps new winners in memory, with one warning.
 */
public final class TuningDb {

    /**
     * One stored winner.
     *
     * @param key   what it was tuned for
     * @param spec  the winning spec
     * @param ms    its median time per call on the tuning shape
     * @param tuned when (ISO-8601)
     */
    public record Entry(TuningKey key, KernelSpec spec, double ms, String tuned) {
    }

    private static final Map<Path, TuningDb> SHARED = new ConcurrentHashMap<>();
    /** Logger {@code io.sageptx.runtime.TuningDb}: the shared database's warnings. */
    private static final System.Logger LOG = System.getLogger(TuningDb.class.getName());

    private final Path folder;
    private final Consumer<String> warnings;
    private final Map<String, Map<String, Entry>> byGpu = new ConcurrentHashMap<>();
    private volatile boolean memoryOnly;

    /**
     * The database in {@code folder}, warning through the platform logger {@code io.sageptx.runtime.TuningDb}.
     *
     * @param folder the tuning folder ({@link CacheDirectory#tuning})
     */
    public TuningDb(Path folder) {
        this(folder, m -> LOG.log(System.Logger.Level.WARNING, m));
    }

    /**
     * The database in {@code folder} with its own warning sink.
     *
     * @param folder   the tuning folder ({@link CacheDirectory#tuning})
     * @param warnings where the one-line warnings go (malformed lines, an unwritable folder)
     */
    public TuningDb(Path folder, Consumer<String> warnings) {
        this.folder = Objects.requireNonNull(folder, "folder");
        this.warnings = Objects.requireNonNull(warnings, "warnings");
    }

    /** The database under the current {@link CacheDirectory#root()}, shared by the process. */
    public static TuningDb shared() {
        return SHARED.computeIfAbsent(CacheDirectory.tuning(CacheDirectory.root()),
                TuningDb::new);
    }

    /** The tuning folder. */
    public Path folder() {
        return folder;
    }

    /** The tuned spec for {@code key}, if one was stored. */
    public Optional<KernelSpec> winner(TuningKey key) {
        Entry e = gpu(key.gpu()).get(key.id());
        return e == null ? Optional.empty() : Optional.of(e.spec());
    }

    /** Every stored winner of one GPU, by key id. */
    public Map<String, Entry> entries(String gpu) {
        return new TreeMap<>(gpu(gpu));
    }

    /** The GPUs with a tuning file. */
    public List<String> gpus() {
        List<String> out = new ArrayList<>();
        if (!Files.isDirectory(folder)) return out;
        try (Stream<Path> s = Files.list(folder)) {
            s.map(p -> p.getFileName().toString()).filter(n -> n.endsWith(".properties") && !n.startsWith("."))
                    .map(n -> n.substring(0, n.length() - ".properties".length())).sorted().forEach(out::add);
        } catch (IOException e) {
            // unreadable: none listed
        }
        return out;
    }

    /** Stores a winner (replacing the key's previous one) in memory and on disk. */
    public void store(TuningKey key, KernelSpec spec, double ms) {
        Entry e = new Entry(key, spec, ms, Instant.now().toString());
        gpu(key.gpu()).put(key.id(), e);
        if (memoryOnly) return;
        try {
            Files.createDirectories(folder);
            Path file = file(key.gpu());
            AtomicFiles.withLock(folder.resolve(".lock-" + key.gpu()), () -> {
                Map<String, String> lines = readLines(file);
                lines.put(key.id() + ".spec", SpecCodec.encode(spec));
                lines.put(key.id() + ".ms", String.format(Locale.ROOT, "%.4f", ms));
                lines.put(key.id() + ".tuned", e.tuned());
                try {
                    AtomicFiles.replace(file, PropertiesText.format("SagePTX tuned kernels of " + key.gpu(), lines));
                } catch (IOException ex) {
                    throw new UncheckedIOException(ex);
                }
                return null;
            });
        } catch (IOException | UncheckedIOException | SecurityException ex) {
            memoryOnly = true;
            warnings.accept("sageptx tuning: cannot write to " + folder + " (" + ex.getMessage()
                    + "); keeping tuning results in memory for this process");
        }
    }

    /** Removes every tuning file; returns how many were removed. */
    public int clear() throws IOException {
        int n = 0;
        for (String g : gpus()) {
            if (Files.deleteIfExists(file(g))) n++;
        }
        byGpu.clear();
        return n;
    }

    /** Forgets what was read, so the next lookup reads the files again. */
    public void reload() {
        byGpu.clear();
    }

    private Map<String, Entry> gpu(String gpu) {
        return byGpu.computeIfAbsent(gpu, this::read);
    }

    private Path file(String gpu) {
        return folder.resolve(gpu + ".properties");
    }

    private Map<String, Entry> read(String gpu) {
        Map<String, Entry> out = new ConcurrentHashMap<>();
        Map<String, String> lines = readLines(file(gpu));
        for (Map.Entry<String, String> l : lines.entrySet()) {
            if (!l.getKey().endsWith(".spec")) continue;
            String id = l.getKey().substring(0, l.getKey().length() - ".spec".length());
            try {
                TuningKey key = TuningKey.parse(gpu, id);
                KernelSpec spec = SpecCodec.decode(l.getValue());
                if (spec.headDim() != key.headDim() || spec.causal() != key.causal() || spec.inType() != key.inType()
                        || spec.outType() != key.outType() || spec.qk() != key.qk()) {
                    throw new IllegalArgumentException("spec " + spec + " does not fit the key");
                }
                double ms = Double.parseDouble(lines.getOrDefault(id + ".ms", "NaN"));
                out.put(id, new Entry(key, spec, ms, lines.getOrDefault(id + ".tuned", "")));
            } catch (IllegalArgumentException e) {
                warnings.accept("sageptx tuning: ignoring entry '" + id + "' of " + file(gpu) + ": " + e.getMessage());
            }
        }
        return out;
    }

    private Map<String, String> readLines(Path file) {
        if (!Files.isRegularFile(file)) return new TreeMap<>();
        try {
            return PropertiesText.parse(Files.readAllBytes(file));
        } catch (IOException | IllegalArgumentException e) {
            warnings.accept("sageptx tuning: ignoring unreadable " + file + ": " + e.getMessage());
            return new TreeMap<>();
        }
    }
}
