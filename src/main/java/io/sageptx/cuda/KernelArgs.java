package io.sageptx.cuda;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

import jcuda.NativePointerObject;
import jcuda.Pointer;
import jcuda.driver.CUdeviceptr;
import jcuda.driver.JCudaDriver;

/**
 * Kernel parameters in {@code .param} order, for {@link CudaKernel#launch}. Each entry must match the
 * PTX parameter's width: {@link #ptr} and {@link #i64} for {@code .u64}/{@code .s64} (8 bytes),
 * {@link #i32} for {@code .u32}/{@code .s32}, {@link #f32} for {@code .f32}.
 *
 * <pre>{@code
 * kernel.launch(grid, 1, 1, 128, 1, 1, 0, stream.handle(),
 *         new KernelArgs().ptr(out).ptr(in.address()).i32(n).f32(scale));
 * }</pre>
 *
 * <p>Not thread-safe; a built instance may be launched any number of times.
 */
public final class KernelArgs {

    private final List<Pointer> entries = new ArrayList<>();
    private final List<Object> values = new ArrayList<>();
    /** The kernelParams array, built on the first launch and kept while no parameter is added. */
    private Pointer params;

    /** An empty argument list. */
    public KernelArgs() {
    }

    /** A raw device address (e.g. from {@link DeviceBuffer#address()} or another framework), passed as 64 bits. */
    public KernelArgs ptr(long deviceAddress) {
        return add(Pointer.to(new long[] {deviceAddress}), new Ptr(deviceAddress));
    }

    /** A JCuda device pointer (its byte offset included). */
    public KernelArgs ptr(CUdeviceptr devicePointer) {
        Objects.requireNonNull(devicePointer, "devicePointer");
        return add(Pointer.to(new NativePointerObject[] {devicePointer}), devicePointer);
    }

    /** The start address of {@code buffer}. */
    public KernelArgs ptr(DeviceBuffer buffer) {
        Objects.requireNonNull(buffer, "buffer");
        return ptr(buffer.address());
    }

    /** Appends a 32-bit integer. */
    public KernelArgs i32(int value) {
        return add(Pointer.to(new int[] {value}), value);
    }

    /** Appends a 64-bit integer (or a device address). */
    public KernelArgs i64(long value) {
        return add(Pointer.to(new long[] {value}), value);
    }

    /** Appends a 32-bit float. */
    public KernelArgs f32(float value) {
        return add(Pointer.to(new float[] {value}), value);
    }

    private record Ptr(long address) {
        @Override
        public String toString() {
            return "ptr 0x" + Long.toHexString(address);
        }
    }

    private KernelArgs add(Pointer p, Object description) {
        entries.add(p);
        values.add(description);
        params = null;
        extraBuilt = false;
        extra = null;
        return this;
    }

    /**
     * Whether launches pass the parameters as one packed buffer ({@code extra} with
     * {@code CU_LAUNCH_PARAM_BUFFER_POINTER}) instead of one {@code kernelParams} pointer per parameter: on by
     * default, {@code -Dsageptx.packedLaunch=false} turns it off. JCuda converts every entry of
     * {@code kernelParams} on every launch (an upcall, a global reference and an array pin each); the packed
     * form converts five. Measured on the H200 (2026-12-02, decode benchmark): 37-64 us of host time per
     * decode call became 7-20 us, and the one-token append 17.5 us per call became 6.5 us.
     */
    public static final boolean PACKED = !"false".equalsIgnoreCase(System.getProperty("sageptx.packedLaunch", "true"));

    /** The {@code extra} array of the packed form, built on first use (null when an entry is a CUdeviceptr). */
    private Pointer extra;
    private boolean extraBuilt;

    /**
     * The parameters packed in {@code .param} order with natural alignment (8-byte values at multiples of 8,
     * 4-byte values at multiples of 4), as the driver reads a {@code CU_LAUNCH_PARAM_BUFFER_POINTER} buffer;
     * null when an entry is a JCuda device pointer object (its address is not readable here).
     */
    public ByteBuffer packed() {
        int size = 0;
        for (Object v : values) {
            if (v instanceof CUdeviceptr) return null;
            int w = v instanceof Integer || v instanceof Float ? 4 : 8;
            size = (size + w - 1) / w * w + w;
        }
        ByteBuffer b = ByteBuffer.allocateDirect(Math.max(8, size)).order(ByteOrder.nativeOrder());
        int off = 0;
        for (Object v : values) {
            int w = v instanceof Integer || v instanceof Float ? 4 : 8;
            off = (off + w - 1) / w * w;
            if (v instanceof Integer i) b.putInt(off, i);
            else if (v instanceof Float f) b.putFloat(off, f);
            else if (v instanceof Long l) b.putLong(off, l);
            else b.putLong(off, ((Ptr) v).address());
            off += w;
        }
        b.limit(size);
        return b;
    }

    /** The {@code extra} argument of cuLaunchKernel for the packed form, or null (see {@link #packed}). */
    public Pointer extra() {
        if (!extraBuilt) {
            ByteBuffer b = packed();
            if (b != null) {
                ByteBuffer size = ByteBuffer.allocateDirect(8).order(ByteOrder.nativeOrder());
                size.putLong(0, b.limit());
                extra = Pointer.to(JCudaDriver.CU_LAUNCH_PARAM_BUFFER_POINTER, Pointer.to(b),
                        JCudaDriver.CU_LAUNCH_PARAM_BUFFER_SIZE, Pointer.to(size), JCudaDriver.CU_LAUNCH_PARAM_END);
            }
            extraBuilt = true;
        }
        return extra;
    }

    /** Number of parameters added. */
    public int size() {
        return entries.size();
    }

    /**
     * The {@code void** kernelParams} array cuLaunchKernel takes: {@code Pointer.to(p0, p1, ...)} where
     * each {@code pi} points at the host copy of parameter i.
     */
    public Pointer toPointer() {
        Pointer p = params;
        if (p == null) {
            p = Pointer.to(entries.toArray(new NativePointerObject[0]));
            params = p;
        }
        return p;
    }

    @Override
    public String toString() {
        List<String> d = new ArrayList<>();
        for (Object v : values) {
            d.add(v instanceof Ptr || v instanceof CUdeviceptr ? (v instanceof Ptr ? v.toString() : "ptr " + v)
                    : v instanceof Integer ? "i32 " + v : v instanceof Long ? "i64 " + v : "f32 " + v);
        }
        return "KernelArgs" + d;
    }
}
