package io.sageptx.examples;

import jcuda.Pointer;
import jcuda.driver.CUcontext;
import jcuda.driver.CUdevice;
import jcuda.driver.CUdeviceptr;
import jcuda.driver.CUstream;
import jcuda.driver.CUstream_flags;
import jcuda.driver.JCudaDriver;

import io.sageptx.call.AttentionArgs;
import io.sageptx.api.LseMerge;
import io.sageptx.call.MergeArgs;
import io.sageptx.api.SageAttention;
import io.sageptx.numerics.AttentionReference;
import io.sageptx.numerics.ErrorStats;
import io.sageptx.numerics.Half;
import io.sageptx.spec.DType;
import io.sageptx.spec.UnsupportedDeviceException;

/**
 * SagePTX embedded the way a JVM ML framework would use it: the framework owns the device (its primary
 * context, made current on its thread), its stream, and device tensors it allocated with cuMemAlloc;
 * SagePTX runs on them with no copies. Shows grouped-query attention with several heads and the LSE, a
 * caller-supplied workspace, JCuda pointers, a ring-attention style split of the keys merged by LSE,
 * a varlen batch packed with cu_seqlens, and the errors a bad call gets. Build and run: {@code tools/example build && tools/example run}.
 */
public final class EmbeddingExample {

    static void check(int result, String what) {
        if (result != 0) throw new IllegalStateException(what + " failed: CUresult " + result);
    }

    public static void main(String[] args) {
        int b = 2, h = 8, hkv = 2, l = 512, d = 128;
        DType t = DType.BF16;

        // ---- the framework's side: device 0's primary context current on this thread, its own stream
        JCudaDriver.setExceptionsEnabled(false);
        check(JCudaDriver.cuInit(0), "cuInit");
        CUdevice dev = new CUdevice();
        check(JCudaDriver.cuDeviceGet(dev, 0), "cuDeviceGet");
        CUcontext primary = new CUcontext();
        check(JCudaDriver.cuDevicePrimaryCtxRetain(primary, dev), "cuDevicePrimaryCtxRetain");
        check(JCudaDriver.cuCtxSetCurrent(primary), "cuCtxSetCurrent");
        CUstream stream = new CUstream();
        check(JCudaDriver.cuStreamCreate(stream, CUstream_flags.CU_STREAM_NON_BLOCKING), "cuStreamCreate");

        // ---- its tensors: Q [B, H, L, D], K and V [B, Hkv, L, D] (GQA: 4 query heads per KV head)
        java.util.Random rnd = new java.util.Random(42);
        float[] q = gaussian(rnd, b * h * l * d, 0), k = gaussian(rnd, b * hkv * l * d, 1), v = gaussian(rnd, b * hkv * l * d, 0);
        short[] q16 = Half.encode(q, t), k16 = Half.encode(k, t), v16 = Half.encode(v, t);
        CUdeviceptr dq = upload(q16), dk = upload(k16), dv = upload(v16);
        CUdeviceptr dO = alloc(2L * q.length), dLse = alloc(4L * b * h * l);

        try (SageAttention att = SageAttention.forCurrentContext()) {
            LseMerge merge = LseMerge.of(att.context());
            System.out.println("SagePTX on " + att.context() + ", generating for " + att.arch().target());

            // ---- one call, JCuda pointers, the framework's stream, a workspace the framework allocated
            AttentionArgs call = AttentionArgs.builder().q(dq).k(dk).v(dv).o(dO).lse(dLse)
                    .batch(b).heads(h).kvHeads(hkv).seqLen(l).headDim(d).dtype(t).causal(true).build();
            long wsBytes = att.workspaceBytes(call);
            CUdeviceptr ws = alloc(wsBytes);
            att.forward(call, stream, address(ws), wsBytes);  // queued; no host synchronization
            System.out.println("workspace: " + wsBytes + " bytes of the caller's memory");

            // ---- ring attention, non-causal: each "device" holds half of the keys; merge the halves by LSE
            int half = l / 2;
            CUdeviceptr[] ko = {alloc(2L * b * hkv * half * d), alloc(2L * b * hkv * half * d)};
            CUdeviceptr[] vo = {alloc(2L * b * hkv * half * d), alloc(2L * b * hkv * half * d)};
            CUdeviceptr[] po = {alloc(2L * q.length), alloc(2L * q.length)};
            CUdeviceptr[] pl = {alloc(4L * b * h * l), alloc(4L * b * h * l)};
            MergeArgs.Builder mb = MergeArgs.builder().batch(b).heads(h).seqLen(l).headDim(d).dtype(t);
            for (int p = 0; p < 2; p++) {
                copy(ko[p], slice(k16, b * hkv, l, d, p * half, (p + 1) * half));
                copy(vo[p], slice(v16, b * hkv, l, d, p * half, (p + 1) * half));
                att.forward(AttentionArgs.builder().q(dq).k(ko[p]).v(vo[p]).o(po[p]).lse(pl[p]).batch(b).heads(h)
                        .kvHeads(hkv).lq(l).lk(half).headDim(d).dtype(t).build(), stream); // the instance's workspace
                mb.part(po[p], pl[p]);
            }
            CUdeviceptr mo = alloc(2L * q.length), ml = alloc(4L * b * h * l);
            merge.merge(mb.out(mo, ml).build(), stream);

            // ---- a varlen batch: sequences of lengths {1, 7, 64, 1000} packed along the tokens, [total, H, D]
            // (FlashAttention's layout), with int32 cu_seqlens offsets on the device; causal, top-left
            int[] lens = {1, 7, 64, 1000};
            int[] cu = new int[lens.length + 1];
            for (int i = 0; i < lens.length; i++) cu[i + 1] = cu[i] + lens[i];
            int total = cu[lens.length], maxLen = 1000;
            float[] vq = gaussian(rnd, total * h * d, 0), vk = gaussian(rnd, total * hkv * d, 1), vv = gaussian(rnd, total * hkv * d, 0);
            short[] vq16 = Half.encode(vq, t), vk16 = Half.encode(vk, t), vv16 = Half.encode(vv, t);
            CUdeviceptr pq = upload(vq16), pk = upload(vk16), pv = upload(vv16), pO = alloc(2L * vq.length);
            CUdeviceptr dCu = alloc(4L * cu.length);
            check(JCudaDriver.cuMemcpyHtoD(dCu, Pointer.to(cu), 4L * cu.length), "cuMemcpyHtoD");
            att.forward(AttentionArgs.builder().q(pq).k(pk).v(pv).o(pO).batch(lens.length).heads(h).kvHeads(hkv)
                    .headDim(d).dtype(t).varlen(address(dCu), address(dCu), maxLen, maxLen).causal(true).build(), stream);

            check(JCudaDriver.cuStreamSynchronize(stream), "cuStreamSynchronize");
            short[] o16 = new short[q.length];
            check(JCudaDriver.cuMemcpyDtoH(Pointer.to(o16), dO, 2L * q.length), "cuMemcpyDtoH");
            short[] m16 = new short[q.length];
            check(JCudaDriver.cuMemcpyDtoH(Pointer.to(m16), mo, 2L * q.length), "cuMemcpyDtoH");
            float[] qf = Half.decode(q16, t), kf = Half.decode(k16, t), vf = Half.decode(v16, t);
            double scale = 1 / Math.sqrt(d);
            ErrorStats causal = ErrorStats.of(Half.decode(o16, t),
                    AttentionReference.compute(qf, kf, vf, b, h, hkv, l, l, d, scale, true).o());
            ErrorStats ring = ErrorStats.of(Half.decode(m16, t),
                    AttentionReference.compute(qf, kf, vf, b, h, hkv, l, l, d, scale, false).o());
            System.out.println("causal GQA " + b + "x" + h + "/" + hkv + "x" + l + "x" + d + " vs FP64: " + causal);
            System.out.println("2 key halves merged by LSE vs FP64 over all keys: " + ring);
            short[] pO16 = new short[vq.length];
            check(JCudaDriver.cuMemcpyDtoH(Pointer.to(pO16), pO, 2L * vq.length), "cuMemcpyDtoH");
            float[] po32 = Half.decode(pO16, t), pq32 = Half.decode(vq16, t), pk32 = Half.decode(vk16, t), pv32 = Half.decode(vv16, t);
            double worstVarlen = 0;
            boolean varlenFinite = true;
            for (int i = 0; i < lens.length; i++) {   // each sequence against FP64, in [1, H, L, D] order
                double[] ref = AttentionReference.compute(heads(pq32, cu[i], lens[i], h, d), heads(pk32, cu[i], lens[i], hkv, d),
                        heads(pv32, cu[i], lens[i], hkv, d), 1, h, hkv, lens[i], lens[i], d, scale, true).o();
                ErrorStats e = ErrorStats.of(heads(po32, cu[i], lens[i], h, d), ref);
                worstVarlen = Math.max(worstVarlen, e.relL1());
                varlenFinite &= e.nonFinite() == 0;
                System.out.println("varlen sequence " + i + " (length " + lens[i] + ") vs FP64: " + e);
            }

            // ---- errors: refused before anything is launched, naming the argument
            try {
                att.forward(AttentionArgs.builder().q(dq).k(dk).v(dv).o(dO).heads(6).kvHeads(4).seqLen(l).headDim(d)
                        .build(), stream);
            } catch (UnsupportedDeviceException e) {
                System.out.println("device refused: " + e.getMessage());
            } catch (IllegalArgumentException e) {
                System.out.println("bad call refused: " + e.getMessage());
            }
            for (CUdeviceptr p : new CUdeviceptr[] {ws, ko[0], ko[1], vo[0], vo[1], po[0], po[1], pl[0], pl[1], mo, ml,
                    pq, pk, pv, pO, dCu}) {
                check(JCudaDriver.cuMemFree(p), "cuMemFree");
            }
            boolean ok = causal.relL1() <= 0.045 && ring.relL1() <= 0.045 && causal.nonFinite() == 0 && ring.nonFinite() == 0
                    && worstVarlen <= 0.045 && varlenFinite;
            System.out.println(ok ? "example OK" : "example FAILED");
            if (!ok) System.exit(1);
        } finally {
            for (CUdeviceptr p : new CUdeviceptr[] {dq, dk, dv, dO, dLse}) JCudaDriver.cuMemFree(p);
            JCudaDriver.cuStreamDestroy(stream);
            JCudaDriver.cuDevicePrimaryCtxRelease(dev);
        }
    }

    static long address(CUdeviceptr p) {
        return io.sageptx.cuda.DeviceBuffer.addressOf(p);
    }

    static float[] gaussian(java.util.Random r, int n, double bias) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) a[i] = (float) (r.nextGaussian() + bias);
        return a;
    }

    static CUdeviceptr alloc(long bytes) {
        CUdeviceptr p = new CUdeviceptr();
        check(JCudaDriver.cuMemAlloc(p, bytes), "cuMemAlloc(" + bytes + ")");
        return p;
    }

    static CUdeviceptr upload(short[] a) {
        CUdeviceptr p = alloc(2L * a.length);
        copy(p, a);
        return p;
    }

    static void copy(CUdeviceptr p, short[] a) {
        check(JCudaDriver.cuMemcpyHtoD(p, Pointer.to(a), 2L * a.length), "cuMemcpyHtoD");
    }

    /** Tokens [start, start + len) of a packed [total][heads][d] tensor, as [heads][len][d]. */
    static float[] heads(float[] packed, int start, int len, int heads, int d) {
        float[] out = new float[heads * len * d];
        for (int tok = 0; tok < len; tok++) {
            for (int hh = 0; hh < heads; hh++) {
                System.arraycopy(packed, ((start + tok) * heads + hh) * d, out, (hh * len + tok) * d, d);
            }
        }
        return out;
    }

    /** Keys [from, to) of every head of a [heads][l][d] tensor. */
    static short[] slice(short[] a, int heads, int l, int d, int from, int to) {
        int n = to - from;
        short[] s = new short[heads * n * d];
        for (int hh = 0; hh < heads; hh++) System.arraycopy(a, (hh * l + from) * d, s, hh * n * d, n * d);
        return s;
    }
}
