package io.sageptx.api;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sageptx.call.AttentionArgs;
import io.sageptx.call.MergeArgs;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

import io.sageptx.cuda.Cuda;
import io.sageptx.cuda.CudaStream;
import io.sageptx.cuda.DeviceBuffer;
import io.sageptx.cuda.DeviceContext;
import io.sageptx.runtime.Workspace;
import io.sageptx.spec.DType;
import io.sageptx.testing.GpuTest;
import jcuda.driver.CUcontext;
import jcuda.driver.CUdeviceptr;
import jcuda.driver.JCudaDriver;

/**
 * Interop with an embedding framework: no device allocation and no host wait on the hot path once
 * warmed; a caller-supplied workspace and JCuda pointers give the same bits as the instance's workspace
 * and raw addresses; the current (primary) context of the calling thread is found on every device, and
 * a thread with no context or a non-primary one is refused.
 */
@GpuTest
class InteropGpuTest {

    record Shape(int h, int hkv, int l, int d, boolean causal, DType t) {
    }

    private static final Shape[] SHAPES = {
            new Shape(4, 2, 1000, 128, false, DType.FP16),
            new Shape(4, 4, 300, 64, true, DType.BF16),
            new Shape(2, 1, 77, 128, true, DType.FP16),
            new Shape(4, 2, 999, 128, false, DType.FP16),
            new Shape(1, 1, 1, 64, false, DType.BF16),
    };

    private static AttentionArgs args(Shape s, DeviceBuffer q, DeviceBuffer k, DeviceBuffer v, DeviceBuffer o, DeviceBuffer lse) {
        return AttentionArgs.builder().q(q.address()).k(k.address()).v(v.address()).o(o.address()).lse(lse.address())
                .heads(s.h).kvHeads(s.hkv).seqLen(s.l).headDim(s.d).dtype(s.t).causal(s.causal).build();
    }

    @Test
    void noDeviceAllocationAndNoHostWaitOnceWarmed() {
        try (SageAttention att = SageAttention.onDevice(0); DeviceArrays mem = new DeviceArrays(att.context());
             CudaStream s1 = CudaStream.create(att.context()); CudaStream s2 = CudaStream.create(att.context())) {
            AttentionInputs x = new AttentionInputs(5, 1, 4, 4, 1000, 1000, 128, DType.FP16);
            DeviceBuffer q = mem.of(x.q16);
            DeviceBuffer k = mem.of(x.k16);
            DeviceBuffer v = mem.of(x.v16);
            DeviceBuffer o = mem.nan16(x.q.length);
            DeviceBuffer lse = mem.nan32(4 * 1000);
            DeviceBuffer o2 = mem.nan16(x.q.length);
            DeviceBuffer lse2 = mem.nan32(4 * 1000);
            LseMerge merge = LseMerge.of(att.context());
            MergeArgs m = MergeArgs.builder().part(o.address(), lse.address()).part(o2.address(), lse2.address())
                    .out(o.address(), lse.address()).heads(4).seqLen(1000).headDim(128).build();
            for (Shape s : SHAPES) att.forward(args(s, q, k, v, o, lse), s1.handle()); // warm: kernels and workspace
            att.forward(args(SHAPES[0], q, k, v, o2, lse2), s1.handle());
            merge.merge(m, s1.handle());
            s1.synchronize();
            Workspace w = att.workspace();
            long allocs = DeviceBuffer.allocationCount();
            long wsAllocs = w.allocations();
            long waits = w.hostWaits();
            for (int n = 0; n < 40; n++) {
                CudaStream s = n % 2 == 0 ? s1 : s2;
                att.forward(args(SHAPES[n % SHAPES.length], q, k, v, n % 3 == 0 ? o2 : o, lse), s.handle());
                if (n % 7 == 0) merge.merge(m, s.handle());
            }
            s1.synchronize();
            s2.synchronize();
            assertEquals(allocs, DeviceBuffer.allocationCount(), "device allocations on the warmed hot path");
            assertEquals(wsAllocs, w.allocations(), "workspace allocations on the warmed hot path");
            assertEquals(waits, w.hostWaits(), "host waits on the warmed hot path");
            System.out.println("warmed: " + allocs + " allocations before, none during 40 calls + 6 merges on 2 streams; "
                    + "workspace " + w.bytes() + " bytes, " + wsAllocs + " workspace allocations, " + waits + " host waits");
        }
    }

    @Test
    void callerWorkspaceAndJCudaPointersGiveTheSameBits() {
        Shape s = new Shape(8, 2, 333, 128, true, DType.BF16);
        try (SageAttention att = SageAttention.onDevice(0); DeviceArrays mem = new DeviceArrays(att.context());
             CudaStream st = CudaStream.create(att.context())) {
            AttentionInputs x = new AttentionInputs(9, 1, s.h, s.hkv, s.l, s.l, s.d, s.t);
            DeviceBuffer q = mem.of(x.q16);
            DeviceBuffer k = mem.of(x.k16);
            DeviceBuffer v = mem.of(x.v16);
            DeviceBuffer[] o = {mem.nan16(x.q.length), mem.nan16(x.q.length), mem.nan16(x.q.length)};
            DeviceBuffer[] l = {mem.nan32(s.h * s.l), mem.nan32(s.h * s.l), mem.nan32(s.h * s.l)};
            AttentionArgs a0 = args(s, q, k, v, o[0], l[0]);
            att.forward(a0, st.handle());
            long need = att.workspaceBytes(a0);
            DeviceBuffer ws = mem.allocate(need);
            att.forward(args(s, q, k, v, o[1], l[1]), st.handle(), ws.address(), ws.bytes());
            CUdeviceptr base = q.ptr(); // a framework's pointers, one of them with a byte offset
            AttentionArgs viaJcuda = AttentionArgs.builder().q(base).k(k.ptr()).v(v.ptr()).o(o[2].ptr())
                    .lse(l[2].ptr().withByteOffset(0)).heads(s.h).kvHeads(s.hkv).seqLen(s.l).headDim(s.d).dtype(s.t)
                    .causal(true).build();
            att.forward(viaJcuda, st.handle());
            st.synchronize();
            assertArrayEquals(DeviceArrays.shorts(o[0]), DeviceArrays.shorts(o[1]), "caller workspace");
            assertArrayEquals(DeviceArrays.floats(l[0]), DeviceArrays.floats(l[1]), "caller workspace LSE");
            assertArrayEquals(DeviceArrays.shorts(o[0]), DeviceArrays.shorts(o[2]), "CUdeviceptr arguments");
            assertEquals(q.address() + 4096, DeviceBuffer.addressOf(base.withByteOffset(4096)));
            System.out.println("caller workspace: " + need + " bytes for " + s);
        }
    }

    @Test
    void currentPrimaryContextOnEveryDeviceAndRefusals() {
        for (int n = 0; n < Cuda.deviceCount(); n++) {
            DeviceContext ctx = DeviceContext.of(n);
            ctx.makeCurrent();
            try (SageAttention att = SageAttention.forCurrentContext()) {
                assertSame(ctx, att.context(), "device " + n);
            }
            assertSame(ctx, LseMerge.forCurrentContext().context());
        }
        DeviceContext ctx = DeviceContext.of(0);
        try {
            Cuda.check(JCudaDriver.cuCtxSetCurrent(new CUcontext()), "cuCtxSetCurrent(null)");
            IllegalStateException none = assertThrows(IllegalStateException.class, SageAttention::forCurrentContext);
            assertTrue(none.getMessage().contains("no CUDA context is current"), none.getMessage());

            CUcontext own = new CUcontext();
            int r = JCudaDriver.cuCtxCreate(own, 0, ctx.device());
            Assumptions.assumeTrue(r == 0, "cuCtxCreate unavailable through JCuda 12.6 on this driver: " + r);
            try {
                Cuda.check(JCudaDriver.cuCtxSetCurrent(own), "cuCtxSetCurrent(own)");
                IllegalStateException notPrimary = assertThrows(IllegalStateException.class, SageAttention::forCurrentContext);
                assertTrue(notPrimary.getMessage().contains("not the primary context"), notPrimary.getMessage());
                System.out.println("refused: " + notPrimary.getMessage());
            } finally {
                Cuda.check(JCudaDriver.cuCtxDestroy(own), "cuCtxDestroy");
            }
        } finally {
            ctx.makeCurrent();
        }
    }
}
