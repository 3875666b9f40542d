package io.sageptx.api;

import java.util.Arrays;

import io.sageptx.call.AttentionArgs;
import io.sageptx.cuda.CudaEvent;
import io.sageptx.cuda.CudaStream;
import io.sageptx.cuda.DeviceBuffer;
import io.sageptx.cuda.DeviceContext;
import io.sageptx.spec.DType;

/**
 * Whole attention calls timed by CUDA events, for the GPU tests that report a speed (they never assert one): Q, K,
 * V, O of one shape [B, H, N, D] filled once with seeded N(0, 1) values, a call builder over them, and a stream.
 */
final class CallTimer implements AutoCloseable {

    final int batch;
    final int heads;
    final int seqLen;
    final int headDim;
    final boolean causal;
    final CudaStream stream;
    private final SageAttention attention;
    private final DeviceContext ctx;
    private final DeviceBuffer q;
    private final DeviceBuffer k;
    private final DeviceBuffer v;
    private final DeviceBuffer o;
    private final DType type;

    CallTimer(SageAttention attention, int batch, int heads, int seqLen, int headDim, DType type, boolean causal) {
        this.attention = attention;
        this.ctx = attention.context();
        this.batch = batch;
        this.heads = heads;
        this.seqLen = seqLen;
        this.headDim = headDim;
        this.type = type;
        this.causal = causal;
        long elems = (long) batch * heads * seqLen * headDim;
        q = DeviceBuffer.allocate(ctx, 2 * elems);
        k = DeviceBuffer.allocate(ctx, 2 * elems);
        v = DeviceBuffer.allocate(ctx, 2 * elems);
        o = DeviceBuffer.allocate(ctx, 2 * elems);
        stream = CudaStream.create(ctx);
        DeviceArrays.fillGaussian(elems, type, 3, q, k, v);
    }

    /** A call over the buffers: the shape, dtype and causal flag of this timer, nothing else set. */
    AttentionArgs.Builder call() {
        return AttentionArgs.builder().q(q.address()).k(k.address()).v(v.address()).o(o.address()).batch(batch).heads(heads)
                .seqLen(seqLen).headDim(headDim).dtype(type).causal(causal);
    }

    /** Milliseconds of each of {@code reps} calls queued back to back after {@code warm} untimed ones. */
    double[] times(AttentionArgs a, int warm, int reps) {
        for (int i = 0; i < warm; i++) attention.forward(a, stream.handle());
        CudaEvent[] ev = new CudaEvent[reps + 1];
        try {
            for (int i = 0; i <= reps; i++) ev[i] = CudaEvent.create(ctx);
            ev[0].record(stream);
            for (int i = 0; i < reps; i++) {
                attention.forward(a, stream.handle());
                ev[i + 1].record(stream);
            }
            stream.synchronize();
            double[] ms = new double[reps];
            for (int i = 0; i < reps; i++) ms[i] = CudaEvent.elapsedMillis(ev[i], ev[i + 1]);
            return ms;
        } finally {
            for (CudaEvent e : ev) if (e != null) e.close();
        }
    }

    /** Milliseconds of one call, waited for. */
    double once(AttentionArgs a) {
        return times(a, 0, 1)[0];
    }

    /** FLOP of one call: 4 B H N^2 D, halved when causal. */
    double flop() {
        return 4.0 * batch * heads * (double) seqLen * seqLen * headDim * (causal ? 0.5 : 1.0);
    }

    static double median(double[] x) {
        double[] c = x.clone();
        Arrays.sort(c);
        return c[c.length / 2];
    }

    @Override
    public void close() {
        stream.close();
        for (DeviceBuffer b : new DeviceBuffer[] {q, k, v, o}) b.close();
    }
}
