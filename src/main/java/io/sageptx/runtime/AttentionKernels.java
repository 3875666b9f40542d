package io.sageptx.runtime;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

import io.sageptx.cache.DeviceKernelCache;
import io.sageptx.cache.LoadedModule;
import io.sageptx.cache.ModuleRequest;
import io.sageptx.cuda.CudaKernel;
import io.sageptx.cuda.DeviceContext;
import io.sageptx.cuda.PtxModule;
import io.sageptx.plan.AttentionPlan;
import io.sageptx.plan.TileCopy;
import io.sageptx.ptx.AttentionKernelEmitter;
import io.sageptx.ptx.PreprocessEmitter;
import io.sageptx.ptx.PtxVersions;
import io.sageptx.ptx.PtxFloats;
import io.sageptx.ptx.TemplateRenderer;
import io.sageptx.spec.KernelSpec;

/**
 * The loaded kernels of one spec on one device: the fused attention kernel and its preprocessing
 * kernels. Loaded once per (device, spec) and kept for the life of the process; the modules come
 * from the device's kernel cache on disk ({@link DeviceKernelCache}), compiled only on a miss.
 */
public final class AttentionKernels {

    private record Key(int device, KernelSpec spec) {
    }

    private static final Map<Key, AttentionKernels> LOADED = new ConcurrentHashMap<>();

    private final KernelSpec spec;
    private final AttentionPlan plan;
    private final CudaKernel attention;
    private final CudaKernel kvStats;
    private final CudaKernel quantQ;
    private final CudaKernel quantK;
    private final CudaKernel quantV;
    private final double loadMillis;
    private final List<LoadedModule<PtxModule>> modules;

    private AttentionKernels(DeviceContext ctx, KernelSpec spec) {
        this.spec = spec;
        this.plan = new AttentionPlan(spec);
        String isa = PtxVersions.isa(spec);
        int driver = ctx.driverVersion();
        if (driver < PtxVersions.minDriver(isa)) {
            throw new UnsupportedOperationException("the CUDA driver of " + ctx.name() + " supports CUDA "
                    + driver / 1000 + "." + driver % 1000 / 10 + "; kernel " + spec + " needs PTX ISA " + isa
                    + ", which needs a driver for CUDA " + PtxVersions.minDriver(isa) / 1000 + "."
                    + PtxVersions.minDriver(isa) % 1000 / 10 + " or newer");
        }
        ctx.makeCurrent();
        List<LoadedModule<PtxModule>> got = new ArrayList<>();
        for (ModuleRequest r : modules(ctx, spec)) {
            got.add(DeviceKernelCache.load(ctx, r.key(), r.ptx()));
        }
        this.modules = List.copyOf(got);
        PtxModule main = got.get(0).module();
        PtxModule pre = got.get(1).module();
        this.attention = main.function(spec.kernelName());
        this.attention.setMaxDynamicSharedBytes(plan.smemBytes());
        this.kvStats = pre.function(PreprocessEmitter.kvStatsName(spec));
        this.quantQ = pre.function(PreprocessEmitter.quantQName(spec));
        this.quantK = pre.function(PreprocessEmitter.quantKName(spec));
        this.quantV = spec.pv().isFp8() ? pre.function(PreprocessEmitter.quantVName(spec)) : null;
        this.loadMillis = got.stream().mapToDouble(LoadedModule::totalMillis).sum();
    }

    /**
     * The modules of a spec on a device, as cache requests: the fused attention kernel first, then the
     * preprocessing kernels. The keys hash the templates and the classes that build the models.
     */
    public static List<ModuleRequest> modules(DeviceContext ctx, KernelSpec spec) {
        String text = spec.toString();
        return List.of(
                new ModuleRequest("attention", DeviceKernelCache.key(ctx, "attention", text,
                        List.of("templates/attention.stg"), AttentionKernelEmitter.class, AttentionPlan.class,
                        TileCopy.class, PtxVersions.class, PtxFloats.class, TemplateRenderer.class, KernelSpec.class),
                        () -> AttentionKernelEmitter.emit(spec)),
                new ModuleRequest("preprocess", DeviceKernelCache.key(ctx, "preprocess", text,
                        List.of("templates/preprocess.stg"), PreprocessEmitter.class, PtxVersions.class,
                        PtxFloats.class, TemplateRenderer.class, KernelSpec.class),
                        () -> PreprocessEmitter.emit(spec)));
    }

    /** The kernels of a spec on a device, loading (JIT-compiling) them on first use. */
    public static AttentionKernels of(DeviceContext ctx, KernelSpec spec) {
        return LOADED.computeIfAbsent(new Key(ctx.ordinal(), spec), k -> new AttentionKernels(ctx, spec));
    }

    public KernelSpec spec() {
        return spec;
    }

    public AttentionPlan plan() {
        return plan;
    }

    public CudaKernel attention() {
        return attention;
    }

    public CudaKernel kvStats() {
        return kvStats;
    }

    public CudaKernel quantQ() {
        return quantQ;
    }

    public CudaKernel quantK() {
        return quantK;
    }

    /** The FP8 V transform, or null for the FP16 PV variant. */
    public CudaKernel quantV() {
        return quantV;
    }

    /** How the modules were obtained (disk or compiled) and what that cost. */
    public List<LoadedModule<PtxModule>> loadedModules() {
        return modules;
    }

    /** Time taken to get both modules: compile (on a cache miss) plus load. */
    public double loadMillis() {
        return loadMillis;
    }
}
