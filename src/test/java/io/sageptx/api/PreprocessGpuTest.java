package io.sageptx.api;

import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sageptx.call.AttentionArgs;
import org.junit.jupiter.api.Test;

import io.sageptx.numerics.QuantizedAttentionModel;
import io.sageptx.kernels.attention.ScratchLayout;
import io.sageptx.runtime.Workspace;
import io.sageptx.spec.DType;
import io.sageptx.spec.KernelSpec;
import io.sageptx.spec.PvVariant;
import io.sageptx.testing.GpuTest;

/** The preprocessing kernels' outputs (K means, INT8 Q/K and their scales) against the CPU model. */
@GpuTest
class PreprocessGpuTest {

    @Test
    void quantizedTensorsMatchTheCpuModel() {
        int b = 1, h = 2, lq = 300, lk = 300, d = 128;
        AttentionInputs x = new AttentionInputs(5, b, h, h, lq, lk, d, DType.FP16);
        try (SageAttention att = SageAttention.onDevice(0)) {
            AttentionArgs shape = AttentionArgs.builder().batch(b).heads(h).seqLen(lq).headDim(d).pv(PvVariant.FP16).build();
            att.forwardHost(shape, x.q16, x.k16, x.v16, true);
            KernelSpec spec = att.specFor(shape);
            ScratchLayout l = new ScratchLayout(spec, b, h, h, lq, lk);
            Workspace w = att.workspace();
            float[] km = new float[b * h * d];
            w.kMean().copyTo(km);
            float[] kmRef = QuantizedAttentionModel.kMean(x.k, b, h, lk, d);
            double kmErr = 0;
            for (int i = 0; i < km.length; i++) kmErr = Math.max(kmErr, Math.abs(km[i] - kmRef[i]));
            System.out.println("kmean max err " + kmErr + " (gpu[0..3] " + km[0] + " " + km[1] + " " + km[2] + ", cpu " + kmRef[0] + " " + kmRef[1] + " " + kmRef[2] + ")");

            QuantizedAttentionModel.Int8Tensor kq = QuantizedAttentionModel.quantizeK(spec,
                    QuantizedAttentionModel.subtractKMean(x.k, kmRef, b, h, lk, d), b, h, lk);
            byte[] k8 = new byte[(int) l.k8Bytes()];
            w.k8().copyTo(k8);
            float[] ks = new float[(int) (l.kScaleBytes() / 4)];
            w.kScale().copyTo(ks);
            report("K", k8, kq, ks, l.lkPadded(), lk, d, b * h, l.kScalesPerHead(), 1f);

            QuantizedAttentionModel.Int8Tensor qq = QuantizedAttentionModel.quantizeQ(spec, x.q, b, h, lq);
            byte[] q8 = new byte[(int) l.q8Bytes()];
            w.q8().copyTo(q8);
            float[] qs = new float[(int) (l.qScaleBytes() / 4)];
            w.qScale().copyTo(qs);
            report("Q", q8, qq, qs, l.lqPadded(), lq, d, b * h, l.qScalesPerHead(), (float) (1 / Math.sqrt(d) / Math.log(2)));
        }
    }

    /** FP8 PV: V channel means and scales (absmax of V minus its mean / vmax) against the CPU model, V offset 10. */
    @Test
    void vMeansAndScalesMatchTheCpuModel() {
        int b = 2, h = 2, n = 333, d = 96;
        AttentionInputs x = new AttentionInputs(io.sageptx.numerics.InputFamilies.vChannelOffset(
                io.sageptx.numerics.RandomInputs.generate(6, b, h, h, n, n, d, DType.BF16), 10, 3));
        try (SageAttention att = SageAttention.onDevice(0)) {
            for (PvVariant pv : new PvVariant[] {PvVariant.FP8_F16ACC, PvVariant.FP8_F32ACC}) {
                if (!att.arch().hasFp8Mma()) return;
                AttentionArgs shape = AttentionArgs.builder().batch(b).heads(h).seqLen(n).headDim(d).dtype(DType.BF16)
                        .pv(pv).build();
                att.forwardHost(shape, x.q16, x.k16, x.v16, false);
                KernelSpec spec = att.specFor(shape);
                ScratchLayout l = new ScratchLayout(spec, b, h, h, n, n);
                float[] st = new float[(int) (l.vStatBytes() / 4)];
                att.workspace().vScale().copyTo(st);
                float[] mu = QuantizedAttentionModel.vMeans(spec, x.v, b, h, n);
                float[] vs = QuantizedAttentionModel.vScales(spec, x.v, b, h, n);
                double muErr = 0, vsErr = 0;
                for (int i = 0; i < mu.length; i++) {
                    muErr = Math.max(muErr, Math.abs(st[mu.length + i] - mu[i]));
                    vsErr = Math.max(vsErr, Math.abs(st[i] / vs[i] - 1));
                }
                System.out.println(pv.id() + ": V mean max abs err " + muErr + ", V scale max rel err " + vsErr);
                assertTrue(muErr < 1e-3, "V means");
                assertTrue(vsErr < 1e-3, "V scales");
            }
        }
    }

    private static void report(String name, byte[] gpu, QuantizedAttentionModel.Int8Tensor cpu, float[] gpuScales,
                               int lpad, int l, int d, int heads, int gpuPerHead, float factor) {
        int off1 = 0, off = 0;
        String first = null;
        for (int hh = 0; hh < heads; hh++) {
            for (int r = 0; r < l; r++) {
                for (int c = 0; c < d; c++) {
                    int g = gpu[(hh * lpad + r) * d + c];
                    int e = cpu.values()[(hh * l + r) * d + c];
                    if (g != e) {
                        off++;
                        if (Math.abs(g - e) > 1) {
                            off1++;
                            if (first == null) first = "h" + hh + " r" + r + " c" + c + " gpu " + g + " cpu " + e;
                        }
                    }
                }
            }
        }
        int n = Math.min(cpu.scales().length, gpuScales.length);
        double worst = 0;
        String sfirst = "";
        int cpuPerHead = cpu.scales().length / heads;   // the GPU pads every head to whole CTA tiles
        for (int i = 0; i < cpu.scales().length; i++) {
            int gi = i / cpuPerHead * gpuPerHead + i % cpuPerHead;
            double ratio = gpuScales[gi] / (cpu.scales()[i] * factor);
            if (Math.abs(ratio - 1) > worst) {
                worst = Math.abs(ratio - 1);
                sfirst = "scale " + i + " gpu " + gpuScales[gi] + " cpu*factor " + cpu.scales()[i] * factor;
            }
        }
        System.out.println(name + ": codes differing " + off + ", by more than 1: " + off1 + (first == null ? "" : " first " + first)
                + "; scales compared " + n + " (cpu " + cpu.scales().length + ", gpu " + gpuScales.length + "), worst ratio error " + worst + " " + sfirst);
        assertTrue(off1 == 0, name + " codes differ by more than 1");
        assertTrue(worst < 1e-4, name + " scales differ");
    }
}
