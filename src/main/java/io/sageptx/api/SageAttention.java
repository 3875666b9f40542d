package io.sageptx.api;

import io.sageptx.call.AttentionArgs;
import io.sageptx.call.DecodeArgs;
import io.sageptx.cuda.CudaEvent;
import io.sageptx.cuda.CudaHandles;
import io.sageptx.cuda.DeviceContext;
import io.sageptx.kernels.attention.ScratchLayout;
import io.sageptx.runtime.AttentionKernels;
import io.sageptx.runtime.AttentionRunner;
import io.sageptx.runtime.DecodeRunner;
import io.sageptx.runtime.TuningDb;
import io.sageptx.runtime.TuningKey;
import io.sageptx.runtime.Workspace;
import io.sageptx.spec.Arch;
import io.sageptx.spec.KernelSpec;
import io.sageptx.tune.Autotuner;
import io.sageptx.tune.CandidateSpace;
import io.sageptx.tune.TuneResult;
import io.sageptx.tune.Tuning;
import jcuda.driver.CUstream;

/**
 * SageAttention2++ forward on one CUDA device, with kernels generated for that device's architecture.
 * {@link #forward} queues the whole call (K/V statistics, INT8 and FP8 quantization, the fused kernel)
 * on the caller's stream and returns without synchronizing. The scratch workspace of an instance is
 * reused across calls; calls on different streams are ordered on the GPU, not on the host. The work is
 * done by the device's {@link AttentionRunner}; this class is the facade.
 *
 * <p>Threads: an instance is safe to share. Calls that use its own workspace are queued one at a time
 * (the host lock is held only while queuing) and their GPU work is serialized, since they share the
 * scratch memory. For GPU work that overlaps across streams, give each stream its own instance or pass
 * a workspace of the caller's per call ({@link #forward(AttentionArgs, CUstream, long, long)}).
 *
 * <p>Decode shapes: a call with 1 .. 16 query rows per sequence against at least
 * {@value DecodeRunner#ROUTE_MIN_LK} keys (not varlen, no spec or PV variant asked for, output dtype =
 * input dtype) runs the decode kernels instead ({@link Decode}: the 16-bit K/V read directly, no
 * quantization pass, split across CTAs when the batch is small), see {@link DecodeRunner#fromAttention}.
 * {@link #setDecodeRouting(boolean)} or the system property {@code sageptx.decodeRouting=false} turns
 * this off; every other call takes the prefill path unchanged.
 */
public final class SageAttention implements AutoCloseable {

    private final AttentionRunner runner;
    private final DecodeRunner decode;
    private volatile boolean decodeRouting = !"false".equalsIgnoreCase(System.getProperty("sageptx.decodeRouting"));

    private SageAttention(DeviceContext ctx) {
        this.runner = new AttentionRunner(ctx);
        this.decode = new DecodeRunner(ctx);
    }

    /** Whether decode-shaped calls run the decode kernels (default true, or the property sageptx.decodeRouting). */
    public boolean decodeRouting() {
        return decodeRouting;
    }

    /** Turns the routing of decode-shaped calls to the decode kernels on or off for this instance. */
    public void setDecodeRouting(boolean on) {
        this.decodeRouting = on;
    }

    /** The decode call a {@link #forward} call is routed to, or null when it takes the prefill path. */
    public DecodeArgs decodeRoute(AttentionArgs a) {
        return decodeRouting ? DecodeRunner.fromAttention(a) : null;
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

    /**
     * Attention on the device whose primary context has the raw handle {@code cuContext} (a
     * {@code CUcontext} value another binding handed out). Refused with an {@link IllegalArgumentException}
     * when the handle is not a device's primary context ({@link DeviceContext#forContext(long)}).
     *
     * @param cuContext the raw {@code CUcontext} handle of a device's primary context
     * @return an instance on that device
     */
    public static SageAttention forContext(long cuContext) {
        return new SageAttention(DeviceContext.forContext(cuContext));
    }

    /** The device and primary context this instance runs in. */
    public DeviceContext context() {
        return runner.context();
    }

    /** The runner that does the work (for the tuner and tools). */
    public AttentionRunner runner() {
        return runner;
    }

    /** The scratch buffers of this instance (for tests that inspect the quantized tensors). */
    Workspace workspace() {
        return runner.workspace();
    }

    /** The architecture the generator targets on this device. */
    public Arch arch() {
        return runner.arch();
    }

    /**
     * The kernel spec a call runs with: the one it asks for, else the tuned winner of its
     * {@link #tuningKey tuning key} (when {@link #autotune} or {@code sageptx autotune} stored one, and
     * it has the PV variant the call asks for, if any), else the arch's default for its shape. Never
     * tunes by itself.
     */
    public KernelSpec specFor(AttentionArgs a) {
        return runner.specFor(a);
    }

    /** The spec of a call on an architecture when nothing is tuned: the one it asks for, else the default. Needs no GPU. */
    static KernelSpec specFor(AttentionArgs a, Arch arch) {
        return AttentionRunner.defaultSpec(a, arch);
    }

    /** The tuning key of a call on this device: GPU, dtypes, head dim, causal, bucket of its lengths. */
    public TuningKey tuningKey(AttentionArgs a) {
        return runner.tuningKey(a);
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
        return Tuning.run(runner, tuningKey(shape), space, timing, TuningDb.shared(), progress);
    }

    /** Loads (from the kernel cache, compiling on a miss) the kernels of a spec on this device. */
    public AttentionKernels kernels(KernelSpec spec) {
        return runner.kernels(spec);
    }

    /**
     * Bytes of scratch memory a call needs when the caller supplies it
     * ({@link #forward(AttentionArgs, CUstream, long, long)}). Checks the arguments; needs no launch.
     */
    public long workspaceBytes(AttentionArgs a) {
        DecodeArgs d = decodeRoute(a.validate());
        return d != null ? decode.workspaceBytes(d) : runner.workspaceBytes(a);
    }

    /** {@link #workspaceBytes(AttentionArgs)} for an architecture; needs no GPU. */
    public static long workspaceBytes(AttentionArgs a, Arch arch) {
        return AttentionRunner.workspaceBytes(a, arch);
    }

    /** Every check of a call that can be made before touching the device ({@link AttentionRunner#checkCall}). */
    static ScratchLayout checkCall(AttentionArgs a, Arch arch, long workspace, long workspaceBytes, boolean callerWorkspace) {
        return AttentionRunner.checkCall(a, arch, workspace, workspaceBytes, callerWorkspace);
    }

    /** Queues attention on {@code stream} (null: the legacy default stream). Arguments are checked first. */
    public void forward(AttentionArgs a, CUstream stream) {
        DecodeArgs d = decodeRoute(a.validate());
        if (d != null) {
            decode.forward(d, stream);
            return;
        }
        runner.forward(a, stream, null);
    }

    /**
     * As {@link #forward(AttentionArgs, CUstream)}; when {@code afterPreprocess} is not null it is recorded
     * between the preprocessing kernels and the fused kernel, so benchmarks can time each part (such a call
     * always takes the prefill path).
     */
    public void forward(AttentionArgs a, CUstream stream, CudaEvent afterPreprocess) {
        if (afterPreprocess == null) {
            forward(a, stream);
            return;
        }
        runner.forward(a, stream, afterPreprocess);
    }

    /**
     * Queues attention on the stream with the raw handle {@code stream} (a {@code CUstream} value from
     * another binding; 0: the legacy default stream, {@value CudaHandles#PER_THREAD_DEFAULT_STREAM}: the
     * per-thread default stream). Any other handle must be a stream of this device's primary context.
     *
     * @param a      the call
     * @param stream the raw stream handle
     */
    public void forward(AttentionArgs a, long stream) {
        runner.forward(a.validate(), CudaHandles.stream(runner.context(), stream), null);
    }

    /**
     * {@link #forward(AttentionArgs, CUstream, CudaEvent)} on a raw stream handle ({@link #forward(AttentionArgs, long)}).
     *
     * @param a               the call
     * @param stream          the raw stream handle
     * @param afterPreprocess recorded after the preprocessing kernels; may be null
     */
    public void forward(AttentionArgs a, long stream, CudaEvent afterPreprocess) {
        runner.forward(a.validate(), CudaHandles.stream(runner.context(), stream), afterPreprocess);
    }

    /**
     * {@link #forward(AttentionArgs, CUstream, long, long)} on a raw stream handle ({@link #forward(AttentionArgs, long)}).
     *
     * @param a              the call
     * @param stream         the raw stream handle
     * @param workspace      device address of the caller's scratch memory
     * @param workspaceBytes its size in bytes
     */
    public void forward(AttentionArgs a, long stream, long workspace, long workspaceBytes) {
        runner.forward(a.validate(), CudaHandles.stream(runner.context(), stream), workspace, workspaceBytes);
    }

    /**
     * Queues attention on {@code stream} with scratch memory of the caller's: {@code workspaceBytes} at
     * {@code workspace} (a device address of this device, aligned to 256 bytes, at least
     * {@link #workspaceBytes(AttentionArgs)}). Nothing is allocated and nothing is ordered here: the
     * caller must not reuse the block for another call until this one is done (one block per stream is
     * the simple rule). Calls with different blocks overlap freely on the GPU.
     */
    public void forward(AttentionArgs a, CUstream stream, long workspace, long workspaceBytes) {
        DecodeArgs d = decodeRoute(a.validate());
        if (d != null) {
            // a routed call splits its keys only as far as the given workspace holds the partials
            DecodeArgs fit = DecodeRunner.withSplitsAtMost(d, decode.device(), DecodeRunner.splitsFitting(d, workspaceBytes));
            decode.forward(fit, stream, workspace, workspaceBytes);
            return;
        }
        runner.forward(a, stream, workspace, workspaceBytes);
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
     * Convenience for small uses and tests: copies host arrays (16-bit values of {@code a.inType()},
     * layout [B, H, L, D]) to the device, runs, waits and copies O (and the LSE when {@code withLse}) back.
     * The pointers in {@code shape} are ignored.
     */
    public HostResult forwardHost(AttentionArgs shape, short[] q, short[] k, short[] v, boolean withLse) {
        AttentionRunner.HostResult r = runner.forwardHost(shape, q, k, v, withLse);
        return new HostResult(r.o(), r.lse());
    }

    /** Frees the workspace (waits for the last call that used it). */
    @Override
    public void close() {
        decode.close();
        runner.close();
    }
}
