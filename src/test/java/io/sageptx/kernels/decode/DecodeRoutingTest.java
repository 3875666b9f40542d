package io.sageptx.kernels.decode;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashMap;

import org.junit.jupiter.api.Test;

import io.sageptx.call.AttentionArgs;
import io.sageptx.call.CausalMode;
import io.sageptx.call.DecodeArgs;
import io.sageptx.call.TensorLayout;
import io.sageptx.numerics.AttentionReference;
import io.sageptx.numerics.DecodeReference;
import io.sageptx.numerics.ErrorStats;
import io.sageptx.numerics.Half;
import io.sageptx.runtime.DecodeRunner;
import io.sageptx.spec.Arch;
import io.sageptx.spec.DType;
import io.sageptx.spec.PvVariant;
import io.sageptx.testing.PtxEmulator;

/** Which attention calls SageAttention.forward routes to the decode kernels, and that a routed call computes the same thing. */
class DecodeRoutingTest {

    static AttentionArgs.Builder ok() {
        return AttentionArgs.builder().q(0x10000).k(0x20000).v(0x30000).o(0x40000).batch(2).heads(8).kvHeads(2).lq(1).lk(4096)
                .headDim(128).dtype(DType.FP16);
    }

    @Test
    void clearDecodeCasesAreRoutedOthersAreNot() {
        assertNotNull(DecodeRunner.fromAttention(ok().build()));
        assertNotNull(DecodeRunner.fromAttention(ok().lq(16).causal(CausalMode.BOTTOM_RIGHT).layout(TensorLayout.BLHD).build()));
        assertNull(DecodeRunner.fromAttention(ok().lq(17).build()), "Lq above the decode limit");
        assertNull(DecodeRunner.fromAttention(ok().lk(32).build()), "short key sequence");
        assertNull(DecodeRunner.fromAttention(ok().pv(PvVariant.FP16).build()), "a PV variant asked for");
        assertNull(DecodeRunner.fromAttention(ok().inType(DType.FP16).outType(DType.BF16).build()), "output dtype differs");
        assertNull(DecodeRunner.fromAttention(ok().varlen(0x60000, 0x70000, 4, 4096).build()), "varlen");
        assertNull(DecodeRunner.fromAttention(ok().oStrides(8L * 128 * 130, 130, 8L * 130).build()), "O strides of 2 elements");
        DecodeArgs d = DecodeRunner.fromAttention(ok().lq(4).causal(CausalMode.TOP_LEFT).smScale(0.3f).lse(0x50000).build());
        assertEquals(CausalMode.TOP_LEFT, d.causal());
        assertEquals(0.3f, d.smScale());
        assertEquals(0x50000, d.lse());
        assertEquals(DecodeArgs.Cache.DENSE, d.cache());
        assertEquals(4096, d.lk());
    }

    /** A BLHD bottom-right causal attention call, converted and run by the emulator, equals FP64. */
    @Test
    void aRoutedCallComputesTheAttentionCall() {
        int b = 2, h = 4, hkv = 2, lq = 3, lk = 600, d = 64;
        DType t = DType.BF16;
        java.util.Random r = new java.util.Random(3);
        float[] q = new float[b * lq * h * d];      // BLHD
        float[] k = new float[b * lk * hkv * d];
        float[] v = new float[k.length];
        for (int i = 0; i < q.length; i++) q[i] = Half.round((float) r.nextGaussian(), t);
        for (int i = 0; i < k.length; i++) {
            k[i] = Half.round((float) r.nextGaussian() + 2, t);
            v[i] = Half.round((float) r.nextGaussian(), t);
        }
        PtxEmulator.Memory mem = new PtxEmulator.Memory();
        long dq = mem.put(Half.encode(q, t));
        long dk = mem.put(Half.encode(k, t));
        long dv = mem.put(Half.encode(v, t));
        long dO = mem.fill(2L * q.length, 0xFF);
        long dl = mem.fill(4L * b * h * lq, 0xFF);
        AttentionArgs a = AttentionArgs.builder().q(dq).k(dk).v(dv).o(dO).lse(dl).batch(b).heads(h).kvHeads(hkv).lq(lq).lk(lk)
                .headDim(d).dtype(t).causal(CausalMode.BOTTOM_RIGHT).layout(TensorLayout.BLHD).build();
        DecodeArgs da = DecodeRunner.fromAttention(a);
        DecodeRunner.Device dev = new DecodeRunner.Device(Arch.SM90, 132, 228 * 1024);
        long ws = DecodeRunner.workspaceBytes(da, dev);
        assertTrue(ws > 0, "a small batch is split");
        DecodeHarness.execute(DecodeRunner.plan(da, dev, mem.fill(ws, 0xFF), ws), mem);
        // reference in BHLD
        float[] qb = new float[q.length];
        float[] kb = new float[k.length];
        float[] vb = new float[k.length];
        for (int x = 0; x < b; x++) {
            for (int hh = 0; hh < h; hh++) {
                for (int i = 0; i < lq; i++) System.arraycopy(q, ((x * lq + i) * h + hh) * d, qb, ((x * h + hh) * lq + i) * d, d);
            }
            for (int hh = 0; hh < hkv; hh++) {
                for (int j = 0; j < lk; j++) {
                    System.arraycopy(k, ((x * lk + j) * hkv + hh) * d, kb, ((x * hkv + hh) * lk + j) * d, d);
                    System.arraycopy(v, ((x * lk + j) * hkv + hh) * d, vb, ((x * hkv + hh) * lk + j) * d, d);
                }
            }
        }
        AttentionReference.Result ref = DecodeReference.compute(qb, kb, vb, new int[] {lk, lk}, b, h, hkv, lq, lk, d,
                1 / Math.sqrt(d), DecodeReference.Mask.BOTTOM_RIGHT);
        float[] o = Half.decode(mem.shorts(dO, q.length), t);
        float[] ob = new float[o.length];
        for (int x = 0; x < b; x++) {
            for (int hh = 0; hh < h; hh++) {
                for (int i = 0; i < lq; i++) System.arraycopy(o, ((x * lq + i) * h + hh) * d, ob, ((x * h + hh) * lq + i) * d, d);
            }
        }
        ErrorStats e = ErrorStats.of(ob, ref.o());
        assertTrue(e.relL1() < 1e-2 && e.nonFinite() == 0, e.toString());
        float[] lse = mem.floats(dl, b * h * lq);
        for (int i = 0; i < lse.length; i++) assertEquals(ref.lse()[i], lse[i], 1e-3);
    }
}
