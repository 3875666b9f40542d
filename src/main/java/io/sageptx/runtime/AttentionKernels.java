package io.sageptx.runtime;

import io.sageptx.kernels.AttentionFamilies;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

import io.sageptx.cache.LoadedModule;
import io.sageptx.cuda.DeviceContext;
import io.sageptx.cuda.PtxModule;
import io.sageptx.kernel.KernelLoader;
import io.sageptx.kernel.KernelLoader.Kernel;
import io.sageptx.kernel.ModuleDef;
import io.sageptx.kernels.AttentionModules;
import io.sageptx.kernels.attention.ScratchLayout;
import io.sageptx.kernels.preprocess.PreprocessKernels;
import io.sageptx.runtime.AttentionLaunches.Role;
import io.sageptx.spec.KernelSpec;
import io.sageptx.spec.QkPrecision;

/**
 * The loaded kernels of one spec on one device: the fused attention kernel (of the spec's family) and
 * its preprocessing kernels, through {@link KernelLoader} (the disk cache; compiled only on a miss).
 * Loaded once per (device, spec) and kept for the life of the process.
 */
public final class AttentionKernels {

    private record Key(int device, KernelSpec spec) {
    }

    private static final Map<Key, AttentionKernels> LOADED = new ConcurrentHashMap<>();

    private final KernelSpec spec;
    private final int smemBytes;
    private final Kernel<ScratchLayout> attention;
    private final Kernel<ScratchLayout> kvStats;
    private final Kernel<ScratchLayout> quantQ;
    private final Kernel<ScratchLayout> quantK;
    private final Kernel<ScratchLayout> quantV;
    private Kernel<ScratchLayout> qkDecide;
    private final AttentionKernels partner;
    private final List<LoadedModule<PtxModule>> modules;

    private AttentionKernels(DeviceContext ctx, KernelSpec spec, AttentionKernels partner) {
        this.spec = spec;
        this.partner = partner;
        this.smemBytes = AttentionFamilies.of(spec).smemBytes(spec);
        List<LoadedModule<PtxModule>> got = new ArrayList<>();
        for (ModuleDef m : modules(spec)) got.add(KernelLoader.load(ctx, m));
        this.modules = List.copyOf(got);
        ModuleDef main = AttentionModules.module(spec);
        this.attention = KernelLoader.kernel(ctx, main, AttentionLaunches.def(Role.ATTENTION, spec));
        this.attention.function().setMaxDynamicSharedBytes(smemBytes);
        if (spec.fp16Qk()) {
            // 16-bit QK reads the caller's tensors: no preprocessing module
            this.kvStats = null;
            this.quantQ = null;
            this.quantK = null;
            this.quantV = null;
            return;
        }
        ModuleDef pre = PreprocessKernels.module(spec);
        this.kvStats = KernelLoader.kernel(ctx, pre, AttentionLaunches.def(Role.KV_STATS, spec));
        this.quantQ = KernelLoader.kernel(ctx, pre, AttentionLaunches.def(Role.QUANT_Q, spec));
        this.quantK = KernelLoader.kernel(ctx, pre, AttentionLaunches.def(Role.QUANT_K, spec));
        this.quantV = spec.pv().isFp8() ? KernelLoader.kernel(ctx, pre, AttentionLaunches.def(Role.QUANT_V, spec)) : null;
        if (spec.qk() == QkPrecision.AUTO) {
            this.qkDecide = KernelLoader.kernel(ctx, pre, AttentionLaunches.def(Role.QK_DECIDE, spec));
        }
    }

    /**
     * The modules of a spec: the fused attention kernel first, then the preprocessing kernels (none for 16-bit
     * QK, which reads the caller's tensors).
     */
    public static List<ModuleDef> modules(KernelSpec spec) {
        if (spec.fp16Qk()) return List.of(AttentionModules.module(spec));
        if (spec.qk() == QkPrecision.AUTO) {
            return List.of(AttentionModules.module(spec), PreprocessKernels.module(spec),
                    AttentionModules.module(spec.autoPartner()));
        }
        return List.of(AttentionModules.module(spec), PreprocessKernels.module(spec));
    }

    /** The kernels of a spec on a device, loading (JIT-compiling) them on first use. */
    public static AttentionKernels of(DeviceContext ctx, KernelSpec spec) {
        // qk=auto: the 16-bit partner is loaded first, outside this map's update (no recursive computeIfAbsent)
        AttentionKernels partner = spec.qk() == QkPrecision.AUTO ? of(ctx, spec.autoPartner()) : null;
        return LOADED.computeIfAbsent(new Key(ctx.ordinal(), spec), k -> new AttentionKernels(ctx, spec, partner));
    }

    /** The loaded kernel of a launch's role ({@link Role#PARTNER}: the 16-bit partner's fused kernel). */
    public Kernel<ScratchLayout> kernel(Role role) {
        return switch (role) {
            case KV_STATS -> kvStats;
            case QUANT_K -> quantK;
            case QUANT_Q -> quantQ;
            case QUANT_V -> quantV;
            case QK_DECIDE -> qkDecide;
            case ATTENTION -> attention;
            case PARTNER -> partner.attention;
        };
    }

    /** The spec these kernels were generated for. */
    public KernelSpec spec() {
        return spec;
    }

    /** Dynamic shared memory of one CTA of the fused kernel. */
    public int smemBytes() {
        return smemBytes;
    }

    /** The fused attention kernel. */
    public Kernel<ScratchLayout> attention() {
        return attention;
    }

    /** K/V statistics (null for 16-bit QK, as are the other preprocessing kernels). */
    public Kernel<ScratchLayout> kvStats() {
        return kvStats;
    }

    /** The INT8 quantization of Q (preprocessing). */
    public Kernel<ScratchLayout> quantQ() {
        return quantQ;
    }

    /** The smoothing and INT8 quantization of K (preprocessing). */
    public Kernel<ScratchLayout> quantK() {
        return quantK;
    }

    /** The FP8 V transform, or null for the FP16 PV variant. */
    public Kernel<ScratchLayout> quantV() {
        return quantV;
    }

    /** qk=auto: the decision kernel (null otherwise). */
    public Kernel<ScratchLayout> qkDecide() {
        return qkDecide;
    }

    /** qk=auto: the kernels of the 16-bit QK partner that runs the flagged heads (null otherwise). */
    public AttentionKernels autoPartner() {
        return partner;
    }

    /** How the modules were obtained (disk or compiled) and what that cost. */
    public List<LoadedModule<PtxModule>> loadedModules() {
        return modules;
    }

    /** Time taken to get both modules: compile (on a cache miss) plus load. */
    public double loadMillis() {
        return modules.stream().mapToDouble(LoadedModule::totalMillis).sum();
    }
}
