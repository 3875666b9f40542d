package io.sageptx.cache;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.nio.file.Path;
import java.util.Map;

import org.junit.jupiter.api.Test;

class CacheDirectoryTest {

    @Test
    void apiOverrideWinsOverEverything() {
        Path p = CacheDirectory.resolve(Path.of("/opt/cache"), Map.of("SAGEPTX_CACHE_DIR", "/env", "XDG_CACHE_HOME", "/xdg"), "/home/u");
        assertEquals(Path.of("/opt/cache"), p);
    }

    @Test
    void environmentVariableWinsOverXdgAndHome() {
        assertEquals(Path.of("/env/c"), CacheDirectory.resolve(null, Map.of("SAGEPTX_CACHE_DIR", "/env/c", "XDG_CACHE_HOME", "/xdg"), "/home/u"));
    }

    @Test
    void xdgCacheHomeThenHome() {
        assertEquals(Path.of("/xdg/sageptx"), CacheDirectory.resolve(null, Map.of("XDG_CACHE_HOME", "/xdg"), "/home/u"));
        assertEquals(Path.of("/home/u/.cache/sageptx"), CacheDirectory.resolve(null, Map.of(), "/home/u"));
        // blank or relative XDG_CACHE_HOME is ignored, as the XDG spec says
        assertEquals(Path.of("/home/u/.cache/sageptx"), CacheDirectory.resolve(null, Map.of("XDG_CACHE_HOME", "rel"), "/home/u"));
        assertEquals(Path.of("/home/u/.cache/sageptx"), CacheDirectory.resolve(null, Map.of("SAGEPTX_CACHE_DIR", " "), "/home/u"));
        assertThrows(IllegalStateException.class, () -> CacheDirectory.resolve(null, Map.of(), null));
    }

    @Test
    void processOverride() {
        try {
            CacheDirectory.override(Path.of("/tmp/x/../y"));
            assertEquals(Path.of("/tmp/y"), CacheDirectory.root());
        } finally {
            CacheDirectory.override(null);
        }
    }

    @Test
    void gpuFolderNamesAreSafe() {
        assertEquals("sm_90-NVIDIA_H100_80GB_HBM3", CacheDirectory.gpuFolderName("NVIDIA H100 80GB HBM3", 9, 0));
        assertEquals("sm_89-NVIDIA_GeForce_RTX_4090", CacheDirectory.gpuFolderName(" NVIDIA GeForce RTX 4090 ", 8, 9));
        assertEquals("sm_120", CacheDirectory.gpuFolderName("///", 12, 0));
        assertEquals("sm_80-A_B", CacheDirectory.gpuFolderName("A/..\\B", 8, 0));
    }
}
