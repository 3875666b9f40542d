package io.sageptx.kernels.preprocess;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.stream.Stream;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import io.sageptx.call.AttentionArgs;
import io.sageptx.kernels.AttentionFamilies;
import io.sageptx.kernels.attention.ScratchLayout;
import io.sageptx.numerics.QuantizedAttentionModel;
import io.sageptx.numerics.RandomInputs;
import io.sageptx.spec.Arch;
import io.sageptx.spec.DType;
import io.sageptx.spec.KernelSpec;
import io.sageptx.spec.QkPrecision;
import io.sageptx.runtime.AttentionLaunches;
import io.sageptx.testing.EmulatedLaunches;
import io.sageptx.testing.PtxEmulator;

/**
 * The row-quantization kernels (INT8 Q, INT8 smoothed K; `quantRows` in templates/preprocess) run on the PTX
 * emulator against the CPU model, without a GPU: codes within 1 of the model's (the kernel multiplies by 127 /
 * absmax, the model divides by absmax / 127), scales to 1e-6, the LSE's row dot q . kmean and (qk=auto) each tile's
 * sum of squares. Head dims whose rows lie on whole lanes (64, 128: several scale tiles per CTA, lane butterflies)
 * and one whose rows do not (96: one tile per CTA, per-chunk parts), ragged lengths, fp16 and bf16, GQA.
 */
class QuantRowsEmulationTest {

    static Stream<Arguments> cases() {
        return Stream.of(
                Arguments.of(64, DType.FP16, 200, false),
                Arguments.of(128, DType.BF16, 77, false),
                Arguments.of(96, DType.FP16, 150, false),
                Arguments.of(128, DType.FP16, 130, true),
                Arguments.of(96, DType.BF16, 65, true),
                Arguments.of(160, DType.FP16, 130, false));
    }

    @ParameterizedTest(name = "D={0} {1} L={2} auto={3}")
    @MethodSource("cases")
    void quantizedRowsMatchTheCpuModel(int d, DType t, int len, boolean auto) {
        int b = 1, h = 4, hkv = 2;
        // the sm_90 default (128-key blocks up to D = 128), or qk=auto's gated INT8 kernel (64-key blocks)
        KernelSpec spec = auto ? AttentionFamilies.preferred(Arch.SM90, d, false, t, t, null, QkPrecision.AUTO)
                : AttentionFamilies.preferred(Arch.SM90, d, false, t, t);
        RandomInputs x = RandomInputs.generate(40 + d, b, h, hkv, len, len, d, t);
        ScratchLayout l = new ScratchLayout(spec, b, h, hkv, len, len);
        PtxEmulator.Memory mem = new PtxEmulator.Memory();
        float[] km = QuantizedAttentionModel.kMean(x.k(), b, hkv, len, d);
        int dp = spec.paddedHeadDim();
        float sm = (float) (1 / Math.sqrt(d));
        float factorQ = sm * QuantizedAttentionModel.LOG2_E;

        // INT8 Q (with its row dots, asked for by an LSE output) and INT8 K' = K - kmean: the launches the runner queues,
        // with the K means the statistics kernel would write given directly (the model's, so that codes compare)
        long dq = mem.put(x.q16());
        long dk = mem.put(x.k16());
        AttentionArgs call = AttentionArgs.builder().q(dq).k(dk).v(dk).o(mem.alloc(2L * b * h * len * d))
                .lse(mem.alloc(4L * b * h * len)).batch(b).heads(h).kvHeads(hkv).lq(len).lk(len).headDim(d).dtype(t)
                .smScale(sm).build().validate();
        long q8 = mem.alloc(l.q8Bytes());
        long qs = mem.alloc(l.qScaleBytes());
        long dot = mem.alloc(l.qkmBytes());
        long k8 = mem.alloc(l.k8Bytes());
        long ks = mem.alloc(l.kScaleBytes());
        long stats = auto ? mem.alloc(l.qkStatBytes()) : 0L;
        AttentionLaunches.Scratch scratch = new AttentionLaunches.Scratch(q8, k8, 0L, qs, ks, mem.put(km), 0L, 0L, dot, stats);
        EmulatedLaunches.run(mem, AttentionLaunches.of(l, call, scratch),
                r -> r == AttentionLaunches.Role.QUANT_Q || r == AttentionLaunches.Role.QUANT_K);

        QuantizedAttentionModel.Int8Tensor qRef = QuantizedAttentionModel.quantizeQ(spec, x.q(), b, h, len);
        float[] kSmooth = QuantizedAttentionModel.subtractKMean(x.k(), km, b, hkv, len, d);
        QuantizedAttentionModel.Int8Tensor kRef = QuantizedAttentionModel.quantizeK(spec, kSmooth, b, hkv, len);
        compare("Q", mem.bytes(q8, b * h * l.lqPadded() * dp), qRef, mem.floats(qs, b * h * l.qScalesPerHead()), b * h,
                l.lqPadded(), len, d, dp, l.qScalesPerHead(), factorQ);
        compare("K", mem.bytes(k8, b * hkv * l.lkPadded() * dp), kRef, mem.floats(ks, b * hkv * l.kScalesPerHead()), b * hkv,
                l.lkPadded(), len, d, dp, l.kScalesPerHead(), 1f);

        // the row dots: sm_scale * (q . kmean of the row's kv head), the same bits whatever the thread order
        float[] dots = mem.floats(dot, b * h * l.lqPadded());
        double worst = 0;
        for (int hh = 0; hh < h; hh++) {
            for (int r = 0; r < len; r++) {
                double want = 0;
                double mag = 0;   // the FP32 sum's error scales with the sum of the terms' magnitudes
                for (int c = 0; c < d; c++) {
                    double p = (double) x.q()[(hh * len + r) * d + c] * km[(hh / (h / hkv)) * d + c];
                    want += p;
                    mag += Math.abs(p);
                }
                worst = Math.max(worst, Math.abs(dots[hh * l.lqPadded() + r] - want * sm) / (mag * sm));
            }
        }
        assertTrue(worst < 1e-5, "row dots: worst error relative to the sum of |terms| " + worst);

        if (auto) {
            checkSumSq("Q", mem.floats(stats + l.qSumSqOffset(), b * h * l.qScaleTiles()), x.q(), h, len, d,
                    spec.qScaleTileRows(), l.qScaleTiles());
            checkSumSq("K", mem.floats(stats + l.kSumSqOffset(), b * hkv * l.kBlocks()), kSmooth, hkv, len, d,
                    spec.blockK(), l.kBlocks());
        }
    }

    private static void compare(String what, byte[] got, QuantizedAttentionModel.Int8Tensor ref, float[] scales, int heads,
                                int lpad, int len, int d, int dp, int scalesPerHead, float factor) {
        int differ = 0;
        for (int hh = 0; hh < heads; hh++) {
            for (int r = 0; r < lpad; r++) {
                for (int c = 0; c < dp; c++) {
                    int g = got[(hh * lpad + r) * dp + c];
                    if (r >= len || c >= d) {
                        assertEquals(0, g, what + ": padding h" + hh + " r" + r + " c" + c + " must be 0");
                        continue;
                    }
                    int e = ref.values()[(hh * len + r) * d + c];
                    assertTrue(Math.abs(g - e) <= 1, what + ": h" + hh + " r" + r + " c" + c + " got " + g + " model " + e);
                    if (g != e) differ++;
                }
            }
        }
        assertTrue(differ <= heads * len * d / 1000 + 1, what + ": " + differ + " codes off by one");
        int perHead = ref.scales().length / heads;
        for (int i = 0; i < ref.scales().length; i++) {
            float g = scales[i / perHead * scalesPerHead + i % perHead];
            float e = ref.scales()[i] * factor;
            assertTrue(Math.abs(g / e - 1) < 1e-6, what + ": scale " + i + " got " + g + " model " + e);
        }
    }

    private static void checkSumSq(String what, float[] got, float[] x, int heads, int len, int d, int tileRows, int tiles) {
        for (int hh = 0; hh < heads; hh++) {
            for (int t = 0; t < tiles; t++) {
                double want = 0;
                for (int r = t * tileRows; r < Math.min(len, (t + 1) * tileRows); r++) {
                    for (int c = 0; c < d; c++) {
                        double v = x[(hh * len + r) * d + c];
                        want += v * v;
                    }
                }
                if (t * tileRows >= len) continue;   // tiles the attention kernel never reads: not written
                float g = got[hh * tiles + t];
                assertTrue(Math.abs(g - want) <= 1e-4 * Math.max(1, want), what + " sum of squares h" + hh + " tile " + t
                        + ": got " + g + " want " + want);
            }
        }
    }
}
