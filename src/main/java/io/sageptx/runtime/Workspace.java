package io.sageptx.runtime;

import java.util.ArrayList;
import java.util.List;

import io.sageptx.cuda.CudaEvent;
import io.sageptx.cuda.CudaException;
import io.sageptx.cuda.CudaStream;
import io.sageptx.cuda.DeviceBuffer;
import io.sageptx.cuda.DeviceContext;
import io.sageptx.plan.ScratchLayout;
import jcuda.driver.JCudaDriver;

/**
 * Scratch memory for the quantized tensors of attention calls on one device. Buffers grow to the
 * largest call seen and are then reused: a warmed workspace allocates nothing. Work on it is ordered
 * without host synchronization: a call on another stream than the previous one first makes its stream
 * wait for the previous call's completion event. Only growing (freeing a smaller buffer) waits on the host.
 */
public final class Workspace implements AutoCloseable {

    private final DeviceContext ctx;
    private DeviceBuffer q8;
    private DeviceBuffer k8;
    private DeviceBuffer v8;
    private DeviceBuffer qScale;
    private DeviceBuffer kScale;
    private DeviceBuffer kMean;
    private DeviceBuffer vScale;
    private DeviceBuffer qkm;
    private CudaEvent lastUse;
    private CudaStream lastStream;

    public Workspace(DeviceContext ctx) {
        this.ctx = ctx;
    }

    public DeviceContext context() {
        return ctx;
    }

    /** Makes every buffer at least as large as the layout needs and orders this call after the last one. */
    public synchronized void prepare(ScratchLayout layout, CudaStream stream) {
        boolean grow = too(q8, layout.q8Bytes()) || too(k8, layout.k8Bytes()) || too(v8, layout.v8Bytes())
                || too(qScale, layout.qScaleBytes()) || too(kScale, layout.kScaleBytes())
                || too(kMean, layout.channelStatBytes()) || too(vScale, layout.channelStatBytes())
                || too(qkm, layout.qkmBytes());
        if (grow) {
            if (lastUse != null) lastUse.synchronize();
            q8 = regrow(q8, layout.q8Bytes());
            k8 = regrow(k8, layout.k8Bytes());
            v8 = regrow(v8, layout.v8Bytes());
            qScale = regrow(qScale, layout.qScaleBytes());
            kScale = regrow(kScale, layout.kScaleBytes());
            kMean = regrow(kMean, layout.channelStatBytes());
            vScale = regrow(vScale, layout.channelStatBytes());
            qkm = regrow(qkm, layout.qkmBytes());
        } else if (lastUse != null && lastStream != null && !sameStream(lastStream, stream)) {
            int r = JCudaDriver.cuStreamWaitEvent(stream.handle(), lastUse.handle(), 0);
            if (r != 0) throw new CudaException(r, "cuStreamWaitEvent (ordering workspace reuse across streams)");
        }
    }

    /** Records that the work just queued on {@code stream} uses this workspace. */
    public synchronized void release(CudaStream stream) {
        if (lastUse == null) lastUse = CudaEvent.create(ctx);
        lastUse.record(stream);
        lastStream = stream;
    }

    private static boolean sameStream(CudaStream a, CudaStream b) {
        return a.handle() == null ? b.handle() == null : a.handle().equals(b.handle());
    }

    private static boolean too(DeviceBuffer b, long bytes) {
        return bytes > 0 && (b == null || b.bytes() < bytes);
    }

    private DeviceBuffer regrow(DeviceBuffer b, long bytes) {
        if (!too(b, bytes)) return b;
        if (b != null) b.close();
        // 25% headroom so that slowly growing sequence lengths do not reallocate every call
        return DeviceBuffer.allocate(ctx, bytes + bytes / 4);
    }

    public DeviceBuffer q8() { return q8; }
    public DeviceBuffer k8() { return k8; }
    public DeviceBuffer v8() { return v8; }
    public DeviceBuffer qScale() { return qScale; }
    public DeviceBuffer kScale() { return kScale; }
    public DeviceBuffer kMean() { return kMean; }
    public DeviceBuffer vScale() { return vScale; }
    public DeviceBuffer qkm() { return qkm; }

    /** Bytes held now. */
    public synchronized long bytes() {
        long n = 0;
        for (DeviceBuffer b : all()) if (b != null) n += b.bytes();
        return n;
    }

    private List<DeviceBuffer> all() {
        List<DeviceBuffer> l = new ArrayList<>();
        l.add(q8); l.add(k8); l.add(v8); l.add(qScale); l.add(kScale); l.add(kMean); l.add(vScale); l.add(qkm);
        return l;
    }

    @Override
    public synchronized void close() {
        if (lastUse != null) {
            lastUse.synchronize();
            lastUse.close();
            lastUse = null;
        }
        for (DeviceBuffer b : all()) if (b != null) b.close();
        q8 = k8 = v8 = qScale = kScale = kMean = vScale = qkm = null;
    }
}
