package io.sageptx.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sageptx.call.AttentionArgs;
import io.sageptx.call.CausalMode;
import io.sageptx.call.Strides;
import io.sageptx.call.TensorLayout;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.IntStream;
import java.util.stream.Stream;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import io.sageptx.cuda.CudaStream;
import io.sageptx.cuda.DeviceBuffer;
import io.sageptx.cuda.DeviceContext;
import io.sageptx.numerics.ErrorStats;
import io.sageptx.numerics.Half;
import io.sageptx.spec.DType;
import io.sageptx.spec.KernelSpec;
import io.sageptx.spec.PvVariant;
import io.sageptx.spec.QkPrecision;
import io.sageptx.testing.GpuTest;

/**
 * Accuracy of the issue-5 shapes and modes against an FP64 CPU reference with the core bars: every head
 * dim family, GQA / MQA, [B, L, H, D], strided views (Q, K, V as slices of a fused QKV tensor), Lq != Lk
 * with top-left and bottom-right causal masks (including rows that see no key: O = 0, LSE = -inf), and
 * varlen batches. Outputs and LSE are poisoned with NaN first. Prints one table row per case.
 */
@GpuTest
@Tag("sanitize-memcheck")
class SageAttentionModesGpuTest {

    private static final List<String> TABLE = new ArrayList<>();
    private static SageAttention attention;

    /** How the tensors lie in memory. */
    enum Memory { BHLD, BLHD, FUSED_QKV, VARLEN }

    @BeforeAll
    static void open() {
        attention = SageAttention.onDevice(0);
        System.out.println("device: " + attention.context() + "; arch " + attention.arch().target());
    }

    @AfterAll
    static void close() {
        if (attention != null) attention.close();
        System.out.println("| mode | D | Hq/Hkv | memory | causal | in/out | pv | Lq | Lk | cosine | rel L1 | max abs | LSE max err |");
        System.out.println("|---|---|---|---|---|---|---|---|---|---|---|---|---|");
        synchronized (TABLE) {
            TABLE.forEach(System.out::println);
        }
    }

    static Stream<Arguments> cases() {
        // every case with the default PV variant and again with the FP8 one (the default on sm_89 / sm_120; FP16
        // PV is sm_90's mma.sync default)
        List<Arguments> all = new ArrayList<>();
        for (Arguments a : baseCases()) {
            for (PvVariant pv : new PvVariant[] {null, PvVariant.FP8_F16ACC}) {
                Object[] x = a.get();
                Object[] y = java.util.Arrays.copyOf(x, x.length + 1);
                y[x.length] = pv;
                all.add(Arguments.of(y));
            }
        }
        return all.stream();
    }

    /** The shapes and memory layouts: (mode, D, Hq, Hkv, memory, causal, dtype, Lq per sequence, Lk per sequence). */
    static List<Arguments> baseCases() {
        List<Arguments> out = new ArrayList<>();
        int[] one500 = {500};
        for (int d : new int[] {32, 48, 64, 80, 96, 128, 160, 192, 256}) {
            out.add(Arguments.of("head dim", d, 2, 2, Memory.BHLD, CausalMode.NONE, DType.FP16, one500, one500));
        }
        for (int d : new int[] {48, 160, 256}) {
            out.add(Arguments.of("head dim", d, 2, 2, Memory.BHLD, CausalMode.TOP_LEFT, DType.BF16, one500, one500));
        }
        for (int d : new int[] {112, 144, 176, 208, 224, 240}) {
            out.add(Arguments.of("head dim", d, 2, 2, Memory.BHLD, CausalMode.TOP_LEFT, DType.FP16, new int[] {200}, new int[] {200}));
        }
        int[] n256 = {256};
        out.add(Arguments.of("GQA 32/8", 128, 32, 8, Memory.BHLD, CausalMode.TOP_LEFT, DType.FP16, n256, n256));
        out.add(Arguments.of("MQA 32/1", 128, 32, 1, Memory.BHLD, CausalMode.NONE, DType.BF16, n256, n256));
        out.add(Arguments.of("MQA 32/1", 64, 32, 1, Memory.BLHD, CausalMode.TOP_LEFT, DType.FP16, n256, n256));
        int[] two300 = {300, 300};
        out.add(Arguments.of("NHD", 64, 4, 4, Memory.BLHD, CausalMode.NONE, DType.BF16, two300, two300));
        out.add(Arguments.of("NHD", 96, 4, 2, Memory.BLHD, CausalMode.TOP_LEFT, DType.FP16, two300, two300));
        int[] two333 = {333, 333};
        out.add(Arguments.of("strided QKV", 128, 4, 4, Memory.FUSED_QKV, CausalMode.NONE, DType.FP16, two333, two333));
        out.add(Arguments.of("strided QKV", 80, 4, 4, Memory.FUSED_QKV, CausalMode.TOP_LEFT, DType.BF16, two333, two333));
        out.add(Arguments.of("causal BR", 128, 2, 2, Memory.BHLD, CausalMode.BOTTOM_RIGHT, DType.FP16, new int[] {300}, new int[] {1000}));
        out.add(Arguments.of("causal BR", 64, 2, 1, Memory.BHLD, CausalMode.BOTTOM_RIGHT, DType.BF16, new int[] {77}, new int[] {1000}));
        out.add(Arguments.of("causal BR Lq>Lk", 64, 2, 2, Memory.BHLD, CausalMode.BOTTOM_RIGHT, DType.FP16, new int[] {200}, new int[] {77}));
        out.add(Arguments.of("causal TL Lq<Lk", 128, 2, 2, Memory.BLHD, CausalMode.TOP_LEFT, DType.FP16, new int[] {300}, new int[] {1000}));
        out.add(Arguments.of("causal BR", 160, 2, 2, Memory.BLHD, CausalMode.BOTTOM_RIGHT, DType.FP16, new int[] {1}, new int[] {555}));
        int[] lens = {1, 7, 64, 1000, 3000};
        out.add(Arguments.of("varlen", 128, 4, 2, Memory.VARLEN, CausalMode.NONE, DType.FP16, lens, lens));
        out.add(Arguments.of("varlen", 64, 4, 4, Memory.VARLEN, CausalMode.TOP_LEFT, DType.BF16, lens, lens));
        out.add(Arguments.of("varlen", 80, 2, 1, Memory.VARLEN, CausalMode.BOTTOM_RIGHT, DType.FP16, lens,
                new int[] {5, 7, 100, 1000, 3100}));
        out.add(Arguments.of("varlen", 256, 2, 2, Memory.VARLEN, CausalMode.BOTTOM_RIGHT, DType.BF16,
                new int[] {64, 7, 0, 300}, new int[] {30, 7, 5, 1000}));
        return out;
    }

    /** Element offset of (b, h, t) in a tensor; varlen rows are cu[b] + t. */
    private static long offset(Strides s, long base, int[] cu, int b, int h, int t) {
        return cu != null ? base + (long) (cu[b] + t) * s.token() + (long) h * s.head()
                : base + (long) b * s.batch() + (long) h * s.head() + (long) t * s.token();
    }

    @ParameterizedTest(name = "{0} D={1} H={2}/{3} {4} {5} {6} Lq={7} Lk={8} pv={9}")
    @MethodSource("cases")
    void matchesReference(String mode, int d, int hq, int hkv, Memory mem, CausalMode causal, DType t, int[] lqs, int[] lks,
                          PvVariant pvOrDefault) {
        if (pvOrDefault != null && pvOrDefault.isFp8() && !attention.arch().hasFp8Mma()) return;
        check(attention, TABLE, mode, d, hq, hkv, mem, causal, t, lqs, lks, pvOrDefault, null);
    }

    /**
     * One case on {@code attention} against the FP64 reference, with the PV variant and QK precision asked for
     * (null: the defaults); a table row into {@code table}. The bars: FP8 PV cosine >= 0.999 and rel-L1 <= 0.045
     * (qk=auto: its INT8 kernel's PV); FP16 PV rel-L1 <= 0.015; 16-bit QK also cosine >= 0.9995 and LSE error <= 0.02;
     * LSE error <= 0.1 always.
     */
    static void check(SageAttention attention, List<String> table, String mode, int d, int hq, int hkv, Memory mem,
                      CausalMode causal, DType t, int[] lqs, int[] lks, PvVariant pvOrDefault, QkPrecision qk) {
        check(attention, table, mode, d, hq, hkv, mem, causal, t, lqs, lks, pvOrDefault, qk, null);
    }

    /**
     * As {@link #check(SageAttention, List, String, int, int, int, Memory, CausalMode, DType, int[], int[], PvVariant,
     * QkPrecision)} with the spec the call would run replaced by {@code respec} of it (null: as chosen), e.g. the same
     * spec with another schedule.
     */
    static void check(SageAttention attention, List<String> table, String mode, int d, int hq, int hkv, Memory mem,
                      CausalMode causal, DType t, int[] lqs, int[] lks, PvVariant pvOrDefault, QkPrecision qk,
                      java.util.function.UnaryOperator<KernelSpec> respec) {
        int batch = lqs.length;
        int maxQ = IntStream.of(lqs).max().getAsInt();
        int maxK = IntStream.of(lks).max().getAsInt();
        int totalQ = IntStream.of(lqs).sum();
        int totalK = IntStream.of(lks).sum();
        AttentionInputs[] seq = new AttentionInputs[batch];
        for (int b = 0; b < batch; b++) {
            seq[b] = new AttentionInputs(1000L * d + 31L * b + lqs[b] + 7L * lks[b] + hq, 1, hq, hkv,
                    Math.max(1, lqs[b]), Math.max(1, lks[b]), d, t);
        }
        boolean varlen = mem == Memory.VARLEN;
        int[] cuQ = varlen ? cumulative(lqs) : null;
        int[] cuK = varlen ? cumulative(lks) : null;
        // strides and sizes (elements) of the four tensors and where K and V start
        Strides qs, ks, vs, os;
        long qn, kn, vn, on;
        long kBase = 0, vBase = 0;
        switch (mem) {
            case BHLD, BLHD -> {
                TensorLayout layout = TensorLayout.valueOf(mem.name());
                qs = layout.strides(hq, maxQ, d);
                ks = layout.strides(hkv, maxK, d);
                vs = ks;
                os = qs;
                qn = (long) batch * hq * maxQ * d;
                kn = vn = (long) batch * hkv * maxK * d;
                on = qn;
            }
            case FUSED_QKV -> {
                // one tensor [B][L][3][H][D]; Q, K, V are views into it, O is [B][L][H][D]
                long row = 3L * hq * d;
                qs = new Strides(maxQ * row, d, row);
                ks = qs;
                vs = qs;
                kBase = (long) hq * d;
                vBase = 2L * hq * d;
                qn = kn = vn = batch * maxQ * row;
                os = TensorLayout.BLHD.strides(hq, maxQ, d);
                on = (long) batch * hq * maxQ * d;
            }
            default -> {
                qs = Strides.packed(hq, d);
                ks = Strides.packed(hkv, d);
                vs = ks;
                os = qs;
                qn = (long) Math.max(1, totalQ) * hq * d;
                kn = vn = (long) Math.max(1, totalK) * hkv * d;
                on = qn;
            }
        }
        boolean fused = mem == Memory.FUSED_QKV;
        short[] hQ = new short[(int) qn];
        short[] hK = fused ? hQ : new short[(int) kn];
        short[] hV = fused ? hQ : new short[(int) vn];
        for (int b = 0; b < batch; b++) {
            AttentionInputs x = seq[b];
            for (int h = 0; h < hq; h++) {
                for (int i = 0; i < lqs[b]; i++) {
                    System.arraycopy(x.q16, (h * x.lq + i) * d, hQ, (int) offset(qs, 0, cuQ, b, h, i), d);
                }
            }
            for (int h = 0; h < hkv; h++) {
                for (int j = 0; j < lks[b]; j++) {
                    System.arraycopy(x.k16, (h * x.lk + j) * d, hK, (int) offset(ks, kBase, cuK, b, h, j), d);
                    System.arraycopy(x.v16, (h * x.lk + j) * d, hV, (int) offset(vs, vBase, cuK, b, h, j), d);
                }
            }
        }
        float scale = (float) (1.0 / Math.sqrt(d));
        DeviceContext ctx = attention.context();
        try (DeviceBuffer dq = DeviceBuffer.allocate(ctx, 2L * qn);
             DeviceBuffer dk = DeviceBuffer.allocate(ctx, fused ? 16 : 2L * kn);
             DeviceBuffer dv = DeviceBuffer.allocate(ctx, fused ? 16 : 2L * vn);
             DeviceBuffer dO = DeviceBuffer.allocate(ctx, 2L * on);
             DeviceBuffer dl = DeviceBuffer.allocate(ctx, 4L * batch * hq * maxQ);
             DeviceBuffer dcq = DeviceBuffer.allocate(ctx, 4L * (batch + 1));
             DeviceBuffer dck = DeviceBuffer.allocate(ctx, 4L * (batch + 1));
             CudaStream s = CudaStream.create(ctx)) {
            dq.copyFrom(hQ);
            if (!fused) {
                dk.copyFrom(hK);
                dv.copyFrom(hV);
            }
            dO.fill16((short) 0xFFFF);
            dl.fill32(0x7FFFFFFF);
            long kAddr = fused ? dq.address() + 2 * kBase : dk.address();
            long vAddr = fused ? dq.address() + 2 * vBase : dv.address();
            AttentionArgs.Builder ab = AttentionArgs.builder().q(dq.address()).k(kAddr).v(vAddr).o(dO.address())
                    .lse(dl.address()).batch(batch).heads(hq).kvHeads(hkv).headDim(d).dtype(t).causal(causal)
                    .smScale(scale).pv(pvOrDefault).qkPrecision(qk);
            if (varlen) {
                dcq.copyFrom(cuQ);
                dck.copyFrom(cuK);
                ab.varlen(dcq.address(), dck.address(), maxQ, maxK);
            } else {
                ab.lq(maxQ).lk(maxK).qStrides(qs.batch(), qs.head(), qs.token()).kStrides(ks.batch(), ks.head(), ks.token())
                        .vStrides(vs.batch(), vs.head(), vs.token()).oStrides(os.batch(), os.head(), os.token());
            }
            AttentionArgs a = ab.build();
            KernelSpec spec = attention.specFor(a);
            if (respec != null) {
                spec = respec.apply(spec);
                a = ab.spec(spec).build();
            }
            attention.forward(a, s.handle());
            s.synchronize();
            short[] o16 = new short[(int) on];
            dO.copyTo(o16);
            float[] lse = new float[batch * hq * maxQ];
            dl.copyTo(lse);

            // gather the written rows in logical order; FP64 reference per sequence
            List<float[]> outRows = new ArrayList<>();
            List<double[]> refRows = new ArrayList<>();
            double lseErr = 0;
            int emptyRows = 0;
            for (int b = 0; b < batch; b++) {
                AttentionInputs x = seq[b];
                int lq = lqs[b];
                int lk = lks[b];
                int off = causal == CausalMode.BOTTOM_RIGHT ? lk - lq : 0;
                for (int h = 0; h < hq; h++) {
                    int hk = h / (hq / hkv);
                    double[][] ref = new double[lq][];
                    double[] refLse = new double[lq];
                    final int hh = h;
                    IntStream.range(0, lq).parallel().forEach(i -> {
                        int n = causal == CausalMode.NONE ? lk : Math.max(0, Math.min(lk, i + off + 1));
                        ref[i] = new double[d];
                        refLse[i] = reference(x, hh, hk, i, n, scale, ref[i]);
                    });
                    for (int i = 0; i < lq; i++) {
                        float[] row = new float[d];
                        long o0 = offset(os, 0, cuQ, b, h, i);
                        for (int c = 0; c < d; c++) row[c] = Half.decode(o16[(int) o0 + c], t);
                        outRows.add(row);
                        refRows.add(ref[i]);
                        float g = lse[(b * hq + h) * maxQ + i];
                        if (Double.isInfinite(refLse[i])) {
                            emptyRows++;
                            assertEquals(Float.NEGATIVE_INFINITY, g, "LSE of a row that sees no key, b" + b + " h" + h + " i" + i);
                        } else {
                            lseErr = Math.max(lseErr, Double.isNaN(g) ? Double.NaN : Math.abs(g - refLse[i]));
                        }
                    }
                }
            }
            float[] o = new float[outRows.size() * d];
            double[] r = new double[o.length];
            for (int i = 0; i < outRows.size(); i++) {
                System.arraycopy(outRows.get(i), 0, o, i * d, d);
                System.arraycopy(refRows.get(i), 0, r, i * d, d);
            }
            ErrorStats e = ErrorStats.of(o, r);
            synchronized (table) {
                table.add(String.format("| %s | %d | %d/%d | %s | %s | %s | %s | %s | %s | %.6f | %.5f | %.4f | %.4f |%s", mode, d,
                        hq, hkv, mem, causal, t.shortName(), spec.pv().id() + (spec.qk().isDefault() ? "" : " qk=" + spec.qk().id()),
                        lens(lqs), lens(lks), e.cosine(), e.relL1(),
                        e.maxAbs(), lseErr, emptyRows > 0 ? " " + emptyRows + " rows see no key (O = 0, LSE = -inf)" : ""));
            }
            assertEquals(0, e.nonFinite(), "NaN/Inf or unwritten outputs: " + e);
            if (spec.pv().isFp8()) {
                assertTrue(e.cosine() >= 0.999, "cosine " + e);
                assertTrue(e.relL1() <= 0.045, "relative L1 " + e);
            } else {
                assertTrue(e.relL1() <= 0.015, "relative L1 " + e);
            }
            if (qk != null) assertEquals(qk, spec.qk(), "the call runs the precision it asked for");
            if (qk == QkPrecision.FP16) {
                assertTrue(e.cosine() >= 0.9995, "cosine " + e);
                assertTrue(lseErr <= 0.02, "LSE max abs error (no K smoothing) " + lseErr);
            }
            assertTrue(lseErr <= 0.1, "LSE max abs error " + lseErr);
        }
    }

    /** FP64 attention of query row i of head h over the first n keys; returns the LSE (-inf when n = 0). */
    private static double reference(AttentionInputs x, int h, int hk, int i, int n, double scale, double[] out) {
        int d = x.d;
        if (n == 0) return Double.NEGATIVE_INFINITY;
        double[] sc = new double[n];
        double max = Double.NEGATIVE_INFINITY;
        int qr = (h * x.lq + i) * d;
        for (int j = 0; j < n; j++) {
            int kr = (hk * x.lk + j) * d;
            double dot = 0;
            for (int c = 0; c < d; c++) dot += (double) x.q[qr + c] * x.k[kr + c];
            sc[j] = scale * dot;
            max = Math.max(max, sc[j]);
        }
        double sum = 0;
        for (int j = 0; j < n; j++) {
            double p = Math.exp(sc[j] - max);
            sum += p;
            int vr = (hk * x.lk + j) * d;
            for (int c = 0; c < d; c++) out[c] += p * x.v[vr + c];
        }
        for (int c = 0; c < d; c++) out[c] /= sum;
        return max + Math.log(sum);
    }

    private static int[] cumulative(int[] lens) {
        int[] cu = new int[lens.length + 1];
        for (int i = 0; i < lens.length; i++) cu[i + 1] = cu[i] + lens[i];
        return cu;
    }

    private static String lens(int[] l) {
        return l.length == 1 ? Integer.toString(l[0]) : java.util.Arrays.toString(l).replace(" ", "");
    }
}
