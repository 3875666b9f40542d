package io.sageptx.kernels.decode;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.HashMap;
import java.util.Random;

import org.junit.jupiter.api.Test;

import io.sageptx.call.AppendArgs;
import io.sageptx.call.QuantizedKvCache;
import io.sageptx.numerics.Half;
import io.sageptx.numerics.QuantKvLayout;
import io.sageptx.numerics.QuantizedKvCacheModel;
import io.sageptx.runtime.DecodeRunner;
import io.sageptx.spec.Arch;
import io.sageptx.spec.DType;
import io.sageptx.testing.PtxEmulator;

/**
 * The append kernel, run by the PTX emulator, writes the same pool bytes as {@link QuantizedKvCacheModel}:
 * chunks spanning blocks at unaligned positions, one-token appends that open blocks (inherited means),
 * V channels that grow (earlier codes rescaled), ragged counts (padding tokens never read), and bad device
 * data (nothing written, flag set).
 */
class AppendEmulationTest {

    static final class Sim {
        final int batch, hkv, d, bs, numBlocks, maxBlocks;
        final DType t;
        final PtxEmulator.Memory mem = new PtxEmulator.Memory();
        final QuantizedKvCacheModel model;
        final int[][] tables;
        final long pool;
        final long table;
        final int[] lens;
        final Random r = new Random(5);

        Sim(int batch, int hkv, int d, int bs, int maxBlocks, DType t) {
            this.batch = batch;
            this.hkv = hkv;
            this.d = d;
            this.bs = bs;
            this.t = t;
            this.maxBlocks = maxBlocks;
            this.numBlocks = batch * maxBlocks + 2;
            this.model = new QuantizedKvCacheModel(numBlocks, bs, hkv, d);
            this.pool = mem.fill(QuantKvLayout.poolBytes(numBlocks, bs, hkv, d), 0xFF);
            this.tables = new int[batch][maxBlocks];
            int[] flat = new int[batch * maxBlocks];
            for (int b = 0; b < batch; b++) {
                for (int i = 0; i < maxBlocks; i++) {
                    tables[b][i] = (b * maxBlocks + i) * 5 % numBlocks;
                    flat[b * maxBlocks + i] = tables[b][i];
                }
            }
            this.table = mem.put(flat);
            this.lens = new int[batch];
        }

        /** Appends counts[b] tokens per sequence (n = max count); V magnitudes scaled by vGrow^step. */
        int[] append(int[] counts, double vMag, int[] devLens, int[] devTable) {
            int n = 0;
            for (int c : counts) n = Math.max(n, c);
            float[] k = new float[batch * hkv * n * d];
            float[] v = new float[k.length];
            short[] k16 = new short[k.length];
            short[] v16 = new short[k.length];
            java.util.Arrays.fill(k16, (short) 0xFFFF);   // padding tokens: NaN, must not be read
            java.util.Arrays.fill(v16, (short) 0xFFFF);
            for (int b = 0; b < batch; b++) {
                for (int h = 0; h < hkv; h++) {
                    for (int x = 0; x < counts[b]; x++) {
                        for (int c = 0; c < d; c++) {
                            int i = ((b * hkv + h) * n + x) * d + c;
                            k[i] = Half.round((float) (r.nextGaussian() + 3 * Math.sin(c)), t);
                            v[i] = Half.round((float) (r.nextGaussian() * vMag * (1 + c % 5)), t);
                            k16[i] = Half.encode(k[i], t);
                            v16[i] = Half.encode(v[i], t);
                        }
                    }
                }
            }
            long dk = mem.put(k16);
            long dv = mem.put(v16);
            long dLens = mem.put(devLens != null ? devLens : lens.clone());
            long dOut = mem.put(new int[batch]);
            long dCounts = mem.put(counts);
            long dFlags = mem.put(new int[batch]);
            long tab = devTable != null ? mem.put(devTable) : table;
            AppendArgs a = AppendArgs.builder().cache(new QuantizedKvCache(pool, numBlocks, bs, hkv, d, t)).kv(dk, dv).batch(batch)
                    .tokens(n).counts(dCounts).table(tab, maxBlocks, dLens).seqLensOut(dOut).flags(dFlags).build();
            DecodeRunner.Step<DecodeKernels.Append> s = DecodeRunner.planAppend(a, Arch.SM80);
            var l = s.launch();
            PtxEmulator.launch(DecodeHarness.module(s.module()).get(s.kernel().name()), l.gridX(), l.gridY(), l.gridZ(), l.threads(),
                    l.sharedBytes(), mem, new HashMap<>(s.args().bound()));
            int[] flags = mem.ints(dFlags, batch);
            int[] out = mem.ints(dOut, batch);
            for (int b = 0; b < batch; b++) {
                if (flags[b] != 0) continue;
                float[] kb = new float[hkv * counts[b] * d];
                float[] vb = new float[kb.length];
                for (int h = 0; h < hkv; h++) {
                    for (int x = 0; x < counts[b]; x++) {
                        System.arraycopy(k, ((b * hkv + h) * n + x) * d, kb, (h * counts[b] + x) * d, d);
                        System.arraycopy(v, ((b * hkv + h) * n + x) * d, vb, (h * counts[b] + x) * d, d);
                    }
                }
                model.append(tables[b], lens[b], counts[b], kb, vb);
                assertEquals(lens[b] + counts[b], out[b], "lens out " + b);
                lens[b] += counts[b];
            }
            return flags;
        }

        void assertSamePool(String when) {
            byte[] got = mem.bytes(pool, model.pool().length);
            byte[] want = model.pool();
            int written = 0;
            for (byte x : want) if (x != (byte) 0xFF) written++;
            org.junit.jupiter.api.Assertions.assertTrue(written > 1000, when + ": the model wrote only " + written + " bytes");
            for (int i = 0; i < want.length; i++) {
                if (got[i] != want[i]) {
                    long head = QuantKvLayout.headBytes(bs, d);
                    long off = i % head;
                    throw new AssertionError(when + ": pool byte " + i + " (block-head " + i / head + ", offset " + off
                            + " of " + head + ") is " + (got[i] & 0xff) + ", the model says " + (want[i] & 0xff));
                }
            }
        }
    }

    @Test
    void appendsMatchTheModelByteForByte() {
        for (Object[] cfg : new Object[][] {{64, DType.FP16, 16}, {48, DType.BF16, 32}, {160, DType.FP16, 16}}) {
            int d = (Integer) cfg[0];
            Sim s = new Sim(3, 2, d, (Integer) cfg[2], 12, (DType) cfg[1]);
            s.append(new int[] {20, 5, 1}, 1, null, null);          // a chunk over two blocks, a short one, one token
            s.assertSamePool("d" + d + " call 1");
            for (int step = 0; step < 20; step++) s.append(new int[] {1, 1, 1}, 1 + step, null, null);  // growing V
            s.assertSamePool("d" + d + " one-token appends");
            s.append(new int[] {37, 0, 3}, 2, null, null);          // unaligned chunk, nothing, few tokens
            s.append(new int[] {2, 40, 16}, 0.5, null, null);
            s.assertSamePool("d" + d + " ragged chunks");
        }
    }

    @Test
    void badPositionsAndBlocksWriteNothingAndFlag() {
        Sim s = new Sim(3, 1, 64, 16, 4, DType.FP16);
        s.append(new int[] {10, 10, 10}, 1, null, null);
        byte[] before = s.mem.bytes(s.pool, s.model.pool().length);
        // sequence 0: negative position; sequence 1: past the table's capacity; sequence 2 fine
        int[] flags = s.append(new int[] {4, 60, 4}, 1, new int[] {-2, 10, 10}, null);
        assertArrayEquals(new int[] {1, 1, 0}, flags);
        s.assertSamePool("after bad positions");
        // a block index out of range for sequence 2's next block: the tokens there are not written
        int[] tab = new int[3 * 4];
        for (int b = 0; b < 3; b++) for (int i = 0; i < 4; i++) tab[b * 4 + i] = s.tables[b][i];
        tab[2 * 4 + 1] = 999;
        byte[] mid = s.mem.bytes(s.pool, s.model.pool().length);
        int[] f2 = s.append(new int[] {0, 0, 10}, 1, new int[] {10, 10, 14}, tab);
        assertArrayEquals(new int[] {0, 0, 1}, f2);
        assertEquals(before.length, mid.length);
    }

    /**
     * The one-token kernel (tokens = 1, append1.stg): from an empty cache (the first block's mean from the
     * token, later blocks inheriting), V channels that grow by small and large factors (earlier codes shifted,
     * down to e4m3 subnormals and zero) and shrink, sequences that skip a step, one and two channel slots per
     * lane (D = 48 .. 256), block sizes 16 .. 128, fp16 and bf16.
     */
    @Test
    void oneTokenAppendsMatchTheModelByteForByte() {
        for (Object[] cfg : new Object[][] {{64, DType.FP16, 16, 40}, {48, DType.BF16, 32, 70}, {160, DType.FP16, 16, 36},
                {256, DType.BF16, 64, 80}, {128, DType.FP16, 128, 140}}) {
            int d = (Integer) cfg[0];
            int bs = (Integer) cfg[2];
            int steps = (Integer) cfg[3];
            Sim s = new Sim(3, 2, d, bs, (steps + bs - 1) / bs + 1, (DType) cfg[1]);
            Random r = new Random(d + bs);
            for (int step = 0; step < steps; step++) {
                int[] counts = {1, step % 7 == 3 ? 0 : 1, 1};
                double mag = step % 11 == 5 ? Math.pow(2, 3 + r.nextInt(12)) : step % 5 == 2 ? 0.01 : 1 + r.nextInt(4);
                s.append(counts, mag, null, null);
            }
            s.assertSamePool("one-token d" + d + " bs" + bs);
        }
    }

    @Test
    void oneTokenBadPositionsAndBlocksWriteNothingAndFlag() {
        Sim s = new Sim(4, 2, 64, 16, 4, DType.FP16);
        for (int i = 0; i < 17; i++) s.append(new int[] {1, 1, 1, 1}, 1, null, null);
        s.assertSamePool("before");
        byte[] before = s.mem.bytes(s.pool, s.model.pool().length);
        // a negative position, one at the capacity; the others as they are (lengths 17: block 1, slot 1)
        int[] flags = s.append(new int[] {1, 1, 1, 1}, 1, new int[] {-1, 64, 17, 17}, null);
        assertArrayEquals(new int[] {1, 1, 0, 0}, flags);
        s.assertSamePool("after bad positions");
        // sequence 2's block 2 out of range; sequence 3 opens block 2 whose previous block index is out of range
        for (int i = 0; i < 15; i++) s.append(new int[] {0, 0, 1, 1}, 1, null, null);
        s.assertSamePool("sequences 2, 3 at 32");
        int[] tab = new int[4 * 4];
        for (int b = 0; b < 4; b++) for (int i = 0; i < 4; i++) tab[b * 4 + i] = s.tables[b][i];
        tab[2 * 4 + 2] = 999;
        tab[3 * 4 + 1] = -3;
        byte[] mid = s.mem.bytes(s.pool, s.model.pool().length);
        int blk2 = s.tables[2][2];
        long head = QuantKvLayout.headBytes(16, 64);
        int[] f2 = s.append(new int[] {0, 0, 1, 1}, 1, new int[] {17, 17, 32, 32}, tab);
        assertArrayEquals(new int[] {0, 0, 1, 1}, f2);
        byte[] after = s.mem.bytes(s.pool, s.model.pool().length);
        for (int h = 0; h < 2; h++) {
            for (long o = 0; o < head; o++) {
                int i = (int) ((blk2 * 2L + h) * head + o);
                assertEquals(mid[i], after[i], "sequence 2's block is not written");
            }
        }
        assertEquals(before.length, after.length);
    }
}
