package io.sageptx.api;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import io.sageptx.call.AppendArgs;
import io.sageptx.call.CausalMode;
import io.sageptx.call.DecodeArgs;
import io.sageptx.call.QuantizedKvCache;
import io.sageptx.cuda.CudaEvent;
import io.sageptx.cuda.CudaStream;
import io.sageptx.cuda.DeviceBuffer;
import io.sageptx.numerics.AttentionReference;
import io.sageptx.numerics.DecodeReference;
import io.sageptx.numerics.ErrorStats;
import io.sageptx.numerics.Half;
import io.sageptx.numerics.QuantizedKvCacheModel;
import io.sageptx.spec.DType;
import io.sageptx.testing.GpuTest;

/**
 * The quantized paged cache on the GPU: a cache built by the append kernel (a ragged prefill chunk, then
 * one-token appends, lengths ping-ponged between two device arrays with no host round trip) is
 * byte-identical to {@link QuantizedKvCacheModel}'s, and decode over it (Lq = 1 and 4, bottom-right) is
 * within the FP8 PV bars against FP64 over the original K/V (cos &gt;= 0.999, rel L1 &lt;= 0.045). Also
 * times one append of one token for B = 64 (target &lt; 10 us; printed, not asserted).
 */
@GpuTest
@Tag("sanitize-memcheck")
class QuantDecodeGpuTest {

    private static Decode decode;

    @BeforeAll
    static void open() {
        decode = Decode.onDevice(0);
    }

    @AfterAll
    static void close() {
        if (decode != null) decode.close();
    }

    @ParameterizedTest(name = "D={0} {1} bs={2} H={3}/{4} prefill {5} + {6} appends")
    @CsvSource({
        "128, FP16, 16, 32, 8, 300, 200",
        "128, BF16, 64, 32, 4, 1000, 200",
        "64, FP16, 32, 8, 8, 77, 150",
        "96, BF16, 128, 16, 2, 1, 120",
        // append-heavy: from one token, long runs of one-token appends (append1.stg) into 256-token blocks
        "128, FP16, 256, 32, 32, 1, 700",
        "256, BF16, 256, 16, 4, 3, 560",
        "48, FP16, 16, 32, 8, 2, 300",
    })
    void appendsThenDecode(int d, DType t, int bs, int hq, int hkv, int prefill, int steps) {
        boolean reduced = !System.getProperty("sageptx.grid", "").isEmpty(); // any sanitizer grid
        if (reduced) steps = Math.min(steps, 20);
        int batch = 3;
        int[] pre = {prefill, Math.max(1, prefill / 3), Math.max(1, prefill / 7)};
        int maxLen = prefill + steps;
        int maxBlocks = (maxLen + bs - 1) / bs + 1;
        int numBlocks = batch * maxBlocks + 2;
        Random r = new Random(d + bs);
        // the whole K/V of every sequence, in token order: [B][Hkv][maxLen][D]
        float[] k = new float[batch * hkv * maxLen * d];
        float[] v = new float[k.length];
        for (int b = 0; b < batch; b++) {
            for (int h = 0; h < hkv; h++) {
                double[] bias = new double[d];
                for (int c = 0; c < d; c++) bias[c] = 3 * r.nextGaussian();
                for (int j = 0; j < maxLen; j++) {
                    for (int c = 0; c < d; c++) {
                        int i = ((b * hkv + h) * maxLen + j) * d + c;
                        k[i] = Half.round((float) (r.nextGaussian() + bias[c]), t);
                        v[i] = Half.round((float) (r.nextGaussian() * (1 + c % 3)), t);
                    }
                }
            }
        }
        int[] table = new int[batch * maxBlocks];
        for (int i = 0; i < table.length; i++) table[i] = (i * 11 + 5) % numBlocks;   // numBlocks odd-sized: a permutation check below
        java.util.Set<Integer> uniq = new java.util.HashSet<>();
        for (int x : table) uniq.add(x);
        if (uniq.size() != table.length) for (int i = 0; i < table.length; i++) table[i] = i;
        QuantizedKvCacheModel model = new QuantizedKvCacheModel(numBlocks, bs, hkv, d);
        try (DeviceArrays mem = new DeviceArrays(decode.context()); CudaStream s = CudaStream.create(decode.context())) {
            DeviceBuffer pool = mem.allocate(QuantizedKvCache.poolBytes(numBlocks, bs, hkv, d));
            pool.fill8((byte) 0xFF);
            QuantizedKvCache cache = new QuantizedKvCache(pool.address(), numBlocks, bs, hkv, d, t);
            DeviceBuffer dTable = mem.allocate(4L * table.length);
            dTable.copyFrom(table);
            DeviceBuffer[] lens = {mem.allocate(4L * batch), mem.allocate(4L * batch)};
            lens[0].fill32(0);
            DeviceBuffer flags = mem.allocate(4L * batch);
            flags.fill32(0);
            int[] hostLens = new int[batch];
            int cur = 0;
            // prefill chunk (ragged), then one token per step
            for (int step = -1; step < steps; step++) {
                int[] cnt = new int[batch];
                for (int b = 0; b < batch; b++) cnt[b] = step < 0 ? pre[b] : 1;
                int n = 0;
                for (int c : cnt) n = Math.max(n, c);
                short[] nk = new short[batch * hkv * n * d];
                short[] nv = new short[nk.length];
                java.util.Arrays.fill(nk, (short) 0xFFFF);
                java.util.Arrays.fill(nv, (short) 0xFFFF);
                for (int b = 0; b < batch; b++) {
                    float[] kb = new float[hkv * cnt[b] * d];
                    float[] vb = new float[kb.length];
                    for (int h = 0; h < hkv; h++) {
                        for (int x = 0; x < cnt[b]; x++) {
                            int src = ((b * hkv + h) * maxLen + hostLens[b] + x) * d;
                            for (int c = 0; c < d; c++) {
                                nk[((b * hkv + h) * n + x) * d + c] = Half.encode(k[src + c], t);
                                nv[((b * hkv + h) * n + x) * d + c] = Half.encode(v[src + c], t);
                                kb[(h * cnt[b] + x) * d + c] = k[src + c];
                                vb[(h * cnt[b] + x) * d + c] = v[src + c];
                            }
                        }
                    }
                    int[] row = java.util.Arrays.copyOfRange(table, b * maxBlocks, (b + 1) * maxBlocks);
                    model.append(row, hostLens[b], cnt[b], kb, vb);
                }
                // a fresh buffer per step: a synchronous host copy does not wait for the stream, so rewriting one
                // buffer could change the counts of an append still queued (seen under compute-sanitizer, whose slow
                // kernels let the host run ahead: the prefill appended 1 token instead of 300)
                DeviceBuffer counts = mem.of(cnt);
                decode.append(AppendArgs.builder().cache(cache).kv(mem.of(nk).address(), mem.of(nv).address()).batch(batch).tokens(n)
                        .counts(counts.address()).table(dTable.address(), maxBlocks, lens[cur].address())
                        .seqLensOut(lens[1 - cur].address()).flags(flags.address()).build(), s.handle());
                cur = 1 - cur;
                for (int b = 0; b < batch; b++) hostLens[b] += cnt[b];
            }
            s.synchronize();
            int[] gotLens = new int[batch];
            lens[cur].copyTo(gotLens);
            assertArrayEquals(hostLens, gotLens, "lengths after the appends");
            int[] fl = new int[batch];
            flags.copyTo(fl);
            assertArrayEquals(new int[batch], fl, "flags");
            byte[] gpuPool = new byte[(int) pool.bytes()];
            pool.copyTo(gpuPool);
            byte[] cpu = model.pool();
            int diff = 0;
            int first = -1;
            for (int i = 0; i < cpu.length; i++) {
                if (cpu[i] != gpuPool[i]) {
                    diff++;
                    if (first < 0) first = i;
                }
            }
            assertEquals(0, diff, "pool bytes differing from the CPU model (first at " + first + ")");

            // decode: Lq = 1 (no mask), Lq = 4 and 16 (bottom-right), against FP64 over the original K/V
            for (int lq : new int[] {1, 4, 16}) {   // 16: two m16 tiles (Q fragments from shared memory)
                CausalMode mode = lq == 1 ? CausalMode.NONE : CausalMode.BOTTOM_RIGHT;
                float[] q = new float[batch * hq * lq * d];
                for (int i = 0; i < q.length; i++) q[i] = Half.round((float) r.nextGaussian(), t);
                DeviceBuffer o = mem.nan16(q.length);
                DeviceBuffer lse = mem.nan32((long) batch * hq * lq);
                DecodeArgs a = DecodeArgs.builder().q(mem.of(Half.encode(q, t)).address()).o(o.address()).lse(lse.address())
                        .batch(batch).heads(hq).kvHeads(hkv).lq(lq).headDim(d).dtype(t).causal(mode).flags(flags.address())
                        .quantized(cache, dTable.address(), maxBlocks, lens[cur].address()).maxSeqLen(maxLen).build();
                long need = decode.workspaceBytes(a);
                DeviceBuffer ws = need > 0 ? mem.allocate(need) : null;
                decode.forward(a, s.handle(), ws == null ? 0 : ws.address(), need);
                s.synchronize();
                AttentionReference.Result ref = DecodeReference.compute(q, k, v, hostLens, batch, hq, hkv, lq, maxLen, d,
                        1 / Math.sqrt(d), lq == 1 ? DecodeReference.Mask.NONE : DecodeReference.Mask.BOTTOM_RIGHT);
                ErrorStats e = ErrorStats.of(Half.decode(DeviceArrays.shorts(o), t), ref.o());
                float[] l = DeviceArrays.floats(lse);
                double lseErr = 0;
                for (int i = 0; i < l.length; i++) lseErr = Math.max(lseErr, Math.abs(l[i] - ref.lse()[i]));
                System.out.println("quantized decode D=" + d + " " + t + " bs=" + bs + " H=" + hq + "/" + hkv + " lens "
                        + java.util.Arrays.toString(hostLens) + " Lq=" + lq + " splits " + decode.splitsFor(a) + ": " + e
                        + " lseErr " + lseErr);
                assertEquals(0, e.nonFinite(), e.toString());
                assertTrue(e.cosine() >= 0.999 && e.relL1() <= 0.045, e.toString());
                assertTrue(lseErr <= 0.05, "LSE " + lseErr);
            }
        }
    }

    /** One append of one token for B = 64, GQA 32/8, D = 128 (the decode step's append): median of 50. */
    @ParameterizedTest(name = "append B=64 D={0}")
    @CsvSource({"128", "64"})
    void appendOfOneTokenIsFast(int d) {
        int batch = 64, hkv = 8, bs = 16, maxBlocks = 64;
        int numBlocks = batch * maxBlocks;
        try (DeviceArrays mem = new DeviceArrays(decode.context()); CudaStream s = CudaStream.create(decode.context());
             CudaEvent e0 = CudaEvent.create(decode.context()); CudaEvent e1 = CudaEvent.create(decode.context())) {
            DeviceBuffer pool = mem.allocate(QuantizedKvCache.poolBytes(numBlocks, bs, hkv, d));
            QuantizedKvCache cache = new QuantizedKvCache(pool.address(), numBlocks, bs, hkv, d, DType.FP16);
            int[] table = new int[batch * maxBlocks];
            for (int i = 0; i < table.length; i++) table[i] = i;
            DeviceBuffer dTable = mem.allocate(4L * table.length);
            dTable.copyFrom(table);
            int[] l0 = new int[batch];
            java.util.Arrays.fill(l0, 500);
            DeviceBuffer lens = mem.allocate(4L * batch);
            lens.copyFrom(l0);
            // prefill 500 tokens per sequence (one append), then time appends of one token at position 500
            int prefill = 500;
            short[] pk = new short[batch * hkv * prefill * d];
            for (int i = 0; i < pk.length; i++) pk[i] = Half.encode((float) Math.sin(i * 0.37), DType.FP16);
            DeviceBuffer dk = mem.of(pk);
            DeviceBuffer zero = mem.allocate(4L * batch);
            zero.fill32(0);
            decode.append(AppendArgs.builder().cache(cache).kv(dk.address(), dk.address()).batch(batch).tokens(prefill)
                    .table(dTable.address(), maxBlocks, zero.address()).build(), s.handle());
            long sb = (long) hkv * prefill * d;
            AppendArgs a = AppendArgs.builder().cache(cache).kv(dk.address(), dk.address()).batch(batch).tokens(1)
                    .kStrides(sb, (long) prefill * d, d).vStrides(sb, (long) prefill * d, d)
                    .table(dTable.address(), maxBlocks, lens.address()).build();
            for (int w = 0; w < 5; w++) decode.append(a, s.handle());
            float[] ms = new float[50];
            for (int i = 0; i < ms.length; i++) {
                e0.record(s);
                decode.append(a, s.handle());
                e1.record(s);
                e1.synchronize();
                ms[i] = CudaEvent.elapsedMillis(e0, e1);
            }
            java.util.Arrays.sort(ms);
            // the host side of a call (queued, not waited for), and 100 calls queued back to back (the GPU time per
            // call when the host queues faster than the kernel runs)
            s.synchronize();
            long h0 = System.nanoTime();
            e0.record(s);
            for (int i = 0; i < 100; i++) decode.append(a, s.handle());
            e1.record(s);
            double hostUs = (System.nanoTime() - h0) / 1e3 / 100;
            e1.synchronize();
            System.out.printf("append of one token, B=64, Hkv=8, D=%d: host %.2f us per call, 100 queued back to back %.2f us per call%n",
                    d, hostUs, CudaEvent.elapsedMillis(e0, e1) * 10);
            // the GPU alone: a 256 MB memset keeps the stream busy while the events and the call are queued
            DeviceBuffer busy = mem.allocate(256L << 20);
            float[] g = new float[20];
            for (int i = 0; i < g.length; i++) {
                busy.fill8((byte) i, s);
                e0.record(s);
                decode.append(a, s.handle());
                e1.record(s);
                e1.synchronize();
                g[i] = CudaEvent.elapsedMillis(e0, e1);
            }
            java.util.Arrays.sort(g);
            System.out.printf("append of one token, B=64, Hkv=8, D=%d: GPU-only median %.2f us (target < 10 us)%n", d, g[g.length / 2] * 1000);
            // reported, not asserted (no timed assertions in tests; the benchmark records it): H200 2026-12-01,
            // 69 us at D=128 and 39 us at D=64 against the 10 us target
            System.out.printf("append of one token, B=64, Hkv=8, D=%d: median %.2f us (target < 10 us)%n", d,
                    ms[ms.length / 2] * 1000);
        }
    }
}
