package io.sageptx.cache;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Several JVMs warm one cache folder at once (real processes: {@link CacheWriterMain}); the folder must
 * end with one good entry per key, a complete index and no temporaries, and every process must have
 * got correct modules.
 */
class ConcurrentWritersTest {

    static final int PROCESSES = 4;
    static final int KEYS = 6;

    @TempDir
    Path tmp;

    @Test
    void processesWarmingOneFolderEndWithOneConsistentCache() throws Exception {
        Path folder = tmp.resolve("kernels/sm_90-Fake");
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        String cp = System.getProperty("java.class.path");
        List<Process> ps = new ArrayList<>();
        List<Path> outs = new ArrayList<>();
        for (int i = 0; i < PROCESSES; i++) {
            Path out = tmp.resolve("out" + i + ".txt");
            outs.add(out);
            ps.add(new ProcessBuilder(java, "-Xshare:auto", "-XX:TieredStopAtLevel=1", "-cp", cp,
                    CacheWriterMain.class.getName(), folder.toString(), Integer.toString(KEYS), "40")
                    .redirectErrorStream(true).redirectOutput(out.toFile()).start());
        }
        for (int i = 0; i < PROCESSES; i++) {
            assertTrue(ps.get(i).waitFor(120, TimeUnit.SECONDS), "writer " + i + " did not finish");
            assertEquals(0, ps.get(i).exitValue(), Files.readString(outs.get(i)));
        }
        Map<String, Integer> compiled = new HashMap<>();
        for (Path out : outs) {
            List<String> lines = Files.readAllLines(out, StandardCharsets.UTF_8);
            assertEquals(KEYS, lines.size(), String.join("\n", lines));
            for (String l : lines) {
                String[] f = l.split(" ");
                assertTrue(f[1].equals("COMPILED") || f[1].equals("DISK"), l);
                if (f[1].equals("COMPILED")) compiled.merge(f[0], 1, Integer::sum);
            }
        }
        assertEquals(KEYS, compiled.size(), "every key compiled by at least one process: " + compiled);
        ModuleCacheTest.assertConsistent(folder, KEYS);
        // and a later process finds everything on disk
        FakeBackend b = new FakeBackend("9.0");
        ModuleCache<String> c = new ModuleCache<>(folder, "9.0", b, m -> {
            throw new AssertionError(m);
        });
        for (int k = 0; k < KEYS; k++) {
            assertEquals(LoadedModule.Source.DISK, c.load(ModuleCacheTest.key("s" + k), () -> ModuleCacheTest.ptx("x")).source());
        }
        assertEquals(0, b.compiles.get());
    }
}
