package io.sageptx.cuda;

import java.lang.reflect.Field;
import java.lang.reflect.Method;
import java.util.Objects;

import jcuda.NativePointerObject;
import jcuda.Pointer;
import jcuda.driver.CUjitInputType;
import jcuda.driver.CUlinkState;
import jcuda.driver.CUresult;
import jcuda.driver.JCudaDriver;
import jcuda.driver.JITOptions;

/**
 * Compiles PTX into a cubin for one device with the driver's linker: {@code cuLinkCreate},
 * {@code cuLinkAddData(CU_JIT_INPUT_PTX)}, {@code cuLinkComplete}, {@code cuLinkDestroy}. The cubin can be
 * stored and later loaded with {@link PtxModule#loadCubin} without any JIT.
 *
 * <p>The kernel cache does not use it (since 2026-12-03): the linker compiles PTX as relocatable code (like
 * {@code ptxas -c}), where ptxas serializes every wgmma of a kernel that calls a subroutine ({@code rcp.rn}:
 * C7509), ignores {@code setmaxnreg} (C7504) and spills large mma.sync kernels that spill nowhere as whole
 * programs ({@code docs/notes/wgmma-jit.md}). It stays for diagnostics ({@code JitProbeMain}).
 *
 * <p>No log buffers are given to the linker. JCuda frees the native copies of a call's option buffers
 * when the call returns, while the driver keeps writing into the buffers given to {@code cuLinkCreate}
 * until the link state is destroyed (a use after free); and on the H100 (driver 580) log buffers given
 * to {@code cuLinkAddData} made it fail with {@code CUDA_ERROR_INVALID_VALUE}. So when linking fails,
 * the PTX is JIT-compiled once more through {@link PtxModule#load} ({@code cuModuleLoadDataEx}, whose log
 * buffers JCuda copies back): a PTX error then surfaces as that {@link PtxLoadException} with the
 * compiler's error log; valid PTX the linker still refuses surfaces as a {@link CubinLinkException}.
 * Registers and local memory of the kernels are read from the loaded functions instead of the log.
 *
 * <p>The image {@code cuLinkComplete} returns lives in host memory owned by the link state. JCuda
 * cannot read a raw native pointer into a Java array, so it is copied host-to-device into a scratch
 * buffer and back into a {@code byte[]} (two sub-millisecond copies) before the state is destroyed.
 */
public final class CubinLinker {

    /**
     * A linked cubin.
     *
     * @param cubin  the ELF image for the device's architecture
     * @param millis wall time of create + add + complete, in milliseconds
     */
    public record Result(byte[] cubin, double millis) {
    }

    private CubinLinker() {
    }

    /**
     * Compiles {@code ptx} for {@code ctx}'s device.
     *
     * @throws PtxLoadException    with the JIT error log when the PTX does not compile
     * @throws CubinLinkException  when the PTX compiles but the linker fails
     */
    public static Result link(DeviceContext ctx, String ptx, String nameForErrors) {
        Objects.requireNonNull(ctx, "ctx");
        Objects.requireNonNull(ptx, "ptx");
        String name = nameForErrors == null ? "<unnamed>" : nameForErrors;
        PtxModule.checkNoNul(ptx, name);
        byte[] image = PtxModule.image(ptx);
        ctx.makeCurrent();
        long t0 = System.nanoTime();
        CUlinkState state = new CUlinkState();
        int r = JCudaDriver.cuLinkCreate(new JITOptions(), state);
        if (r != CUresult.CUDA_SUCCESS) {
            throw failure(ctx, ptx, name, "cuLinkCreate", r);
        }
        boolean ok = false;
        try {
            // the size excludes the terminating NUL (the buffer still has it)
            r = JCudaDriver.cuLinkAddData(state, CUjitInputType.CU_JIT_INPUT_PTX, Pointer.to(image), image.length - 1L,
                    name, new JITOptions());
            if (r != CUresult.CUDA_SUCCESS) {
                throw failure(ctx, ptx, name, "cuLinkAddData(CU_JIT_INPUT_PTX)", r);
            }
            Pointer cubinOut = new Pointer();
            long[] size = {0};
            r = JCudaDriver.cuLinkComplete(state, cubinOut, size);
            if (r != CUresult.CUDA_SUCCESS) {
                throw failure(ctx, ptx, name, "cuLinkComplete", r);
            }
            if (size[0] <= 0 || size[0] > Integer.MAX_VALUE) {
                throw new CubinLinkException(CudaException.NO_RESULT, "cuLinkComplete for '" + name
                        + "' returned an image of " + size[0] + " bytes");
            }
            byte[] cubin = copyOut(ctx, cubinOut, (int) size[0], name);
            ok = true;
            return new Result(cubin, (System.nanoTime() - t0) / 1e6);
        } finally {
            int d = JCudaDriver.cuLinkDestroy(state);
            if (ok) {
                Cuda.check(d, "cuLinkDestroy for '" + name + "'");
            }
        }
    }

    /** Why a link step failed: the JIT's error log when the PTX is bad, else a {@link CubinLinkException}. */
    private static RuntimeException failure(DeviceContext ctx, String ptx, String name, String step, int result) {
        try (PtxModule m = PtxModule.load(ctx, ptx, name)) {
            return new CubinLinkException(result, step + " for '" + name + "' on " + ctx
                    + " (the same PTX loads with cuModuleLoadDataEx)");
        } catch (PtxLoadException e) {
            return e;
        }
    }

    /** Copies {@code bytes} of host memory at a native pointer into a Java array. */
    private static byte[] copyOut(DeviceContext ctx, Pointer host, int bytes, String name) {
        byte[] out = new byte[bytes];
        try (DeviceBuffer scratch = DeviceBuffer.allocate(ctx, bytes)) {
            ctx.makeCurrent();
            int r = JCudaDriver.cuMemcpyHtoD(scratch.ptr(), host, bytes);
            if (r == CUresult.CUDA_SUCCESS) {
                scratch.copyTo(out);
                return out;
            }
        }
        // second way: read the native memory directly
        try {
            Method address = NativePointerObject.class.getDeclaredMethod("getNativePointer");
            address.setAccessible(true);
            long addr = (Long) address.invoke(host);
            Field f = Class.forName("sun.misc.Unsafe").getDeclaredField("theUnsafe");
            f.setAccessible(true);
            Object unsafe = f.get(null);
            Method copy = unsafe.getClass().getMethod("copyMemory", Object.class, long.class, Object.class, long.class,
                    long.class);
            int base = (Integer) unsafe.getClass().getMethod("arrayBaseOffset", Class.class).invoke(unsafe, byte[].class);
            copy.invoke(unsafe, null, addr, out, (long) base, (long) bytes);
            return out;
        } catch (ReflectiveOperationException | RuntimeException e) {
            throw new CubinLinkException(CudaException.NO_RESULT, "copying the cubin of '" + name
                    + "' out of the link state failed: " + e);
        }
    }
}
