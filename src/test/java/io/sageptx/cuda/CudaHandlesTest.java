package io.sageptx.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sageptx.api.LseMerge;
import io.sageptx.api.SageAttention;
import jcuda.driver.CUcontext;
import jcuda.driver.CUstream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/** Raw CUDA handles on the host side (no GPU): the JCuda objects carry exactly the numbers given. */
class CudaHandlesTest {

    @Test
    void reflectiveAccessToJCudaWorksOnTheClassPath() {
        assertTrue(CudaHandles.available(), "jcuda.NativePointerObject.nativePointer is accessible");
    }

    @Test
    void streamsCarryTheRawValue() {
        for (long h : new long[]{0, 1, 2, 0x7f12_3456_7000L, Long.MAX_VALUE, -1}) {
            CUstream s = CudaHandles.stream(h);
            assertEquals(h, CudaHandles.value(s), Long.toHexString(h));
            assertTrue(s.toString().contains(Long.toHexString(h)), s.toString());
        }
        assertEquals(new CUstream(), CudaHandles.stream(CudaHandles.LEGACY_DEFAULT_STREAM), "0 is JCuda's null stream");
        assertEquals(0L, CudaHandles.value(new CUstream()));
        assertEquals(0L, CudaHandles.value(null));
        assertNotSame(CudaHandles.stream(2), CudaHandles.stream(2), "a fresh object each time (callers may reuse it)");
        assertEquals(CudaHandles.stream(0x1234), CudaHandles.stream(0x1234));
    }

    @Test
    void specialStreams() {
        assertEquals(0L, CudaHandles.LEGACY_DEFAULT_STREAM);
        assertEquals(1L, CudaHandles.CU_STREAM_LEGACY);
        assertEquals(2L, CudaHandles.PER_THREAD_DEFAULT_STREAM);
        for (long h : new long[]{0, 1, 2}) assertTrue(CudaHandles.isSpecialStream(h));
        for (long h : new long[]{3, 0x1000, -1}) assertFalse(CudaHandles.isSpecialStream(h));
    }

    @Test
    void contextsCarryTheRawValue() {
        CUcontext c = CudaHandles.context(0x5555_0000L);
        assertEquals(0x5555_0000L, CudaHandles.value(c));
        assertEquals(c, CudaHandles.context(0x5555_0000L));
        assertFalse(c.equals(new CUcontext()));
    }

    @Test
    void contextHandleZeroIsRefusedByName() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> DeviceContext.forContext(0L));
        assertTrue(e.getMessage().startsWith("cuContext is 0"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> SageAttention.forContext(0L));
        assertThrows(IllegalArgumentException.class, () -> LseMerge.forContext(0L));
        assertThrows(IllegalArgumentException.class, () -> DeviceContext.forContext((CUcontext) null));
    }

    @Test
    void contextHandleWithoutAGpu() {
        Assumptions.assumeFalse(Cuda.available(), "a GPU is present");
        assertThrows(CudaUnavailableException.class, () -> SageAttention.forContext(0x1000L));
    }
}
