package io.sageptx.api;

import org.junit.jupiter.api.Test;

import io.sageptx.numerics.Half;
import io.sageptx.spec.Arch;
import io.sageptx.spec.DType;
import io.sageptx.spec.KernelSpec;
import io.sageptx.spec.MmaKind;
import io.sageptx.spec.PvVariant;
import io.sageptx.testing.GpuTest;

@GpuTest
class WgmmaDebugGpuTest {
    @Test
    void duplicated() {
        for (int d : new int[] {64, 128}) {
            try (SageAttention att = SageAttention.onDevice(0)) {
                AttentionInputs x = new AttentionInputs(5, 1, 1, 1, 64, 64, d, DType.FP16);
                short[] k2 = new short[2 * x.k16.length];
                short[] v2 = new short[2 * x.v16.length];
                short[] v2z = new short[2 * x.v16.length];
                System.arraycopy(x.k16, 0, k2, 0, x.k16.length);
                System.arraycopy(x.k16, 0, k2, x.k16.length, x.k16.length);
                System.arraycopy(x.v16, 0, v2, 0, x.v16.length);
                System.arraycopy(x.v16, 0, v2, x.v16.length, x.v16.length);
                System.arraycopy(x.v16, 0, v2z, 0, x.v16.length);
                for (MmaKind m : MmaKind.values()) {
                    KernelSpec s = KernelSpec.defaults(Arch.SM90, d, false, DType.FP16, DType.FP16).withPv(PvVariant.FP8_F32ACC).withMma(m);
                    AttentionArgs a1 = AttentionArgs.builder().batch(1).heads(1).lq(64).lk(64).headDim(d).dtype(DType.FP16).spec(s).build();
                    AttentionArgs a2 = AttentionArgs.builder().batch(1).heads(1).lq(64).lk(128).headDim(d).dtype(DType.FP16).spec(s).build();
                    float[] o1 = Half.decode(att.forwardHost(a1, x.q16, x.k16, x.v16, false).o(), DType.FP16);
                    float[] o2 = Half.decode(att.forwardHost(a2, x.q16, k2, v2, false).o(), DType.FP16);
                    byte[] k8 = new byte[(int) att.workspace().k8().bytes()];
                    att.workspace().k8().copyTo(k8);
                    int diffK = 0;
                    for (int i = 0; i < 64 * d; i++) if (k8[i] != k8[64 * d + i]) diffK++;
                    float[] o3 = Half.decode(att.forwardHost(a2, x.q16, k2, v2z, false).o(), DType.FP16);
                    double e12 = 0, e13 = 0;
                    for (int i = 0; i < o1.length; i++) {
                        e12 = Math.max(e12, Math.abs(o1[i] - o2[i]));
                        e13 = Math.max(e13, Math.abs(o1[i] * 0.5 - o3[i]));
                    }
                    System.out.printf("D=%d %s: |O(k,v) - O([k;k],[v;v])| = %.4f, |O/2 - O([k;k],[v;0])| = %.4f, K8 rows differing %d; o1[0..3]=%.3f %.3f %.3f %.3f o2=%.3f %.3f %.3f %.3f o3=%.3f %.3f%n",
                            d, m, e12, e13, diffK, o1[0], o1[1], o1[2], o1[3], o2[0], o2[1], o2[2], o2[3], o3[0], o3[1]);
                }
            }
        }
    }
}
