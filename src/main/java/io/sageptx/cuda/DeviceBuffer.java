package io.sageptx.cuda;

import java.util.Objects;
import java.util.concurrent.atomic.AtomicLong;

import jcuda.Pointer;
import jcuda.driver.CUdeviceptr;
import jcuda.driver.CUstream;
import jcuda.driver.JCudaDriver;

/**
 * Device memory of one {@link DeviceContext}: either owned (from {@link #allocate}, freed by
 * {@link #close()}) or a non-owning view of memory allocated elsewhere ({@link #wrap}).
 *
 * <p>A zero-byte allocation makes no driver call: its {@link #address()} is 0 and copies of zero
 * elements are no-ops.
 *
 * <p>Ordering: the copies and fills here run on the legacy default stream, which does <em>not</em>
 * order with non-blocking streams such as those of {@link CudaStream#create}. {@code copyFrom} and
 * {@code fill*} (the stream-less forms) therefore wait until the data is in device memory before
 * returning, so any later launch sees it; {@code copyTo} returns once the data is on the host, but
 * it does not wait for kernels on non-blocking streams: synchronize the stream that wrote the buffer
 * first.
 */
public final class DeviceBuffer extends DeviceResource {

    /** A CUdeviceptr whose address can be read (the native value is protected in JCuda). */
    private static final class Ptr extends CUdeviceptr {
        Ptr() {
            super();
        }

        /** A pointer to a raw address: native value 0 plus a byte offset of {@code address}. */
        Ptr(long address) {
            super(new CUdeviceptr(), address);
        }

        /** A copy of another JCuda device pointer (its byte offset included). */
        Ptr(CUdeviceptr other) {
            super(other);
        }

        long address() {
            return getNativePointer() + getByteOffset();
        }
    }

    /** cuMemAlloc calls made by {@link #allocate}, process-wide (tests use it to prove a hot path allocates nothing). */
    private static final AtomicLong ALLOCATIONS = new AtomicLong();

    private final Ptr ptr;
    private final long bytes;
    private final boolean owned;

    private DeviceBuffer(DeviceContext ctx, Ptr ptr, long bytes, boolean owned) {
        super(ctx);
        this.ptr = ptr;
        this.bytes = bytes;
        this.owned = owned;
    }

    /**
     * Allocates {@code bytes} of device memory with cuMemAlloc (256-byte aligned). The content is
     * undefined: poison it with a {@code fill*} where that matters. Zero bytes: address 0, no allocation.
     */
    public static DeviceBuffer allocate(DeviceContext ctx, long bytes) {
        Objects.requireNonNull(ctx, "ctx");
        if (bytes < 0) {
            throw new IllegalArgumentException("negative allocation size " + bytes);
        }
        Ptr p = new Ptr();
        if (bytes > 0) {
            ctx.makeCurrent();
            Cuda.check(JCudaDriver.cuMemAlloc(p, bytes), "cuMemAlloc(" + bytes + " bytes) on " + ctx);
            ALLOCATIONS.incrementAndGet();
        }
        return new DeviceBuffer(ctx, p, bytes, true);
    }

    /**
     * A non-owning view of {@code bytes} at {@code address} (e.g. a tensor of a framework using the same
     * primary context). {@link #close()} does not free it.
     */
    public static DeviceBuffer wrap(DeviceContext ctx, long address, long bytes) {
        Objects.requireNonNull(ctx, "ctx");
        if (bytes < 0) {
            throw new IllegalArgumentException("negative size " + bytes);
        }
        if (address == 0 && bytes > 0) {
            throw new IllegalArgumentException("null device address for a " + bytes + "-byte view");
        }
        return new DeviceBuffer(ctx, new Ptr(address), bytes, false);
    }

    /** Number of device allocations {@link #allocate} has made in this process so far. */
    public static long allocationCount() {
        return ALLOCATIONS.get();
    }

    /**
     * The raw device address a JCuda pointer holds (native value plus byte offset); 0 for {@code null} or
     * a pointer never set. Needs no driver call.
     */
    public static long addressOf(CUdeviceptr pointer) {
        return pointer == null ? 0L : new Ptr(pointer).address();
    }

    /** The device address (0 for a zero-byte buffer). */
    public long address() {
        ensureOpen();
        return ptr.address();
    }

    /** The JCuda device pointer of this buffer's start. */
    public CUdeviceptr ptr() {
        ensureOpen();
        return ptr;
    }

    /** Size in bytes. */
    public long bytes() {
        return bytes;
    }


    /** Whether {@link #close()} frees the memory. */
    public boolean isOwner() {
        return owned;
    }


    // ---- host -> device ----

    /** Copies host bytes to the start of the buffer (synchronous). */
    public void copyFrom(byte[] src) {
        copyIn(Pointer.to(src), src.length, 1, "byte[]");
    }

    /** Copies host shorts (e.g. fp16 values) to the start of the buffer (synchronous). */
    public void copyFrom(short[] src) {
        copyIn(Pointer.to(src), src.length, 2, "short[]");
    }

    /** Copies host ints to the start of the buffer (synchronous). */
    public void copyFrom(int[] src) {
        copyIn(Pointer.to(src), src.length, 4, "int[]");
    }

    /** Copies host floats to the start of the buffer (synchronous). */
    public void copyFrom(float[] src) {
        copyIn(Pointer.to(src), src.length, 4, "float[]");
    }

    // ---- device -> host ----

    /** Copies the start of the buffer into host bytes (synchronous). */
    public void copyTo(byte[] dst) {
        copyOut(Pointer.to(dst), dst.length, 1, "byte[]");
    }

    /** Copies the start of the buffer into host shorts (synchronous). */
    public void copyTo(short[] dst) {
        copyOut(Pointer.to(dst), dst.length, 2, "short[]");
    }

    /** Copies the start of the buffer into host ints (synchronous). */
    public void copyTo(int[] dst) {
        copyOut(Pointer.to(dst), dst.length, 4, "int[]");
    }

    /** Copies the start of the buffer into host floats (synchronous). */
    public void copyTo(float[] dst) {
        copyOut(Pointer.to(dst), dst.length, 4, "float[]");
    }

    // ---- fills (for poisoning) ----

    /** Sets every byte to {@code value} (cuMemsetD8) and waits for it. */
    public void fill8(byte value) {
        fill8(value, null);
    }

    /** Sets every 16-bit element to {@code value} (cuMemsetD16; size must be a multiple of 2) and waits for it. */
    public void fill16(short value) {
        fill16(value, null);
    }

    /** Sets every 32-bit element to {@code value} (cuMemsetD32; size must be a multiple of 4) and waits for it. */
    public void fill32(int value) {
        fill32(value, null);
    }

    /** cuMemsetD8Async on {@code stream}, not waited for; {@code null} stream: as {@link #fill8(byte)}. */
    public void fill8(byte value, CudaStream stream) {
        if (prepareFill(1, stream)) {
            return;
        }
        if (stream == null) {
            Cuda.check(JCudaDriver.cuMemsetD8(ptr, value, bytes), fillWhat("cuMemsetD8"));
            syncLegacyStream("cuMemsetD8");
        } else {
            Cuda.check(JCudaDriver.cuMemsetD8Async(ptr, value, bytes, stream.handle()), fillWhat("cuMemsetD8Async"));
        }
    }

    /** cuMemsetD16Async on {@code stream}, not waited for; {@code null} stream: as {@link #fill16(short)}. */
    public void fill16(short value, CudaStream stream) {
        if (prepareFill(2, stream)) {
            return;
        }
        if (stream == null) {
            Cuda.check(JCudaDriver.cuMemsetD16(ptr, value, bytes / 2), fillWhat("cuMemsetD16"));
            syncLegacyStream("cuMemsetD16");
        } else {
            Cuda.check(JCudaDriver.cuMemsetD16Async(ptr, value, bytes / 2, stream.handle()), fillWhat("cuMemsetD16Async"));
        }
    }

    /** cuMemsetD32Async on {@code stream}, not waited for; {@code null} stream: as {@link #fill32(int)}. */
    public void fill32(int value, CudaStream stream) {
        if (prepareFill(4, stream)) {
            return;
        }
        if (stream == null) {
            Cuda.check(JCudaDriver.cuMemsetD32(ptr, value, bytes / 4), fillWhat("cuMemsetD32"));
            syncLegacyStream("cuMemsetD32");
        } else {
            Cuda.check(JCudaDriver.cuMemsetD32Async(ptr, value, bytes / 4, stream.handle()), fillWhat("cuMemsetD32Async"));
        }
    }

    /** Frees owned memory on the first {@link #close()} (cuMemFree); a later use throws IllegalStateException. */
    @Override
    void release() {
        if (owned && bytes > 0) {
            ctx.makeCurrent();
            Cuda.check(JCudaDriver.cuMemFree(ptr), "cuMemFree(0x" + Long.toHexString(ptr.address()) + ", "
                    + bytes + " bytes) on cuda:" + ctx.ordinal());
        }
    }

    @Override
    public String toString() {
        return "DeviceBuffer[0x" + Long.toHexString(ptr.address()) + ", " + bytes + " bytes, cuda:" + ctx.ordinal()
                + (owned ? "" : ", view") + (isClosed() ? ", closed" : "") + "]";
    }

    // ---- internals ----

    private void copyIn(Pointer host, int elements, int elementBytes, String type) {
        long n = (long) elements * elementBytes;
        checkFits(n, elements, type, "copyFrom");
        if (n == 0) {
            return;
        }
        ctx.makeCurrent();
        Cuda.check(JCudaDriver.cuMemcpyHtoD(ptr, host, n),
                "cuMemcpyHtoD(" + n + " bytes from " + type + ") into " + this);
        // a pageable HtoD may return before the DMA lands; make the data visible to every stream
        syncLegacyStream("cuMemcpyHtoD");
    }

    private void copyOut(Pointer host, int elements, int elementBytes, String type) {
        long n = (long) elements * elementBytes;
        checkFits(n, elements, type, "copyTo");
        if (n == 0) {
            return;
        }
        ctx.makeCurrent();
        Cuda.check(JCudaDriver.cuMemcpyDtoH(host, ptr, n),
                "cuMemcpyDtoH(" + n + " bytes into " + type + ") from " + this);
    }

    private void checkFits(long n, int elements, String type, String op) {
        ensureOpen();
        if (n > bytes) {
            throw new IllegalArgumentException(op + ": " + type + " of " + elements + " elements (" + n
                    + " bytes) does not fit " + this);
        }
    }

    /** Validates a fill; returns true when there is nothing to do. Makes the context current. */
    private boolean prepareFill(int elementBytes, CudaStream stream) {
        ensureOpen();
        if (bytes % elementBytes != 0) {
            throw new IllegalArgumentException("fill" + (elementBytes * 8) + ": " + bytes
                    + " bytes is not a multiple of " + elementBytes + " in " + this);
        }
        if (stream != null && stream.context() != ctx) {
            throw new IllegalArgumentException("stream " + stream + " belongs to another device than " + this);
        }
        if (bytes == 0) {
            return true;
        }
        ctx.makeCurrent();
        return false;
    }

    private String fillWhat(String fn) {
        return fn + " of " + this;
    }

    private void syncLegacyStream(String after) {
        Cuda.check(JCudaDriver.cuStreamSynchronize(new CUstream()),
                "cuStreamSynchronize(default stream) after " + after + " on cuda:" + ctx.ordinal());
    }
}
