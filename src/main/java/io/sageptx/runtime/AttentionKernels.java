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
import io.sageptx.plan.WgmmaPlan;
import io.sageptx.plan.SwizzledTile;
import io.sageptx.plan.TileCopy;
import io.sageptx.ptx.AttentionKernelEmitter;
import io.sageptx.ptx.PreprocessEmitter;
import io.sageptx.ptx.PtxVersions;
import io.sageptx.ptx.PtxFloats;
import io.sageptx.ptx.TemplateRenderer;
import io.sageptx.ptx.WgmmaKernelEmitter;
import io.sageptx.spec.KernelSpec;
import io.sageptx.spec.MmaKind;

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
    private final int smemBytes;
    private final CudaKernel attention;
    private final CudaKernel kvStats;
    private final CudaKernel quantQ;
    private final CudaKernel quantK;
    private final CudaKernel quantV;
    private final double loadMillis;
    private final List<LoadedModule<PtxModule>> modules;

    private AttentionKernels(DeviceContext ctx, KernelSpec spec) {
        this.spec = spec;
        this.smemBytes = spec.mma() == MmaKind.WGMMA ? new WgmmaPlan(spec).smemBytes() : new AttentionPlan(spec).smemBytes();
        String isa = PtxVersions.isa(spec);
        PtxVersions.requireDriver(ctx.driverVersion(), isa, ctx.name(), "kernel " + spec);
        ctx.makeCurrent();
        List<LoadedModule<PtxModule>> got = new ArrayList<>();
        for (ModuleRequest r : modules(ctx, spec)) {
            got.add(DeviceKernelCache.load(ctx, r.key(), r.ptx()));
        }
        this.modules = List.copyOf(got);
        PtxModule main = got.get(0).module();
        PtxModule pre = got.get(1).module();
        this.attention = main.function(spec.kernelName());
        this.attention.setMaxDynamicSharedBytes(smemBytes);
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
                        List.of("templates/attention.stg", "templates/attention_wgmma.stg", "templates/strided.stg"),
                        AttentionKernelEmitter.class, WgmmaKernelEmitter.class, AttentionPlan.class, WgmmaPlan.class,
                        SwizzledTile.class, TileCopy.class, PtxVersions.class, PtxFloats.class, TemplateRenderer.class,
                        KernelSpec.class),
                        () -> AttentionKernelEmitter.emit(spec)),
                new ModuleRequest("preprocess", DeviceKernelCache.key(ctx, "preprocess", text,
                        List.of("templates/preprocess.stg", "templates/strided.stg"), PreprocessEmitter.class, PtxVersions.class,
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


    /** Dynamic shared memory of one CTA of the fused kernel. */
    public int smemBytes() {
        return smemBytes;
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
