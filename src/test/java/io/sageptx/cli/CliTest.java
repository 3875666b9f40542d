package io.sageptx.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import io.sageptx.cache.CacheDirectory;
import io.sageptx.cache.FakeBackend;
import io.sageptx.cache.ModuleCache;
import io.sageptx.cache.ModuleKey;
import io.sageptx.cuda.Cuda;
import io.sageptx.spec.Arch;
import io.sageptx.spec.DType;
import io.sageptx.spec.KernelSpec;
import io.sageptx.runtime.TuningDb;
import io.sageptx.runtime.TuningKey;
import picocli.CommandLine;

/** The command line without a GPU: parsing, help, one-line errors, emit-ptx, and the cache commands. */
class CliTest {

    @TempDir
    Path tmp;

    record Run(int code, String out, String err) {
    }

    static Run run(String... args) {
        PrintStream oldOut = System.out;
        PrintStream oldErr = System.err;
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        try (PrintStream o = new PrintStream(out, true, StandardCharsets.UTF_8);
             PrintStream e = new PrintStream(err, true, StandardCharsets.UTF_8)) {
            System.setOut(o);
            System.setErr(e);
            CommandLine cl = Main.commandLine();
            cl.setOut(new PrintWriter(o, true));
            cl.setErr(new PrintWriter(e, true));
            int code = cl.execute(args);
            return new Run(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
        } finally {
            System.setOut(oldOut);
            System.setErr(oldErr);
        }
    }

    @AfterEach
    void resetCacheOverride() {
        CacheDirectory.override(null);
    }

    @ParameterizedTest
    @ValueSource(strings = {"emit-ptx", "run", "info", "bench", "warmup", "autotune", "verify", "cache", "cache list",
            "cache verify", "cache clear", "plot"})
    void everyCommandHasHelp(String command) {
        String[] args = (command + " --help").split(" ");
        Run r = run(args);
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("Usage: sageptx " + command), r.out());
    }

    @Test
    void topLevelHelpListsTheCommands() {
        Run r = run("--help");
        assertEquals(0, r.code());
        for (String c : new String[]{"emit-ptx", "run", "info", "bench", "warmup", "autotune", "verify", "cache", "plot"}) {
            assertTrue(r.out().contains(c), c);
        }
    }

    @Test
    void parameterErrorsAreOneLineWithExitCode1() {
        Run r = run("autotune", "--bogus");
        assertEquals(1, r.code());
        assertEquals(1, r.err().strip().lines().count(), r.err());
        assertTrue(r.err().startsWith("sageptx autotune: Unknown option: '--bogus'"), r.err());
        Run bad = run("warmup", "--causal", "maybe");
        assertEquals(1, bad.code());
        assertEquals(1, bad.err().strip().lines().count(), bad.err());
        assertEquals(1, run("cache", "list", "extra").code());
    }

    @Test
    void executionErrorsAreOneLineWithExitCode1() {
        Run r = run("emit-ptx", "--arch", "sm_70");
        assertEquals(1, r.code());
        assertTrue(r.err().strip().startsWith("sageptx emit-ptx: --arch sm_70: compute capability 7.0 is not supported"),
                r.err());
        assertEquals(1, r.err().strip().lines().count(), r.err());
        Run v = run("verify", "--seq", "5000");
        assertEquals(1, v.code());
        assertTrue(v.err().startsWith("sageptx verify: --seq 5000"), v.err());
        Run a = run("autotune", "--space", "huge", "--cache-dir", tmp.toString());
        assertEquals(1, a.code());
        assertTrue(a.err().contains("--space huge is not allowed; allowed: standard, default-only"), a.err());
        assertFalse(a.err().contains("\tat "), "no stack trace");
    }

    @Test
    void gpuCommandsWithoutAGpuFailInOneLine() {
        Assumptions.assumeFalse(Cuda.available(), "a GPU is present");
        for (String c : new String[]{"warmup", "verify"}) {
            Run r = run(c, "--cache-dir", tmp.toString());
            assertEquals(1, r.code());
            assertTrue(r.err().startsWith("sageptx " + c + ": CUDA unavailable"), r.err());
            assertEquals(1, r.err().strip().lines().count(), r.err());
        }
    }

    @Test
    void emitPtxPrintsAndWrites() throws Exception {
        Run r = run("emit-ptx", "--arch", "sm_89", "--head-dim", "64", "--causal");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains(".entry sage_attn_d64_q128_k64_w8_causal"), r.out().substring(0, 300));
        Path f = tmp.resolve("pre.ptx");
        Run w = run("emit-ptx", "--arch", "sm_90", "--module", "preprocess", "--quant", "warp", "-o", f.toString());
        assertEquals(0, w.code(), w.err());
        assertTrue(Files.readString(f).contains("_quant_q"));
        assertTrue(w.err().contains("wrote " + f));
    }

    /** A cache folder with two modules of a fake GPU and one tuned winner. */
    Path populated() {
        Path folder = tmp.resolve("kernels/sm_90-Fake_GPU");
        ModuleCache<String> c = new ModuleCache<>(folder, "9.0", new FakeBackend("9.0"), System.err::println);
        for (String s : new String[]{"spec-a", "spec-b"}) {
            c.load(new ModuleKey("attention", "g", "t", s, "9.0", 13000), () -> "// " + s + "\n");
        }
        KernelSpec win = KernelSpec.defaults(Arch.SM90, 128, false, DType.FP16, DType.FP16).toBuilder().tiles(64, 4).build();
        new TuningDb(CacheDirectory.tuning(tmp), System.err::println)
                .store(new TuningKey("sm_90-Fake_GPU", DType.FP16, DType.FP16, 128, false, 4096), win, 3.5);
        return folder;
    }

    @Test
    void cacheListShowsModulesAndTunedWinners() {
        populated();
        Run r = run("cache", "list", "--cache-dir", tmp.toString());
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("sm_90-Fake_GPU: 2 modules"), r.out());
        assertTrue(r.out().contains("spec-a") && r.out().contains("spec-b"), r.out());
        assertTrue(r.out().contains("fp16-fp16.d128.full.n4096") && r.out().contains("q64 k64 w4"), r.out());
        Run info = run("info", "--cache-dir", tmp.toString());
        assertEquals(Cuda.available() ? 0 : 1, info.code(), info.err()); // 1: no usable CUDA device
        assertTrue(info.out().contains("cache: " + tmp + " (--cache-dir)"), info.out());
        assertTrue(info.out().contains("sm_90-Fake_GPU"), info.out());
    }

    @Test
    void cacheVerifyFindsAndRepairsCorruptEntries() throws Exception {
        Path folder = populated();
        assertEquals(0, run("cache", "verify", "--cache-dir", tmp.toString()).code());
        Path cubin;
        try (Stream<Path> s = Files.walk(folder)) {
            cubin = s.filter(p -> p.getFileName().toString().equals("module.cubin")).findFirst().orElseThrow();
        }
        Files.write(cubin, new byte[]{1, 2, 3});
        Run bad = run("cache", "verify", "--cache-dir", tmp.toString());
        assertEquals(1, bad.code());
        assertTrue(bad.out().contains("truncated") && bad.out().contains("2 modules, 1 bad"), bad.out());
        Run fix = run("cache", "verify", "--repair", "--cache-dir", tmp.toString());
        assertEquals(0, fix.code(), fix.out());
        Run after = run("cache", "verify", "--cache-dir", tmp.toString());
        assertEquals(0, after.code());
        assertTrue(after.out().contains("1 modules, 0 bad"), after.out());
    }

    @Test
    void cacheClearKeepsTuningUnlessAsked() {
        populated();
        Run r = run("cache", "clear", "--cache-dir", tmp.toString());
        assertEquals(0, r.code(), r.err());
        assertFalse(Files.exists(CacheDirectory.kernels(tmp)));
        assertTrue(Files.exists(CacheDirectory.tuning(tmp).resolve("sm_90-Fake_GPU.properties")));
        assertEquals(1, run("cache", "clear", "--gpu", "nope", "--cache-dir", tmp.toString()).code());
        Run t = run("cache", "clear", "--tuning", "--cache-dir", tmp.toString());
        assertEquals(0, t.code());
        assertFalse(Files.exists(CacheDirectory.tuning(tmp).resolve("sm_90-Fake_GPU.properties")));
    }

    @Test
    void cacheDirOptionOverridesTheEnvironment() {
        Run r = run("cache", "list", "--cache-dir", tmp.resolve("x").toString());
        assertTrue(r.out().startsWith("cache: " + tmp.resolve("x")), r.out());
        assertTrue(r.out().contains("no cached kernels"));
    }
}
