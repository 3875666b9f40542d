package io.sageptx.bench;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

import io.sageptx.cuda.CudaKernel;
import io.sageptx.cuda.CudaStream;
import io.sageptx.cuda.DeviceBuffer;
import io.sageptx.cuda.DeviceContext;
import io.sageptx.cuda.KernelArgs;
import io.sageptx.cuda.PtxModule;
import io.sageptx.ptx.RandomFillEmitter;
import io.sageptx.spec.Arch;
import io.sageptx.spec.DType;

/** Fills device buffers with fresh pseudo-random 16-bit floats on the GPU (no host copies of large inputs). */
public final class RandomFill {

    private record Key(int device, DType type) {
    }

    private static final Map<Key, CudaKernel> KERNELS = new ConcurrentHashMap<>();

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
        CudaKernel k = KERNELS.computeIfAbsent(new Key(ctx.ordinal(), type), key -> {
            Arch arch = Arch.forDevice(ctx.computeCapabilityMajor(), ctx.computeCapabilityMinor());
            return PtxModule.load(ctx, RandomFillEmitter.emit(type, arch), "random fill " + type.shortName())
                    .function(RandomFillEmitter.kernelName(type));
        });
        long chunks = elements / 8;
        int blocks = (int) Math.max(1, Math.min(ctx.multiprocessorCount() * 8L,
                (chunks + RandomFillEmitter.THREADS - 1) / RandomFillEmitter.THREADS));
        k.launch(blocks, 1, 1, RandomFillEmitter.THREADS, 1, 1, 0, stream.handle(),
                new KernelArgs().ptr(buf.address()).i64(chunks).i32(seed).f32(scale));
    }
}
