package io.sageptx.cuda;

import java.util.Objects;

import jcuda.Pointer;
import jcuda.driver.CUjit_option;
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
 * <p>The error/info log buffers are given to {@code cuLinkAddData}, not to {@code cuLinkCreate}: JCuda
 * frees the native copies of a call's option buffers when the call returns, while the driver would
 * keep writing into the buffers given at {@code cuLinkCreate} until the link state is destroyed. PTX
 * input is compiled inside {@code cuLinkAddData}, so its log is complete when that call returns.
 *
 * <p>The image {@code cuLinkComplete} returns lives in host memory owned by the link state. JCuda
 * cannot read a raw native pointer into a Java array, so it is copied host-to-device into a scratch
 * buffer and back into a {@code byte[]} (two sub-millisecond copies) before the state is destroyed.
 */
public final class CubinLinker {

    /**
     * A linked cubin.
     *
     * @param cubin   the ELF image for the device's architecture
     * @param infoLog the compiler's verbose info log (registers, spills, shared memory per entry)
     * @param millis  wall time of create + add + complete, in milliseconds
     */
    public record Result(byte[] cubin, String infoLog, double millis) {
    }

    private CubinLinker() {
    }

    /**
     * Compiles {@code ptx} for {@code ctx}'s device.
     *
     * @throws PtxLoadException with the JIT error and info logs when the driver refuses the PTX
     */
    public static Result link(DeviceContext ctx, String ptx, String nameForErrors) {
        Objects.requireNonNull(ctx, "ctx");
        Objects.requireNonNull(ptx, "ptx");
        String name = nameForErrors == null ? "<unnamed>" : nameForErrors;
        PtxModule.checkNoNul(ptx, name);
        byte[] image = PtxModule.image(ptx);
        byte[] errorLog = new byte[PtxModule.LOG_BYTES];
        byte[] infoLog = new byte[PtxModule.LOG_BYTES];
        JITOptions options = PtxModule.logOptions(errorLog, infoLog);

        ctx.makeCurrent();
        long t0 = System.nanoTime();
        CUlinkState state = new CUlinkState();
        Cuda.check(JCudaDriver.cuLinkCreate(new JITOptions(), state), "cuLinkCreate for '" + name + "' on " + ctx);
        try {
            int r = JCudaDriver.cuLinkAddData(state, CUjitInputType.CU_JIT_INPUT_PTX, Pointer.to(image), image.length,
                    name, options);
            String err = PtxModule.logText(options, CUjit_option.CU_JIT_ERROR_LOG_BUFFER,
                    CUjit_option.CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES, errorLog);
            String info = PtxModule.logText(options, CUjit_option.CU_JIT_INFO_LOG_BUFFER,
                    CUjit_option.CU_JIT_INFO_LOG_BUFFER_SIZE_BYTES, infoLog);
            if (r != CUresult.CUDA_SUCCESS) {
                throw new PtxLoadException(r, name, err, info, "cuLinkAddData(PTX) failed; "
                        + PtxModule.failureDetail(ctx, ptx, err, info));
            }
            Pointer cubinOut = new Pointer();
            long[] size = {0};
            r = JCudaDriver.cuLinkComplete(state, cubinOut, size);
            if (r != CUresult.CUDA_SUCCESS) {
                throw new PtxLoadException(r, name, err, info, "cuLinkComplete failed; "
                        + PtxModule.failureDetail(ctx, ptx, err, info));
            }
            if (size[0] <= 0 || size[0] > Integer.MAX_VALUE) {
                throw new CudaException(CudaException.NO_RESULT, "cuLinkComplete for '" + name
                        + "' returned an image of " + size[0] + " bytes");
            }
            byte[] cubin = copyOut(ctx, cubinOut, (int) size[0]);
            return new Result(cubin, info, (System.nanoTime() - t0) / 1e6);
        } finally {
            Cuda.check(JCudaDriver.cuLinkDestroy(state), "cuLinkDestroy for '" + name + "'");
        }
    }

    /** Copies {@code bytes} of host memory at a native pointer into a Java array, through a device buffer. */
    private static byte[] copyOut(DeviceContext ctx, Pointer host, int bytes) {
        byte[] out = new byte[bytes];
        try (DeviceBuffer scratch = DeviceBuffer.allocate(ctx, bytes)) {
            ctx.makeCurrent();
            Cuda.check(JCudaDriver.cuMemcpyHtoD(scratch.ptr(), host, bytes),
                    "cuMemcpyHtoD(cubin image, " + bytes + " bytes)");
            scratch.copyTo(out);
        }
        return out;
    }
}
