package io.sageptx.api;

import io.sageptx.cuda.CudaEvent;
import io.sageptx.cache.CacheDirectory;
import io.sageptx.cuda.CudaKernel;
import io.sageptx.cuda.CudaStream;
import io.sageptx.cuda.DeviceBuffer;
import io.sageptx.cuda.DeviceContext;
import io.sageptx.cuda.KernelArgs;
import io.sageptx.plan.ScratchLayout;
import io.sageptx.ptx.PreprocessEmitter;
import io.sageptx.runtime.AttentionKernels;
import io.sageptx.runtime.Workspace;
import io.sageptx.spec.Arch;
import io.sageptx.spec.KernelSpec;
import io.sageptx.tune.Autotuner;
import io.sageptx.tune.CandidateSpace;
import io.sageptx.tune.TuneResult;
import io.sageptx.tune.Tuning;
import io.sageptx.tune.TuningDb;
import io.sageptx.tune.TuningKey;
import jcuda.driver.CUstream;

/**
 * SageAttention2++ forward on one CUDA device, with kernels generated for that device's architecture.
 * {@link #forward} queues the whole call (K/V statistics, INT8 and FP8 quantization, the fused kernel)
 * on the caller's stream and returns without synchronizing. The scratch workspace of an instance is
 * reused across calls; calls on different streams are ordered on the GPU, not on the host.
 *
 * <p>Threads: an instance is safe to share. Calls that use its own workspace are queued one at a time
 * (the host lock is held only while queuing) and their GPU work is serialized, since they share the
 * scratch memory. For GPU work that overlaps across streams, give each stream its own instance or pass
 * a workspace of the caller's per call ({@link #forward(AttentionArgs, CUstream, long, long)}).
 */
public final class SageAttention implements AutoCloseable {

    private static final float LOG2_E = (float) (1.0 / Math.log(2.0));

    private final DeviceContext ctx;
    private final Arch arch;
    private final Workspace workspace;
    private final String gpu;

    private SageAttention(DeviceContext ctx) {
        this.ctx = ctx;
        this.arch = Arch.forDevice(ctx.computeCapabilityMajor(), ctx.computeCapabilityMinor());
        this.gpu = CacheDirectory.gpuFolderName(ctx.name(), ctx.computeCapabilityMajor(), ctx.computeCapabilityMinor());
        this.workspace = new Workspace(ctx);
    }

    /** Attention on device {@code ordinal}, in its primary context. */
    public static SageAttention onDevice(int ordinal) {
        return new SageAttention(DeviceContext.of(ordinal));
    }

    /**
     * Attention on the device whose primary context is current on the calling thread (what a framework
     * that called cudaSetDevice has). Refused with an {@link IllegalStateException} when no context is
     * current or the current one is not a primary context ({@link DeviceContext#current()}).
     */
    public static SageAttention forCurrentContext() {
        return new SageAttention(DeviceContext.current());
    }

    public DeviceContext context() {
        return ctx;
    }

    /** The scratch buffers of this instance (for tests that inspect the quantized tensors). */
    Workspace workspace() {
        return workspace;
    }

    /** The architecture the generator targets on this device. */
    public Arch arch() {
        return arch;
    }

    /**
     * The kernel spec a call runs with: the one it asks for, else the tuned winner of its
     * {@link #tuningKey tuning key} (when {@link #autotune} or {@code sageptx autotune} stored one, and
     * it has the PV variant the call asks for, if any), else the arch's default for its shape. Never
     * tunes by itself.
     */
    public KernelSpec specFor(AttentionArgs a) {
        if (a.spec == null) {
            KernelSpec tuned = TuningDb.shared().winner(tuningKey(a)).orElse(null);
            if (tuned != null && tuned.arch() == arch && (a.pv == null || tuned.pv() == a.pv)) return tuned;
        }
        return specFor(a, arch);
    }

    /** The spec of a call on an architecture when nothing is tuned: the one it asks for, else the default. Needs no GPU. */
    static KernelSpec specFor(AttentionArgs a, Arch arch) {
        if (a.spec != null) return a.spec;
        return a.pv == null ? KernelSpec.preferred(arch, a.headDim, a.causal(), a.inType, a.outType)
                : KernelSpec.preferred(arch, a.headDim, a.causal(), a.inType, a.outType, a.pv);
    }

    /** The tuning key of a call on this device: GPU, dtypes, head dim, causal, bucket of its lengths. */
    public TuningKey tuningKey(AttentionArgs a) {
        return new TuningKey(gpu, a.inType, a.outType, a.headDim, a.causal(), TuningKey.bucket(a.lq, a.lk));
    }

    /**
     * Tunes the key of {@code shape} (its pointers are ignored) over the standard candidate space, times
     * candidates at the key's bucket length with B=4, H=32, and stores the winner, which
     * {@link #specFor} uses from then on, in this process and others. Takes seconds to minutes.
     */
    public TuneResult autotune(AttentionArgs shape) {
        return autotune(shape, CandidateSpace.standard(), Tuning.Shape.DEFAULT, Autotuner.Progress.NONE);
    }

    /** {@link #autotune(AttentionArgs)} with a chosen candidate space, timing shape and progress sink. */
    public TuneResult autotune(AttentionArgs shape, CandidateSpace space, Tuning.Shape timing, Autotuner.Progress progress) {
        return Tuning.run(this, tuningKey(shape), space, timing, TuningDb.shared(), progress);
    }

    /** Loads (from the kernel cache, compiling on a miss) the kernels of a spec on this device. */
    public AttentionKernels kernels(KernelSpec spec) {
        if (spec.arch() != arch) {
            throw new IllegalArgumentException("spec targets " + spec.arch().target() + " but " + ctx.name() + " is "
                    + arch.target());
        }
        return AttentionKernels.of(ctx, spec);
    }

    /**
     * Bytes of scratch memory a call needs when the caller supplies it
     * ({@link #forward(AttentionArgs, CUstream, long, long)}). Checks the arguments; needs no launch.
     */
    public long workspaceBytes(AttentionArgs a) {
        return workspaceBytes(a, arch);
    }

    /** {@link #workspaceBytes(AttentionArgs)} for an architecture; needs no GPU. */
    public static long workspaceBytes(AttentionArgs a, Arch arch) {
        return Workspace.bytesFor(checkCall(a, arch, 0, 0, false));
    }

    /**
     * Every check of a call that can be made before touching the device: the arguments, the spec against
     * the architecture, and a caller's workspace (when {@code callerWorkspace}: non-null, aligned to
     * {@link Workspace#ALIGNMENT}, large enough). Returns the call's scratch layout. Needs no GPU.
     */
    static ScratchLayout checkCall(AttentionArgs a, Arch arch, long workspace, long workspaceBytes,
                                   boolean callerWorkspace) {
        return checkCall(a, arch, null, workspace, workspaceBytes, callerWorkspace);
    }

    /** {@link #checkCall} with the spec an instance chose (a tuned winner), or null for the default. */
    static ScratchLayout checkCall(AttentionArgs a, Arch arch, SageAttention chooser, long workspace, long workspaceBytes,
                                   boolean callerWorkspace) {
        a.validate();
        KernelSpec spec = chooser == null ? specFor(a, arch) : chooser.specFor(a);
        if (spec.arch() != arch) {
            throw new IllegalArgumentException("spec targets " + spec.arch().target() + " but the device is "
                    + arch.target() + "; allowed: a spec for " + arch.target());
        }
        ScratchLayout layout = new ScratchLayout(spec, a.batch, a.heads, a.kvHeads, a.lq, a.lk);
        if (callerWorkspace) {
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
        return layout;
    }

    /** Queues attention on {@code stream} (null: the legacy default stream). Arguments are checked first. */
    public void forward(AttentionArgs a, CUstream stream) {
        forward(a, stream, null);
    }

    /**
     * As {@link #forward(AttentionArgs, CUstream)}; when {@code afterPreprocess} is not null it is recorded
     * between the preprocessing kernels and the fused kernel, so benchmarks can time each part.
     */
    public void forward(AttentionArgs a, CUstream stream, CudaEvent afterPreprocess) {
        ScratchLayout layout = checkCall(a, arch, this, 0, 0, false);
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

    /**
     * Queues attention on {@code stream} with scratch memory of the caller's: {@code workspaceBytes} at
     * {@code workspace} (a device address of this device, aligned to 256 bytes, at least
     * {@link #workspaceBytes(AttentionArgs)}). Nothing is allocated and nothing is ordered here: the
     * caller must not reuse the block for another call until this one is done (one block per stream is
     * the simple rule). Calls with different blocks overlap freely on the GPU.
     */
    public void forward(AttentionArgs a, CUstream stream, long workspace, long workspaceBytes) {
        ScratchLayout layout = checkCall(a, arch, this, workspace, workspaceBytes, true);
        ctx.makeCurrent();
        AttentionKernels kk = kernels(layout.spec());
        launch(kk, layout, a, CudaStream.wrap(ctx, stream), Workspace.over(ctx, workspace, workspaceBytes, layout), null);
    }

    private void launch(AttentionKernels kk, ScratchLayout l, AttentionArgs a, CudaStream s, Workspace w,
                        CudaEvent mark) {
        KernelSpec spec = kk.spec();
        int nt = PreprocessEmitter.THREADS;
        // 1. K channel means (and V channel scales for FP8 PV)
        kk.kvStats().launch(a.kvHeads, a.batch, 1, nt, 1, 1, 0, s.handle(), strides(strides(new KernelArgs()
                .ptr(a.k).ptr(a.v).ptr(w.kMean()).ptr(spec.pv().isFp8() ? w.vScale().address() : 0L).i32(a.lk)
                .ptr(a.cuSeqlensK), a.kStrides, a.varlen), a.vStrides, a.varlen));
        // 2. INT8 smoothed K
        kk.quantK().launch(l.kBlocks(), a.kvHeads, a.batch, nt, 1, 1, 0, s.handle(), strides(new KernelArgs()
                .ptr(a.k).ptr(w.k8()).ptr(w.kScale()).ptr(w.kMean()).ptr(0L).i32(a.lk).i32(l.lkPadded())
                .i32(l.kScalesPerHead()).i32(1).f32(1.0f).f32(0.0f).ptr(a.cuSeqlensK), a.kStrides, a.varlen));
        // 3. INT8 Q with sm_scale * log2(e) folded into its scales (and q . kmean for the LSE)
        kk.quantQ().launch(l.qScaleTiles(), a.heads, a.batch, nt, 1, 1, 0, s.handle(), strides(new KernelArgs()
                .ptr(a.q).ptr(w.q8()).ptr(w.qScale()).ptr(w.kMean()).ptr(a.lse != 0 ? w.qkm().address() : 0L)
                .i32(a.lq).i32(l.lqPadded()).i32(l.qScalesPerHead()).i32(a.heads / a.kvHeads)
                .f32(a.smScale * LOG2_E).f32(a.smScale).ptr(a.cuSeqlensQ), a.qStrides, a.varlen));
        // 4. FP8 V, transposed and permuted
        long vIn = a.v;
        if (kk.quantV() != null) {
            kk.quantV().launch(l.lkPadded() / PreprocessEmitter.vTileTokens(spec), a.kvHeads, a.batch, nt, 1, 1, 0,
                    s.handle(), strides(new KernelArgs().ptr(a.v).ptr(w.vScale()).ptr(w.v8()).i32(a.lk)
                            .i32(l.lkPadded()).ptr(a.cuSeqlensK), a.vStrides, a.varlen));
            vIn = w.v8().address();
        }
        if (mark != null) mark.record(s);
        // 5. the fused kernel
        CudaKernel att = kk.attention();
        att.launch(l.qBlocks(), a.heads, a.batch, spec.threads(), 1, 1, kk.smemBytes(), s.handle(), strides(strides(new KernelArgs()
                .ptr(w.q8()).ptr(w.k8()).ptr(vIn).ptr(w.qScale()).ptr(w.kScale())
                .ptr(spec.pv().isFp8() ? w.vScale().address() : 0L).ptr(a.o).ptr(a.lse).ptr(w.qkm())
                .i32(a.lq).i32(a.lk).i32(l.lqPadded()).i32(l.lkPadded()).i32(a.heads).i32(a.heads / a.kvHeads)
                .i32(l.qScalesPerHead()).i32(l.kScalesPerHead())
                .ptr(a.cuSeqlensQ).ptr(a.cuSeqlensK).i32(a.causalMode == CausalMode.BOTTOM_RIGHT ? 1 : 0),
                a.oStrides, a.varlen), a.vStrides, a.varlen));
    }

    /** Appends the element strides (batch, head, token) of a tensor; varlen tensors have no batch stride. */
    private static KernelArgs strides(KernelArgs args, Strides st, boolean varlen) {
        return args.i64(varlen ? 0 : st.batch()).i64(st.head()).i64(st.token());
    }

    /** Output of {@link #forwardHost}: O as 16-bit values in the output dtype, and the LSE if asked for. */
    public record HostResult(short[] o, float[] lse) {
    }

    /**
     * Convenience for small uses and tests: copies host arrays (16-bit values of {@code a.inType()},
     * layout [B, H, L, D]) to the device, runs, waits and copies O (and the LSE when {@code withLse}) back.
     * The pointers in {@code shape} are ignored.
     */
    public HostResult forwardHost(AttentionArgs shape, short[] q, short[] k, short[] v, boolean withLse) {
        int qn = shape.batch * shape.heads * shape.lq * shape.headDim;
        int kn = shape.batch * shape.kvHeads * shape.lk * shape.headDim;
        check("q", q, qn);
        check("k", k, kn);
        check("v", v, kn);
        ctx.makeCurrent();
        try (DeviceBuffer dq = DeviceBuffer.allocate(ctx, 2L * qn);
             DeviceBuffer dk = DeviceBuffer.allocate(ctx, 2L * kn);
             DeviceBuffer dv = DeviceBuffer.allocate(ctx, 2L * kn);
             DeviceBuffer dO = DeviceBuffer.allocate(ctx, 2L * qn);
             DeviceBuffer dl = DeviceBuffer.allocate(ctx, withLse ? 4L * shape.batch * shape.heads * shape.lq : 0);
             CudaStream s = CudaStream.create(ctx)) {
            dq.copyFrom(q);
            dk.copyFrom(k);
            dv.copyFrom(v);
            AttentionArgs a = AttentionArgs.builder().q(dq.address()).k(dk.address()).v(dv.address()).o(dO.address())
                    .lse(withLse ? dl.address() : 0).batch(shape.batch).heads(shape.heads).kvHeads(shape.kvHeads)
                    .lq(shape.lq).lk(shape.lk).headDim(shape.headDim).inType(shape.inType).outType(shape.outType)
                    .causal(shape.causalMode).smScale(shape.smScale).pv(shape.pv).spec(shape.spec).build();
            forward(a, s.handle());
            s.synchronize();
            short[] o = new short[qn];
            dO.copyTo(o);
            float[] lse = null;
            if (withLse) {
                lse = new float[shape.batch * shape.heads * shape.lq];
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
