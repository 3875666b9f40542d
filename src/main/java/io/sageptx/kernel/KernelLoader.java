package io.sageptx.kernel;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

import io.sageptx.cache.DeviceKernelCache;
import io.sageptx.cache.LoadedModule;
import io.sageptx.cache.ModuleKey;
import io.sageptx.cuda.CudaKernel;
import io.sageptx.cuda.DeviceContext;
import io.sageptx.cuda.PtxModule;
import io.sageptx.ptx.PtxVersions;

/**
 * The one loader of every kernel family: a {@link ModuleDef} goes through the device's disk cache
 * ({@link DeviceKernelCache}; compiled only on a miss) and is kept loaded for the life of the process,
 * once per (device, module). Its cache key is derived ({@link #key}): the module's family and spec text,
 * the generator's fingerprint (every class and template), the device's compute capability and driver.
 * The driver is checked against the module's PTX ISA before anything is loaded.
 */
public final class KernelLoader {

    private record Memo(int device, String family, String spec) {
    }

    private static final Map<Memo, LoadedModule<PtxModule>> LOADED = new ConcurrentHashMap<>();

    private KernelLoader() {
    }

    /** The cache key of {@code def} on {@code ctx}'s device. */
    public static ModuleKey key(DeviceContext ctx, ModuleDef def) {
        GeneratorFingerprint f = GeneratorFingerprint.current();
        return DeviceKernelCache.key(ctx, def.family(), def.spec(),
                ModuleKey.GENERATOR_VERSION + "+" + f.classes().substring(0, 16), f.templates());
    }

    /** The loaded module of {@code def} on {@code ctx}'s device, from memory, disk or a compile, in that order. */
    public static LoadedModule<PtxModule> load(DeviceContext ctx, ModuleDef def) {
        return LOADED.computeIfAbsent(new Memo(ctx.ordinal(), def.family(), def.spec()), m -> {
            PtxVersions.requireDriver(ctx.driverVersion(), def.isa(), ctx.name(), def.label());
            ctx.makeCurrent();
            return DeviceKernelCache.load(ctx, key(ctx, def), def.ptx());
        });
    }

    /** A kernel of a loaded module, with its definition: launched by name-bound arguments. */
    public static <C> Kernel<C> kernel(DeviceContext ctx, ModuleDef def, KernelDef<C> kernel) {
        return new Kernel<>(kernel, load(ctx, def).module().function(kernel.name()));
    }

    /**
     * A loaded kernel and its definition.
     *
     * @param <C> what a call is described by
     *
     * @param def      what the kernel is
     * @param function the loaded function
     */
    public record Kernel<C>(KernelDef<C> def, CudaKernel function) {

        /** Queues the kernel on {@code stream} (null: the legacy default stream) with its geometry for {@code call}. */
        public void launch(C call, Args args, jcuda.driver.CUstream stream) {
            prepare(call, args).launch(stream);
        }

        /**
         * The launch of {@code call} with {@code args}, bound and checked once: its geometry, the shared memory
         * limit granted, the parameter array built. {@link Ready#launch} then only calls the driver, so a caller
         * that repeats a call keeps the binding, the name checks and the allocations off its per-call path.
         */
        public Ready prepare(C call, Args args) {
            Launch l = def.geometry().apply(call);
            function.setMaxDynamicSharedBytes(l.sharedBytes());
            return new Ready(function, l, def.abi().bind(def.name(), args));
        }
    }

    /**
     * A bound launch (immutable; may be queued any number of times, from any thread).
     *
     * @param function the kernel
     * @param launch   its geometry
     * @param args     its parameters in order
     */
    public record Ready(CudaKernel function, Launch launch, io.sageptx.cuda.KernelArgs args) {
        public Ready {
            args.toPointer();
            if (io.sageptx.cuda.KernelArgs.PACKED) args.extra();
        }

        /** Queues the launch on {@code stream} (null: the legacy default stream). */
        public void launch(jcuda.driver.CUstream stream) {
            function.launch(launch.gridX(), launch.gridY(), launch.gridZ(), launch.threads(), 1, 1, launch.sharedBytes(), stream, args);
        }
    }
}
