package io.sageptx.cuda;

import java.util.Objects;

import jcuda.driver.CUresult;
import jcuda.driver.CUstream;
import jcuda.driver.CUstream_flags;
import jcuda.driver.JCudaDriver;

/**
 * A CUDA stream of one {@link DeviceContext}: either created here ({@link #create}, non-blocking, i.e.
 * not implicitly ordered with the legacy default stream) or the legacy default (null) stream
 * ({@link #defaultStream}).
 */
public final class CudaStream extends DeviceResource {

    /** The null stream handle (the legacy default stream of the current context). */
    static final CUstream NULL_STREAM = new CUstream();

    private final CUstream stream;
    private final boolean isDefault;
    private final boolean owned;

    private CudaStream(DeviceContext ctx, CUstream stream, boolean isDefault, boolean owned) {
        super(ctx);
        this.stream = stream;
        this.isDefault = isDefault;
        this.owned = owned;
    }

    /** Creates a stream with {@code CU_STREAM_NON_BLOCKING}. */
    public static CudaStream create(DeviceContext ctx) {
        Objects.requireNonNull(ctx, "ctx");
        ctx.makeCurrent();
        CUstream s = new CUstream();
        Cuda.check(JCudaDriver.cuStreamCreate(s, CUstream_flags.CU_STREAM_NON_BLOCKING),
                "cuStreamCreate(NON_BLOCKING) on cuda:" + ctx.ordinal());
        return new CudaStream(ctx, s, false, true);
    }

    /**
     * A caller's stream (e.g. an embedding framework's), not owned: {@link #close()} leaves it alone.
     * A null handle means the legacy default stream.
     */
    public static CudaStream wrap(DeviceContext ctx, CUstream handle) {
        Objects.requireNonNull(ctx, "ctx");
        return handle == null ? defaultStream(ctx) : new CudaStream(ctx, handle, false, false);
    }

    /**
     * A caller's stream given as a raw {@code CUstream} handle (from another binding), not owned. 0 is the
     * legacy default stream, 2 the per-thread default stream ({@link CudaHandles}); any other handle must
     * be a stream of {@code ctx}'s primary context ({@link CudaHandles#stream(DeviceContext, long)}).
     *
     * @param ctx    the device
     * @param handle the raw stream handle
     * @return the stream, not owned: {@link #close()} leaves it alone
     */
    public static CudaStream wrap(DeviceContext ctx, long handle) {
        Objects.requireNonNull(ctx, "ctx");
        return handle == CudaHandles.LEGACY_DEFAULT_STREAM ? defaultStream(ctx)
                : new CudaStream(ctx, CudaHandles.stream(ctx, handle), false, false);
    }

    /** The legacy default (null) stream of {@code ctx}; {@link #close()} does nothing for it. */
    public static CudaStream defaultStream(DeviceContext ctx) {
        Objects.requireNonNull(ctx, "ctx");
        return new CudaStream(ctx, NULL_STREAM, true, false);
    }

    /** Blocks until all work queued on this stream has finished (cuStreamSynchronize). */
    public void synchronize() {
        ensureOpen();
        ctx.makeCurrent();
        Cuda.check(JCudaDriver.cuStreamSynchronize(stream), "cuStreamSynchronize(" + this + ")");
    }

    /** True when all work queued on this stream has finished (cuStreamQuery), without blocking. */
    public boolean isIdle() {
        ensureOpen();
        ctx.makeCurrent();
        int r = JCudaDriver.cuStreamQuery(stream);
        if (r == CUresult.CUDA_ERROR_NOT_READY) {
            return false;
        }
        Cuda.check(r, "cuStreamQuery(" + this + ")");
        return true;
    }

    /** The JCuda stream object. */
    public CUstream handle() {
        ensureOpen();
        return stream;
    }

    /** The raw {@code CUstream} value (0 for the legacy default stream), as other bindings take it. */
    public long rawHandle() {
        ensureOpen();
        return CudaHandles.value(stream);
    }


    /** Whether this is the legacy default (null) stream. */
    public boolean isDefault() {
        return isDefault;
    }

    /** Destroys an owned stream on the first {@link #close()} (cuStreamDestroy; queued work still completes). */
    @Override
    void release() {
        if (owned) {
            ctx.makeCurrent();
            Cuda.check(JCudaDriver.cuStreamDestroy(stream), "cuStreamDestroy(" + stream + ") on cuda:" + ctx.ordinal());
        }
    }

    @Override
    public String toString() {
        return (isDefault ? "default stream" : "stream " + stream) + " of cuda:" + ctx.ordinal();
    }
}
