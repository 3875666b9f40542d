package io.sageptx.cuda;

import java.util.Objects;

import jcuda.driver.CUevent;
import jcuda.driver.CUevent_flags;
import jcuda.driver.CUresult;
import jcuda.driver.JCudaDriver;

/** A timing-capable CUDA event of one {@link DeviceContext}, for ordering and for GPU-side timing. */
public final class CudaEvent extends DeviceResource {

    private final CUevent event;

    private CudaEvent(DeviceContext ctx, CUevent event) {
        super(ctx);
        this.event = event;
    }

    /** Creates an event with default flags (timing enabled, spin-wait synchronization). */
    public static CudaEvent create(DeviceContext ctx) {
        Objects.requireNonNull(ctx, "ctx");
        ctx.makeCurrent();
        CUevent e = new CUevent();
        Cuda.check(JCudaDriver.cuEventCreate(e, CUevent_flags.CU_EVENT_DEFAULT), "cuEventCreate on cuda:" + ctx.ordinal());
        return new CudaEvent(ctx, e);
    }

    /** Records this event on {@code stream} ({@code null}: the legacy default stream). Returns this. */
    public CudaEvent record(CudaStream stream) {
        ensureOpen();
        if (stream != null && stream.context() != ctx) {
            throw new IllegalArgumentException(stream + " belongs to another device than this event (cuda:"
                    + ctx.ordinal() + ")");
        }
        ctx.makeCurrent();
        Cuda.check(JCudaDriver.cuEventRecord(event, stream == null ? CudaStream.NULL_STREAM : stream.handle()),
                "cuEventRecord on " + (stream == null ? "default stream of cuda:" + ctx.ordinal() : stream));
        return this;
    }

    /** Blocks until the work captured by the last {@link #record} has completed. */
    public void synchronize() {
        ensureOpen();
        ctx.makeCurrent();
        Cuda.check(JCudaDriver.cuEventSynchronize(event), "cuEventSynchronize on cuda:" + ctx.ordinal());
    }

    /** True when the work captured by the last {@link #record} has completed (cuEventQuery), without blocking. */
    public boolean isComplete() {
        ensureOpen();
        ctx.makeCurrent();
        int r = JCudaDriver.cuEventQuery(event);
        if (r == CUresult.CUDA_ERROR_NOT_READY) {
            return false;
        }
        Cuda.check(r, "cuEventQuery on cuda:" + ctx.ordinal());
        return true;
    }

    /**
     * GPU time between two recorded events, in milliseconds (about 0.5 us resolution). Waits for
     * {@code end} first.
     */
    public static float elapsedMillis(CudaEvent start, CudaEvent end) {
        Objects.requireNonNull(start, "start");
        Objects.requireNonNull(end, "end");
        if (start.ctx != end.ctx) {
            throw new IllegalArgumentException("events of different devices: cuda:" + start.ctx.ordinal()
                    + " and cuda:" + end.ctx.ordinal());
        }
        end.synchronize();
        float[] ms = {0f};
        Cuda.check(JCudaDriver.cuEventElapsedTime(ms, start.handle(), end.handle()),
                "cuEventElapsedTime on cuda:" + start.ctx.ordinal());
        return ms[0];
    }

    /** The JCuda event object. */
    public CUevent handle() {
        ensureOpen();
        return event;
    }

    /** Destroys the event (on the first {@link #close()}). */
    @Override
    void release() {
        ctx.makeCurrent();
        Cuda.check(JCudaDriver.cuEventDestroy(event), "cuEventDestroy on cuda:" + ctx.ordinal());
    }

    @Override
    public String toString() {
        return "event of cuda:" + ctx.ordinal();
    }
}
