package io.sageptx.api;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sageptx.call.AttentionArgs;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import io.sageptx.cuda.CudaStream;
import io.sageptx.cuda.DeviceBuffer;
import io.sageptx.cuda.DeviceContext;
import io.sageptx.numerics.AttentionReference;
import io.sageptx.numerics.ErrorStats;
import io.sageptx.numerics.Half;
import io.sageptx.spec.DType;
import io.sageptx.testing.GpuTest;

/**
 * 8 threads, each with its own stream and its own shape (head dims, GQA, causal, dtypes, ragged
 * lengths), call attention repeatedly at the same time; every result is checked against the FP64
 * reference with the core bars and must be bitwise equal to the thread's first result. Three modes:
 * one SageAttention shared by all threads (safe: its workspace is taken under a lock and ordered on the
 * GPU), one instance per thread, and one shared instance with a workspace per thread (caller memory).
 */
@GpuTest
class ConcurrencyGpuTest {

    private static final int THREADS = 8;
    private static final int REPEATS = 6;

    enum Mode { SHARED_INSTANCE, INSTANCE_PER_THREAD, SHARED_INSTANCE_CALLER_WORKSPACE }

    record Shape(int b, int h, int hkv, int l, int d, boolean causal, DType t) {
    }

    private static final Shape[] SHAPES = {
            new Shape(1, 2, 2, 64, 64, false, DType.FP16),
            new Shape(1, 4, 2, 200, 128, true, DType.BF16),
            new Shape(2, 2, 1, 130, 64, false, DType.BF16),
            new Shape(1, 8, 8, 33, 128, false, DType.FP16),
            new Shape(1, 2, 2, 500, 64, true, DType.FP16),
            new Shape(1, 4, 1, 257, 128, false, DType.FP16),
            new Shape(2, 4, 4, 100, 128, true, DType.BF16),
            new Shape(1, 2, 2, 700, 64, false, DType.BF16),
    };
    private static final AttentionInputs[] INPUTS = new AttentionInputs[THREADS];
    private static final AttentionReference.Result[] REFS = new AttentionReference.Result[THREADS];

    @BeforeAll
    static void references() {
        for (int n = 0; n < THREADS; n++) {
            Shape s = SHAPES[n];
            INPUTS[n] = new AttentionInputs(1000 + n, s.b, s.h, s.hkv, s.l, s.l, s.d, s.t);
            AttentionInputs x = INPUTS[n];
            REFS[n] = AttentionReference.compute(x.q, x.k, x.v, s.b, s.h, s.hkv, s.l, s.l, s.d, 1 / Math.sqrt(s.d), s.causal);
        }
    }

    @ParameterizedTest
    @EnumSource(Mode.class)
    void eightThreadsEightStreams(Mode mode) throws Exception {
        SageAttention shared = SageAttention.onDevice(0);
        ExecutorService pool = Executors.newFixedThreadPool(THREADS);
        CyclicBarrier start = new CyclicBarrier(THREADS);
        try {
            List<Future<String>> results = new ArrayList<>();
            for (int n = 0; n < THREADS; n++) {
                int id = n;
                results.add(pool.submit(() -> run(id, mode, shared, start)));
            }
            for (Future<String> f : results) System.out.println(mode + ": " + f.get(300, TimeUnit.SECONDS));
        } finally {
            pool.shutdownNow();
            shared.close();
        }
    }

    private static String run(int id, Mode mode, SageAttention shared, CyclicBarrier start) throws Exception {
        Shape s = SHAPES[id];
        AttentionInputs x = INPUTS[id];
        SageAttention att = mode == Mode.INSTANCE_PER_THREAD ? SageAttention.onDevice(0) : shared;
        DeviceContext ctx = att.context();
        ctx.makeCurrent();
        try (DeviceArrays mem = new DeviceArrays(ctx); CudaStream stream = CudaStream.create(ctx)) {
            DeviceBuffer q = mem.of(x.q16);
            DeviceBuffer k = mem.of(x.k16);
            DeviceBuffer v = mem.of(x.v16);
            DeviceBuffer o = mem.nan16(x.q.length);
            DeviceBuffer lse = mem.nan32((long) s.b * s.h * s.l);
            AttentionArgs a = AttentionArgs.builder().q(q.address()).k(k.address()).v(v.address()).o(o.address())
                    .lse(lse.address()).batch(s.b).heads(s.h).kvHeads(s.hkv).seqLen(s.l).headDim(s.d).dtype(s.t)
                    .causal(s.causal).build();
            DeviceBuffer ws = mode == Mode.SHARED_INSTANCE_CALLER_WORKSPACE ? mem.allocate(att.workspaceBytes(a)) : null;
            boolean fp8 = att.specFor(a).pv().isFp8();
            short[] first = null;
            String worst = "";
            start.await(120, TimeUnit.SECONDS);
            for (int rep = 0; rep < REPEATS; rep++) {
                o.fill16((short) 0xFFFF, stream);
                if (ws == null) att.forward(a, stream.handle());
                else att.forward(a, stream.handle(), ws.address(), ws.bytes());
                stream.synchronize();
                short[] got = DeviceArrays.shorts(o);
                ErrorStats e = ErrorStats.of(Half.decode(got, s.t), REFS[id].o());
                assertEquals(0, e.nonFinite(), "thread " + id + " rep " + rep + ": NaN/Inf or unwritten " + e);
                if (fp8) assertTrue(e.cosine() >= 0.999, "thread " + id + " rep " + rep + ": " + e);
                assertTrue(e.relL1() <= (fp8 ? 0.045 : 0.015), "thread " + id + " rep " + rep + " " + s + ": " + e);
                if (first == null) {
                    first = got;
                    worst = e.toString();
                } else {
                    assertArrayEquals(first, got, "thread " + id + " rep " + rep + ": result differs from rep 0 (a race?)");
                }
            }
            return "thread " + id + " " + s + " " + REPEATS + " calls ok, " + worst;
        } finally {
            if (att != shared) att.close();
        }
    }
}
