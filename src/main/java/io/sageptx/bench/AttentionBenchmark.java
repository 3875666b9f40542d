package io.sageptx.bench;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import io.sageptx.call.AttentionArgs;
import io.sageptx.api.SageAttention;
import io.sageptx.cuda.CudaEvent;
import io.sageptx.cuda.CudaStream;
import io.sageptx.cuda.DeviceBuffer;
import io.sageptx.cuda.DeviceContext;
import io.sageptx.spec.DType;
import io.sageptx.spec.KernelSpec;

/**
 * Times attention calls with CUDA events: warm-up calls, then {@code runs} timed calls whose median is
 * kept. Inputs are fresh random values made on the GPU; when one set of Q, K, V, O is smaller than twice
 * the L2 cache, several sets are allocated and the timed calls cycle through them, so no call finds its
 * inputs in L2.
 */
public final class AttentionBenchmark implements AutoCloseable {

    /**
     * The shape of one benchmark point.
     *
     * @param batch   B
     * @param heads   H (and the key/value heads)
     * @param headDim D
     * @param seqLen  N, the query and key length
     * @param causal  top-left causal mask
     * @param dtype   dtype of Q, K, V and O
     */
    public record Shape(int batch, int heads, int headDim, int seqLen, boolean causal, DType dtype) {
        long qElements() {
            return (long) batch * heads * seqLen * headDim;
        }
    }

    private static final int MAX_SETS = 16;
    private static final long MIN_WARMUP_MS = 100;

    private final SageAttention attention;
    private final DeviceContext ctx;
    private final CudaStream stream;
    private final int warmup;
    private final int runs;
    private int seed = 0x5A6E;

    /** A benchmark of {@code attention}'s calls: {@code warmup} untimed calls, then the median of {@code runs} timed ones. */
    public AttentionBenchmark(SageAttention attention, int warmup, int runs) {
        if (runs < 1 || warmup < 0) throw new IllegalArgumentException("runs must be >= 1 and warmup >= 0");
        this.attention = attention;
        this.ctx = attention.context();
        this.stream = CudaStream.create(ctx);
        this.warmup = warmup;
        this.runs = runs;
    }

    /**
     * Keeps the GPU busy for about {@code millis} with one spec's calls on {@code shape}, so that the first
     * timed point does not run at idle clocks (seen on the H100: the first point of a run came out at
     * half the speed of the same point measured later).
     */
    public void warmClocks(Shape shape, KernelSpec spec, double millis) {
        List<DeviceBuffer> buffers = new ArrayList<>();
        try {
            AttentionArgs a = call(shape, inputSet(shape, buffers), spec);
            long end = System.nanoTime() + (long) (millis * 1e6);
            while (System.nanoTime() < end) {
                for (int i = 0; i < 10; i++) attention.forward(a, stream.handle());
                stream.synchronize();
            }
        } finally {
            stream.synchronize();
            buffers.forEach(DeviceBuffer::close);
        }
    }

    /** Benchmarks each spec on the same fresh inputs of {@code shape}. */
    public List<BenchResult> run(Shape shape, List<KernelSpec> specs, List<String> labels) {
        long elems = shape.qElements();
        long setBytes = 4 * elems * shape.dtype().bytes();
        int sets = (int) Math.min(MAX_SETS, Math.max(1, (2L * ctx.l2CacheBytes() + setBytes - 1) / setBytes));
        List<DeviceBuffer> buffers = new ArrayList<>();
        List<BenchResult> out = new ArrayList<>();
        try {
            long[][] tensors = new long[sets][];
            for (int s = 0; s < sets; s++) tensors[s] = inputSet(shape, buffers);
            for (int i = 0; i < specs.size(); i++) {
                out.add(time(shape, tensors, specs.get(i), labels.get(i)));
            }
            return out;
        } finally {
            stream.synchronize();
            buffers.forEach(DeviceBuffer::close);
        }
    }

    /** Q, K, V (fresh random values) and O of {@code shape}, added to {@code buffers}; their addresses. */
    private long[] inputSet(Shape shape, List<DeviceBuffer> buffers) {
        long elems = shape.qElements();
        long[] t = new long[4];
        for (int i = 0; i < 4; i++) {
            DeviceBuffer b = DeviceBuffer.allocate(ctx, elems * shape.dtype().bytes());
            buffers.add(b);
            if (i < 3) RandomFill.fill(b, elems, shape.dtype(), seed++, 1.0f, stream);
            t[i] = b.address();
        }
        return t;
    }

    /** The call of {@code shape} on the tensors {@code t} (Q, K, V, O) with {@code spec}. */
    private static AttentionArgs call(Shape shape, long[] t, KernelSpec spec) {
        return AttentionArgs.builder().q(t[0]).k(t[1]).v(t[2]).o(t[3]).batch(shape.batch()).heads(shape.heads())
                .seqLen(shape.seqLen()).headDim(shape.headDim()).dtype(shape.dtype()).causal(shape.causal())
                .spec(spec).build();
    }

    private BenchResult time(Shape shape, long[][] sets, KernelSpec spec, String label) {
        AttentionArgs[] args = new AttentionArgs[sets.length];
        for (int s = 0; s < sets.length; s++) args[s] = call(shape, sets[s], spec);
        attention.kernels(spec); // JIT outside the timed region
        WarmUp.run(stream, warmup, MIN_WARMUP_MS, w -> attention.forward(args[w % args.length], stream.handle()));
        CudaEvent[] start = new CudaEvent[runs];
        CudaEvent[] mid = new CudaEvent[runs];
        CudaEvent[] end = new CudaEvent[runs];
        try {
            for (int r = 0; r < runs; r++) {
                start[r] = CudaEvent.create(ctx);
                mid[r] = CudaEvent.create(ctx);
                end[r] = CudaEvent.create(ctx);
            }
            for (int r = 0; r < runs; r++) {
                start[r].record(stream);
                attention.forward(args[r % args.length], stream.handle(), mid[r]);
                end[r].record(stream);
            }
            stream.synchronize();
            double[] total = new double[runs];
            double[] attn = new double[runs];
            double[] pre = new double[runs];
            for (int r = 0; r < runs; r++) {
                total[r] = CudaEvent.elapsedMillis(start[r], end[r]);
                attn[r] = CudaEvent.elapsedMillis(mid[r], end[r]);
                pre[r] = CudaEvent.elapsedMillis(start[r], mid[r]);
            }
            return new BenchResult(ctx.name(), shape.batch(), shape.heads(), shape.headDim(), shape.seqLen(),
                    shape.causal(), shape.dtype().shortName(), label, spec.toString(), runs, median(total), median(attn),
                    median(pre), preprocessBytes(shape, spec));
        } finally {
            for (CudaEvent[] es : List.of(start, mid, end)) {
                for (CudaEvent e : es) if (e != null) e.close();
            }
        }
    }

    /**
     * The bytes preprocessing must move at least: Q and K (and V for FP8 PV) read once in the input dtype,
     * their 8-bit forms written once.
     */
    static double preprocessBytes(Shape shape, KernelSpec spec) {
        double e = shape.qElements();
        int tensors = spec.pv().isFp8() ? 3 : 2;
        return tensors * e * (shape.dtype().bytes() + 1);
    }

    static double median(double[] xs) {
        double[] s = xs.clone();
        Arrays.sort(s);
        int n = s.length;
        return n % 2 == 1 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
    }

    @Override
    public void close() {
        stream.close();
    }
}
