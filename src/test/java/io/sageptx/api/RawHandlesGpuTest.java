package io.sageptx.api;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sageptx.call.AttentionArgs;
import io.sageptx.call.MergeArgs;
import io.sageptx.cuda.Cuda;
import io.sageptx.cuda.CudaHandles;
import io.sageptx.cuda.DeviceBuffer;
import io.sageptx.cuda.DeviceContext;
import io.sageptx.numerics.AccuracyBar;
import io.sageptx.numerics.AttentionReference;
import io.sageptx.numerics.Half;
import io.sageptx.spec.DType;
import io.sageptx.testing.GpuTest;
import jcuda.driver.CUcontext;
import jcuda.driver.CUdevice;
import jcuda.driver.CUstream;
import jcuda.driver.CUstream_flags;
import jcuda.driver.JCudaDriver;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * Streams and contexts as another binding hands them out: raw {@code long} handles. A stream made through
 * the driver (cuStreamCreate) is passed as its number and the call matches the FP64 reference; the legacy
 * (0) and per-thread (2) default streams give the same bits; the primary context is found from its raw
 * handle; a stream or context of a cuCtxCreate context is refused by name.
 */
@GpuTest
class RawHandlesGpuTest {

    private static final int H = 4;
    private static final int HKV = 2;
    private static final int L = 700;
    private static final int D = 128;

    @Test
    void rawStreamAndContextHandlesRunCorrectly() {
        DeviceContext ctx = DeviceContext.of(0);
        // the primary context's handle as a framework would have it: retained through the driver, a number
        CUdevice dev = new CUdevice();
        Cuda.check(JCudaDriver.cuDeviceGet(dev, 0), "cuDeviceGet");
        CUcontext primary = new CUcontext();
        Cuda.check(JCudaDriver.cuDevicePrimaryCtxRetain(primary, dev), "cuDevicePrimaryCtxRetain");
        long ctxHandle = CudaHandles.value(primary);
        Cuda.check(JCudaDriver.cuCtxSetCurrent(primary), "cuCtxSetCurrent");
        CUstream made = new CUstream();
        Cuda.check(JCudaDriver.cuStreamCreate(made, CUstream_flags.CU_STREAM_NON_BLOCKING), "cuStreamCreate");
        long streamHandle = CudaHandles.value(made);
        assertTrue(streamHandle != 0 && !CudaHandles.isSpecialStream(streamHandle), Long.toHexString(streamHandle));
        try (SageAttention att = SageAttention.forContext(ctxHandle); DeviceArrays mem = new DeviceArrays(att.context())) {
            assertSame(ctx, att.context(), "the primary context's raw handle finds device 0");
            AttentionInputs x = new AttentionInputs(77, 1, H, HKV, L, L, D, DType.FP16);
            DeviceBuffer q = mem.of(x.q16);
            DeviceBuffer k = mem.of(x.k16);
            DeviceBuffer v = mem.of(x.v16);
            DeviceBuffer[] o = {mem.nan16(x.q.length), mem.nan16(x.q.length), mem.nan16(x.q.length)};
            DeviceBuffer[] lse = {mem.nan32((long) H * L), mem.nan32((long) H * L), mem.nan32((long) H * L)};
            long[] streams = {streamHandle, CudaHandles.LEGACY_DEFAULT_STREAM, CudaHandles.PER_THREAD_DEFAULT_STREAM};
            for (int i = 0; i < streams.length; i++) {
                att.forward(args(q, k, v, o[i], lse[i]), streams[i]);
                Cuda.check(JCudaDriver.cuStreamSynchronize(CudaHandles.stream(streams[i])), "cuStreamSynchronize");
            }
            AttentionReference.Result ref = AttentionReference.compute(x.q, x.k, x.v, 1, H, HKV, L, L, D,
                    1.0 / Math.sqrt(D), true);
            AccuracyBar.Accuracy acc = AccuracyBar.Accuracy.of(Half.decode(DeviceArrays.shorts(o[0]), DType.FP16),
                    DeviceArrays.floats(lse[0]), ref);
            String spec = att.specFor(args(q, k, v, o[0], lse[0])).toString();
            assertNull(AccuracyBar.forPv(att.specFor(args(q, k, v, o[0], lse[0])).pv()).failure(acc), spec + ": " + acc);
            System.out.println("raw stream 0x" + Long.toHexString(streamHandle) + " (" + spec + "): " + acc);
            for (int i = 1; i < streams.length; i++) {
                assertArrayEquals(DeviceArrays.shorts(o[0]), DeviceArrays.shorts(o[i]), "O on stream " + streams[i]);
                assertArrayEquals(DeviceArrays.floats(lse[0]), DeviceArrays.floats(lse[i]), "LSE on stream " + streams[i]);
            }

            // the merge on the raw stream: a part merged with itself keeps O and adds ln 2 to the LSE
            DeviceBuffer mo = mem.nan16(x.q.length);
            DeviceBuffer ml = mem.nan32((long) H * L);
            LseMerge merge = LseMerge.forContext(ctxHandle);
            assertSame(ctx, merge.context());
            merge.merge(MergeArgs.builder().part(o[0].address(), lse[0].address()).part(o[0].address(), lse[0].address())
                    .out(mo.address(), ml.address()).heads(H).seqLen(L).headDim(D).dtype(DType.FP16).build(), streamHandle);
            Cuda.check(JCudaDriver.cuStreamSynchronize(made), "cuStreamSynchronize");
            float[] a = Half.decode(DeviceArrays.shorts(o[0]), DType.FP16);
            float[] m = Half.decode(DeviceArrays.shorts(mo), DType.FP16);
            for (int i = 0; i < a.length; i++) assertEquals(a[i], m[i], 1e-3 + 1e-3 * Math.abs(a[i]), "merged O " + i);
            float[] l0 = DeviceArrays.floats(lse[0]);
            float[] l1 = DeviceArrays.floats(ml);
            for (int i = 0; i < l0.length; i++) assertEquals(l0[i] + Math.log(2), l1[i], 1e-4, "merged LSE " + i);
        } finally {
            ctx.makeCurrent();
            Cuda.check(JCudaDriver.cuStreamDestroy(made), "cuStreamDestroy");
            Cuda.check(JCudaDriver.cuDevicePrimaryCtxRelease(dev), "cuDevicePrimaryCtxRelease");
        }
    }

    @Test
    void handlesOfAnotherContextAreRefused() {
        DeviceContext ctx = DeviceContext.of(0);
        CUcontext own = new CUcontext();
        int r = JCudaDriver.cuCtxCreate(own, 0, ctx.device());
        Assumptions.assumeTrue(r == 0, "cuCtxCreate unavailable through JCuda 12.6 on this driver: " + r);
        CUstream foreign = new CUstream();
        try {
            Cuda.check(JCudaDriver.cuStreamCreate(foreign, CUstream_flags.CU_STREAM_NON_BLOCKING), "cuStreamCreate (own context)");
            ctx.makeCurrent();
            IllegalArgumentException c = assertThrows(IllegalArgumentException.class,
                    () -> SageAttention.forContext(CudaHandles.value(own)));
            assertTrue(c.getMessage().contains("is not the primary context"), c.getMessage());
            System.out.println("refused: " + c.getMessage());
            try (SageAttention att = SageAttention.onDevice(0); DeviceArrays mem = new DeviceArrays(att.context())) {
                DeviceBuffer t = mem.nan16((long) H * L * D);
                DeviceBuffer l = mem.nan32((long) H * L);
                IllegalArgumentException s = assertThrows(IllegalArgumentException.class,
                        () -> att.forward(args(t, t, t, t, l), CudaHandles.value(foreign)));
                assertTrue(s.getMessage().contains("belongs to CUDA context"), s.getMessage());
                System.out.println("refused: " + s.getMessage());
            }
        } finally {
            Cuda.check(JCudaDriver.cuCtxSetCurrent(own), "cuCtxSetCurrent(own)");
            if (CudaHandles.value(foreign) != 0) JCudaDriver.cuStreamDestroy(foreign);
            Cuda.check(JCudaDriver.cuCtxDestroy(own), "cuCtxDestroy");
            ctx.makeCurrent();
        }
    }

    private static AttentionArgs args(DeviceBuffer q, DeviceBuffer k, DeviceBuffer v, DeviceBuffer o, DeviceBuffer lse) {
        return AttentionArgs.builder().q(q.address()).k(k.address()).v(v.address()).o(o.address()).lse(lse.address())
                .heads(H).kvHeads(HKV).seqLen(L).headDim(D).dtype(DType.FP16).causal(true).build();
    }
}
