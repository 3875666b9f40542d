package io.sageptx.cli;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;

import io.sageptx.cache.CacheContents;
import io.sageptx.cache.CacheDirectory;
import io.sageptx.cuda.Cuda;
import io.sageptx.cuda.DeviceContext;
import io.sageptx.spec.Arch;
import io.sageptx.runtime.TuningDb;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

@Command(name = "info", mixinStandardHelpOptions = true,
        description = "List the CUDA devices (name, compute capability, SMs, memory, driver), what SagePTX would run on them, and the cache folder's contents by GPU.")
final class InfoCommand implements Callable<Integer> {

    @Mixin
    CacheOptions cache;

    @Override
    public Integer call() throws IOException {
        if (!Cuda.available()) {
            System.out.println("no CUDA device: " + Cuda.unavailableReason());
        } else {
            System.out.println("driver: CUDA " + Cuda.formatVersion(Cuda.driverVersion()));
            Table t = new Table("device", "name", "cc", "SMs", "memory GiB", "smem opt-in KiB", "target", "default PV", "cache folder");
            for (int i = 0; i < Cuda.deviceCount(); i++) {
                DeviceContext ctx = DeviceContext.of(i);
                Arch a = Arch.forDevice(ctx.computeCapabilityMajor(), ctx.computeCapabilityMinor());
                t.row("cuda:" + i, ctx.name(), ctx.computeCapabilityMajor() + "." + ctx.computeCapabilityMinor(),
                        ctx.multiprocessorCount(), String.format(Locale.ROOT, "%.1f", ctx.totalMemoryBytes() / (double) (1L << 30)),
                        ctx.maxSharedMemoryPerBlockOptin() >> 10, a.target(), a.defaultPv().id(),
                        CacheDirectory.gpuFolderName(ctx.name(), ctx.computeCapabilityMajor(), ctx.computeCapabilityMinor()));
            }
            t.print(System.out);
        }
        Path root = cache.apply();
        System.out.println();
        System.out.println("cache: " + root + " (" + source() + ")");
        List<CacheContents.GpuFolder> gpus = CacheContents.scan(root);
        TuningDb db = new TuningDb(CacheDirectory.tuning(root));
        Table t = new Table("GPU folder", "modules", "KiB", "bad", "tuned keys");
        for (CacheContents.GpuFolder g : gpus) {
            t.row(g.name(), g.entries().size(), String.format(Locale.ROOT, "%.1f", g.bytes() / 1024.0), g.bad(),
                    db.entries(g.name()).size());
        }
        for (String g : db.gpus()) {
            if (gpus.stream().noneMatch(x -> x.name().equals(g))) t.row(g, 0, "0.0", 0, db.entries(g).size());
        }
        if (t.isEmpty()) {
            System.out.println("empty");
        } else {
            t.print(System.out);
        }
        return 0;
    }

    private String source() {
        if (cache.cacheDir != null) return "--cache-dir";
        if (System.getenv(CacheDirectory.ENV) != null && !System.getenv(CacheDirectory.ENV).isBlank()) return "$" + CacheDirectory.ENV;
        return "default";
    }
}
