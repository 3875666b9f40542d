package io.sageptx.cache;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashSet;
import java.util.List;
import java.util.Set;

import org.junit.jupiter.api.Test;

import io.sageptx.kernels.mmasync.MmaSyncEmitter;
import io.sageptx.kernels.preprocess.PreprocessEmitter;

class ModuleKeyTest {

    static final ModuleKey BASE = new ModuleKey("attention", "gen-1+abc", "t1", "d128 q128 sm_90", "9.0", 13000);

    @Test
    void digestIsStableAndHex() {
        assertEquals(BASE.digest(), new ModuleKey("attention", "gen-1+abc", "t1", "d128 q128 sm_90", "9.0", 13000).digest());
        assertTrue(BASE.digest().matches("[0-9a-f]{64}"));
    }

    @Test
    void everyFieldChangesTheDigest() {
        Set<String> digests = new HashSet<>();
        digests.add(BASE.digest());
        digests.add(new ModuleKey("preprocess", "gen-1+abc", "t1", "d128 q128 sm_90", "9.0", 13000).digest());
        digests.add(new ModuleKey("attention", "gen-2+abc", "t1", "d128 q128 sm_90", "9.0", 13000).digest());
        digests.add(new ModuleKey("attention", "gen-1+abc", "t2", "d128 q128 sm_90", "9.0", 13000).digest());
        digests.add(new ModuleKey("attention", "gen-1+abc", "t1", "d64 q128 sm_90", "9.0", 13000).digest());
        digests.add(new ModuleKey("attention", "gen-1+abc", "t1", "d128 q128 sm_90", "9.1", 13000).digest());
        digests.add(new ModuleKey("attention", "gen-1+abc", "t1", "d128 q128 sm_90", "9.0", 12080).digest());
        assertEquals(7, digests.size());
    }

    @Test
    void multiLineFieldsAreRefused() {
        assertThrows(IllegalArgumentException.class, () -> new ModuleKey("a\nb", "g", "t", "s", "9.0", 1));
    }

    @Test
    void parsesCompilerLogs() {
        String log = """
                ptxas info    : 0 bytes gmem
                ptxas info    : Compiling entry function 'sage_a' for 'sm_90a'
                ptxas info    : Function properties for sage_a
                    8 bytes stack frame, 12 bytes spill stores, 16 bytes spill loads
                ptxas info    : Used 255 registers, 2048 bytes smem, 400 bytes cmem[0]
                ptxas info    : Compiling entry function 'sage_b' for 'sm_90a'
                ptxas info    : Function properties for sage_b
                    0 bytes stack frame, 0 bytes spill stores, 0 bytes spill loads
                ptxas info    : Used 40 registers, 384 bytes cmem[0]
                """;
        List<KernelStats> k = KernelStats.parseLog(log);
        assertEquals(List.of(new KernelStats("sage_a", 255, 12, 16, 8, 2048), new KernelStats("sage_b", 40, 0, 0, 0, 0)), k);
        assertTrue(k.get(0).spills());
        assertTrue(KernelStats.parseLog("").isEmpty());
    }
}
