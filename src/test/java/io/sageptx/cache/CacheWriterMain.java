package io.sageptx.cache;

import java.nio.file.Path;

/**
 * One writer process of {@link ConcurrentWritersTest}: loads keys s0..s(n-1) through a cache on the
 * given folder with a slow stub compiler, then prints one line per key: {@code <key> <source>}.
 * Arguments: folder, number of keys, compile sleep in ms.
 */
public final class CacheWriterMain {
    public static void main(String[] args) {
        Path folder = Path.of(args[0]);
        int n = Integer.parseInt(args[1]);
        long sleep = Long.parseLong(args[2]);
        ModuleCache<String> c = new ModuleCache<>(folder, "9.0", new FakeBackend("9.0", sleep), System.err::println);
        for (int i = 0; i < n; i++) {
            // every process walks the keys from a different start, so they collide on different keys
            int k = (i + (int) (ProcessHandle.current().pid() % n)) % n;
            String spec = "s" + k;
            LoadedModule<String> m = c.load(ModuleCacheTest.key(spec), () -> ModuleCacheTest.ptx(spec));
            if (!m.module().equals(ModuleCacheTest.ptx(spec))) {
                System.out.println("WRONG " + spec);
                System.exit(3);
            }
            System.out.println(spec + " " + m.source());
        }
    }
}
