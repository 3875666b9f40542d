package io.sageptx.cuda;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.util.Arrays;

import io.sageptx.testing.GpuTest;
import jcuda.driver.CUresult;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The driver-API layer on a real GPU: PTX JIT, launches, buffers, streams, events. */
@GpuTest
class CudaRuntimeTest {

    /** Writes {@code 2*i} into {@code out[i]} for {@code i < n}. */
    static final String TWICE_PTX = """
            .version 8.0
            .target sm_80
            .address_size 64

            .visible .entry twice(
                .param .u64 out,
                .param .u32 n
            )
            {
                .reg .pred %p<2>;
                .reg .b32 %r<7>;
                .reg .b64 %rd<5>;

                ld.param.u64 %rd1, [out];
                ld.param.u32 %r1, [n];
                mov.u32 %r2, %ctaid.x;
                mov.u32 %r3, %ntid.x;
                mov.u32 %r4, %tid.x;
                mad.lo.s32 %r5, %r2, %r3, %r4;
                setp.ge.u32 %p1, %r5, %r1;
                @%p1 bra DONE;
                cvta.to.global.u64 %rd2, %rd1;
                mul.wide.u32 %rd3, %r5, 4;
                add.s64 %rd4, %rd2, %rd3;
                shl.b32 %r6, %r5, 1;
                st.global.u32 [%rd4], %r6;
            DONE:
                ret;
            }
            """;

    /** scale: out[i] = a * in[i]; store64: *out = v (64-bit); dynsmem: round trip through dynamic smem at off. */
    static final String MORE_PTX = """
            .version 8.0
            .target sm_80
            .address_size 64

            .extern .shared .align 16 .b8 dyn[];

            .visible .entry scale(
                .param .u64 out,
                .param .u64 in,
                .param .u32 n,
                .param .f32 a
            )
            {
                .reg .pred %p<2>;
                .reg .b32 %r<6>;
                .reg .f32 %f<3>;
                .reg .b64 %rd<8>;

                ld.param.u64 %rd1, [out];
                ld.param.u64 %rd2, [in];
                ld.param.u32 %r1, [n];
                ld.param.f32 %f1, [a];
                mov.u32 %r2, %ctaid.x;
                mov.u32 %r3, %ntid.x;
                mov.u32 %r4, %tid.x;
                mad.lo.s32 %r5, %r2, %r3, %r4;
                setp.ge.u32 %p1, %r5, %r1;
                @%p1 bra DONE;
                cvta.to.global.u64 %rd3, %rd1;
                cvta.to.global.u64 %rd4, %rd2;
                mul.wide.u32 %rd5, %r5, 4;
                add.s64 %rd6, %rd4, %rd5;
                ld.global.f32 %f2, [%rd6];
                mul.f32 %f2, %f2, %f1;
                add.s64 %rd7, %rd3, %rd5;
                st.global.f32 [%rd7], %f2;
            DONE:
                ret;
            }

            .visible .entry store64(
                .param .u64 out,
                .param .s64 v
            )
            {
                .reg .b64 %rd<4>;

                ld.param.u64 %rd1, [out];
                ld.param.s64 %rd2, [v];
                cvta.to.global.u64 %rd3, %rd1;
                st.global.s64 [%rd3], %rd2;
                ret;
            }

            .visible .entry dynsmem(
                .param .u64 out,
                .param .u32 off,
                .param .u32 value
            )
            {
                .reg .b32 %r<6>;
                .reg .b64 %rd<3>;

                ld.param.u64 %rd1, [out];
                ld.param.u32 %r1, [off];
                ld.param.u32 %r2, [value];
                mov.u32 %r3, dyn;
                add.u32 %r4, %r3, %r1;
                st.shared.u32 [%r4], %r2;
                bar.sync 0;
                ld.shared.u32 %r5, [%r4];
                cvta.to.global.u64 %rd2, %rd1;
                st.global.u32 [%rd2], %r5;
                ret;
            }
            """;

    static DeviceContext ctx;

    @BeforeAll
    static void context() {
        ctx = DeviceContext.of(0);
        System.out.println("[CudaRuntimeTest] " + ctx);
    }

    @Test
    void deviceContextIsCachedAndDescribed() {
        assertSame(ctx, DeviceContext.of(0));
        assertTrue(Cuda.available());
        assertTrue(Cuda.deviceCount() >= 1);
        assertTrue(Cuda.driverVersion() >= 12000, "driver " + Cuda.driverVersion());
        assertEquals(Cuda.driverVersion(), ctx.driverVersion());
        assertFalse(ctx.name().isBlank());
        assertTrue(ctx.computeCapabilityMajor() >= 8, ctx.toString());
        assertTrue(ctx.multiprocessorCount() > 0);
        assertTrue(ctx.totalMemoryBytes() > (1L << 30));
        assertTrue(ctx.maxSharedMemoryPerBlockOptin() > 48 * 1024);
        assertTrue(ctx.l2CacheBytes() > 0);
        assertTrue(ctx.toString().startsWith("cuda:0 "), ctx.toString());
        assertThrows(IllegalArgumentException.class, () -> DeviceContext.of(Cuda.deviceCount()));
        ctx.makeCurrent();
        ctx.synchronize();
    }

    @Test
    void loadsPtxAndLaunchesOnAStream() {
        int n = 1000;
        try (PtxModule module = PtxModule.load(ctx, TWICE_PTX, "twice-test");
             DeviceBuffer out = DeviceBuffer.allocate(ctx, 4L * n);
             CudaStream stream = CudaStream.create(ctx);
             CudaEvent start = CudaEvent.create(ctx);
             CudaEvent end = CudaEvent.create(ctx)) {
            System.out.println("[CudaRuntimeTest] JIT " + module.loadMillis() + " ms, info log:\n" + module.infoLog());
            assertTrue(module.loadMillis() > 0);
            CudaKernel kernel = module.function("twice");
            assertSame(kernel, module.function("twice"));
            assertTrue(kernel.numRegs() > 0, "numRegs " + kernel.numRegs());
            assertEquals(0, kernel.localBytes());
            assertEquals(0, kernel.staticSharedBytes());

            out.fill32(-1);
            start.record(stream);
            kernel.launch((n + 127) / 128, 1, 1, 128, 1, 1, 0, stream.handle(), new KernelArgs().ptr(out.ptr()).i32(n));
            end.record(stream);
            stream.synchronize();
            assertTrue(stream.isIdle());
            assertTrue(end.isComplete());
            float ms = CudaEvent.elapsedMillis(start, end);
            assertTrue(ms >= 0f, "elapsed " + ms);

            int[] host = new int[n];
            out.copyTo(host);
            for (int i = 0; i < n; i++) {
                assertEquals(2 * i, host[i], "out[" + i + "]");
            }
            // only the first n elements: launch with a smaller n over a poisoned buffer
            out.fill32(0x7f7f7f7f);
            kernel.launch(1, 1, 1, 128, 1, 1, 0, stream.handle(), new KernelArgs().ptr(out.address()).i32(10));
            stream.synchronize();
            out.copyTo(host);
            for (int i = 0; i < 10; i++) {
                assertEquals(2 * i, host[i]);
            }
            for (int i = 10; i < n; i++) {
                assertEquals(0x7f7f7f7f, host[i]);
            }
        }
    }

    @Test
    void malformedPtxRaisesPtxLoadExceptionWithTheJitLog() {
        String bad = TWICE_PTX.replace("shl.b32 %r6, %r5, 1;", "frobnicate.b32 %r6, %r5, 1;");
        int badLine = Arrays.asList(bad.split("\n", -1)).indexOf("    frobnicate.b32 %r6, %r5, 1;") + 1;
        assertTrue(badLine > 0);
        PtxLoadException e = assertThrows(PtxLoadException.class, () -> PtxModule.load(ctx, bad, "bad-module"));
        System.out.println("[CudaRuntimeTest] expected failure:\n" + e.getMessage());
        assertEquals(CUresult.CUDA_ERROR_INVALID_PTX, e.result(), e.getMessage());
        assertEquals("CUDA_ERROR_INVALID_PTX", e.resultName());
        assertEquals("bad-module", e.moduleName());
        assertFalse(e.errorLog().isEmpty());
        assertTrue(e.getMessage().contains("bad-module"), e.getMessage());
        assertTrue(e.getMessage().contains(e.errorLog()), e.getMessage());
        assertTrue(e.errorLog().contains("frobnicate"), e.errorLog());
        assertTrue(e.errorLog().contains("line " + badLine), e.errorLog());
        assertTrue(e.getMessage().contains("frobnicate.b32 %r6"), "the offending PTX line is quoted: " + e.getMessage());
    }

    @Test
    void jitInfoLogReportsRegistersOnACompile() {
        // a fresh comment defeats the driver's compute cache, which serves cached modules with an empty info log
        String ptx = MORE_PTX + "\n// nonce " + System.nanoTime() + "\n";
        try (PtxModule m = PtxModule.load(ctx, ptx, "info-log-test")) {
            String info = m.infoLog();
            assertTrue(info.contains("Used") && info.contains("registers") && info.contains("scale"), info);
            assertTrue(info.contains("spill"), info);
        }
    }

    @Test
    void archSpecificSm90aPtxLoadsOnHopper() {
        assumeTrue(ctx.computeCapability() == 90, "needs an sm_90 device, have " + ctx.smName());
        String ptx = """
                .version 8.0
                .target sm_90a
                .address_size 64

                .visible .entry fence_only()
                {
                    wgmma.fence.sync.aligned;
                    ret;
                }
                """;
        try (PtxModule m = PtxModule.load(ctx, ptx, "sm90a-test");
             CudaStream stream = CudaStream.create(ctx)) {
            m.function("fence_only").launch(1, 1, 1, 128, 1, 1, 0, stream.handle(), new KernelArgs());
            stream.synchronize();
        }
    }

    @Test
    void missingKernelNameIsReported() {
        try (PtxModule module = PtxModule.load(ctx, TWICE_PTX, "twice-missing")) {
            CudaException e = assertThrows(CudaException.class, () -> module.function("nope"));
            assertEquals(CUresult.CUDA_ERROR_NOT_FOUND, e.result(), e.getMessage());
            assertTrue(e.getMessage().contains("nope") && e.getMessage().contains("twice-missing"), e.getMessage());
        }
    }

    @Test
    void kernelArgsWithRawAddressesFloatsAndLongs() {
        int n = 4096;
        float[] in = new float[n];
        for (int i = 0; i < n; i++) {
            in[i] = i * 0.25f - 100f;
        }
        try (PtxModule module = PtxModule.load(ctx, MORE_PTX, "more-test");
             DeviceBuffer din = DeviceBuffer.allocate(ctx, 4L * n);
             DeviceBuffer dout = DeviceBuffer.allocate(ctx, 4L * n);
             DeviceBuffer d64 = DeviceBuffer.allocate(ctx, 8);
             CudaStream stream = CudaStream.create(ctx)) {
            din.copyFrom(in);
            dout.fill32(0);
            // raw long addresses (as a framework tensor's data_ptr would be)
            module.function("scale").launch(n / 256, 1, 1, 256, 1, 1, 0, stream.handle(),
                    new KernelArgs().ptr(dout.address()).ptr(din.address()).i32(n).f32(-3f));
            // a non-owning view of the same memory, passed as CUdeviceptr
            try (DeviceBuffer view = DeviceBuffer.wrap(ctx, d64.address(), 8)) {
                module.function("store64").launch(1, 1, 1, 1, 1, 1, 0, stream.handle(),
                        new KernelArgs().ptr(view.ptr()).i64(0x1234_5678_9abc_def0L));
            }
            stream.synchronize();
            float[] out = new float[n];
            dout.copyTo(out);
            for (int i = 0; i < n; i++) {
                assertEquals(-3f * in[i], out[i], "out[" + i + "]");
            }
            int[] words = new int[2];
            d64.copyTo(words);
            assertEquals(0x9abc_def0, words[0]);
            assertEquals(0x1234_5678, words[1]);
        }
    }

    @Test
    void dynamicSharedMemoryAbove48KiB() {
        try (PtxModule module = PtxModule.load(ctx, MORE_PTX, "dynsmem-test");
             DeviceBuffer out = DeviceBuffer.allocate(ctx, 4);
             CudaStream stream = CudaStream.create(ctx)) {
            CudaKernel k = module.function("dynsmem");
            int optin = ctx.maxSharedMemoryPerBlockOptin();
            IllegalArgumentException tooBig = assertThrows(IllegalArgumentException.class,
                    () -> k.setMaxDynamicSharedBytes(optin + 1));
            assertTrue(tooBig.getMessage().contains(String.valueOf(optin)), tooBig.getMessage());
            assertEquals(CudaKernel.DEFAULT_MAX_DYNAMIC_SHARED_BYTES, k.maxDynamicSharedBytes());

            int smem = 96 * 1024;
            k.setMaxDynamicSharedBytes(smem);
            assertEquals(smem, k.maxDynamicSharedBytes());
            out.fill32(0);
            k.launch(1, 1, 1, 32, 1, 1, smem, stream.handle(), new KernelArgs().ptr(out).i32(smem - 4).i32(424242));
            stream.synchronize();
            int[] host = new int[1];
            out.copyTo(host);
            assertEquals(424242, host[0]);

            // launch raises the limit by itself when asked for more
            int more = Math.min(optin, 160 * 1024);
            k.launch(1, 1, 1, 32, 1, 1, more, stream.handle(), new KernelArgs().ptr(out).i32(more - 4).i32(7));
            stream.synchronize();
            out.copyTo(host);
            assertEquals(7, host[0]);
            assertEquals(more, k.maxDynamicSharedBytes());
        }
    }

    @Test
    void deviceBufferFillAndCopyRoundTrips() {
        DeviceBuffer buf = DeviceBuffer.allocate(ctx, 64);
        assertNotEquals(0L, buf.address());
        assertEquals(64, buf.bytes());
        assertEquals(0, buf.address() % 256, "cuMemAlloc alignment");

        buf.fill8((byte) 0xAB);
        byte[] b = new byte[64];
        buf.copyTo(b);
        for (byte x : b) {
            assertEquals((byte) 0xAB, x);
        }
        buf.fill16((short) 0x7E00);
        short[] s = new short[32];
        buf.copyTo(s);
        for (short x : s) {
            assertEquals((short) 0x7E00, x);
        }
        buf.fill32(0xDEADBEEF);
        int[] w = new int[16];
        buf.copyTo(w);
        for (int x : w) {
            assertEquals(0xDEADBEEF, x);
        }

        short[] halves = new short[32];
        for (int i = 0; i < halves.length; i++) {
            halves[i] = (short) (i * 1000 - 7);
        }
        buf.copyFrom(halves);
        short[] halvesBack = new short[32];
        buf.copyTo(halvesBack);
        assertArrayEquals(halves, halvesBack);

        float[] f = {1.5f, -2.25f, Float.NaN, Float.MIN_VALUE};
        buf.copyFrom(f);
        float[] fBack = new float[4];
        buf.copyTo(fBack);
        assertArrayEquals(f, fBack);

        byte[] bytes = new byte[64];
        for (int i = 0; i < 64; i++) {
            bytes[i] = (byte) (i * 37);
        }
        buf.copyFrom(bytes);
        byte[] bytesBack = new byte[64];
        buf.copyTo(bytesBack);
        assertArrayEquals(bytes, bytesBack);
        int[] asInts = new int[16];
        buf.copyTo(asInts);
        assertEquals((bytes[0] & 0xff) | (bytes[1] & 0xff) << 8 | (bytes[2] & 0xff) << 16 | (bytes[3] & 0xff) << 24,
                asInts[0]);

        // bounds: larger arrays are refused with a clear error, nothing is copied
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> buf.copyFrom(new int[17]));
        assertTrue(e.getMessage().contains("68 bytes") && e.getMessage().contains("64 bytes"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> buf.copyTo(new float[17]));

        // asynchronous fill on a stream
        try (CudaStream stream = CudaStream.create(ctx)) {
            buf.fill32(0x01020304, stream);
            stream.synchronize();
            buf.copyTo(w);
            for (int x : w) {
                assertEquals(0x01020304, x);
            }
        }

        buf.close();
        buf.close(); // idempotent
        assertTrue(buf.isClosed());
        assertThrows(IllegalStateException.class, buf::address);
        assertThrows(IllegalStateException.class, () -> buf.copyTo(w));

        try (DeviceBuffer empty = DeviceBuffer.allocate(ctx, 0)) {
            assertEquals(0L, empty.address());
            empty.copyFrom(new int[0]);
            empty.fill32(1);
            assertThrows(IllegalArgumentException.class, () -> empty.copyFrom(new byte[1]));
        }
        try (DeviceBuffer odd = DeviceBuffer.allocate(ctx, 6)) {
            assertThrows(IllegalArgumentException.class, () -> odd.fill32(0));
        }
    }

    @Test
    void defaultStreamAndOutOfMemory() {
        CudaStream def = CudaStream.defaultStream(ctx);
        assertTrue(def.isDefault());
        def.synchronize();
        def.close(); // no-op for the default stream

        CudaException oom = assertThrows(CudaException.class,
                () -> DeviceBuffer.allocate(ctx, ctx.totalMemoryBytes() * 4));
        assertEquals(CUresult.CUDA_ERROR_OUT_OF_MEMORY, oom.result());
        assertTrue(oom.getMessage().contains("cuMemAlloc") && oom.getMessage().contains("CUDA_ERROR_OUT_OF_MEMORY"),
                oom.getMessage());
    }
}
