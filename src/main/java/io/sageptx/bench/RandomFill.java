package io.sageptx.bench;


import io.sageptx.cuda.CudaStream;
import io.sageptx.cuda.DeviceBuffer;
import io.sageptx.cuda.DeviceContext;
import io.sageptx.kernel.Args;
import io.sageptx.kernel.KernelLoader;
import io.sageptx.kernels.random.RandomFillKernels;
import io.sageptx.kernels.random.RandomFillEmitter;
import io.sageptx.spec.Arch;
import io.sageptx.spec.DType;

/** Fills device buffers with fresh pseudo-random 16-bit floats on the GPU (no host copies of large inputs). */
public final class RandomFill {

    private RandomFill() {
    }

    /**
     * Queues the fill of {@code elements} values of {@code type} at the start of {@code buf}, with mean 0
     * and standard deviation {@code scale}; {@code seed} picks the sequence.
     */
    public static void fill(DeviceBuffer buf, long elements, DType type, int seed, float scale, CudaStream stream) {
        if (elements % 8 != 0) {
            throw new IllegalArgumentException("elements = " + elements + " must be a multiple of 8");
        }
        if (elements * type.bytes() > buf.bytes()) {
            throw new IllegalArgumentException(elements + " " + type.shortName() + " values do not fit " + buf);
        }
        DeviceContext ctx = buf.context();
        Arch arch = Arch.forDevice(ctx.computeCapabilityMajor(), ctx.computeCapabilityMinor());
        long chunks = elements / 8;
        int blocks = (int) Math.max(1, Math.min(ctx.multiprocessorCount() * 8L,
                (chunks + RandomFillEmitter.THREADS - 1) / RandomFillEmitter.THREADS));
        KernelLoader.kernel(ctx, RandomFillKernels.module(type, arch), RandomFillKernels.kernel(type)).launch(
                new RandomFillKernels.Grid(blocks), new Args().ptr("p_out", buf.address()).u64("p_chunks", chunks)
                        .u32("p_seed", seed).f32("p_scale", scale), stream.handle());
    }
}
