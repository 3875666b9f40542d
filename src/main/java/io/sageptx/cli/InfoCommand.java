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
import io.sageptx.kernels.AttentionFamilies;
import io.sageptx.runtime.ShortSequences;
import io.sageptx.runtime.TuningDb;
import io.sageptx.spec.Arch;
import io.sageptx.spec.DType;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

@Command(name = "info", mixinStandardHelpOptions = true,
        description = {"List the CUDA devices (name, compute capability, SMs, memory, driver), the kernel SagePTX runs "
                + "on each by default (D=128, fp16, when nothing is tuned), and the cache folder's contents by GPU.",
                "Exits with 1 when no CUDA device is usable."})
final class InfoCommand implements Callable<Integer> {

    @Mixin
    CacheOptions cache;

    @Override
    public Integer call() throws IOException {
        int code = 0;
        if (!Cuda.available()) {
            System.out.println("no CUDA device: " + Cuda.unavailableReason());
            code = 1;
        } else {
            System.out.println("driver: CUDA " + Cuda.formatVersion(Cuda.driverVersion()));
            Table t = new Table("device", "name", "cc", "SMs", "memory GiB", "smem opt-in KiB", "target",
                    "default kernel (D=128, fp16)", "cache folder");
            StringBuilder notes = new StringBuilder();
            for (int i = 0; i < Cuda.deviceCount(); i++) {
                DeviceContext ctx = DeviceContext.of(i);
                int major = ctx.computeCapabilityMajor();
                int minor = ctx.computeCapabilityMinor();
                String target;
                String spec;
                try {
                    Arch.DeviceTarget dt = Arch.target(major, minor);
                    target = dt.arch().target();
                    spec = AttentionFamilies.preferred(dt.arch(), 128, false, DType.FP16, DType.FP16).toString();
                    if (dt.portable()) notes.append("note: cuda:").append(i).append(": ").append(dt.note()).append('\n');
                    if (dt.arch() == Arch.SM90 && ShortSequences.enabled()) {
                        notes.append("note: cuda:").append(i).append(": short sequences (an average row sees <= ")
                                .append(ShortSequences.KEYS_D128).append(" keys, <= ")
                                .append(ShortSequences.KEYS_D64)
                                .append(" at D <= 64) run 16-bit QK, faster there (-D")
                                .append(ShortSequences.PROPERTY).append("=int8 keeps INT8)\n");
                    }
                } catch (IllegalArgumentException e) { // below compute capability 8.0
                    target = "unsupported";
                    spec = "-";
                    notes.append("note: cuda:").append(i).append(": ").append(e.getMessage()).append('\n');
                    code = 1;
                }
                t.row("cuda:" + i, ctx.name(), major + "." + minor, ctx.multiprocessorCount(),
                        String.format(Locale.ROOT, "%.1f", ctx.totalMemoryBytes() / (double) (1L << 30)),
                        ctx.maxSharedMemoryPerBlockOptin() >> 10, target, spec,
                        CacheDirectory.gpuFolderName(ctx.name(), major, minor));
            }
            t.print(System.out);
            System.out.print(notes);
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
        return code;
    }

    private String source() {
        if (cache.cacheDir != null) return "--cache-dir";
        if (System.getenv(CacheDirectory.ENV) != null && !System.getenv(CacheDirectory.ENV).isBlank()) return "$" + CacheDirectory.ENV;
        return "default";
    }
}
