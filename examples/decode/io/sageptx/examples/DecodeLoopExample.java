package io.sageptx.examples;

import java.util.Arrays;
import java.util.Random;

import io.sageptx.api.Decode;
import io.sageptx.call.AppendArgs;
import io.sageptx.call.CausalMode;
import io.sageptx.call.DecodeArgs;
import io.sageptx.call.QuantizedKvCache;
import io.sageptx.cuda.CudaStream;
import io.sageptx.cuda.DeviceBuffer;
import io.sageptx.cuda.DeviceContext;
import io.sageptx.numerics.AttentionReference;
import io.sageptx.numerics.DecodeReference;
import io.sageptx.numerics.ErrorStats;
import io.sageptx.numerics.Half;
import io.sageptx.spec.DType;

/**
 * A toy decode loop over SagePTX's quantized paged KV cache, the way an LLM runtime would drive it: the
 * prompts of a batch of sequences are prefilled into the cache (one append of a ragged chunk), then 200
 * steps each append one token per sequence and decode one query row per sequence against the whole cache,
 * everything queued on one stream with no host synchronization (the lengths ping-pong between two device
 * arrays; the new K/V rows and queries of every step were uploaded before the loop). At the end the last
 * step's output is compared with FP64 attention over the original (unquantized) K/V.
 *
 * <pre>
 * run: java -cp target/classes:target/examples-decode:DEPS io.sageptx.examples.DecodeLoopExample [steps]
 * </pre>
 */
public final class DecodeLoopExample {

    public static void main(String[] args) {
        int steps = args.length > 0 ? Integer.parseInt(args[0]) : 200;
        int batch = 4, heads = 32, kvHeads = 8, d = 128, blockSize = 64;
        int[] prompt = {700, 1000, 37, 2000};
        DType t = DType.BF16;
        int maxLen = Arrays.stream(prompt).max().getAsInt() + steps;
        int maxBlocks = (maxLen + blockSize - 1) / blockSize;
        int numBlocks = batch * maxBlocks;

        // the model's K/V of every position and the queries of every step (random, K with a channel bias)
        Random r = new Random(42);
        float[] k = new float[batch * kvHeads * maxLen * d];
        float[] v = new float[k.length];
        for (int b = 0; b < batch; b++) {
            for (int h = 0; h < kvHeads; h++) {
                double[] bias = new double[d];
                for (int c = 0; c < d; c++) bias[c] = 2 * r.nextGaussian();
                for (int j = 0; j < maxLen; j++) {
                    for (int c = 0; c < d; c++) {
                        int i = ((b * kvHeads + h) * maxLen + j) * d + c;
                        k[i] = Half.round((float) (r.nextGaussian() + bias[c]), t);
                        v[i] = Half.round((float) r.nextGaussian(), t);
                    }
                }
            }
        }
        float[] q = new float[steps * batch * heads * d];
        for (int i = 0; i < q.length; i++) q[i] = Half.round((float) r.nextGaussian(), t);

        DeviceContext ctx = DeviceContext.of(0);
        try (Decode decode = Decode.of(ctx); CudaStream s = CudaStream.create(ctx);
             DeviceBuffer pool = DeviceBuffer.allocate(ctx, QuantizedKvCache.poolBytes(numBlocks, blockSize, kvHeads, d));
             DeviceBuffer table = DeviceBuffer.allocate(ctx, 4L * batch * maxBlocks);
             DeviceBuffer lensA = DeviceBuffer.allocate(ctx, 4L * batch);
             DeviceBuffer lensB = DeviceBuffer.allocate(ctx, 4L * batch);
             DeviceBuffer counts = DeviceBuffer.allocate(ctx, 4L * batch);
             DeviceBuffer flags = DeviceBuffer.allocate(ctx, 4L * batch);
             DeviceBuffer all = DeviceBuffer.allocate(ctx, 2L * batch * kvHeads * maxLen * d * 2);
             DeviceBuffer dq = DeviceBuffer.allocate(ctx, 2L * q.length);
             DeviceBuffer o = DeviceBuffer.allocate(ctx, 2L * batch * heads * d);
             DeviceBuffer stepRows = DeviceBuffer.allocate(ctx, 2L * steps * 2 * batch * kvHeads * d)) {
            QuantizedKvCache cache = new QuantizedKvCache(pool.address(), numBlocks, blockSize, kvHeads, d, t);
            // block table: sequence b owns blocks b, b + batch, b + 2 batch, ... (any assignment works)
            int[] tab = new int[batch * maxBlocks];
            for (int b = 0; b < batch; b++) for (int i = 0; i < maxBlocks; i++) tab[b * maxBlocks + i] = i * batch + b;
            table.copyFrom(tab);
            lensA.fill32(0);
            counts.copyFrom(prompt);
            flags.fill32(0);
            // K then V of every position, [B][Hkv][maxLen][D] each: the "model" writes these as it runs
            short[] kv16 = new short[2 * k.length];
            System.arraycopy(Half.encode(k, t), 0, kv16, 0, k.length);
            System.arraycopy(Half.encode(v, t), 0, kv16, k.length, v.length);
            all.copyFrom(kv16);
            dq.copyFrom(Half.encode(q, t));
            long kBase = all.address();
            long vBase = all.address() + 2L * k.length;
            long sb = (long) kvHeads * maxLen * d;
            long sh = (long) maxLen * d;

            // each step's new rows as the model would produce them: [steps][K, V][B][Hkv][D]
            short[] sr = new short[steps * 2 * batch * kvHeads * d];
            for (int step = 0; step < steps; step++) {
                for (int b = 0; b < batch; b++) {
                    for (int h = 0; h < kvHeads; h++) {
                        int src = ((b * kvHeads + h) * maxLen + prompt[b] + step) * d;
                        int dk = ((step * 2) * batch * kvHeads + b * kvHeads + h) * d;
                        int dv = ((step * 2 + 1) * batch * kvHeads + b * kvHeads + h) * d;
                        for (int c = 0; c < d; c++) {
                            sr[dk + c] = Half.encode(k[src + c], t);
                            sr[dv + c] = Half.encode(v[src + c], t);
                        }
                    }
                }
            }
            stepRows.copyFrom(sr);

            // prefill: every prompt in one append (ragged counts); positions from lensA, lengths after into lensB
            int n = Arrays.stream(prompt).max().getAsInt();
            decode.append(AppendArgs.builder().cache(cache).kv(kBase, vBase).kStrides(sb, sh, d).vStrides(sb, sh, d).batch(batch)
                    .tokens(n).counts(counts.address()).table(table.address(), maxBlocks, lensA.address())
                    .seqLensOut(lensB.address()).flags(flags.address()).build(), s.handle());
            DeviceBuffer cur = lensB;
            DeviceBuffer next = lensA;
            int[] host = prompt.clone();
            long workspace = 0;
            long bytes = 0;
            DeviceBuffer ws = null;
            for (int step = 0; step < steps; step++) {
                // the step's new rows: a [B, Hkv, 1, D] tensor (here prepared before the loop), at positions lens[b]
                long rows = stepRows.address() + 2L * step * 2 * batch * kvHeads * d;
                decode.append(AppendArgs.builder().cache(cache).kv(rows, rows + 2L * batch * kvHeads * d).batch(batch).tokens(1)
                        .table(table.address(), maxBlocks, cur.address()).seqLensOut(next.address()).flags(flags.address())
                        .build(), s.handle());
                DeviceBuffer tmp = cur;
                cur = next;
                next = tmp;
                for (int b = 0; b < batch; b++) host[b]++;
                // decode one query row per sequence against its whole cache (lengths read on the GPU)
                DecodeArgs a = DecodeArgs.builder().q(dq.address() + 2L * step * batch * heads * d).o(o.address()).batch(batch)
                        .heads(heads).kvHeads(kvHeads).lq(1).headDim(d).dtype(t).causal(CausalMode.NONE).flags(flags.address())
                        .quantized(cache, table.address(), maxBlocks, cur.address()).maxSeqLen(maxLen).build();
                long need = decode.workspaceBytes(a);
                if (need > bytes) {   // grows a few times early on, then never (no allocation in the steady state)
                    s.synchronize();
                    if (ws != null) ws.close();
                    ws = DeviceBuffer.allocate(ctx, need);
                    workspace = ws.address();
                    bytes = need;
                }
                decode.forward(a, s.handle(), workspace, bytes);
            }
            s.synchronize();
            if (ws != null) ws.close();
            int[] f = new int[batch];
            flags.copyTo(f);
            int[] lens = new int[batch];
            cur.copyTo(lens);
            short[] out = new short[batch * heads * d];
            o.copyTo(out);
            float[] qLast = Arrays.copyOfRange(q, (steps - 1) * batch * heads * d, steps * batch * heads * d);
            AttentionReference.Result ref = DecodeReference.compute(qLast, k, v, host, batch, heads, kvHeads, 1, maxLen, d,
                    1 / Math.sqrt(d), DecodeReference.Mask.NONE);
            ErrorStats e = ErrorStats.of(Half.decode(out, t), ref.o());
            System.out.println("lengths after " + steps + " steps: " + Arrays.toString(lens) + " (expected "
                    + Arrays.toString(host) + "), flags " + Arrays.toString(f));
            System.out.println("last step vs FP64 over the unquantized K/V: " + e);
            boolean ok = Arrays.equals(lens, host) && Arrays.stream(f).allMatch(x -> x == 0) && e.nonFinite() == 0
                    && e.cosine() >= 0.999 && e.relL1() <= 0.045;
            System.out.println(ok ? "OK: within the FP8 bars (cos >= 0.999, rel L1 <= 0.045)" : "FAILED");
            if (!ok) System.exit(1);
        }
    }

}
