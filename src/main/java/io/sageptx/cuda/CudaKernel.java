package io.sageptx.cuda;

import jcuda.Pointer;
import jcuda.driver.CUfunction;
import jcuda.driver.CUfunction_attribute;
import jcuda.driver.CUstream;
import jcuda.driver.JCudaDriver;

/**
 * One kernel ({@code CUfunction}) of a {@link PtxModule}, bound to the module's {@link DeviceContext}.
 * Obtain it with {@link PtxModule#function(String)}. Thread-safe.
 */
public final class CudaKernel {

    /** Dynamic shared memory a kernel may use without opting in. */
    public static final int DEFAULT_MAX_DYNAMIC_SHARED_BYTES = 48 * 1024;

    private final PtxModule module;
    private final DeviceContext ctx;
    private final String name;
    private final CUfunction function;
    /** The dynamic shared memory limit currently granted to this function. */
    private volatile int maxDynamicSharedBytes = -1; // -1: not yet known (48 KiB minus the static shared memory)

    CudaKernel(PtxModule module, String name, CUfunction function) {
        this.module = module;
        this.ctx = module.context();
        this.name = name;
        this.function = function;
    }

    /**
     * Lets this kernel use {@code bytes} of dynamic shared memory. Calls
     * {@code cuFuncSetAttribute(CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES)} only when {@code bytes}
     * exceeds what was granted before: at first 48 KiB minus the kernel's static shared memory (the default
     * limit counts both, so a kernel with static shared memory needs the attribute below 48 KiB of dynamic).
     *
     * @throws IllegalArgumentException when {@code bytes} is negative, or {@code bytes} plus the kernel's
     *         static shared memory exceeds the device's opt-in maximum
     */
    public void setMaxDynamicSharedBytes(int bytes) {
        if (bytes < 0) {
            throw new IllegalArgumentException("kernel '" + name + "': negative dynamic shared memory " + bytes);
        }
        if (bytes <= maxDynamicSharedBytes) {
            return;
        }
        synchronized (this) {
            int statics = staticSharedBytes();
            if (maxDynamicSharedBytes < 0) {
                maxDynamicSharedBytes = defaultDynamicLimit();
            }
            if (bytes <= maxDynamicSharedBytes) {
                return;
            }
            int optin = ctx.maxSharedMemoryPerBlockOptin();
            if ((long) bytes + statics > optin) {
                throw new IllegalArgumentException("kernel '" + name + "' in module '" + module.name() + "' asks for "
                        + bytes + " bytes of dynamic shared memory" + (statics > 0 ? " (+ " + statics + " static)" : "")
                        + ", more than the device's opt-in maximum of " + optin + " bytes per block on " + ctx);
            }
            ctx.makeCurrent();
            Cuda.check(JCudaDriver.cuFuncSetAttribute(function,
                            CUfunction_attribute.CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES, bytes),
                    "cuFuncSetAttribute(MAX_DYNAMIC_SHARED_SIZE_BYTES=" + bytes + ") for kernel '" + name + "'");
            maxDynamicSharedBytes = bytes;
        }
    }

    /** The dynamic shared memory limit granted so far (48 KiB minus the static shared memory unless raised). */
    public int maxDynamicSharedBytes() {
        int granted = maxDynamicSharedBytes;
        return granted >= 0 ? granted : defaultDynamicLimit();
    }

    /** The dynamic shared memory a launch may use without the attribute: 48 KiB minus the static shared memory. */
    private int defaultDynamicLimit() {
        return Math.max(0, DEFAULT_MAX_DYNAMIC_SHARED_BYTES - staticSharedBytes());
    }

    /** Registers per thread (CU_FUNC_ATTRIBUTE_NUM_REGS). */
    public int numRegs() {
        return attribute(CUfunction_attribute.CU_FUNC_ATTRIBUTE_NUM_REGS);
    }

    /** Local memory per thread, in bytes (spills and local arrays; CU_FUNC_ATTRIBUTE_LOCAL_SIZE_BYTES). */
    public int localBytes() {
        return attribute(CUfunction_attribute.CU_FUNC_ATTRIBUTE_LOCAL_SIZE_BYTES);
    }

    /** Statically declared shared memory, in bytes (CU_FUNC_ATTRIBUTE_SHARED_SIZE_BYTES). */
    public int staticSharedBytes() {
        return attribute(CUfunction_attribute.CU_FUNC_ATTRIBUTE_SHARED_SIZE_BYTES);
    }

    /** The most threads per block this kernel can be launched with (CU_FUNC_ATTRIBUTE_MAX_THREADS_PER_BLOCK). */
    public int maxThreadsPerBlock() {
        return attribute(CUfunction_attribute.CU_FUNC_ATTRIBUTE_MAX_THREADS_PER_BLOCK);
    }

    /** Any function attribute ({@link CUfunction_attribute} constant), via cuFuncGetAttribute. */
    public int attribute(int cuFunctionAttribute) {
        module.ensureOpen();
        ctx.makeCurrent();
        int[] out = {0};
        Cuda.check(JCudaDriver.cuFuncGetAttribute(out, cuFunctionAttribute, function),
                "cuFuncGetAttribute(" + CUfunction_attribute.stringFor(cuFunctionAttribute) + ") for kernel '" + name + "'");
        return out[0];
    }

    /**
     * Enqueues the kernel with {@code cuLaunchKernel} and returns at once (no synchronization; errors
     * raised while the kernel runs surface at the next synchronizing call). When {@code dynSmem}
     * exceeds what was granted, {@link #setMaxDynamicSharedBytes(int)} is called first.
     *
     * @param stream the stream, or {@code null} for the legacy default stream
     */
    public void launch(int gx, int gy, int gz, int bx, int by, int bz, int dynSmem, CUstream stream, KernelArgs args) {
        if (gx <= 0 || gy <= 0 || gz <= 0 || bx <= 0 || by <= 0 || bz <= 0) {
            throw new IllegalArgumentException("kernel '" + name + "': grid (" + gx + "," + gy + "," + gz
                    + ") and block (" + bx + "," + by + "," + bz + ") must be positive");
        }
        if (args == null) {
            throw new IllegalArgumentException("kernel '" + name + "': args is null (use new KernelArgs() for none)");
        }
        module.ensureOpen();
        if (dynSmem > maxDynamicSharedBytes) {
            setMaxDynamicSharedBytes(dynSmem);
        } else if (dynSmem < 0) {
            throw new IllegalArgumentException("kernel '" + name + "': negative dynamic shared memory " + dynSmem);
        }
        ctx.makeCurrent();
        Pointer extra = KernelArgs.PACKED ? args.extra() : null;
        int r = extra != null
                ? JCudaDriver.cuLaunchKernel(function, gx, gy, gz, bx, by, bz, dynSmem,
                        stream == null ? CudaStream.NULL_STREAM : stream, null, extra)
                : JCudaDriver.cuLaunchKernel(function, gx, gy, gz, bx, by, bz, dynSmem,
                        stream == null ? CudaStream.NULL_STREAM : stream, args.toPointer(), null);
        if (r != 0) {
            throw new CudaException(r, "cuLaunchKernel('" + name + "' of module '" + module.name() + "', grid=("
                    + gx + "," + gy + "," + gz + "), block=(" + bx + "," + by + "," + bz + "), dynSmem=" + dynSmem
                    + ", " + args.size() + " args) on cuda:" + ctx.ordinal());
        }
    }

    /** The kernel's entry name. */
    public String name() {
        return name;
    }

    /** The module it was loaded from. */
    public PtxModule module() {
        return module;
    }

    /** The device it runs on. */
    public DeviceContext context() {
        return ctx;
    }

    /** The JCuda function object. */
    public CUfunction handle() {
        module.ensureOpen();
        return function;
    }

    @Override
    public String toString() {
        return "CudaKernel[" + name + " in " + module.name() + " on cuda:" + ctx.ordinal() + "]";
    }
}
