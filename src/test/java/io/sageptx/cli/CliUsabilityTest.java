package io.sageptx.cli;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import io.sageptx.cache.CacheDirectory;
import io.sageptx.cuda.Cuda;
import picocli.CommandLine;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;

/**
 * The command line as a new user meets it, without a GPU: one vocabulary of options in every command,
 * help texts that are current, errors that name the option the user typed (never one they did not),
 * file errors that say why, arch names as users type them, info's exit code, and library warnings on
 * standard error.
 */
class CliUsabilityTest {

    @TempDir
    Path tmp;

    @AfterEach
    void resetCacheOverride() {
        CacheDirectory.override(null);
    }

    static CliTest.Run run(String... args) {
        return CliTest.run(args);
    }

    /** Every command and sub-command, by qualified name without the leading "sageptx ". */
    static Map<String, CommandSpec> commands() {
        Map<String, CommandSpec> out = new HashMap<>();
        collect(Main.commandLine(), out);
        return out;
    }

    private static void collect(CommandLine cl, Map<String, CommandSpec> out) {
        for (CommandLine sub : cl.getSubcommands().values()) {
            String name = sub.getCommandSpec().qualifiedName().replaceFirst("^sageptx ", "");
            if (!name.equals("help")) out.put(name, sub.getCommandSpec());
            collect(sub, out);
        }
    }

    /** Which shared options each command must have. */
    static final Map<String, List<String>> SHARED = Map.of(
            "emit-ptx", List.of("--arch", "--head-dim", "--dtype", "--causal"),
            "run", List.of("--device", "--head-dim", "--dtype", "--causal", "--seq", "--cache-dir"),
            "bench", List.of("--device", "--head-dim", "--dtype", "--causal", "--seq", "--cache-dir", "--csv", "--plot"),
            "autotune", List.of("--device", "--head-dim", "--dtype", "--causal", "--seq", "--cache-dir", "--csv", "--plot"),
            "verify", List.of("--device", "--head-dim", "--dtype", "--causal", "--seq", "--cache-dir", "--csv", "--plot"),
            "warmup", List.of("--device", "--head-dim", "--dtype", "--causal", "--cache-dir"),
            "info", List.of("--cache-dir"),
            "cache list", List.of("--cache-dir"),
            "cache verify", List.of("--cache-dir"),
            "cache clear", List.of("--cache-dir"));

    @Test
    void everyCommandHasTheSharedOptionsInOneForm() {
        Map<String, CommandSpec> cmds = commands();
        Map<String, OptionSpec> first = new HashMap<>();
        Map<String, String> firstIn = new HashMap<>();
        for (Map.Entry<String, List<String>> e : SHARED.entrySet()) {
            CommandSpec c = cmds.get(e.getKey());
            assertTrue(c != null, e.getKey());
            for (String name : e.getValue()) {
                OptionSpec o = c.findOption(name);
                assertTrue(o != null, e.getKey() + " has " + name);
                OptionSpec f = first.putIfAbsent(name, o);
                firstIn.putIfAbsent(name, e.getKey());
                if (f == null) continue;
                String where = name + " in " + e.getKey() + " and " + firstIn.get(name);
                assertEquals(f.arity(), o.arity(), where + ": arity");
                assertEquals(f.typeInfo().isMultiValue(), o.typeInfo().isMultiValue(), where + ": list or not");
                assertEquals(f.splitRegex(), o.splitRegex(), where + ": split");
                assertEquals(List.of(f.names()), List.of(o.names()), where + ": names");
            }
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"bench", "autotune", "verify", "warmup"})
    void listCommandsParseTheSharedListForms(String command) {
        List<String> args = new ArrayList<>(List.of(command.split(" ")));
        args.addAll(List.of("--head-dim", "64,128", "--dtype", "fp16,bf16", "--causal", "both", "--device", "0",
                "--cache-dir", tmp.toString()));
        if (!command.equals("warmup")) args.addAll(List.of("--seq", "1k,2048"));
        assertDoesNotThrow(() -> Main.commandLine().parseArgs(args.toArray(String[]::new)));
        for (String causal : new String[]{"false", "true", "both", "false,true"}) {
            assertDoesNotThrow(() -> Main.commandLine().parseArgs(command, "--causal", causal));
        }
        assertDoesNotThrow(() -> Main.commandLine().parseArgs(command, "--causal")); // alone: true
    }

    @Test
    void givenValuesReplaceTheDefaults() {
        BenchCommand b = new BenchCommand();
        new CommandLine(b).parseArgs("--causal", "false", "--head-dim", "96", "--seq", "2k", "--dtype", "bf16");
        assertEquals(List.of(false), Opts.causal(b.causal));
        assertEquals(List.of(96), Opts.headDims(b.headDims));
        assertEquals(List.of(2048), Opts.lengths("--seq", b.seqs));
        assertEquals(List.of(io.sageptx.spec.DType.BF16), Opts.dtypes("--dtype", b.dtypes));
        BenchCommand d = new BenchCommand();
        new CommandLine(d).parseArgs();
        assertEquals(List.of(false, true), Opts.causal(d.causal));
        assertEquals(List.of(1024, 2048, 4096, 8192, 16384, 32768), Opts.lengths("--seq", d.seqs));
        BenchCommand alone = new BenchCommand();
        new CommandLine(alone).parseArgs("--causal");
        assertEquals(List.of(true), Opts.causal(alone.causal));
        BenchCommand twice = new BenchCommand();
        new CommandLine(twice).parseArgs("--head-dim", "64", "--head-dim", "128,256");
        assertEquals(List.of(64, 128, 256), Opts.headDims(twice.headDims));
    }

    @ParameterizedTest
    @ValueSource(strings = {"emit-ptx", "run"})
    void oneKernelCommandsParseTheSameFormsAndRefuseListsByName(String command) {
        assertDoesNotThrow(() -> Main.commandLine().parseArgs(command, "--head-dim", "64", "--dtype", "bf16", "--causal", "true"));
        assertDoesNotThrow(() -> Main.commandLine().parseArgs(command, "--causal"));
        CliTest.Run r = run(command, "--head-dim", "64,128");
        assertEquals(1, r.code());
        assertTrue(r.err().startsWith("sageptx " + command + ": --head-dim 64,128: takes one value here"), r.err());
        CliTest.Run c = run(command, "--causal", "both");
        assertTrue(c.err().startsWith("sageptx " + command + ": --causal both: takes false or true here"), c.err());
    }

    @Test
    void helpTextsAreCurrent() {
        for (Map.Entry<String, CommandSpec> e : commands().entrySet()) {
            String help = new CommandLine(e.getValue()).getUsageMessage();
            for (String stale : new String[]{"64 or 128", "64 and 128", "--head-dims", "--seq-lens", "no, yes or both"}) {
                assertFalse(help.contains(stale), e.getKey() + " help says '" + stale + "':\n" + help);
            }
            OptionSpec hd = e.getValue().findOption("--head-dim");
            if (hd != null) assertTrue(String.join(" ", hd.description()).contains("32 to 256"), e.getKey() + ": " + help);
            OptionSpec mma = e.getValue().findOption("--mma");
            if (mma != null) assertTrue(String.join(" ", mma.description()).contains("sm_90 default at every head dim"), help);
        }
    }

    record Bad(String expectedStart, String... args) {
    }

    @Test
    void errorsNameTheOptionTheUserGave() {
        Path missingDir = tmp.resolve("no/such/dir/y.ptx");
        List<Bad> cases = List.of(
                new Bad("sageptx emit-ptx: --head-dim 512 is not allowed; allowed: 32, 48, 64", "emit-ptx", "--head-dim", "512"),
                new Bad("sageptx emit-ptx: --warps 6 is not allowed; allowed: 4, 8", "emit-ptx", "--warps", "6"),
                new Bad("sageptx emit-ptx: --block-q 48 fits no --warps on sm_90 (--arch sm_90): with --warps 4, --block-q 48 "
                        + "is not allowed", "emit-ptx", "--arch", "sm_90", "--block-q", "48"),
                new Bad("sageptx emit-ptx: --block-k 128 is not allowed for d128 q64 k64 w4 full pv=fp8-f16acc", "emit-ptx",
                        "--arch", "sm_89", "--block-k", "128"),
                new Bad("sageptx emit-ptx: --block-q 96 is not allowed; allowed: warps * 16 or warps * 32", "emit-ptx",
                        "--block-q", "96", "--warps", "8"),
                new Bad("sageptx emit-ptx: --pv fp8 is not allowed; allowed: fp8-f16acc, fp8-f32acc, fp16", "emit-ptx", "--pv", "fp8"),
                new Bad("sageptx emit-ptx: --pv fp8-f16acc does not run on sm_80 (--arch sm_80); allowed there: fp16", "emit-ptx",
                        "--arch", "sm_80", "--pv", "fp8-f16acc"),
                new Bad("sageptx emit-ptx: --mma wgmma does not run on sm_89 (--arch sm_89); allowed there: sync", "emit-ptx",
                        "--mma", "wgmma"),
                new Bad("sageptx emit-ptx: --mma wgmma runs no --pv fp16 kernel on sm_90", "emit-ptx", "--arch", "sm_90a",
                        "--mma", "wgmma", "--pv", "fp16"),
                new Bad("sageptx emit-ptx: --quant row is not allowed; allowed: thread, warp, block", "emit-ptx", "--quant", "row"),
                new Bad("sageptx emit-ptx: --dtype fp32 is not allowed; allowed: fp16, bf16", "emit-ptx", "--dtype", "fp32"),
                new Bad("sageptx emit-ptx: --out-dtype fp8 is not allowed; allowed: fp16, bf16", "emit-ptx", "--out-dtype", "fp8"),
                new Bad("sageptx emit-ptx: --module decode is not allowed; allowed: attention, preprocess", "emit-ptx", "--module", "decode"),
                new Bad("sageptx emit-ptx: --arch foo is not an architecture", "emit-ptx", "--arch", "foo"),
                new Bad("sageptx emit-ptx: " + missingDir + ": no such directory", "emit-ptx", "-o", missingDir.toString()),
                new Bad("sageptx emit-ptx: " + tmp + ": is a directory", "emit-ptx", "-o", tmp.toString()),
                new Bad("sageptx warmup: --head-dim 100 is not allowed", "warmup", "--head-dim", "64,100"),
                new Bad("sageptx warmup: --causal maybe is not allowed; allowed: false, true, both", "warmup", "--causal", "maybe"),
                new Bad("sageptx verify: --seq 4096 is not allowed; allowed: 1 to 2048", "verify", "--seq", "4k"),
                new Bad("sageptx verify: --heads 99 is not allowed; allowed: 1 to 16", "verify", "--heads", "99"),
                new Bad("sageptx bench: --seq 0 is not a positive length (like 4096 or 4k)", "bench", "--seq", "1k,0"),
                new Bad("sageptx bench: --seq 4x is not a positive length", "bench", "--seq", "4x"),
                new Bad("sageptx bench: --runs 0 must be at least 1", "bench", "--runs", "0"),
                new Bad("sageptx bench: --sdpa-csv is drawn by --plot: give --plot FILE.png too", "bench", "--sdpa-csv", "x.csv"),
                new Bad("sageptx autotune: --dtype fp32 is not allowed; allowed: fp16, bf16", "autotune", "--dtype", "fp16,fp32"),
                new Bad("sageptx run: --causal true needs --kv-seq equal to --seq", "run", "--causal", "--kv-seq", "100"),
                new Bad("sageptx plot: " + tmp.resolve("missing.csv") + ": no such file", "plot", tmp.resolve("missing.csv").toString()));
        for (Bad b : cases) {
            CliTest.Run r = run(b.args());
            String what = String.join(" ", b.args());
            assertEquals(1, r.code(), what + ": " + r.err());
            assertTrue(r.err().startsWith(b.expectedStart()), what + ":\n  want " + b.expectedStart() + "\n  got  " + r.err());
            assertEquals(1, r.err().strip().lines().count(), what + ": one line: " + r.err());
            assertFalse(r.err().contains("KernelSpec."), what + ": " + r.err());
            assertFalse(r.err().contains("\tat "), what + ": no stack trace");
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"sm_80", "sm_86", "sm_89", "sm_90", "sm_90a", "sm_100", "sm_120"})
    void warpsOrBlockAloneNeverBlameTheOther(String arch) {
        for (String[] opt : new String[][]{{"--warps", "4"}, {"--warps", "8"}, {"--block-q", "64"}, {"--block-q", "128"}}) {
            CliTest.Run r = run("emit-ptx", "--arch", arch, opt[0], opt[1], "-o", tmp.resolve("k.ptx").toString());
            assertEquals(0, r.code(), arch + " " + opt[0] + " " + opt[1] + ": " + r.err());
            String label = r.err().lines().filter(l -> l.startsWith("wrote ")).findFirst().orElseThrow();
            assertTrue(label.contains(opt[0].equals("--warps") ? " w" + opt[1] + " " : " q" + opt[1] + " "), label);
        }
    }

    @Test
    void archNamesAsUsersTypeThem() throws Exception {
        String[][] cases = {{"sm_86", "sm_80", "compute capability 8.6 runs the sm_80 family's PTX"}, {"8.6", "sm_80", "8.6"},
                {"sm_90a", "sm_90a", null}, {"sm_90", "sm_90a", null}, {"90", "sm_90a", null},
                {"sm_100", "sm_89", "compute capability 10.0 has no target of its own"}, {"sm_120", "sm_120", null},
                {"sm_89", "sm_89", null}, {"SM_80", "sm_80", null}};
        for (String[] c : cases) {
            Path f = tmp.resolve("a.ptx");
            CliTest.Run r = run("emit-ptx", "--arch", c[0], "-o", f.toString());
            assertEquals(0, r.code(), c[0] + ": " + r.err());
            assertTrue(Files.readString(f).contains(".target " + c[1] + "\n"), c[0] + " -> .target " + c[1]);
            if (c[2] != null) {
                assertTrue(r.err().startsWith("note: --arch " + c[0] + ": ") && r.err().contains(c[2]), c[0] + ": " + r.err());
            } else {
                assertFalse(r.err().contains("note:"), c[0] + ": " + r.err());
            }
        }
    }

    @Test
    void infoExitsNonZeroWithoutADevice() {
        Assumptions.assumeFalse(Cuda.available(), "a GPU is present");
        CliTest.Run r = run("info", "--cache-dir", tmp.toString());
        assertEquals(1, r.code(), r.err());
        assertTrue(r.out().startsWith("no CUDA device: "), r.out());
        assertTrue(r.out().contains("cache: " + tmp + " (--cache-dir)"), r.out());
    }

    @Test
    void libraryWarningsReachStandardError() throws Exception {
        Path tuning = CacheDirectory.tuning(tmp);
        Files.createDirectories(tuning);
        Files.writeString(tuning.resolve("sm_90-Fake_GPU.properties"), "nonsense.spec=x\n");
        CliTest.Run r = run("cache", "list", "--cache-dir", tmp.toString());
        assertEquals(0, r.code(), r.err());
        assertTrue(r.err().contains("warning: sageptx tuning: ignoring entry 'nonsense'"), r.err());
        assertEquals(1, r.err().strip().lines().count(), r.err());
    }

    @Test
    void versionIsTheBuilds() {
        CliTest.Run r = run("--version");
        assertEquals(0, r.code());
        assertTrue(r.out().strip().matches("sageptx \\d+\\.\\d+\\.\\d+.*"), r.out());
        assertFalse(r.out().contains("unknown"), r.out());
    }
}
