package io.sageptx.arch;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.spi.ToolProvider;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

import io.sageptx.spec.KernelSpec;

/**
 * The library's packages form no cycle (checked with the JDK's jdeps on the compiled classes): layers run
 * spec, cuda/cache, ptx, kernel, kernels.*, call, runtime, tune, api, bench/cli.
 */
class PackageCyclesTest {

    private static final Pattern EDGE = Pattern.compile("^\\s*(io\\.sageptx[\\w.]*)\\s+->\\s+(io\\.sageptx[\\w.]*)\\s");

    @Test
    void noPackageDependsOnItselfThroughOthers() throws Exception {
        ToolProvider jdeps = ToolProvider.findFirst("jdeps").orElse(null);
        Assumptions.assumeTrue(jdeps != null, "jdeps is not in this Java runtime");
        Path classes = Path.of(KernelSpec.class.getProtectionDomain().getCodeSource().getLocation().toURI());
        StringWriter out = new StringWriter();
        int rc = jdeps.run(new PrintWriter(out), new PrintWriter(new StringWriter()), "-verbose:package", "-filter:none",
                classes.toString());
        assertTrue(rc == 0, "jdeps failed: " + out);
        Map<String, Set<String>> g = new TreeMap<>();
        for (String line : out.toString().split("\\R")) {
            Matcher m = EDGE.matcher(line);
            if (m.find() && !m.group(1).equals(m.group(2))) g.computeIfAbsent(m.group(1), k -> new TreeSet<>()).add(m.group(2));
        }
        assertTrue(g.size() > 10, "jdeps output not understood:\n" + out);
        List<String> cycles = new ArrayList<>();
        for (String a : g.keySet()) {
            for (String b : g.get(a)) {
                if (reaches(g, b, a)) cycles.add(a + " -> " + b + " -> ... -> " + a);
            }
        }
        assertTrue(cycles.isEmpty(), "package cycles: " + cycles);
    }

    private static boolean reaches(Map<String, Set<String>> g, String from, String to) {
        Deque<String> todo = new ArrayDeque<>(List.of(from));
        Set<String> seen = new TreeSet<>();
        while (!todo.isEmpty()) {
            String x = todo.pop();
            if (x.equals(to)) return true;
            if (seen.add(x)) todo.addAll(g.getOrDefault(x, Set.of()));
        }
        return false;
    }
}
