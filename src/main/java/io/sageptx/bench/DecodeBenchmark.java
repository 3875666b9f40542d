package io.sageptx.bench;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Random;

import io.sageptx.api.Decode;
import io.sageptx.call.AppendArgs;
import io.sageptx.call.CausalMode;
import io.sageptx.call.DecodeArgs;
import io.sageptx.call.PagedKvCache;
import io.sageptx.call.QuantizedKvCache;
import io.sageptx.cuda.CudaEvent;
import io.sageptx.cuda.CudaStream;
import io.sageptx.cuda.DeviceBuffer;
import io.sageptx.cuda.DeviceContext;
import io.sageptx.numerics.QuantKvLayout;
import io.sageptx.spec.DType;

/**
 * Times decode calls ({@link Decode}) on the shapes of issue 14 and writes one CSV row per point, to be put
 * next to {@code tools/sdpa_decode_bench.py} (PyTorch SDPA on the same shapes) by
 * {@code tools/decode_compare.py}. Per point: fresh random K/V (on the GPU), warm-up calls, then
 * {@code --runs} calls queued back to back, each bracketed by CUDA events (one host synchronization after the
 * last, as {@code tools/sdpa_decode_bench.py} times SDPA); the median is kept. Lq &gt; 1 uses the bottom-right causal
 * mask (speculative decoding), Lq = 1 none. Formats: {@code dense} ([B, Hkv, Lk, D]), {@code paged}
 * (16-bit pools, shuffled blocks), {@code q8} (the quantized cache; its pool holds random bits: the timing
 * does not depend on the values, accuracy is tested elsewhere). Also {@code --append}: one append of one
 * token per sequence to the quantized cache.
 *
 * <pre>
 * java io.sageptx.bench.DecodeBenchmark --out decode.csv [--batch 1,8,32,64] [--lq 1,4,16] [--lk 1k,8k,32k,128k]
 *     [--heads 32/8,32/4,32/32] [--dims 64,128] [--formats dense,paged,q8] [--q8-min-lk 8k] [--dtype fp16]
 *     [--block 16] [--q8-block 64] [--runs 15] [--warmup 5] [--max-gb 40] [--append 1,8,64] [--no-warm]
 *     [--table shuffled|identity] (the paged formats' block tables: blocks in random order, or in order)
 *     [--splits 0,16,32] (0: the heuristic's split count)
 * </pre>
 */
public final class DecodeBenchmark {

    private DecodeBenchmark() {
    }

    static int length(String t) {
        t = t.trim().toLowerCase(Locale.ROOT);
        return t.endsWith("k") ? Integer.parseInt(t.substring(0, t.length() - 1)) * 1024 : Integer.parseInt(t);
    }

    static int[] ints(String csv) {
        return Arrays.stream(csv.split(",")).filter(s -> !s.isBlank()).mapToInt(DecodeBenchmark::length).toArray();
    }

    /** Options, with the grid as defaults. */
    static final class Options {
        Path out;
        int[] batch = {1, 8, 32, 64};
        int[] lq = {1, 4, 16};
        int[] lk = {1024, 8192, 32768, 131072};
        int[][] heads = {{32, 8}, {32, 4}, {32, 32}};
        int[] dims = {64, 128};
        List<String> formats = List.of("dense", "paged", "q8");
        int q8MinLk = 8192;
        DType dtype = DType.FP16;
        int block = 16;
        int q8Block = 64;
        int runs = 15;
        int warmup = 5;
        double maxGb = 40;
        int[] append = {1, 8, 64};
        /** Whether about a second of calls warms the clocks first (off for profiles: fewer launches to skip). */
        boolean warmClocks = true;
        /** Paged block tables in random order (the default) or in order (--table identity). */
        boolean shuffleTable = true;
        /** Split counts to time at every point (0: the heuristic's); more than one shows what the heuristic left. */
        int[] splits = {0};

        static Options parse(String[] args) {
            Options o = new Options();
            for (int i = 0; i < args.length; i++) {
                String a = args[i];
                String v = i + 1 < args.length ? args[i + 1] : "";
                switch (a) {
                    case "--out" -> { o.out = Path.of(v); i++; }
                    case "--batch" -> { o.batch = ints(v); i++; }
                    case "--lq" -> { o.lq = ints(v); i++; }
                    case "--lk" -> { o.lk = ints(v); i++; }
                    case "--heads" -> {
                        o.heads = Arrays.stream(v.split(",")).map(h -> h.split("/"))
                                .map(p -> new int[] {Integer.parseInt(p[0]), Integer.parseInt(p[1])}).toArray(int[][]::new);
                        i++;
                    }
                    case "--dims" -> { o.dims = ints(v); i++; }
                    case "--formats" -> { o.formats = List.of(v.split(",")); i++; }
                    case "--q8-min-lk" -> { o.q8MinLk = length(v); i++; }
                    case "--dtype" -> { o.dtype = DType.parse(v); i++; }
                    case "--block" -> { o.block = Integer.parseInt(v); i++; }
                    case "--q8-block" -> { o.q8Block = Integer.parseInt(v); i++; }
                    case "--runs" -> { o.runs = Integer.parseInt(v); i++; }
                    case "--warmup" -> { o.warmup = Integer.parseInt(v); i++; }
                    case "--max-gb" -> { o.maxGb = Double.parseDouble(v); i++; }
                    case "--no-warm" -> o.warmClocks = false;
                    case "--table" -> {
                        if (!v.equals("shuffled") && !v.equals("identity")) {
                            throw new IllegalArgumentException("--table " + v + ": shuffled or identity");
                        }
                        o.shuffleTable = v.equals("shuffled");
                        i++;
                    }
                    case "--splits" -> { o.splits = ints(v); i++; }
                    case "--append" -> { o.append = v.isBlank() || v.equals("none") ? new int[0] : ints(v); i++; }
                    default -> throw new IllegalArgumentException("unknown option " + a + " (see the class comment)");
                }
            }
            if (o.out == null) throw new IllegalArgumentException("--out FILE is required");
            return o;
        }
    }

    /** Runs the benchmark on device 0 with the options of the class comment ({@code --out} required). */
    public static void main(String[] args) throws IOException {
        Options o = Options.parse(args);
        try (Decode decode = Decode.onDevice(0); PrintWriter w = new PrintWriter(Files.newBufferedWriter(o.out))) {
            DeviceContext ctx = decode.context();
            String gpu = ctx.name();
            w.println("gpu,format,dtype,batch,heads,kv_heads,lq,lk,head_dim,block,splits,ms,kv_bytes,tb_s,host_us,gpu_ms");
            System.out.println("decode benchmark on " + ctx + "; " + decode.runner().device());
            try (CudaStream s = CudaStream.create(ctx); CudaEvent e0 = CudaEvent.create(ctx); CudaEvent e1 = CudaEvent.create(ctx)) {
                if (o.warmClocks) warmClocks(decode, o, s);
                for (int d : o.dims) {
                    for (int[] h : o.heads) {
                        for (int b : o.batch) {
                            for (int lk : o.lk) {
                                for (int lq : o.lq) {
                                    for (String f : o.formats) for (int split : o.splits) {
                                        if (f.equals("q8") && lk < o.q8MinLk) continue;
                                        double gb = 4.0 * b * h[1] * lk * d / 1e9;
                                        if (gb > o.maxGb) continue;
                                        Point p = new Point(f, b, h[0], h[1], lq, lk, d, f.equals("q8") ? o.q8Block : o.block, split);
                                        try {
                                            Row r = time(decode, p, o, s, e0, e1);
                                            w.printf(Locale.ROOT, "%s,%s,%s,%d,%d,%d,%d,%d,%d,%d,%d,%.5f,%d,%.3f,%.2f,%.5f%n", gpu, f,
                                                    o.dtype.shortName(), b, h[0], h[1], lq, lk, d, f.equals("dense") ? 0 : p.block,
                                                    r.splits, r.ms, r.bytes, r.bytes / (r.ms * 1e-3) / 1e12, r.hostUs, r.gpuMs);
                                            w.flush();
                                            System.out.printf(Locale.ROOT, "%-5s D=%3d H=%2d/%-2d B=%2d Lq=%2d Lk=%6d splits=%3d %9.4f ms %6.2f TB/s host %.1f us GPU-only %.4f ms%n",
                                                    f, d, h[0], h[1], b, lq, lk, r.splits, r.ms, r.bytes / (r.ms * 1e-3) / 1e12, r.hostUs, r.gpuMs);
                                        } catch (RuntimeException ex) {
                                            System.out.println(p + ": not run (" + ex + ")");
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
                for (int b : o.append) {
                    for (int d : o.dims) {
                        double us = timeAppend(decode, b, 8, d, o, s, e0, e1);
                        w.printf(Locale.ROOT, "%s,append,%s,%d,%d,%d,%d,%d,%d,%d,%d,%.5f,%d,%.3f,%.2f,%.5f%n", gpu, o.dtype.shortName(), b, 32, 8,
                                1, 0, d, o.q8Block, 0, us / 1000, 0L, 0.0, lastAppendHostUs, lastAppendGpuUs / 1000);
                        w.flush();
                        System.out.printf(Locale.ROOT, "append of one token: B=%d Hkv=8 D=%d: %.2f us (host %.2f us per call, GPU-only %.2f us)%n", b, d, us,
                                lastAppendHostUs, lastAppendGpuUs);
                    }
                }
            }
        }
    }

    record Point(String format, int batch, int heads, int kvHeads, int lq, int lk, int d, int block, int splits) {
    }

    /**
     * Median time per call in a loop of calls ({@link #loopMs}, as SDPA is timed), its split count, K/V
     * bytes read, the mean host time of queueing one call, and the median GPU-only time ({@link #gpuOnlyMs}).
     */
    record Row(double ms, int splits, long bytes, double hostUs, double gpuMs) {
    }

    private static DeviceBuffer busy;

    /**
     * Shortest warm-up of a point, in ms of wall time ({@link WarmUp}): the random fill before each point draws
     * enough power for the H200's power cap to lower the SM clock for tens of ms (nvidia-smi, 2026-12-02:
     * 555-1770 MHz, cap reason active), which a compute-heavier kernel (the quantized cache) feels and a
     * memory-bound one does not. {@code tools/sdpa_decode_bench.py} warms SDPA the same way.
     */
    static final double WARM_MS = 50;

    /**
     * The median time per call of {@code runs} calls queued back to back, as a decode loop issues them: an event
     * pair brackets each call and the host synchronizes once, after the last (the method of
     * {@code tools/sdpa_decode_bench.py}, so both sides are timed alike). A call whose host queueing takes longer
     * than its GPU time shows the host time; otherwise the GPU time with the launch gaps between kernels.
     */
    static double loopMs(DeviceContext ctx, CudaStream s, int runs, Runnable call) {
        CudaEvent[] start = new CudaEvent[runs];
        CudaEvent[] end = new CudaEvent[runs];
        try {
            for (int i = 0; i < runs; i++) {
                start[i] = CudaEvent.create(ctx);
                end[i] = CudaEvent.create(ctx);
            }
            for (int i = 0; i < runs; i++) {
                start[i].record(s);
                call.run();
                end[i].record(s);
            }
            end[runs - 1].synchronize();
            float[] ms = new float[runs];
            for (int i = 0; i < runs; i++) ms[i] = CudaEvent.elapsedMillis(start[i], end[i]);
            Arrays.sort(ms);
            return ms[runs / 2];
        } finally {
            for (CudaEvent e : start) if (e != null) e.close();
            for (CudaEvent e : end) if (e != null) e.close();
        }
    }

    /**
     * The median time of {@code call} on the GPU alone: a 256 MB memset queued first keeps the stream busy
     * (~60-80 us) while the host queues the start event, the call and the end event, so the events see the
     * kernels back to back with no host gap.
     */
    static double gpuOnlyMs(DeviceContext ctx, CudaStream s, CudaEvent e0, CudaEvent e1, int runs, Runnable call) {
        if (busy == null) busy = DeviceBuffer.allocate(ctx, 256L << 20);
        float[] ms = new float[Math.max(5, runs)];
        for (int i = 0; i < ms.length; i++) {
            busy.fill8((byte) i, s);
            e0.record(s);
            call.run();
            e1.record(s);
            e1.synchronize();
            ms[i] = CudaEvent.elapsedMillis(e0, e1);
        }
        Arrays.sort(ms);
        return ms[ms.length / 2];
    }

    /** About a second of calls at a large shape, so that timing does not start at idle clocks. */
    static void warmClocks(Decode decode, Options o, CudaStream s) {
        try (CudaEvent e0 = CudaEvent.create(decode.context()); CudaEvent e1 = CudaEvent.create(decode.context())) {
            Options w = new Options();
            w.runs = 200;
            w.warmup = 0;
            w.dtype = o.dtype;
            time(decode, new Point("paged", 32, 32, 8, 1, 8192, 128, 16, 0), w, s, e0, e1);
        }
    }

    static Row time(Decode decode, Point p, Options o, CudaStream s, CudaEvent e0, CudaEvent e1) {
        DeviceContext ctx = decode.context();
        List<DeviceBuffer> bufs = new ArrayList<>();
        try {
            int rows = p.batch * p.heads * p.lq;
            DeviceBuffer q = alloc(ctx, bufs, 2L * rows * p.d);
            DeviceBuffer out = alloc(ctx, bufs, 2L * rows * p.d);
            RandomFill.fill(q, (long) rows * p.d, o.dtype, 11, 1f, s);
            DeviceBuffer lens = alloc(ctx, bufs, 4L * p.batch);
            int[] l = new int[p.batch];
            Arrays.fill(l, p.lk);
            lens.copyFrom(l);
            DecodeArgs.Builder ab = DecodeArgs.builder().q(q.address()).o(out.address()).batch(p.batch).heads(p.heads)
                    .kvHeads(p.kvHeads).lq(p.lq).headDim(p.d).dtype(o.dtype)
                    .causal(p.lq > 1 ? CausalMode.BOTTOM_RIGHT : CausalMode.NONE);
            long bytes;
            long kvElems = (long) p.batch * p.kvHeads * p.lk * p.d;
            if (p.format.equals("dense")) {
                DeviceBuffer k = alloc(ctx, bufs, 2 * kvElems);
                DeviceBuffer v = alloc(ctx, bufs, 2 * kvElems);
                RandomFill.fill(k, kvElems, o.dtype, 12, 1f, s);
                RandomFill.fill(v, kvElems, o.dtype, 13, 1f, s);
                ab.dense(k.address(), v.address(), p.lk);
                bytes = 4 * kvElems;
            } else {
                int blocksPerSeq = (p.lk + p.block - 1) / p.block;
                int numBlocks = p.batch * blocksPerSeq;
                List<Integer> perm = new ArrayList<>();
                for (int i = 0; i < numBlocks; i++) perm.add(i);
                if (o.shuffleTable) Collections.shuffle(perm, new Random(7));
                int[] table = perm.stream().mapToInt(Integer::intValue).toArray();
                DeviceBuffer tab = alloc(ctx, bufs, 4L * table.length);
                tab.copyFrom(table);
                if (p.format.equals("paged")) {
                    long poolElems = (long) numBlocks * p.block * p.kvHeads * p.d;
                    DeviceBuffer k = alloc(ctx, bufs, 2 * poolElems);
                    DeviceBuffer v = alloc(ctx, bufs, 2 * poolElems);
                    RandomFill.fill(k, poolElems, o.dtype, 12, 1f, s);
                    RandomFill.fill(v, poolElems, o.dtype, 13, 1f, s);
                    ab.paged(PagedKvCache.of(k.address(), v.address(), numBlocks, p.block, p.kvHeads, p.d, o.dtype), tab.address(),
                            blocksPerSeq, lens.address());
                    bytes = 4 * kvElems;
                } else {
                    long poolBytes = QuantKvLayout.poolBytes(numBlocks, p.block, p.kvHeads, p.d);
                    DeviceBuffer pool = alloc(ctx, bufs, poolBytes);
                    RandomFill.fill(pool, poolBytes / 2, DType.FP16, 14, 1f, s);
                    ab.quantized(new QuantizedKvCache(pool.address(), numBlocks, p.block, p.kvHeads, p.d, o.dtype), tab.address(),
                            blocksPerSeq, lens.address());
                    bytes = poolBytes * p.lk / ((long) blocksPerSeq * p.block);
                }
            }
            if (p.splits > 0) ab.splits(p.splits);
            DecodeArgs a = ab.build();
            long need = decode.workspaceBytes(a);
            DeviceBuffer ws = need > 0 ? alloc(ctx, bufs, need) : null;
            long wsa = ws == null ? 0 : ws.address();
            WarmUp.run(s, o.warmup, WARM_MS, n -> decode.forward(a, s.handle(), wsa, need));
            long[] host = {0};
            double ms = loopMs(ctx, s, o.runs, () -> {
                long h0 = System.nanoTime();
                decode.forward(a, s.handle(), wsa, need);
                host[0] += System.nanoTime() - h0;
            });
            double gpu = gpuOnlyMs(ctx, s, e0, e1, o.runs, () -> decode.forward(a, s.handle(), wsa, need));
            return new Row(ms, decode.splitsFor(a), bytes, host[0] / 1e3 / o.runs, gpu);
        } finally {
            s.synchronize();
            for (DeviceBuffer b : bufs) b.close();
        }
    }

    private static DeviceBuffer alloc(DeviceContext ctx, List<DeviceBuffer> bufs, long bytes) {
        DeviceBuffer b = DeviceBuffer.allocate(ctx, bytes);
        bufs.add(b);
        return b;
    }

    /** Mean host time of one append call in the last {@link #timeAppend} (us). */
    static double lastAppendHostUs;
    /** Median GPU-only time of one append in the last {@link #timeAppend} (us). */
    static double lastAppendGpuUs;

    /** One append of one token per sequence at position 500 of caches prefilled with 500 tokens: median in us. */
    static double timeAppend(Decode decode, int batch, int hkv, int d, Options o, CudaStream s, CudaEvent e0, CudaEvent e1) {
        DeviceContext ctx = decode.context();
        List<DeviceBuffer> bufs = new ArrayList<>();
        try {
            int bs = o.q8Block;
            int prefill = 500;
            int maxBlocks = (prefill + 1 + bs - 1) / bs;
            int numBlocks = batch * maxBlocks;
            DeviceBuffer pool = alloc(ctx, bufs, QuantKvLayout.poolBytes(numBlocks, bs, hkv, d));
            QuantizedKvCache cache = new QuantizedKvCache(pool.address(), numBlocks, bs, hkv, d, o.dtype);
            int[] table = new int[numBlocks];
            for (int i = 0; i < numBlocks; i++) table[i] = i;
            DeviceBuffer tab = alloc(ctx, bufs, 4L * numBlocks);
            tab.copyFrom(table);
            DeviceBuffer zero = alloc(ctx, bufs, 4L * batch);
            zero.fill32(0);
            DeviceBuffer lens = alloc(ctx, bufs, 4L * batch);
            int[] l = new int[batch];
            Arrays.fill(l, prefill);
            lens.copyFrom(l);
            long pre = (long) batch * hkv * prefill * d;
            DeviceBuffer kv = alloc(ctx, bufs, 2 * pre);
            RandomFill.fill(kv, pre, o.dtype, 21, 1f, s);
            decode.append(AppendArgs.builder().cache(cache).kv(kv.address(), kv.address()).batch(batch).tokens(prefill)
                    .table(tab.address(), maxBlocks, zero.address()).build(), s.handle());
            AppendArgs one = AppendArgs.builder().cache(cache).kv(kv.address(), kv.address()).batch(batch).tokens(1)
                    .kStrides((long) hkv * prefill * d, (long) prefill * d, d).vStrides((long) hkv * prefill * d, (long) prefill * d, d)
                    .table(tab.address(), maxBlocks, lens.address()).build();
            WarmUp.run(s, o.warmup, WARM_MS, n -> decode.append(one, s.handle()));
            int runs = Math.max(o.runs, 30);
            long[] host = {0};
            double ms = loopMs(ctx, s, runs, () -> {
                long h0 = System.nanoTime();
                decode.append(one, s.handle());
                host[0] += System.nanoTime() - h0;
            });
            lastAppendHostUs = host[0] / 1e3 / runs;
            lastAppendGpuUs = gpuOnlyMs(ctx, s, e0, e1, runs, () -> decode.append(one, s.handle())) * 1000;
            return ms * 1000.0;
        } finally {
            s.synchronize();
            for (DeviceBuffer b : bufs) b.close();
        }
    }
}
