package io.sageptx.kernels.decode;

import java.util.HashMap;

import io.sageptx.call.CausalMode;
import io.sageptx.call.DecodeArgs;
import io.sageptx.call.QuantizedKvCache;
import io.sageptx.numerics.AttentionReference;
import io.sageptx.numerics.DecodeReference;
import io.sageptx.numerics.ErrorStats;
import io.sageptx.numerics.Half;
import io.sageptx.numerics.QuantizedKvCacheModel;
import io.sageptx.runtime.DecodeRunner;
import io.sageptx.spec.Arch;
import io.sageptx.testing.PtxEmulator;

/**
 * Quantized-cache decode cases: the cache of each sequence is built by the CPU model (a prefill of
 * {@code prefill} tokens, then one-token appends), the decode kernel runs in the emulator (or on a GPU),
 * and the result is compared with FP64 attention over the dequantized cache (the kernel's own error) and
 * over the original K/V (the end-to-end error, FP8 bars).
 */
public final class QuantHarness {

    /** What came out: against the dequantized cache, against the original K/V. */
    public record Result(ErrorStats vsDequant, double lseVsDequant, ErrorStats vsOriginal, double lseVsOriginal,
                         float[] o, float[] lse, int[] flags, DecodeRunner.Plan plan) {
    }

    /** A built cache: model, tables, host Q and references. */
    public static final class Built {
        public final DecodeHarness.Case c;
        public final DecodeHarness.Inputs x;
        public final QuantizedKvCacheModel model;
        public final int[] table;
        public final int maxBlocks;
        public final int numBlocks;
        public final AttentionReference.Result refDequant;
        public final AttentionReference.Result refOriginal;

        Built(DecodeHarness.Case c, int prefill) {
            this.c = c;
            this.x = new DecodeHarness.Inputs(c);
            int bs = c.blockSize();
            int d = c.d();
            int batch = x.batch;
            maxBlocks = (x.maxLk + bs - 1) / bs + 1;
            numBlocks = batch * maxBlocks + 3;
            model = new QuantizedKvCacheModel(numBlocks, bs, c.hkv(), d);
            table = new int[batch * maxBlocks];
            java.util.Arrays.fill(table, -1);
            java.util.List<Integer> perm = new java.util.ArrayList<>();
            for (int i = 0; i < numBlocks; i++) perm.add(i);
            java.util.Collections.shuffle(perm, new java.util.Random(c.seed() + 2));
            for (int b = 0; b < batch; b++) {
                int[] row = new int[maxBlocks];
                for (int i = 0; i < maxBlocks; i++) row[i] = perm.get(b * maxBlocks + i);
                int len = c.lens()[b];
                for (int i = 0; i * bs < len; i++) table[b * maxBlocks + i] = row[i];
                int pos = 0;
                while (pos < len) {
                    int n = pos == 0 ? Math.max(1, Math.min(prefill, len)) : 1;
                    float[] kb = new float[c.hkv() * n * d];
                    float[] vb = new float[kb.length];
                    for (int h = 0; h < c.hkv(); h++) {
                        System.arraycopy(x.k, ((b * c.hkv() + h) * x.maxLk + pos) * d, kb, h * n * d, n * d);
                        System.arraycopy(x.v, ((b * c.hkv() + h) * x.maxLk + pos) * d, vb, h * n * d, n * d);
                    }
                    model.append(row, pos, n, kb, vb);
                    pos += n;
                }
            }
            // references per sequence over the dequantized cache, and over the original
            int rowsPerSeq = c.hq() * c.lq();
            double[] o = new double[batch * rowsPerSeq * d];
            double[] l = new double[batch * rowsPerSeq];
            double scale = 1.0 / Math.sqrt(d);
            for (int b = 0; b < batch; b++) {
                float[] qb = new float[rowsPerSeq * d];
                System.arraycopy(x.q, b * rowsPerSeq * d, qb, 0, qb.length);
                int[] row = new int[maxBlocks];
                System.arraycopy(table, b * maxBlocks, row, 0, maxBlocks);
                AttentionReference.Result r = model.attendInt8Q(qb, c.hq(), c.lq(), row, c.lens()[b], scale,
                        DecodeHarness.mask(c.causal()));
                System.arraycopy(r.o(), 0, o, b * rowsPerSeq * d, r.o().length);
                System.arraycopy(r.lse(), 0, l, b * rowsPerSeq, r.lse().length);
            }
            refDequant = new AttentionReference.Result(o, l);
            refOriginal = DecodeReference.compute(x.q, x.k, x.v, c.lens(), batch, c.hq(), c.hkv(), c.lq(), x.maxLk, d, scale,
                    DecodeHarness.mask(c.causal()));
        }
    }

    private QuantHarness() {
    }

    public static Built build(DecodeHarness.Case c, int prefill) {
        return new Built(c, prefill);
    }

    /** The call over a built cache whose pool, table and lengths are in {@code m}. */
    public static DecodeArgs args(Built bt, DecodeHarness.Mem m, long pool, long o, long lse, long flags, int[] devLens) {
        DecodeHarness.Case c = bt.c;
        return DecodeArgs.builder().q(m.put(bt.x.q16)).o(o).lse(lse).batch(bt.x.batch).heads(c.hq()).kvHeads(c.hkv()).lq(c.lq())
                .headDim(c.d()).dtype(c.type()).causal(c.causal()).splits(c.splits()).flags(flags)
                .smScale((float) (1.0 / Math.sqrt(c.d())))
                .quantized(new QuantizedKvCache(pool, bt.numBlocks, c.blockSize(), c.hkv(), c.d(), c.type()), m.put(bt.table),
                        bt.maxBlocks, m.put(devLens))
                .build();
    }

    public static Result compare(Built bt, float[] o, float[] lse, int[] flags, DecodeRunner.Plan plan) {
        DecodeHarness.Result a = DecodeHarness.compare(o, lse, flags, plan, bt.refDequant);
        DecodeHarness.Result b = DecodeHarness.compare(o, lse, flags, plan, bt.refOriginal);
        return new Result(a.error(), a.lseMaxErr(), b.error(), b.lseMaxErr(), o, lse, flags, plan);
    }

    /** Builds and runs a case in the emulator. */
    static Result emulate(DecodeHarness.Case c, int prefill, int[] badLen) {
        Built bt = build(c, prefill);
        PtxEmulator.Memory mem = new PtxEmulator.Memory();
        DecodeHarness.Mem m = new DecodeHarness.Mem() {
            public long put(short[] a) { return mem.put(a); }
            public long put(int[] a) { return mem.put(a); }
            public long nan(long bytes) { return mem.fill(bytes, 0xFF); }
        };
        long pool = mem.put(bt.model.pool());
        int rows = bt.x.batch * c.hq() * c.lq();
        long dO = m.nan(2L * rows * c.d());
        long dl = m.nan(4L * rows);
        long flags = mem.put(new int[bt.x.batch]);
        int[] lens = c.lens().clone();
        if (badLen != null) lens[badLen[0]] = badLen[1];
        DecodeArgs a = args(bt, m, pool, dO, dl, flags, lens);
        DecodeRunner.Device dev = new DecodeRunner.Device(c.arch(), 4, 228 * 1024);
        long wsBytes = DecodeRunner.workspaceBytes(a, dev);
        long ws = wsBytes > 0 ? m.nan(wsBytes) : 0;
        DecodeRunner.Plan plan = DecodeRunner.plan(a, dev, ws, wsBytes);
        DecodeHarness.execute(plan, mem);
        return compare(bt, Half.decode(mem.shorts(dO, rows * c.d()), c.type()), mem.floats(dl, rows), mem.ints(flags, bt.x.batch),
                plan);
    }
}
