package io.sageptx.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.sageptx.bench.BenchResult;

/**
 * Paths on the command line resolve against the directory the user ran the command from: the CLI is
 * started as a separate process in another directory (Java cannot change its own), with relative
 * {@code -o}, {@code --cache-dir}, {@code $SAGEPTX_CACHE_DIR}, {@code plot -o}; and so does the checkout
 * launcher {@code tools/sageptx} when its class path is already built.
 */
class CliPathsTest {

    @TempDir
    Path tmp;

    Path work;

    record Proc(int code, String out, String err) {
    }

    @BeforeEach
    void workDir() throws Exception {
        work = Files.createDirectories(tmp.resolve("somewhere else"));
    }

    /**
     * The command line's class path, from where its classes were loaded (works under Surefire and the JUnit
     * console launcher alike, whose java.class.path is only the launcher).
     */
    static String classPath() throws Exception {
        List<String> out = new ArrayList<>();
        for (Class<?> c : new Class<?>[]{Main.class, picocli.CommandLine.class, jcuda.Pointer.class,
                org.stringtemplate.v4.ST.class, org.antlr.runtime.Token.class}) {
            String p = Path.of(c.getProtectionDomain().getCodeSource().getLocation().toURI()).toString();
            if (!out.contains(p)) out.add(p);
        }
        for (String name : new String[]{"org.jfree.chart.JFreeChart", "jcuda.jcublas.JCublas2"}) { // optional ones
            try {
                String p = Path.of(Class.forName(name, false, CliPathsTest.class.getClassLoader()).getProtectionDomain()
                        .getCodeSource().getLocation().toURI()).toString();
                if (!out.contains(p)) out.add(p);
            } catch (ClassNotFoundException e) {
                // absent: the CLI runs without it
            }
        }
        // jcuda-natives holds no classes, only the native libraries: found by its Maven metadata
        java.util.Enumeration<java.net.URL> natives = CliPathsTest.class.getClassLoader()
                .getResources("META-INF/maven/org.jcuda/jcuda-natives/pom.properties");
        while (natives.hasMoreElements()) {
            String u = natives.nextElement().toString();
            if (u.startsWith("jar:file:")) {
                String p = Path.of(java.net.URI.create(u.substring(4, u.indexOf("!/")))).toString();
                if (!out.contains(p)) out.add(p);
            }
        }
        return String.join(File.pathSeparator, out);
    }

    static Proc exec(Path cwd, Map<String, String> env, List<String> command) throws Exception {
        ProcessBuilder pb = new ProcessBuilder(command).directory(cwd.toFile());
        pb.environment().remove("SAGEPTX_CACHE_DIR");
        pb.environment().putAll(env);
        Path out = Files.createTempFile("cli-out", ".txt");
        Path err = Files.createTempFile("cli-err", ".txt");
        pb.redirectOutput(out.toFile()).redirectError(err.toFile());
        Process p = pb.start();
        if (!p.waitFor(120, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError("timed out: " + command);
        }
        Proc r = new Proc(p.exitValue(), Files.readString(out, StandardCharsets.UTF_8), Files.readString(err, StandardCharsets.UTF_8));
        Files.delete(out);
        Files.delete(err);
        return r;
    }

    static Proc cli(Path cwd, Map<String, String> env, String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Djava.awt.headless=true", "-cp", classPath(), "io.sageptx.cli.Main"));
        cmd.addAll(List.of(args));
        return exec(cwd, env, cmd);
    }

    @Test
    void outputAndCacheFoldersAreRelativeToTheCurrentDirectory() throws Exception {
        Proc e = cli(work, Map.of(), "emit-ptx", "--head-dim", "64", "-o", "rel.ptx");
        assertEquals(0, e.code(), e.err());
        Path ptx = work.resolve("rel.ptx");
        assertTrue(Files.readString(ptx).contains(".entry sage_attn_d64"), "written where the user is");
        assertTrue(e.err().contains("wrote " + ptx.toAbsolutePath() + " ("), e.err());

        Proc c = cli(work, Map.of(), "cache", "list", "--cache-dir", "relcache");
        assertEquals(0, c.code(), c.err());
        assertTrue(c.out().startsWith("cache: " + work.resolve("relcache")), c.out());

        Proc v = cli(work, Map.of("SAGEPTX_CACHE_DIR", "relenv"), "info");
        assertTrue(v.out().contains("cache: " + work.resolve("relenv") + " ($SAGEPTX_CACHE_DIR)"), v.out());

        Proc missing = cli(work, Map.of(), "emit-ptx", "-o", "no/dir/x.ptx");
        assertEquals(1, missing.code());
        assertEquals("sageptx emit-ptx: " + work.resolve("no/dir/x.ptx") + ": no such directory", missing.err().strip());
        try (Stream<Path> s = Files.list(tmp)) {
            assertEquals(List.of(work), s.toList(), "nothing lands anywhere else");
        }
    }

    @Test
    void plotPathsAreRelativeToo() throws Exception {
        Assumptions.assumeTrue(PlotSupport.canDraw(), "no java.desktop");
        List<String> lines = new ArrayList<>(List.of(String.join(",", BenchResult.CSV_COLUMNS)));
        for (int n : new int[]{1024, 2048}) {
            lines.add(new BenchResult("GPU", 4, 32, 128, n, false, "fp16", "default", "s", 20, 1.0, 0.9, 0.1, 1e9).csvLine());
        }
        Files.createDirectories(work.resolve("runs"));
        Files.write(work.resolve("runs/bench.csv"), lines, StandardCharsets.UTF_8);
        Proc p = cli(work, Map.of(), "plot", "runs/bench.csv", "-o", "pics/b.png");
        assertEquals(0, p.code(), p.err());
        assertTrue(Files.size(work.resolve("pics/b.png")) > 0);
        assertTrue(p.out().startsWith("wrote " + work.resolve("pics/b.png") + " ("), p.out());
    }

    @Test
    void theCheckoutLauncherKeepsTheUsersDirectory() throws Exception {
        Path root = Path.of("").toAbsolutePath(); // Surefire runs in the project's root
        Path launcher = root.resolve("tools/sageptx");
        Path cp = root.resolve("target/classpath.txt");
        Assumptions.assumeTrue(Files.isExecutable(launcher), "no tools/sageptx");
        Assumptions.assumeTrue(Files.exists(cp) && Files.getLastModifiedTime(cp).compareTo(
                Files.getLastModifiedTime(root.resolve("pom.xml"))) > 0 && !newerSources(root, cp),
                "tools/sageptx would build first (target/classpath.txt missing or stale); CI runs it in tools/ci/cli-check");
        Proc e = exec(work, Map.of(), List.of("bash", launcher.toString(), "emit-ptx", "--arch", "sm_80", "-o", "rel.ptx"));
        assertEquals(0, e.code(), e.err());
        assertTrue(Files.exists(work.resolve("rel.ptx")));
        assertFalse(Files.exists(root.resolve("rel.ptx")), "not in the checkout");
        assertTrue(e.err().contains("wrote " + work.resolve("rel.ptx")), e.err());
    }

    private static boolean newerSources(Path root, Path than) throws Exception {
        long t = Files.getLastModifiedTime(than).toMillis();
        try (Stream<Path> s = Files.walk(root.resolve("src/main"))) {
            return s.anyMatch(p -> new File(p.toString()).lastModified() > t);
        }
    }
}
