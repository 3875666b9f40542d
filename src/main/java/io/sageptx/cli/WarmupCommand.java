package io.sageptx.cli;

import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;

import io.sageptx.cache.CacheDirectory;
import io.sageptx.cache.DeviceKernelCache;
import io.sageptx.cache.LoadedModule;
import io.sageptx.cache.ModuleCache;
import io.sageptx.cache.ModuleKey;
import io.sageptx.kernel.KernelLoader;
import io.sageptx.kernel.ModuleDef;
import io.sageptx.cuda.DeviceContext;
import io.sageptx.cuda.PtxModule;
import io.sageptx.runtime.AttentionKernels;
import io.sageptx.spec.KernelSpec;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

@Command(name = "warmup", mixinStandardHelpOptions = true,
        description = {"Compile and load every kernel of the tuned (or default) set into the disk cache, so that a "
                + "service's first request does not pay for the JIT.",
                "Per module: where it came from (compiled or disk), compile ms, load ms, and a second load from disk (warm ms)."})
final class WarmupCommand implements Callable<Integer> {

    @Mixin
    KernelSetOptions set;

    @Mixin
    CacheOptions cache;

    @Override
    public Integer call() {
        set.validate();
        Path root = cache.apply();
        System.out.println("cache: " + root);
        double cold = 0;
        double warm = 0;
        int modules = 0;
        int compiled = 0;
        Table t = new Table("device", "spec", "module", "source", "compile ms", "load ms", "warm load ms", "regs", "local B");
        for (int dev : set.devices()) {
            DeviceContext ctx = DeviceContext.of(dev);
            String gpu = CacheDirectory.gpuFolderName(ctx.name(), ctx.computeCapabilityMajor(), ctx.computeCapabilityMinor());
            ModuleCache<PtxModule> mc = DeviceKernelCache.of(ctx);
            List<KernelSpec> specs = set.specs(ctx, gpu);
            System.out.println("cuda:" + dev + " " + ctx.name() + ": " + specs.size() + " kernel specs, folder " + mc.folder());
            for (KernelSpec spec : specs) {
                for (ModuleDef r : AttentionKernels.modules(spec)) {
                    ModuleKey key = KernelLoader.key(ctx, r);
                    LoadedModule<PtxModule> first = mc.load(key, r.ptx());
                    LoadedModule<PtxModule> again = mc.load(key, r.ptx());
                    first.module().close();
                    again.module().close();
                    modules++;
                    if (first.source() == LoadedModule.Source.COMPILED) compiled++;
                    cold += first.totalMillis();
                    warm += again.loadMillis();
                    t.row("cuda:" + dev, spec, r.family(), first.source().name().toLowerCase(Locale.ROOT),
                            f(first.compileMillis()), f(first.loadMillis()), f(again.loadMillis()),
                            first.metadata().maxRegisters(), first.metadata().kernels().stream()
                                    .mapToInt(k -> k.stackFrame()).max().orElse(0));
                }
            }
            if (mc.memoryOnlyReason() != null) {
                System.out.println("note: the cache is in memory only (" + mc.memoryOnlyReason() + ")");
            }
        }
        t.print(System.out);
        System.out.printf(Locale.ROOT, "%d modules (%d compiled, %d from disk): first load %.1f ms in total (%.2f ms per "
                        + "module), warm load from disk %.1f ms in total (%.2f ms per module)%n", modules, compiled,
                modules - compiled, cold, cold / Math.max(1, modules), warm, warm / Math.max(1, modules));
        return 0;
    }

    static String f(double ms) {
        return String.format(Locale.ROOT, "%.2f", ms);
    }
}
