package io.sageptx.api;

import java.util.ArrayList;
import java.util.List;

import io.sageptx.cuda.DeviceBuffer;
import io.sageptx.cuda.DeviceContext;

/** Device copies of test arrays, freed together by {@link #close()}. Not thread-safe: one per thread. */
final class DeviceArrays implements AutoCloseable {

    private final DeviceContext ctx;
    private final List<DeviceBuffer> buffers = new ArrayList<>();

    DeviceArrays(DeviceContext ctx) {
        this.ctx = ctx;
    }

    DeviceBuffer of(short[] a) {
        DeviceBuffer b = allocate(2L * a.length);
        b.copyFrom(a);
        return b;
    }

    DeviceBuffer of(int[] a) {
        DeviceBuffer b = allocate(4L * a.length);
        b.copyFrom(a);
        return b;
    }

    DeviceBuffer of(float[] a) {
        DeviceBuffer b = allocate(4L * a.length);
        b.copyFrom(a);
        return b;
    }

    /** 16-bit elements, all NaN (0xFFFF in fp16 and bf16). */
    DeviceBuffer nan16(long elements) {
        DeviceBuffer b = allocate(2 * elements);
        b.fill16((short) 0xFFFF);
        return b;
    }

    /** float32 elements, all NaN. */
    DeviceBuffer nan32(long elements) {
        DeviceBuffer b = allocate(4 * elements);
        b.fill32(0x7FFFFFFF);
        return b;
    }

    DeviceBuffer allocate(long bytes) {
        DeviceBuffer b = DeviceBuffer.allocate(ctx, bytes);
        buffers.add(b);
        return b;
    }

    /**
     * Fills each buffer with {@code elements} values of N(0, 1) in {@code type}: one block of 2^20 seeded values
     * repeated (the timing tests' inputs; fresh enough to defeat the L2, cheap to make on the host).
     */
    static void fillGaussian(long elements, io.sageptx.spec.DType type, long seed, DeviceBuffer... buffers) {
        short[] block = new short[1 << 20];
        java.util.Random r = new java.util.Random(seed);
        for (int i = 0; i < block.length; i++) block[i] = io.sageptx.numerics.Half.encode((float) r.nextGaussian(), type);
        short[] host = new short[Math.toIntExact(elements)];
        for (int i = 0; i < host.length; i += block.length) System.arraycopy(block, 0, host, i, Math.min(block.length, host.length - i));
        for (DeviceBuffer buf : buffers) buf.copyFrom(host);
    }

    static short[] shorts(DeviceBuffer b) {
        short[] a = new short[(int) (b.bytes() / 2)];
        b.copyTo(a);
        return a;
    }

    static float[] floats(DeviceBuffer b) {
        float[] a = new float[(int) (b.bytes() / 4)];
        b.copyTo(a);
        return a;
    }

    @Override
    public void close() {
        for (DeviceBuffer b : buffers) b.close();
        buffers.clear();
    }
}
