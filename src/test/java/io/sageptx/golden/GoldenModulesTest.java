package io.sageptx.golden;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Supplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

import org.junit.jupiter.api.Test;

import io.sageptx.testing.Ptxas;

/**
 * The generator's output is pinned: the SHA-256 of every module over the spec grid of the ptxas tests
 * ({@link GoldenModules}) was recorded in {@code golden/modules.tsv}, together with what {@code ptxas -v}
 * reported for each of its entries (registers, spill stores, spill loads, stack frame, static shared
 * memory). A module whose text changed passes only when {@code golden/changed.tsv} names it (a regular
 * expression over labels) with the reason, and then its ptxas statistics must be the recorded ones:
 * a change of text that moves no register, spill or byte of shared memory. A module whose numbers change
 * on purpose (a kernel change, not a restructuring) is re-recorded in the same commit.
 *
 * <p>Recording: {@code mvn test -Dtest=GoldenModulesTest -Dsageptx.golden.record=src/test/resources/golden/modules.tsv}.
 */
class GoldenModulesTest {

    private static final Pattern TARGET = Pattern.compile("(?m)^\\.target\\s+(\\S+)");

    record Golden(String sha, String stats) {
    }

    record Change(Pattern labels, String reason) {
    }

    @Test
    void everyModuleMatchesItsRecordedHashOrItsRecordedPtxasStatistics() throws Exception {
        Map<String, Supplier<String>> modules = GoldenModules.all();
        String record = System.getProperty("sageptx.golden.record");
        if (record != null) {
            record(modules, Path.of(record));
            return;
        }
        Map<String, Golden> golden = readGolden();
        List<Change> changes = readChanges();
        List<String> missing = new ArrayList<>(golden.keySet());
        missing.removeAll(modules.keySet());
        assertTrue(missing.isEmpty(), () -> "modules recorded but no longer emitted: " + missing);
        List<String> failures = new ArrayList<>();
        Map<String, List<String>> byReason = new LinkedHashMap<>();
        Map<String, String> toAssemble = new LinkedHashMap<>();
        int identical = 0;
        for (Map.Entry<String, Supplier<String>> m : modules.entrySet()) {
            Golden g = golden.get(m.getKey());
            if (g == null) {
                failures.add(m.getKey() + ": not recorded");
                continue;
            }
            String ptx = m.getValue().get();
            if (GoldenModules.sha256(ptx).equals(g.sha())) {
                identical++;
                continue;
            }
            Change c = changes.stream().filter(ch -> ch.labels().matcher(m.getKey()).matches()).findFirst().orElse(null);
            if (c == null) {
                failures.add(m.getKey() + ": text changed and golden/changed.tsv does not list it");
                continue;
            }
            byReason.computeIfAbsent(c.reason(), r -> new ArrayList<>()).add(m.getKey());
            toAssemble.put(m.getKey(), ptx);
        }
        if (!toAssemble.isEmpty()) {
            Ptxas.assumeAvailable();
            Map<String, String> stats = assembleAll(toAssemble);
            stats.forEach((label, s) -> {
                String want = golden.get(label).stats();
                if (!numbers(s).equals(numbers(want))) {
                    failures.add(label + ": ptxas statistics changed: recorded " + want + ", now " + s);
                }
            });
        }
        System.out.println("golden modules: " + modules.size() + " emitted, " + identical + " byte-identical, "
                + toAssemble.size() + " changed in text only (ptxas statistics identical)");
        byReason.forEach((reason, labels) -> System.out.println("  " + labels.size() + " modules: " + reason));
        if (!failures.isEmpty()) {
            fail(failures.size() + " modules differ from the golden record:\n  "
                    + failures.stream().limit(3000).collect(Collectors.joining("\n  ")));
        }
        assertEquals(golden.size(), modules.size());
    }

    /** The numbers of a stats string, entry names left out. */
    private static List<String> numbers(String stats) {
        List<String> out = new ArrayList<>();
        for (String e : stats.split(";")) out.add(e.substring(e.indexOf(':') + 1));
        return out;
    }

    private static Map<String, String> assembleAll(Map<String, String> ptx) throws Exception {
        Map<String, String> out = new ConcurrentHashMap<>();
        List<Map.Entry<String, String>> items = new ArrayList<>(ptx.entrySet());
        int threads = Math.max(2, Runtime.getRuntime().availableProcessors());
        List<Thread> pool = new ArrayList<>();
        java.util.concurrent.atomic.AtomicInteger next = new java.util.concurrent.atomic.AtomicInteger();
        List<Throwable> errors = java.util.Collections.synchronizedList(new ArrayList<>());
        for (int t = 0; t < threads; t++) {
            Thread th = new Thread(() -> {
                int i;
                while ((i = next.getAndIncrement()) < items.size()) {
                    try {
                        Map.Entry<String, String> e = items.get(i);
                        out.put(e.getKey(), stats(e.getValue()));
                    } catch (Throwable ex) {
                        errors.add(ex);
                    }
                }
            });
            th.start();
            pool.add(th);
        }
        for (Thread th : pool) th.join();
        if (!errors.isEmpty()) throw new AssertionError(errors.get(0));
        return out;
    }

    /** {@code entry:registers/spillStores/spillLoads/stack/smem;...} in ptxas's order. */
    static String stats(String ptx) {
        Matcher m = TARGET.matcher(ptx);
        if (!m.find()) throw new AssertionError("no .target line");
        Ptxas.Result r = Ptxas.assemble(ptx, m.group(1));
        if (!r.ok()) throw new AssertionError("ptxas failed:\n" + r.log());
        return r.entries().values().stream().map(e -> e.name() + ":" + e.registers() + "/" + e.spillStores() + "/"
                + e.spillLoads() + "/" + e.stackFrame() + "/" + e.sharedBytes()).collect(Collectors.joining(";"));
    }

    private static void record(Map<String, Supplier<String>> modules, Path file) throws Exception {
        Ptxas.assumeAvailable();
        Map<String, String> ptx = new LinkedHashMap<>();
        modules.forEach((k, v) -> ptx.put(k, v.get()));
        Map<String, String> stats = assembleAll(ptx);
        StringBuilder sb = new StringBuilder("# label\tsha256 of the PTX\tptxas -v per entry: name:registers/spill stores/"
                + "spill loads/stack frame/static smem\n");
        ptx.forEach((k, v) -> sb.append(k).append('\t').append(GoldenModules.sha256(v)).append('\t').append(stats.get(k))
                .append('\n'));
        Files.writeString(file, sb.toString(), StandardCharsets.UTF_8);
        System.out.println("recorded " + ptx.size() + " modules in " + file);
    }

    private static Map<String, Golden> readGolden() throws IOException {
        Map<String, Golden> out = new LinkedHashMap<>();
        for (String line : resource("golden/modules.tsv")) {
            String[] f = line.split("\t");
            out.put(f[0], new Golden(f[1], f[2]));
        }
        return out;
    }

    private static List<Change> readChanges() throws IOException {
        List<Change> out = new ArrayList<>();
        for (String line : resource("golden/changed.tsv")) {
            String[] f = line.split("\t");
            out.add(new Change(Pattern.compile(f[0]), f[1]));
        }
        return out;
    }

    private static List<String> resource(String name) throws IOException {
        try (InputStream in = GoldenModulesTest.class.getClassLoader().getResourceAsStream(name)) {
            if (in == null) throw new AssertionError("test resource " + name + " is missing");
            return new String(in.readAllBytes(), StandardCharsets.UTF_8).lines()
                    .filter(l -> !l.isBlank() && !l.startsWith("#")).collect(Collectors.toList());
        }
    }
}
