package io.sageptx.runtime;

import io.sageptx.kernels.AttentionFamilies;
import io.sageptx.api.SageAttention;
import io.sageptx.cache.CacheDirectory;
import io.sageptx.call.AttentionArgs;
import io.sageptx.cuda.CudaEvent;
import io.sageptx.cuda.CudaStream;
import io.sageptx.cuda.DeviceBuffer;
import io.sageptx.cuda.DeviceContext;
import io.sageptx.kernels.attention.ScratchLayout;
import io.sageptx.spec.Arch;
import io.sageptx.spec.KernelSpec;
import io.sageptx.spec.QkPrecision;
import jcuda.driver.CUstream;

/**
 * Runs attention calls on one device: checks a call's arguments, chooses its spec (asked for, tuned or
 * default), sizes and orders its scratch workspace, loads its kernels and queues the five launches
 * (K/V statistics, INT8 K, INT8 Q, FP8 V, the fused kernel) with arguments bound by name; a call of 16-bit QK
 * ({@code qkPrecision(FP16)}) is one launch of the fused kernel on the caller's tensors. The public API
 * ({@code io.sageptx.api.SageAttention}) and the autotuner both run calls through it.
 *
 * <p>Threads: an instance is safe to share. Calls that use its own workspace are queued one at a time (the
 * host lock is held only while queuing) and their GPU work is serialized, since they share the scratch
 * memory; calls with a workspace of the caller's overlap freely.
 */
public final class AttentionRunner implements AutoCloseable {

    private final DeviceContext ctx;
    private final Arch arch;
    private final Workspace workspace;
    private final String gpu;

    /** A runner on the device of {@code ctx}, with a workspace of its own (allocated on first use). */
    public AttentionRunner(DeviceContext ctx) {
        this.ctx = ctx;
        this.arch = Arch.forDevice(ctx.computeCapabilityMajor(), ctx.computeCapabilityMinor());
        this.gpu = CacheDirectory.gpuFolderName(ctx.name(), ctx.computeCapabilityMajor(), ctx.computeCapabilityMinor());
        this.workspace = new Workspace(ctx);
    }

    /** The device this runner launches on. */
    public DeviceContext context() {
        return ctx;
    }

    /** The architecture the generator targets on this device. */
    public Arch arch() {
        return arch;
    }

    /** The scratch buffers of this runner's own workspace. */
    public Workspace workspace() {
        return workspace;
    }

    /**
     * The spec a call runs with: the one it asks for, else the tuned winner of its {@link #tuningKey} (when
     * one is stored and has the PV variant the call asks for, if any), else the default for its shape.
     */
    public KernelSpec specFor(AttentionArgs a) {
        if (a.spec() == null) {
            KernelSpec tuned = TuningDb.shared().winner(tuningKey(a)).orElse(null);
            if (tuned != null && tuned.arch() == arch && (a.pv() == null || tuned.pv() == a.pv()) && tuned.qk() == a.qk()) {
                return tuned;
            }
        }
        return defaultSpec(a, arch);
    }

    /**
     * The spec of a call on an architecture when nothing is tuned: the one it asks for, else on short sequences
     * with nothing asked the 16-bit QK kernel where it is faster ({@link ShortSequences}), else the default of its
     * PV variant and QK precision. Needs no GPU.
     */
    public static KernelSpec defaultSpec(AttentionArgs a, Arch arch) {
        if (a.spec() != null) return a.spec();
        if (ShortSequences.uses16BitQk(a, arch, ShortSequences.enabled())) {
            return AttentionFamilies.preferred(arch, a.headDim(), a.causal(), a.inType(), a.outType(), null,
                    io.sageptx.spec.QkPrecision.FP16);
        }
        return AttentionFamilies.preferred(arch, a.headDim(), a.causal(), a.inType(), a.outType(), a.pv(), a.qk());
    }

    /** The tuning key of a call on this device: GPU, dtypes, head dim, causal, bucket of its lengths, QK precision. */
    public TuningKey tuningKey(AttentionArgs a) {
        return new TuningKey(gpu, a.inType(), a.outType(), a.headDim(), a.causal(), TuningKey.bucket(a.lq(), a.lk()),
                a.qk());
    }

    /** The GPU's folder name in the caches (model and compute capability). */
    public String gpu() {
        return gpu;
    }

    /** Loads (from the kernel cache, compiling on a miss) the kernels of a spec on this device. */
    public AttentionKernels kernels(KernelSpec spec) {
        if (spec.arch() != arch) {
            throw new IllegalArgumentException("spec targets " + spec.arch().target() + " but " + ctx.name() + " is "
                    + arch.target());
        }
        return AttentionKernels.of(ctx, spec);
    }

    /** Bytes of scratch memory a call needs when the caller supplies it. Checks the arguments; needs no launch. */
    public long workspaceBytes(AttentionArgs a) {
        return Workspace.bytesFor(check(a, specFor(a.validate())));
    }

    /** {@link #workspaceBytes(AttentionArgs)} on an architecture when nothing is tuned; needs no GPU. */
    public static long workspaceBytes(AttentionArgs a, Arch arch) {
        return Workspace.bytesFor(checkCall(a, arch, 0, 0, false));
    }

    /**
     * Every check of a call that can be made before touching the device, with the default spec: the
     * arguments, the spec against the architecture, and a caller's workspace (when {@code callerWorkspace}:
     * non-null, aligned to {@link Workspace#ALIGNMENT}, large enough). Returns the call's scratch layout.
     */
    public static ScratchLayout checkCall(AttentionArgs a, Arch arch, long workspace, long workspaceBytes,
                                          boolean callerWorkspace) {
        a.validate();
        ScratchLayout layout = check(a, defaultSpec(a, arch), arch);
        if (callerWorkspace) checkWorkspace(layout, workspace, workspaceBytes);
        return layout;
    }

    private ScratchLayout check(AttentionArgs a, KernelSpec spec) {
        return check(a, spec, arch);
    }

    private static ScratchLayout check(AttentionArgs a, KernelSpec spec, Arch arch) {
        if (spec.arch() != arch) {
            throw new IllegalArgumentException("spec targets " + spec.arch().target() + " but the device is "
                    + arch.target() + "; allowed: a spec for " + arch.target());
        }
        return new ScratchLayout(spec, a.batch(), a.heads(), a.kvHeads(), a.lq(), a.lk());
    }

    private static void checkWorkspace(ScratchLayout layout, long workspace, long workspaceBytes) {
        if (workspace == 0) throw new IllegalArgumentException("workspace is a null device pointer");
        if (workspace % Workspace.ALIGNMENT != 0) {
            throw new IllegalArgumentException("workspace = 0x" + Long.toHexString(workspace) + " is not aligned to "
                    + Workspace.ALIGNMENT + " bytes");
        }
        long need = Workspace.bytesFor(layout);
        if (workspaceBytes < need) {
            throw new IllegalArgumentException("workspaceBytes = " + workspaceBytes + " is too small: the call needs "
                    + need + " (SageAttention.workspaceBytes(args))");
        }
    }

    /**
     * Queues a call on {@code stream} (null: the legacy default stream) with this runner's workspace; when
     * {@code afterPreprocess} is not null it is recorded between the preprocessing kernels and the fused one.
     */
    public void forward(AttentionArgs a, CUstream stream, CudaEvent afterPreprocess) {
        ScratchLayout layout = check(a.validate(), specFor(a));
        ctx.makeCurrent();
        AttentionKernels kk = kernels(layout.spec());
        CudaStream s = CudaStream.wrap(ctx, stream);
        synchronized (workspace) {
            workspace.prepare(layout, s);
            try {
                launch(kk, layout, a, s, workspace, afterPreprocess);
            } finally {
                workspace.release(s);
            }
        }
    }

    /** Queues a call with scratch memory of the caller's ({@code workspaceBytes} at {@code workspace}). */
    public void forward(AttentionArgs a, CUstream stream, long workspace, long workspaceBytes) {
        ScratchLayout layout = check(a.validate(), specFor(a));
        checkWorkspace(layout, workspace, workspaceBytes);
        ctx.makeCurrent();
        AttentionKernels kk = kernels(layout.spec());
        launch(kk, layout, a, CudaStream.wrap(ctx, stream), Workspace.over(ctx, workspace, workspaceBytes, layout), null);
    }

    private static void launch(AttentionKernels kk, ScratchLayout l, AttentionArgs a, CudaStream s, Workspace w,
                               CudaEvent mark) {
        KernelSpec spec = kk.spec();
        if (spec.fp16Qk() && a.qk() == QkPrecision.AUTO && a.qkDecisions() != 0) {
            // qk=auto on a short call (ShortSequences): every head runs 16-bit QK, and its decision says so
            DeviceBuffer.wrap(s.context(), a.qkDecisions(), 4L * a.batch() * a.heads()).fill32(1, s);
        }
        AttentionLaunches.Scratch scratch = spec.fp16Qk() ? null : AttentionLaunches.Scratch.of(w, l);
        CUstream h = s.handle();
        for (AttentionLaunches.Launch x : AttentionLaunches.of(l, a, scratch)) {
            // the caller's event between the preprocessing and the fused kernel
            if (x.role() == AttentionLaunches.Role.ATTENTION && mark != null) mark.record(s);
            kk.kernel(x.role()).launch(x.layout(), x.args(), h);
        }
    }

    /**
     * Output of {@link #forwardHost}: O as 16-bit values in the output dtype, and the LSE if asked for.
     *
     * @param o   O as 16-bit values of the output dtype, [B, H, Lq, D]
     * @param lse the LSE [B, H, Lq] (natural log), or null when not asked for
     */
    public record HostResult(short[] o, float[] lse) {
    }

    /**
     * Copies host arrays (16-bit values of {@code shape.inType()}, layout [B, H, L, D]) to the device, runs,
     * waits and copies O (and the LSE when {@code withLse}) back. The pointers in {@code shape} are ignored.
     */
    public HostResult forwardHost(AttentionArgs shape, short[] q, short[] k, short[] v, boolean withLse) {
        int qn = shape.batch() * shape.heads() * shape.lq() * shape.headDim();
        int kn = shape.batch() * shape.kvHeads() * shape.lk() * shape.headDim();
        check("q", q, qn);
        check("k", k, kn);
        check("v", v, kn);
        ctx.makeCurrent();
        try (DeviceBuffer dq = DeviceBuffer.allocate(ctx, 2L * qn);
             DeviceBuffer dk = DeviceBuffer.allocate(ctx, 2L * kn);
             DeviceBuffer dv = DeviceBuffer.allocate(ctx, 2L * kn);
             DeviceBuffer dO = DeviceBuffer.allocate(ctx, 2L * qn);
             DeviceBuffer dl = DeviceBuffer.allocate(ctx, withLse ? 4L * shape.batch() * shape.heads() * shape.lq() : 0);
             CudaStream s = CudaStream.create(ctx)) {
            dq.copyFrom(q);
            dk.copyFrom(k);
            dv.copyFrom(v);
            AttentionArgs a = AttentionArgs.builder().q(dq.address()).k(dk.address()).v(dv.address()).o(dO.address())
                    .lse(withLse ? dl.address() : 0).batch(shape.batch()).heads(shape.heads()).kvHeads(shape.kvHeads())
                    .lq(shape.lq()).lk(shape.lk()).headDim(shape.headDim()).inType(shape.inType()).outType(shape.outType())
                    .causal(shape.causalMode()).smScale(shape.smScale()).pv(shape.pv()).qkPrecision(shape.qkPrecision())
                    .spec(shape.spec()).build();
            forward(a, s.handle(), null);
            s.synchronize();
            short[] o = new short[qn];
            dO.copyTo(o);
            float[] lse = null;
            if (withLse) {
                lse = new float[shape.batch() * shape.heads() * shape.lq()];
                dl.copyTo(lse);
            }
            return new HostResult(o, lse);
        }
    }

    private static void check(String name, short[] a, int n) {
        if (a == null) throw new IllegalArgumentException(name + " is null");
        if (a.length != n) throw new IllegalArgumentException(name + " has " + a.length + " elements; the shape needs " + n);
    }

    /** Frees the workspace (waits for the last call that used it). */
    @Override
    public void close() {
        workspace.close();
    }
}
