package io.sageptx.kernels.decode;

import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ConcurrentHashMap;

import io.sageptx.call.CausalMode;
import io.sageptx.call.DecodeArgs;
import io.sageptx.call.PagedKvCache;
import io.sageptx.numerics.AttentionReference;
import io.sageptx.numerics.DecodeReference;
import io.sageptx.numerics.ErrorStats;
import io.sageptx.numerics.Half;
import io.sageptx.runtime.DecodeRunner;
import io.sageptx.spec.Arch;
import io.sageptx.spec.DType;
import io.sageptx.testing.PtxEmulator;

/**
 * Runs decode calls through {@link PtxEmulator}: random inputs (Q, V ~ N(0, 1), K ~ N(0, 1) plus a
 * per-channel bias of 3 N(0, 1), rounded to the dtype), a dense or paged cache (blocks assigned in a
 * shuffled order, unused table entries -1, pools poisoned with NaN outside the sequences' tokens), O and
 * the LSE poisoned with NaN, the plan of {@link DecodeRunner#plan} executed launch by launch, and the
 * result compared with {@link DecodeReference}.
 */
public final class DecodeHarness {

    private static final Map<String, Map<String, PtxEmulator.Kernel>> MODULES = new ConcurrentHashMap<>();

    /** One case. */
    public record Case(KvFormat kv, int d, DType type, int hq, int hkv, int lq, int[] lens, CausalMode causal, int splits,
                int blockSize, Arch arch, long seed) {
        @Override
        public String toString() {
            return kv.id() + " d" + d + " " + type.shortName() + " H" + hq + "/" + hkv + " lq" + lq + " lens"
                    + java.util.Arrays.toString(lens) + " " + causal + " splits" + splits + (kv.paged() ? " bs" + blockSize : "")
                    + " " + arch.target();
        }
    }

    /** What came out. */
    public record Result(ErrorStats error, double lseMaxErr, int emptyRows, float[] o, float[] lse, int[] flags,
                  DecodeRunner.Plan plan, AttentionReference.Result ref) {
    }

    /** Device memory of a case: pointers and the host copies. */
    public static final class Inputs {
        public final Case c;
        public final int batch;
        public final int maxLk;
        public final float[] q;
        public final float[] k;
        public final float[] v;
        public final short[] q16;
        public final short[] k16;
        public final short[] v16;

        Inputs(Case c) {
            this.c = c;
            this.batch = c.lens().length;
            int mx = 1;
            for (int l : c.lens()) mx = Math.max(mx, l);
            this.maxLk = mx;
            Random r = new Random(c.seed());
            int d = c.d();
            q = new float[batch * c.hq() * c.lq() * d];
            k = new float[batch * c.hkv() * maxLk * d];
            v = new float[k.length];
            for (int i = 0; i < q.length; i++) q[i] = Half.round((float) r.nextGaussian(), c.type());
            for (int b = 0; b < batch; b++) {
                for (int h = 0; h < c.hkv(); h++) {
                    float[] bias = new float[d];
                    for (int x = 0; x < d; x++) bias[x] = (float) (3 * r.nextGaussian());
                    for (int j = 0; j < maxLk; j++) {
                        for (int x = 0; x < d; x++) {
                            int i = ((b * c.hkv() + h) * maxLk + j) * d + x;
                            k[i] = Half.round((float) r.nextGaussian() + bias[x], c.type());
                            v[i] = Half.round((float) r.nextGaussian(), c.type());
                        }
                    }
                }
            }
            q16 = Half.encode(q, c.type());
            k16 = Half.encode(k, c.type());
            v16 = Half.encode(v, c.type());
        }
    }

    private DecodeHarness() {
    }

    static Map<String, PtxEmulator.Kernel> module(io.sageptx.kernel.ModuleDef def) {
        return MODULES.computeIfAbsent(def.family() + " " + def.spec(), x -> PtxEmulator.parse(def.ptx().get()));
    }

    static Result run(Case c) {
        return run(c, null);
    }

    /** Where a case's arrays go: the emulator's memory or a GPU's. */
    public interface Mem {
        long put(short[] a);

        long put(int[] a);

        /** {@code bytes} of 0xFF (NaN in fp16, bf16 and float32). */
        long nan(long bytes);
    }

    /** The host side of a case: inputs, the device lengths, the paged pools and table. */
    public static final class Host {
        public final Case c;
        public final Inputs x;
        public final int[] devLens;
        public short[] kPool;
        public short[] vPool;
        public int[] table;
        public int numBlocks;
        public int maxBlocks;

        Host(Case c, Inputs x, int[] devLens) {
            this.c = c;
            this.x = x;
            this.devLens = devLens;
        }

        public int rows() {
            return x.batch * c.hq() * c.lq();
        }
    }

    /**
     * The host arrays of a case; {@code bad} = {b, i, value} replaces table entry [b][i] (paged) with value,
     * or, with i = -1, the device length of sequence b (the reference keeps the true lengths).
     */
    public static Host host(Case c, int[] bad) {
        Inputs x = new Inputs(c);
        int[] devLens = c.lens().clone();
        if (bad != null && bad[1] < 0) devLens[bad[0]] = bad[2];
        Host h = new Host(c, x, devLens);
        if (c.kv() == KvFormat.PAGED) {
            int d = c.d();
            int bs = c.blockSize();
            int maxBlocks = (x.maxLk + bs - 1) / bs + 1;
            List<Integer> order = new ArrayList<>();
            int used = 0;
            for (int l : c.lens()) used += (l + bs - 1) / bs;
            int numBlocks = used + 3;
            for (int i = 0; i < numBlocks; i++) order.add(i);
            Collections.shuffle(order, new Random(c.seed() + 1));
            int[] table = new int[x.batch * maxBlocks];
            java.util.Arrays.fill(table, -1);
            short[] kp = new short[numBlocks * bs * c.hkv() * d];
            short[] vp = new short[kp.length];
            java.util.Arrays.fill(kp, (short) 0xFFFF);
            java.util.Arrays.fill(vp, (short) 0xFFFF);
            int next = 0;
            for (int b = 0; b < x.batch; b++) {
                for (int i = 0; i * bs < c.lens()[b]; i++) {
                    int blk = order.get(next++);
                    table[b * maxBlocks + i] = blk;
                    for (int t = 0; t < bs && i * bs + t < c.lens()[b]; t++) {
                        for (int hh = 0; hh < c.hkv(); hh++) {
                            int src = ((b * c.hkv() + hh) * x.maxLk + i * bs + t) * d;
                            int dst = ((blk * bs + t) * c.hkv() + hh) * d;
                            System.arraycopy(x.k16, src, kp, dst, d);
                            System.arraycopy(x.v16, src, vp, dst, d);
                        }
                    }
                }
            }
            if (bad != null && bad[1] >= 0) table[bad[0] * maxBlocks + bad[1]] = bad[2];
            h.kPool = kp;
            h.vPool = vp;
            h.table = table;
            h.numBlocks = numBlocks;
            h.maxBlocks = maxBlocks;
        } else if (c.kv() != KvFormat.DENSE) {
            throw new IllegalArgumentException("quantized cases: QuantHarness");
        }
        return h;
    }

    /** The call of a case with its arrays in {@code m}; o, lse, flags are the output buffers. */
    public static DecodeArgs args(Host h, Mem m, long o, long lse, long flags) {
        Case c = h.c;
        DecodeArgs.Builder ab = DecodeArgs.builder().q(m.put(h.x.q16)).o(o).lse(lse).batch(h.x.batch).heads(c.hq())
                .kvHeads(c.hkv()).lq(c.lq()).headDim(c.d()).dtype(c.type()).causal(c.causal()).splits(c.splits()).flags(flags)
                .smScale((float) (1.0 / Math.sqrt(c.d())));
        long lens = m.put(h.devLens);
        if (c.kv() == KvFormat.DENSE) {
            ab.dense(m.put(h.x.k16), m.put(h.x.v16), h.x.maxLk).seqLens(lens);
        } else {
            PagedKvCache cache = PagedKvCache.of(m.put(h.kPool), m.put(h.vPool), h.numBlocks, c.blockSize(), c.hkv(), c.d(),
                    c.type());
            ab.paged(cache, m.put(h.table), h.maxBlocks, lens);
        }
        return ab.build();
    }

    public static AttentionReference.Result reference(Host h) {
        Case c = h.c;
        return DecodeReference.compute(h.x.q, h.x.k, h.x.v, c.lens(), h.x.batch, c.hq(), c.hkv(), c.lq(), h.x.maxLk, c.d(),
                1.0 / Math.sqrt(c.d()), mask(c.causal()));
    }

    static Result run(Case c, int[] bad) {
        return run(c, bad, 1);
    }

    /**
     * The case's plan launched {@code times} times on the same workspace, O and the LSE poisoned with NaN before
     * each launch: the result of the last (a split call's counters must come back to where the next call starts).
     */
    static Result run(Case c, int[] bad, int times) {
        Host h = host(c, bad);
        PtxEmulator.Memory mem = new PtxEmulator.Memory();
        Mem m = new Mem() {
            public long put(short[] a) { return mem.put(a); }
            public long put(int[] a) { return mem.put(a); }
            public long nan(long bytes) { return mem.fill(bytes, 0xFF); }
        };
        int rows = h.rows();
        int d = c.d();
        long dO = m.nan(2L * rows * d);
        long dl = m.nan(4L * rows);
        long flags = mem.put(new int[h.x.batch]);
        DecodeArgs a = args(h, m, dO, dl, flags);
        DecodeRunner.Device dev = new DecodeRunner.Device(c.arch(), 4, 228 * 1024);
        long wsBytes = DecodeRunner.workspaceBytes(a, dev);
        long ws = wsBytes > 0 ? m.nan(wsBytes) : 0;
        DecodeRunner.Plan plan = DecodeRunner.plan(a, dev, ws, wsBytes);
        for (int i = 0; i < times; i++) {
            mem.fill(dO, 2L * rows * d, 0xFF);
            mem.fill(dl, 4L * rows, 0xFF);
            execute(plan, mem);
        }
        float[] o = Half.decode(mem.shorts(dO, rows * d), c.type());
        float[] lse = mem.floats(dl, rows);
        return compare(o, lse, mem.ints(flags, h.x.batch), plan, reference(h));
    }

    static void execute(DecodeRunner.Plan plan, PtxEmulator.Memory mem) {
        for (DecodeRunner.Step<?> s : plan.steps()) {
            PtxEmulator.Kernel k = module(s.module()).get(s.kernel().name());
            if (k == null) throw new IllegalStateException("no kernel " + s.kernel().name());
            var l = s.launch();
            PtxEmulator.launch(k, l.gridX(), l.gridY(), l.gridZ(), l.threads(), l.sharedBytes(), mem,
                    new HashMap<>(s.args().bound()));
        }
    }

    public static DecodeReference.Mask mask(CausalMode m) {
        return switch (m) {
            case NONE -> DecodeReference.Mask.NONE;
            case TOP_LEFT -> DecodeReference.Mask.TOP_LEFT;
            case BOTTOM_RIGHT -> DecodeReference.Mask.BOTTOM_RIGHT;
        };
    }

    public static Result compare(float[] o, float[] lse, int[] flags, DecodeRunner.Plan plan, AttentionReference.Result ref) {
        double lseErr = 0;
        int empty = 0;
        for (int i = 0; i < lse.length; i++) {
            double r = ref.lse()[i];
            if (Double.isInfinite(r)) {
                empty++;
                if (lse[i] != Float.NEGATIVE_INFINITY) lseErr = Double.NaN;
                continue;
            }
            double e = Math.abs(lse[i] - r);
            lseErr = Double.isNaN(e) || Double.isNaN(lseErr) ? Double.NaN : Math.max(lseErr, e);
        }
        return new Result(ErrorStats.of(o, ref.o()), lseErr, empty, o, lse, flags, plan, ref);
    }
}
