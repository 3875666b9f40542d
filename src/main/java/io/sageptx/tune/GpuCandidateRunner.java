package io.sageptx.tune;

import io.sageptx.kernels.AttentionFamilies;
import java.util.Random;

import io.sageptx.call.AttentionArgs;
import io.sageptx.cuda.CudaEvent;
import io.sageptx.cuda.CudaKernel;
import io.sageptx.cuda.CudaStream;
import io.sageptx.cuda.DeviceBuffer;
import io.sageptx.cuda.DeviceContext;
import io.sageptx.numerics.AttentionReference;
import io.sageptx.numerics.Half;
import io.sageptx.numerics.RandomInputs;
import io.sageptx.numerics.AccuracyBar;
import io.sageptx.runtime.AttentionKernels;
import io.sageptx.runtime.AttentionRunner;
import io.sageptx.runtime.TuningKey;
import io.sageptx.spec.KernelSpec;
import jcuda.driver.CUdevice_attribute;

/**
 * Runs candidates on a GPU for the {@link Autotuner}: kernels come through the kernel cache, the probe
 * is a small random input (B=1, H=2, {@link #PROBE_LEN} tokens) checked against the FP64 reference
 * with the LSE, and the timing runs the whole call (preprocessing included) on the tuning shape,
 * {@code warmup} calls then {@code reps} calls, each between two CUDA events.
 */
public final class GpuCandidateRunner implements CandidateRunner, AutoCloseable {

    /** Tokens of the accuracy probe (Lq = Lk). */
    public static final int PROBE_LEN = 320;

    private final AttentionRunner att;
    private final DeviceContext ctx;
    private final TuningKey key;
    private final int batch;
    private final int heads;
    private final int seq;
    private final int warmup;
    private final int reps;
    private final RandomInputs probe;
    private final AttentionReference.Result reference;
    private DeviceBuffer q;
    private DeviceBuffer k;
    private DeviceBuffer v;
    private DeviceBuffer o;
    private CudaStream stream;

    /**
     * @param att   the attention instance of the device to tune
     * @param key   the key being tuned (dtypes, D, causal)
     * @param batch batch of the timing shape
     * @param heads heads of the timing shape
     * @param seq   Lq = Lk of the timing shape (usually the key's bucket)
     */
    public GpuCandidateRunner(AttentionRunner att, TuningKey key, int batch, int heads, int seq, int warmup, int reps) {
        if (batch < 1 || heads < 1 || seq < 1 || warmup < 0 || reps < 1) {
            throw new IllegalArgumentException("tuning shape batch=" + batch + " heads=" + heads + " seq=" + seq
                    + " warmup=" + warmup + " reps=" + reps + ": all must be >= 1 (warmup >= 0)");
        }
        this.att = att;
        this.ctx = att.context();
        this.key = key;
        this.batch = batch;
        this.heads = heads;
        this.seq = seq;
        this.warmup = warmup;
        this.reps = reps;
        this.probe = RandomInputs.generate(20261125L, 1, 2, 2, PROBE_LEN, PROBE_LEN, key.headDim(), key.inType());
        this.reference = probe.reference(1.0 / Math.sqrt(key.headDim()), key.causal());
    }

    @Override
    public int sharedBytesBeforeCompile(KernelSpec spec) {
        return AttentionFamilies.of(spec).smemBytes(spec);
    }

    @Override
    public int maxSharedBytes() {
        return ctx.maxSharedMemoryPerBlockOptin();
    }

    @Override
    public Resources prepare(KernelSpec spec) {
        AttentionKernels kk = att.kernels(spec);
        CudaKernel a = kk.attention().function();
        return new Resources(a.numRegs(), a.localBytes(), a.staticSharedBytes() + kk.smemBytes(), spec.threads(),
                maxSharedBytes(), ctx.attribute(CUdevice_attribute.CU_DEVICE_ATTRIBUTE_MAX_REGISTERS_PER_BLOCK));
    }

    @Override
    public AccuracyBar.Accuracy probe(KernelSpec spec) {
        AttentionArgs shape = AttentionArgs.builder().batch(1).heads(2).kvHeads(2).seqLen(PROBE_LEN).headDim(spec.headDim())
                .inType(spec.inType()).outType(spec.outType()).causal(spec.causal()).spec(spec).build();
        AttentionRunner.HostResult r = att.forwardHost(shape, probe.q16(), probe.k16(), probe.v16(), true);
        return AccuracyBar.Accuracy.of(Half.decode(r.o(), spec.outType()), r.lse(), reference);
    }

    @Override
    public double[] time(KernelSpec spec) {
        allocate();
        AttentionArgs a = AttentionArgs.builder().q(q.address()).k(k.address()).v(v.address()).o(o.address())
                .batch(batch).heads(heads).seqLen(seq).headDim(spec.headDim()).inType(spec.inType())
                .outType(spec.outType()).causal(spec.causal()).spec(spec).build();
        for (int i = 0; i < warmup; i++) att.forward(a, stream.handle(), null);
        CudaEvent[] ev = new CudaEvent[reps + 1];
        try {
            for (int i = 0; i <= reps; i++) ev[i] = CudaEvent.create(ctx);
            ev[0].record(stream);
            for (int i = 0; i < reps; i++) {
                att.forward(a, stream.handle(), null);
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

    /** The timing buffers, made on first use and filled with random 16-bit values of N(0, 1). */
    private void allocate() {
        if (q != null) return;
        long n = (long) batch * heads * seq * key.headDim();
        if (n > Integer.MAX_VALUE) throw new IllegalArgumentException("tuning shape too large: " + n + " elements");
        stream = CudaStream.create(ctx);
        short[] block = new short[1 << 20];
        Random r = new Random(7);
        float[] f = new float[block.length];
        for (int i = 0; i < f.length; i++) f[i] = (float) r.nextGaussian();
        block = Half.encode(f, key.inType());
        short[] host = new short[(int) n];
        for (int i = 0; i < host.length; i += block.length) {
            System.arraycopy(block, 0, host, i, Math.min(block.length, host.length - i));
        }
        q = DeviceBuffer.allocate(ctx, 2 * n);
        k = DeviceBuffer.allocate(ctx, 2 * n);
        v = DeviceBuffer.allocate(ctx, 2 * n);
        o = DeviceBuffer.allocate(ctx, 2 * n);
        q.copyFrom(host);
        k.copyFrom(host);
        v.copyFrom(host);
    }

    @Override
    public void close() {
        for (AutoCloseable c : new AutoCloseable[]{q, k, v, o, stream}) {
            try {
                if (c != null) c.close();
            } catch (Exception e) {
                // closing what we allocated; nothing to add
            }
        }
    }
}
