package io.sageptx.cuda;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sageptx.testing.Gpu;
import io.sageptx.testing.RequiresGpu;
import jcuda.driver.CUdeviceptr;
import jcuda.driver.CUresult;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ConditionEvaluationResult;

/** Runs everywhere (no GPU needed): the probe, error formatting and argument packing. */
class CudaHostSideTest {

    @Test
    void availabilityProbeNeverThrows() {
        boolean available = assertDoesNotThrow(Cuda::available);
        assertEquals(available, assertDoesNotThrow(Cuda::available), "cached");
        assertEquals(available, Gpu.available());
        if (available) {
            assertNull(Cuda.unavailableReason());
            assertTrue(Cuda.deviceCount() > 0);
            return;
        }
        // the development machines and CI: no libcuda, no device
        String reason = Cuda.unavailableReason();
        assertNotNull(reason);
        assertFalse(reason.isBlank());
        assertFalse(reason.contains("\n"), reason);
        assertEquals(0, Cuda.deviceCount());
        CudaUnavailableException e = assertThrows(CudaUnavailableException.class, () -> DeviceContext.of(0));
        assertEquals(reason, e.reason());
        assertTrue(e.getMessage().contains(reason), e.getMessage());
        assertThrows(CudaUnavailableException.class, Cuda::requireAvailable);

        ConditionEvaluationResult r = new RequiresGpu().evaluateExecutionCondition(null);
        assertTrue(r.isDisabled());
        assertEquals("no CUDA GPU: " + reason, r.getReason().orElseThrow());
    }

    @Test
    void cudaExceptionNamesTheOperationAndResult() {
        CudaException e = new CudaException(CUresult.CUDA_ERROR_OUT_OF_MEMORY, "cuMemAlloc(1 TiB) on cuda:0");
        assertEquals(CUresult.CUDA_ERROR_OUT_OF_MEMORY, e.result());
        assertEquals("CUDA_ERROR_OUT_OF_MEMORY", e.resultName());
        assertEquals("cuMemAlloc(1 TiB) on cuda:0", e.operation());
        assertTrue(e.getMessage().startsWith("cuMemAlloc(1 TiB) on cuda:0 failed: CUDA_ERROR_OUT_OF_MEMORY (2)"),
                e.getMessage());
        CudaException ok = assertThrows(CudaException.class, () -> Cuda.check(CUresult.CUDA_ERROR_INVALID_PTX, "load x"));
        assertTrue(ok.getMessage().contains("load x") && ok.getMessage().contains("CUDA_ERROR_INVALID_PTX"));
        assertDoesNotThrow(() -> Cuda.check(CUresult.CUDA_SUCCESS, "fine"));
        assertTrue(CudaException.nameOf(99999).contains("99999"));

        PtxLoadException p = new PtxLoadException(CUresult.CUDA_ERROR_INVALID_PTX, "mod", "line 3; error : bad", "", "detail");
        assertEquals("mod", p.moduleName());
        assertTrue(p.getMessage().contains("mod") && p.getMessage().contains("detail"), p.getMessage());
    }

    @Test
    void kernelArgsBuildsOneEntryPerParameter() {
        KernelArgs args = new KernelArgs()
                .ptr(0x7f00_1234_5600L)
                .ptr(new CUdeviceptr())
                .i32(-5)
                .i64(1L << 40)
                .f32(0.125f);
        assertEquals(5, args.size());
        assertNotNull(args.toPointer());
        assertTrue(args.toString().contains("ptr 0x7f0012345600"), args.toString());
        assertTrue(args.toString().contains("f32 0.125"), args.toString());
        assertEquals(0, new KernelArgs().size());
    }

    @Test
    void versionFormatting() {
        assertEquals("13.0", Cuda.formatVersion(13000));
        assertEquals("12.6", Cuda.formatVersion(12060));
    }

    /** The packed launch buffer: .param order, natural alignment, the values as bound. */
    @org.junit.jupiter.api.Test
    void packedArgumentsFollowTheParamLayout() {
        KernelArgs a = new KernelArgs().ptr(0x1234_5678_9abcL).i32(7).i64(-2).f32(1.5f).i32(3).i32(4).ptr(16);
        java.nio.ByteBuffer b = a.packed();
        assertEquals(48, b.limit());
        assertEquals(0x1234_5678_9abcL, b.getLong(0));
        assertEquals(7, b.getInt(8));
        assertEquals(-2L, b.getLong(16));
        assertEquals(1.5f, b.getFloat(24));
        assertEquals(3, b.getInt(28));
        assertEquals(4, b.getInt(32));
        assertEquals(16L, b.getLong(40));
    }
}
