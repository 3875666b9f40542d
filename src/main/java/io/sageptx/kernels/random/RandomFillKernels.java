package io.sageptx.kernels.random;

import io.sageptx.kernel.KernelAbi;
import io.sageptx.kernel.KernelDef;
import io.sageptx.kernel.Launch;
import io.sageptx.kernel.ModuleDef;
import io.sageptx.ptx.PtxVersions;
import io.sageptx.spec.Arch;
import io.sageptx.spec.DType;

/** The random-fill module of a dtype on an arch: ABI, module and grid (a grid-stride loop of {@code blocks} CTAs). */
public final class RandomFillKernels {

    /** One fill's grid: CTAs of {@link RandomFillEmitter#THREADS} threads. */
    public record Grid(int blocks) {
    }

    private RandomFillKernels() {
    }

    public static KernelAbi abi(DType type) {
        return KernelAbi.builder()
                .u64("p_out", type.ptx() + " [n], 16-byte aligned")
                .u64("p_chunks", "n / 8")
                .u32("p_seed")
                .f32("p_scale", "standard deviation")
                .build();
    }

    public static ModuleDef module(DType type, Arch arch) {
        return new ModuleDef("random", "dtype=" + type.shortName() + ",arch=" + arch.target(), PtxVersions.base(arch),
                () -> RandomFillEmitter.emit(type, arch));
    }

    public static KernelDef<Grid> kernel(DType type) {
        return new KernelDef<>(RandomFillEmitter.kernelName(type), abi(type),
                g -> new Launch(g.blocks(), 1, 1, RandomFillEmitter.THREADS, 0));
    }
}
