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
final class DecodeHarness {

    private static final Map<String, Map<String, PtxEmulator.Kernel>> MODULES = new ConcurrentHashMap<>();

    /** One case. */
    record Case(KvFormat kv, int d, DType type, int hq, int hkv, int lq, int[] lens, CausalMode causal, int splits,
                int blockSize, Arch arch, long seed) {
        @Override
        public String toString() {
            return kv.id() + " d" + d + " " + type.shortName() + " H" + hq + "/" + hkv + " lq" + lq + " lens"
                    + java.util.Arrays.toString(lens) + " " + causal + " splits" + splits + (kv.paged() ? " bs" + blockSize : "")
                    + " " + arch.target();
        }
    }

    /** What came out. */
    record Result(ErrorStats error, double lseMaxErr, int emptyRows, float[] o, float[] lse, int[] flags,
                  DecodeRunner.Plan plan, AttentionReference.Result ref) {
    }

    /** Device memory of a case: pointers and the host copies. */
    static final class Inputs {
        final Case c;
        final int batch;
        final int maxLk;
        final float[] q;
        final float[] k;
        final float[] v;
        final short[] q16;
        final short[] k16;
        final short[] v16;

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

    /** Runs a case; {@code badTable} (paged only) replaces table entry [b][i] with a value when not null. */
    static Result run(Case c, int[] badTable) {
        Inputs x = new Inputs(c);
        PtxEmulator.Memory mem = new PtxEmulator.Memory();
        int d = c.d();
        int batch = x.batch;
        long dq = mem.put(x.q16);
        int rows = batch * c.hq() * c.lq();
        long dO = mem.fill(2L * rows * d, 0xFF);
        long dl = mem.fill(4L * rows, 0xFF);
        long flags = mem.put(new int[batch]);
        long lens = mem.put(c.lens());
        DecodeArgs.Builder ab = DecodeArgs.builder().q(dq).o(dO).lse(dl).batch(batch).heads(c.hq()).kvHeads(c.hkv())
                .lq(c.lq()).headDim(d).dtype(c.type()).causal(c.causal()).splits(c.splits()).flags(flags)
                .smScale((float) (1.0 / Math.sqrt(d)));
        if (c.kv() == KvFormat.DENSE) {
            ab.dense(mem.put(x.k16), mem.put(x.v16), x.maxLk).seqLens(lens);
        } else if (c.kv() == KvFormat.PAGED) {
            int bs = c.blockSize();
            int maxBlocks = (x.maxLk + bs - 1) / bs + 1;
            List<Integer> order = new ArrayList<>();
            int used = 0;
            for (int l : c.lens()) used += (l + bs - 1) / bs;
            int numBlocks = used + 3;
            for (int i = 0; i < numBlocks; i++) order.add(i);
            Collections.shuffle(order, new Random(c.seed() + 1));
            int[] table = new int[batch * maxBlocks];
            java.util.Arrays.fill(table, -1);
            short[] kp = new short[numBlocks * bs * c.hkv() * d];
            short[] vp = new short[kp.length];
            java.util.Arrays.fill(kp, (short) 0xFFFF);
            java.util.Arrays.fill(vp, (short) 0xFFFF);
            int next = 0;
            for (int b = 0; b < batch; b++) {
                for (int i = 0; i * bs < c.lens()[b]; i++) {
                    int blk = order.get(next++);
                    table[b * maxBlocks + i] = blk;
                    for (int t = 0; t < bs && i * bs + t < c.lens()[b]; t++) {
                        for (int h = 0; h < c.hkv(); h++) {
                            int src = ((b * c.hkv() + h) * x.maxLk + i * bs + t) * d;
                            int dst = ((blk * bs + t) * c.hkv() + h) * d;
                            System.arraycopy(x.k16, src, kp, dst, d);
                            System.arraycopy(x.v16, src, vp, dst, d);
                        }
                    }
                }
            }
            if (badTable != null) table[badTable[0] * maxBlocks + badTable[1]] = badTable[2];
            PagedKvCache cache = PagedKvCache.of(mem.put(kp), mem.put(vp), numBlocks, bs, c.hkv(), d, c.type());
            ab.paged(cache, mem.put(table), maxBlocks, lens);
        } else {
            throw new IllegalArgumentException("quantized cases: QuantHarness");
        }
        DecodeArgs a = ab.build();
        DecodeRunner.Device dev = new DecodeRunner.Device(c.arch(), 4, 228 * 1024);
        long wsBytes = DecodeRunner.workspaceBytes(a, dev);
        long ws = wsBytes > 0 ? mem.fill(wsBytes, 0xFF) : 0;
        DecodeRunner.Plan plan = DecodeRunner.plan(a, dev, ws, wsBytes);
        execute(plan, mem);
        float[] o = Half.decode(mem.shorts(dO, rows * d), c.type());
        float[] lse = mem.floats(dl, rows);
        AttentionReference.Result ref = DecodeReference.compute(x.q, x.k, x.v, c.lens(), batch, c.hq(), c.hkv(), c.lq(), x.maxLk,
                d, 1.0 / Math.sqrt(d), mask(c.causal()));
        return compare(o, lse, mem.ints(flags, batch), plan, ref);
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

    static DecodeReference.Mask mask(CausalMode m) {
        return switch (m) {
            case NONE -> DecodeReference.Mask.NONE;
            case TOP_LEFT -> DecodeReference.Mask.TOP_LEFT;
            case BOTTOM_RIGHT -> DecodeReference.Mask.BOTTOM_RIGHT;
        };
    }

    static Result compare(float[] o, float[] lse, int[] flags, DecodeRunner.Plan plan, AttentionReference.Result ref) {
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
