package io.sageptx.runtime;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

import io.sageptx.cuda.CudaKernel;
import io.sageptx.cuda.DeviceContext;
import io.sageptx.cuda.PtxModule;
import io.sageptx.plan.AttentionPlan;
import io.sageptx.plan.WgmmaPlan;
import io.sageptx.ptx.AttentionKernelEmitter;
import io.sageptx.ptx.PreprocessEmitter;
import io.sageptx.ptx.PtxVersions;
import io.sageptx.spec.KernelSpec;
import io.sageptx.spec.MmaKind;

/**
 * The loaded kernels of one spec on one device: the fused attention kernel and its preprocessing
 * kernels. Loaded once per (device, spec) and kept for the life of the process.
 */
public final class AttentionKernels {

    private record Key(int device, KernelSpec spec) {
    }

    private static final Map<Key, AttentionKernels> LOADED = new ConcurrentHashMap<>();

    private final KernelSpec spec;
    private final AttentionPlan plan;
    private final int smemBytes;
    private final CudaKernel attention;
    private final CudaKernel kvStats;
    private final CudaKernel quantQ;
    private final CudaKernel quantK;
    private final CudaKernel quantV;
    private final double loadMillis;

    private AttentionKernels(DeviceContext ctx, KernelSpec spec) {
        this.spec = spec;
        this.plan = new AttentionPlan(spec);
        boolean wgmma = spec.mma() == MmaKind.WGMMA;
        this.smemBytes = wgmma ? new WgmmaPlan(spec).smemBytes() : plan.smemBytes();
        String isa = PtxVersions.isa(spec);
        PtxVersions.requireDriver(ctx.driverVersion(), isa, ctx.name(), "kernel " + spec);
        ctx.makeCurrent();
        PtxModule main = PtxModule.load(ctx, AttentionKernelEmitter.emit(spec), spec.kernelName());
        PtxModule pre = PtxModule.load(ctx, PreprocessEmitter.emit(spec), spec.kernelName() + " preprocessing");
        this.attention = main.function(spec.kernelName());
        this.attention.setMaxDynamicSharedBytes(smemBytes);
        this.kvStats = pre.function(PreprocessEmitter.kvStatsName(spec));
        this.quantQ = pre.function(PreprocessEmitter.quantQName(spec));
        this.quantK = pre.function(PreprocessEmitter.quantKName(spec));
        this.quantV = spec.pv().isFp8() ? pre.function(PreprocessEmitter.quantVName(spec)) : null;
        this.loadMillis = main.loadMillis() + pre.loadMillis();
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

    /** Time the driver took to load both modules (JIT included when its cache missed). */
    public double loadMillis() {
        return loadMillis;
    }
}
