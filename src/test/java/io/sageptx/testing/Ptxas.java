package io.sageptx.testing;

import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collections;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import org.junit.jupiter.api.Assumptions;

/**
 * Test-side wrapper around NVIDIA's {@code ptxas}: assembles PTX text for a target with {@code -v} and
 * parses what it reports per entry function (registers, spills, stack frame, static shared memory).
 * Needs no GPU, only the CUDA toolkit's {@code ptxas} on {@code PATH}.
 *
 * <pre>{@code
 * Ptxas.assumeAvailable();
 * Ptxas.Result r = Ptxas.assemble(ptx, "sm_89");
 * assertEquals(0, r.exitCode(), r.log());
 * Ptxas.EntryInfo e = r.entry("my_kernel");
 * }</pre>
 */
public final class Ptxas {

    /** Wall-clock limit of one ptxas run. */
    public static final long TIMEOUT_SECONDS = 120;

    private static final Pattern COMPILING =
            Pattern.compile("Compiling entry function '([^']+)' for '([^']+)'");
    private static final Pattern PROPERTIES = Pattern.compile("Function properties for (\\S+)");
    private static final Pattern FRAME = Pattern.compile(
            "(\\d+) bytes stack frame, (\\d+) bytes spill stores, (\\d+) bytes spill loads");
    private static final Pattern USED = Pattern.compile("Used (\\d+) registers");
    private static final Pattern SMEM = Pattern.compile("(\\d+) bytes smem");

    private static volatile Optional<Path> cached;

    private Ptxas() {
    }

    /**
     * What ptxas reported for one entry function.
     *
     * @param name        the entry's name
     * @param registers   registers per thread
     * @param spillStores bytes of spill stores
     * @param spillLoads  bytes of spill loads
     * @param stackFrame  bytes of stack frame
     * @param sharedBytes bytes of static shared memory (dynamic shared memory is not reported by ptxas)
     */
    public record EntryInfo(String name, int registers, int spillStores, int spillLoads, int stackFrame,
                            int sharedBytes) {

        /** True when nothing was spilled and no stack frame is used. */
        public boolean noSpills() {
            return spillStores == 0 && spillLoads == 0 && stackFrame == 0;
        }

        @Override
        public String toString() {
            return name + ": " + registers + " registers, " + spillStores + " B spill stores, " + spillLoads
                    + " B spill loads, " + stackFrame + " B stack frame, " + sharedBytes + " B smem";
        }
    }

    /**
     * The outcome of one ptxas run.
     *
     * @param target   the {@code -arch} it ran with
     * @param exitCode ptxas's exit status
     * @param log      everything it printed (stdout and stderr merged)
     * @param entries  per entry function, in the order ptxas compiled them
     */
    public record Result(String target, int exitCode, String log, Map<String, EntryInfo> entries) {

        public Result {
            entries = Collections.unmodifiableMap(new LinkedHashMap<>(entries));
        }

        public boolean ok() {
            return exitCode == 0;
        }

        /** The info of an entry; fails with the log when ptxas did not report it. */
        public EntryInfo entry(String name) {
            EntryInfo e = entries.get(name);
            if (e == null) {
                throw new AssertionError("ptxas reported no entry '" + name + "' for " + target + "; entries: "
                        + entries.keySet() + "\n" + log);
            }
            return e;
        }
    }

    /** The {@code ptxas} executable on {@code PATH}, if there is one. */
    public static Optional<Path> find() {
        Optional<Path> p = cached;
        if (p == null) {
            p = search();
            cached = p;
        }
        return p;
    }

    private static Optional<Path> search() {
        String path = System.getenv("PATH");
        if (path == null) return Optional.empty();
        for (String dir : path.split(Pattern.quote(File.pathSeparator))) {
            if (dir.isEmpty()) continue;
            Path candidate = Path.of(dir, "ptxas");
            if (Files.isRegularFile(candidate) && Files.isExecutable(candidate)) return Optional.of(candidate);
        }
        return Optional.empty();
    }

    public static boolean available() {
        return find().isPresent();
    }

    /**
     * Skips the calling test (JUnit assumption) when ptxas is not on {@code PATH}; on CI (environment
     * variable {@code CI=true}) a missing ptxas is an error instead: throws {@link AssertionError}.
     */
    public static void assumeAvailable() {
        if (available()) return;
        String msg = "ptxas not found on PATH (install the CUDA toolkit and put its bin/ directory on PATH"
                + " to run the PTX assembly tests)";
        if ("true".equals(System.getenv("CI"))) {
            throw new AssertionError(msg + "; CI=true, so this is a failure, not a skip");
        }
        Assumptions.assumeTrue(false, msg);
    }

    /**
     * Assembles {@code ptx} with {@code ptxas -v -arch=<target> in.ptx -o out.cubin} (a whole program, as the
     * kernel cache has the driver compile it) in a fresh temporary directory (removed afterwards) and parses the
     * {@code -v} report.
     *
     * @throws IllegalStateException when ptxas is missing or does not finish in {@link #TIMEOUT_SECONDS}
     */
    public static Result assemble(String ptx, String target) {
        Path exe = find().orElseThrow(() -> new IllegalStateException("ptxas not found on PATH"));
        Path dir = null;
        try {
            dir = Files.createTempDirectory("sageptx-ptxas");
            Path in = dir.resolve("in.ptx");
            Path out = dir.resolve("out.cubin");
            Files.writeString(in, ptx, StandardCharsets.UTF_8);
            // a whole program, as the kernel cache has the driver compile it (not -c: relocatable code serializes
            // wgmma and spills; docs/notes/wgmma-jit.md)
            ProcessBuilder pb = new ProcessBuilder(exe.toString(), "-v", "-arch=" + target, in.toString(), "-o",
                    out.toString());
            pb.directory(dir.toFile());
            pb.redirectErrorStream(true);
            Process proc = pb.start();
            String log;
            try (InputStream is = proc.getInputStream()) {
                log = new String(is.readAllBytes(), StandardCharsets.UTF_8);
            }
            if (!proc.waitFor(TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
                proc.destroyForcibly();
                throw new IllegalStateException("ptxas did not finish in " + TIMEOUT_SECONDS + " s for " + target);
            }
            return new Result(target, proc.exitValue(), log, parse(log));
        } catch (IOException e) {
            throw new UncheckedIOException("running ptxas for " + target, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while running ptxas", e);
        } finally {
            if (dir != null) deleteQuietly(dir);
        }
    }

    /**
     * Parses the {@code -v} report: "Compiling entry function 'X'" starts an entry; its "Function properties
     * for X" line is followed by the stack frame and spill numbers; the next "Used N registers" line
     * gives registers and static shared memory. Properties of non-entry functions are ignored.
     */
    public static Map<String, EntryInfo> parse(String log) {
        Map<String, EntryInfo> out = new LinkedHashMap<>();
        String current = null;   // entry being compiled: the next "Used" line belongs to it
        String properties = null; // function whose frame line comes next
        for (String line : log.split("\\R")) {
            Matcher m = COMPILING.matcher(line);
            if (m.find()) {
                current = m.group(1);
                out.put(current, new EntryInfo(current, -1, 0, 0, 0, 0));
                properties = null;
                continue;
            }
            m = PROPERTIES.matcher(line);
            if (m.find()) {
                properties = m.group(1);
                continue;
            }
            m = FRAME.matcher(line);
            if (m.find()) {
                if (properties != null && out.containsKey(properties)) {
                    EntryInfo e = out.get(properties);
                    out.put(properties, new EntryInfo(e.name(), e.registers(), Integer.parseInt(m.group(2)),
                            Integer.parseInt(m.group(3)), Integer.parseInt(m.group(1)), e.sharedBytes()));
                }
                properties = null;
                continue;
            }
            m = USED.matcher(line);
            if (m.find() && current != null) {
                EntryInfo e = out.get(current);
                Matcher s = SMEM.matcher(line);
                int smem = s.find() ? Integer.parseInt(s.group(1)) : 0;
                out.put(current, new EntryInfo(e.name(), Integer.parseInt(m.group(1)), e.spillStores(),
                        e.spillLoads(), e.stackFrame(), smem));
                current = null;
            }
        }
        return out;
    }

    private static void deleteQuietly(Path dir) {
        try (Stream<Path> s = Files.walk(dir)) {
            for (Path p : s.sorted(Comparator.reverseOrder()).collect(Collectors.toList())) {
                Files.deleteIfExists(p);
            }
        } catch (IOException ignored) {
            // a temp directory left behind is harmless
        }
    }
}
