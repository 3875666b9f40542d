package io.sageptx.cli;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;

import io.sageptx.cache.CacheContents;
import io.sageptx.cache.CacheDirectory;
import io.sageptx.cache.EntryMetadata;
import io.sageptx.cache.KernelStats;
import io.sageptx.runtime.TuningDb;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "cache", mixinStandardHelpOptions = true,
        description = "Inspect the kernel cache (no GPU needed): list, verify or clear it.",
        subcommands = {CacheCommand.ListCommand.class, CacheCommand.VerifyEntries.class, CacheCommand.ClearCommand.class})
final class CacheCommand implements Runnable {

    @picocli.CommandLine.Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(System.out);
    }

    @Command(name = "list", mixinStandardHelpOptions = true,
            description = "List the cached modules by GPU (registers, spills, shared memory, compile ms) and the tuned winners.")
    static final class ListCommand implements Callable<Integer> {
        @Mixin
        CacheOptions cache;

        @Override
        public Integer call() throws IOException {
            Path root = cache.apply();
            System.out.println("cache: " + root);
            List<CacheContents.GpuFolder> gpus = CacheContents.scan(root);
            if (gpus.isEmpty()) System.out.println("no cached kernels");
            for (CacheContents.GpuFolder g : gpus) {
                System.out.printf(Locale.ROOT, "%n%s: %d modules, %.1f KiB%n", g.name(), g.entries().size(), g.bytes() / 1024.0);
                Table t = new Table("entry", "module", "spec", "regs", "local B", "smem B", "cubin KiB", "compile ms", "created", "status");
                for (CacheContents.EntryStatus e : g.entries()) {
                    EntryMetadata m = e.meta();
                    if (m == null) {
                        t.row(e.digest().substring(0, 12), null, null, null, null, null, null, null, null, "BAD: " + e.error());
                        continue;
                    }
                    t.row(e.digest().substring(0, 12), m.key().family(), m.key().spec(), m.maxRegisters(),
                            m.kernels().stream().mapToInt(KernelStats::stackFrame).max().orElse(0),
                            m.kernels().stream().mapToInt(KernelStats::sharedBytes).max().orElse(0),
                            String.format(Locale.ROOT, "%.1f", m.cubinBytes() / 1024.0),
                            String.format(Locale.ROOT, "%.1f", m.compileMillis()), m.created(),
                            e.ok() ? "ok" : "BAD: " + e.error());
                }
                t.print(System.out);
            }
            TuningDb db = new TuningDb(CacheDirectory.tuning(root));
            for (String gpu : db.gpus()) {
                System.out.println();
                System.out.println(gpu + ": tuned winners");
                Table t = new Table("key", "spec", "ms", "tuned");
                for (Map.Entry<String, TuningDb.Entry> e : db.entries(gpu).entrySet()) {
                    t.row(e.getKey(), e.getValue().spec(), String.format(Locale.ROOT, "%.3f", e.getValue().ms()),
                            e.getValue().tuned());
                }
                t.print(System.out);
            }
            return 0;
        }
    }

    @Command(name = "verify", mixinStandardHelpOptions = true,
            description = {"Check every cached module (metadata, sizes, SHA-256 of PTX and cubin, compute capability).",
                    "Exits with 1 when a bad entry is found; --repair removes bad entries and temporaries of writers that died, and rebuilds the index."})
    static final class VerifyEntries implements Callable<Integer> {
        @Option(names = "--repair", description = "remove unusable entries and rewrite the index")
        boolean repair;

        @Mixin
        CacheOptions cache;

        @Override
        public Integer call() throws IOException {
            Path root = cache.apply();
            long bad = 0;
            long total = 0;
            for (CacheContents.GpuFolder g : CacheContents.scan(root)) {
                total += g.entries().size();
                bad += g.bad();
                for (CacheContents.EntryStatus e : g.entries()) {
                    if (!e.ok()) System.out.println(g.name() + "/" + e.digest() + ": " + e.error());
                }
                if (repair) {
                    int removed = CacheContents.repair(g);
                    if (removed > 0) System.out.println(g.name() + ": removed " + removed + " bad entries");
                }
            }
            System.out.println("cache " + root + ": " + total + " modules, " + bad + " bad" + (repair && bad > 0 ? " (removed)" : ""));
            return bad == 0 || repair ? 0 : 1;
        }
    }

    @Command(name = "clear", mixinStandardHelpOptions = true,
            description = "Delete the cached kernels (all GPUs, or --gpu NAME); --tuning also deletes the tuned winners.")
    static final class ClearCommand implements Callable<Integer> {
        @Option(names = "--gpu", description = "only this GPU folder (as `cache list` names it)")
        String gpu;

        @Option(names = "--tuning", description = "also delete the tuning results")
        boolean tuning;

        @Mixin
        CacheOptions cache;

        @Override
        public Integer call() throws IOException {
            Path root = cache.apply();
            long bytes = CacheContents.clear(root, gpu);
            System.out.printf(Locale.ROOT, "cleared %s%s (%.1f KiB)%n", CacheDirectory.kernels(root), gpu == null ? "" : "/" + gpu,
                    bytes / 1024.0);
            if (tuning) {
                int n = new TuningDb(CacheDirectory.tuning(root)).clear();
                System.out.println("cleared " + n + " tuning files in " + CacheDirectory.tuning(root));
            }
            return 0;
        }
    }
}
