package io.sageptx.runtime;

import java.util.ArrayList;
import java.util.List;

import io.sageptx.cuda.CudaEvent;
import io.sageptx.cuda.CudaException;
import io.sageptx.cuda.CudaStream;
import io.sageptx.cuda.DeviceBuffer;
import io.sageptx.cuda.DeviceContext;
import io.sageptx.kernels.attention.ScratchLayout;
import jcuda.driver.JCudaDriver;

/**
 * Scratch memory for the quantized tensors of attention calls on one device. Buffers grow to the
 * largest call seen and are then reused: a warmed workspace allocates nothing. Work on it is ordered
 * without host synchronization: every call first makes its stream wait for the previous call's
 * completion event (a no-op on the GPU when it is the same stream). Only growing (freeing a smaller buffer) waits on the host.
 *
 * <p>{@link #over} makes instead a view of memory the caller owns (one block carved into the buffers,
 * each at a {@link #ALIGNMENT}-byte offset): it never allocates, frees or waits, and the caller orders
 * its reuse. {@link #bytesFor} is the size such a block needs.
 *
 * <p>Callers that queue work on a shared workspace hold its monitor from {@link #prepare} through
 * {@link #release} ({@code synchronized (workspace) {...}}), so that no other call slips in between.
 */
public final class Workspace implements AutoCloseable {

    /** Offset alignment of the buffers carved from a caller's block (cuMemAlloc's own alignment). */
    public static final long ALIGNMENT = 256;

    private final DeviceContext ctx;
    private final boolean view;
    private long allocations;
    private long hostWaits;
    private DeviceBuffer q8;
    private DeviceBuffer k8;
    private DeviceBuffer v8;
    private DeviceBuffer qScale;
    private DeviceBuffer kScale;
    private DeviceBuffer kMean;
    private DeviceBuffer vScale;
    private DeviceBuffer qkm;
    private DeviceBuffer qkStats;
    private CudaEvent lastUse;

    /** An empty workspace of the device of {@code ctx}; buffers are allocated on first use. */
    public Workspace(DeviceContext ctx) {
        this.ctx = ctx;
        this.view = false;
    }

    private Workspace(DeviceContext ctx, long address, ScratchLayout layout) {
        this.ctx = ctx;
        this.view = true;
        long[] sizes = sizes(layout);
        DeviceBuffer[] b = new DeviceBuffer[sizes.length];
        long off = 0;
        for (int n = 0; n < sizes.length; n++) {
            b[n] = DeviceBuffer.wrap(ctx, sizes[n] == 0 ? 0 : address + off, sizes[n]);
            off += align(sizes[n]);
        }
        q8 = b[0]; k8 = b[1]; v8 = b[2]; qScale = b[3]; kScale = b[4]; kMean = b[5]; vScale = b[6]; qkm = b[7];
        qkStats = b[8];
    }

    /** Bytes of one caller-supplied block that holds every buffer of {@code layout} ({@link #over}). */
    public static long bytesFor(ScratchLayout layout) {
        long n = 0;
        for (long b : sizes(layout)) n += align(b);
        return n;
    }

    /**
     * A view of {@code bytes} of caller memory at {@code address} as the workspace of one call of
     * {@code layout}; nothing is allocated. The caller checks the size first ({@link #bytesFor}).
     */
    public static Workspace over(DeviceContext ctx, long address, long bytes, ScratchLayout layout) {
        if (bytes < bytesFor(layout)) {
            throw new IllegalArgumentException("workspaceBytes = " + bytes + " is too small: the call needs "
                    + bytesFor(layout));
        }
        return new Workspace(ctx, address, layout);
    }

    private static long[] sizes(ScratchLayout l) {
        return new long[] {l.q8Bytes(), l.k8Bytes(), l.v8Bytes(), l.qScaleBytes(), l.kScaleBytes(),
                l.channelStatBytes(), l.vStatBytes(), l.qkmBytes(), l.qkStatBytes()};
    }

    private static long align(long bytes) {
        return (bytes + ALIGNMENT - 1) / ALIGNMENT * ALIGNMENT;
    }

    /** Whether this is a view of caller memory ({@link #over}). */
    public boolean isView() {
        return view;
    }

    /** Device allocations this workspace has made (growing); constant once warmed. */
    public synchronized long allocations() {
        return allocations;
    }

    /** Times this workspace waited on the host (only before freeing buffers it outgrew). */
    public synchronized long hostWaits() {
        return hostWaits;
    }

    /** The device. */
    public DeviceContext context() {
        return ctx;
    }

    /** Makes every buffer at least as large as the layout needs and orders this call after the last one. */
    public synchronized void prepare(ScratchLayout layout, CudaStream stream) {
        if (view) return;
        boolean grow = too(q8, layout.q8Bytes()) || too(k8, layout.k8Bytes()) || too(v8, layout.v8Bytes())
                || too(qScale, layout.qScaleBytes()) || too(kScale, layout.kScaleBytes())
                || too(kMean, layout.channelStatBytes()) || too(vScale, layout.vStatBytes())
                || too(qkm, layout.qkmBytes()) || too(qkStats, layout.qkStatBytes());
        if (grow) {
            if (lastUse != null) {
                lastUse.synchronize();
                hostWaits++;
            }
            q8 = regrow(q8, layout.q8Bytes());
            k8 = regrow(k8, layout.k8Bytes());
            v8 = regrow(v8, layout.v8Bytes());
            qScale = regrow(qScale, layout.qScaleBytes());
            kScale = regrow(kScale, layout.kScaleBytes());
            kMean = regrow(kMean, layout.channelStatBytes());
            vScale = regrow(vScale, layout.vStatBytes());
            qkm = regrow(qkm, layout.qkmBytes());
            qkStats = regrow(qkStats, layout.qkStatBytes());
        } else if (lastUse != null) {
            // always, even when the handle equals the last call's: a destroyed stream's handle can be reused
            // by a new stream while the old one's work is still running
            int r = JCudaDriver.cuStreamWaitEvent(stream.handle(), lastUse.handle(), 0);
            if (r != 0) throw new CudaException(r, "cuStreamWaitEvent (ordering workspace reuse across streams)");
        }
    }

    /** Records that the work just queued on {@code stream} uses this workspace. */
    public synchronized void release(CudaStream stream) {
        if (view) return;
        if (lastUse == null) lastUse = CudaEvent.create(ctx);
        lastUse.record(stream);
    }

    private static boolean too(DeviceBuffer b, long bytes) {
        return bytes > 0 && (b == null || b.bytes() < bytes);
    }

    private DeviceBuffer regrow(DeviceBuffer b, long bytes) {
        if (!too(b, bytes)) return b;
        if (b != null) b.close();
        allocations++;
        // 25% headroom so that slowly growing sequence lengths do not reallocate every call
        return DeviceBuffer.allocate(ctx, bytes + bytes / 4);
    }

    /** INT8 Q. */
    public DeviceBuffer q8() { return q8; }
    /** INT8 smoothed K. */
    public DeviceBuffer k8() { return k8; }
    /** FP8 V^T (FP8 PV variants). */
    public DeviceBuffer v8() { return v8; }
    /** Q's INT8 scales. */
    public DeviceBuffer qScale() { return qScale; }
    /** K's INT8 scales. */
    public DeviceBuffer kScale() { return kScale; }
    /** K's per-channel mean (the smoothing). */
    public DeviceBuffer kMean() { return kMean; }
    /** V's per-channel scales. */
    public DeviceBuffer vScale() { return vScale; }
    /** The V channel means of a call of {@code l}: the second half of the V statistics buffer. */
    public long vMean(ScratchLayout l) { return vScale.address() + l.channelStatBytes(); }
    /** sm_scale * (q . mean(K)) per query row: the LSE correction of the K smoothing. */
    public DeviceBuffer qkm() { return qkm; }
    /** qk=auto: flags and sums of squares ({@link ScratchLayout#qkStatBytes()}); null until a qk=auto call. */
    public DeviceBuffer qkStats() { return qkStats; }

    /** Bytes held now. */
    public synchronized long bytes() {
        long n = 0;
        for (DeviceBuffer b : all()) if (b != null) n += b.bytes();
        return n;
    }

    private List<DeviceBuffer> all() {
        List<DeviceBuffer> l = new ArrayList<>();
        l.add(q8); l.add(k8); l.add(v8); l.add(qScale); l.add(kScale); l.add(kMean); l.add(vScale); l.add(qkm);
        l.add(qkStats);
        return l;
    }

    /** Frees the buffers (after the last call that used them); a view frees nothing. */
    @Override
    public synchronized void close() {
        if (lastUse != null) {
            lastUse.synchronize();
            lastUse.close();
            lastUse = null;
        }
        for (DeviceBuffer b : all()) if (b != null) b.close();
        q8 = k8 = v8 = qScale = kScale = kMean = vScale = qkm = qkStats = null;
    }
}
