package io.sageptx.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

import org.junit.jupiter.api.Test;

import io.sageptx.api.AccuracyCheck.Mode;
import io.sageptx.api.AccuracyCheck.ModeResult;
import io.sageptx.api.AccuracyCheck.Report;
import io.sageptx.api.AccuracyCheck.Resolved;
import io.sageptx.call.AttentionArgs;
import io.sageptx.call.CausalMode;
import io.sageptx.call.Strides;
import io.sageptx.call.TensorLayout;
import io.sageptx.numerics.AccuracyBar;
import io.sageptx.numerics.ErrorStats;
import io.sageptx.numerics.Half;
import io.sageptx.numerics.InputFamilies;
import io.sageptx.numerics.QkIndicator;
import io.sageptx.numerics.QuantizedAttentionModel;
import io.sageptx.numerics.RandomInputs;
import io.sageptx.numerics.SampledReference;
import io.sageptx.runtime.AttentionRunner;
import io.sageptx.runtime.ShortSequences;
import io.sageptx.testing.SystemProperties;
import io.sageptx.spec.Arch;
import io.sageptx.spec.DType;
import io.sageptx.spec.KernelSpec;
import io.sageptx.spec.PvVariant;
import io.sageptx.spec.QkPrecision;

/**
 * The accuracy check without a GPU: mode ids, which modes each architecture has, the comparison against the FP64
 * reference (layouts, sampled rows), the bars and the recommendation, with the CPU model of the quantized kernels
 * ({@link QuantizedAttentionModel}, {@link QkIndicator} for auto) or exact outputs as the runner.
 */
class AccuracyCheckTest {

    static AttentionArgs shape(int b, int h, int hkv, int lq, int lk, int d, DType t, TensorLayout layout, CausalMode c) {
        return AttentionArgs.builder().q(16).k(16).v(16).o(16).batch(b).heads(h).kvHeads(hkv).lq(lq).lk(lk).headDim(d)
                .dtype(t).layout(layout).causal(c).build();
    }

    @Test
    void modeIdsRoundTripAndAliasesParse() {
        for (Mode m : Mode.candidates()) assertEquals(m, Mode.parse(m.id()), m.id());
        assertEquals(Mode.DEFAULT, Mode.parse("default"));
        assertEquals(new Mode(QkPrecision.INT8, PvVariant.FP16), Mode.parse("fp16-pv"));
        assertEquals(new Mode(QkPrecision.INT8, PvVariant.FP16), Mode.parse("PV=fp16"));
        assertEquals(new Mode(QkPrecision.AUTO, null), Mode.parse("qk-auto"));
        assertEquals(new Mode(QkPrecision.AUTO, PvVariant.FP8_F32ACC), Mode.parse("auto+pv-fp8-f32acc"));
        assertEquals("qk-fp16", new Mode(QkPrecision.FP16, null).id());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Mode.parse("fast"));
        assertTrue(e.getMessage().startsWith("mode 'fast' is not one of default, pv-fp8-f16acc, pv-fp8-f32acc, auto, pv-fp16, qk-fp16"),
                e.getMessage());
        // every precision and PV variant the enums have is a candidate
        assertEquals(QkPrecision.values().length * (PvVariant.values().length + 1), Mode.candidates().size());
        List<String> base = Mode.candidates().stream().filter(Mode::isBase).map(Mode::id).toList();
        assertEquals("default", base.get(0));
        assertEquals("qk-fp16", base.get(base.size() - 1), base.toString());
    }

    static Map<String, Resolved> resolved(Arch arch, AttentionArgs shape) {
        return AccuracyCheck.resolve(shape, List.of(), a -> AttentionRunner.defaultSpec(a, arch)).stream()
                .collect(Collectors.toMap(r -> r.mode().id(), r -> r, (x, y) -> x, java.util.LinkedHashMap::new));
    }

    @Test
    void theModesOfEachArchitectureComeFromTheFamilies() {
        AttentionArgs s = shape(1, 2, 2, 256, 256, 128, DType.BF16, TensorLayout.BHLD, CausalMode.NONE);
        Map<String, Resolved> h = resolved(Arch.SM90, s);
        for (String id : new String[] {"default", "pv-fp8-f16acc", "pv-fp8-f32acc", "auto", "auto+pv-fp8-f32acc", "pv-fp16", "qk-fp16"}) {
            assertNull(h.get(id).unavailable(), id + " on sm_90: " + h.get(id));
        }
        assertFalse(h.containsKey("qk-fp16+pv-fp8-f16acc"), "combinations nowhere allowed are left out");
        assertTrue(h.get("qk-fp16").kernel().contains("qk=fp16"), h.get("qk-fp16").kernel());
        assertEquals(AccuracyBar.core(PvVariant.FP16), h.get("qk-fp16").bar());
        assertEquals(AccuracyBar.core(PvVariant.FP8_F16ACC), h.get("default").bar());
        Map<String, Resolved> ada = resolved(Arch.SM89, s);
        assertNull(ada.get("default").unavailable());
        // the mma.sync family has 16-bit QK and auto on every arch, up to D = 208
        assertNull(ada.get("qk-fp16").unavailable(), "16-bit QK on sm_89: " + ada.get("qk-fp16"));
        assertTrue(ada.get("qk-fp16").kernel().contains("qk=fp16"), ada.get("qk-fp16").kernel());
        assertNull(ada.get("auto").unavailable());
        AttentionArgs big = shape(1, 2, 2, 256, 256, 256, DType.BF16, TensorLayout.BHLD, CausalMode.NONE);
        Map<String, Resolved> ada256 = resolved(Arch.SM89, big);
        assertNotNull(ada256.get("qk-fp16").unavailable(), "16-bit QK above D = 208 is sm_90's (wgmma) only");
        assertTrue(ada256.get("qk-fp16").unavailable().contains("qkPrecision"), ada256.get("qk-fp16").unavailable());
        assertNotNull(ada256.get("auto").unavailable());
        Map<String, Resolved> ampere = resolved(Arch.SM80, s);
        assertNotNull(ampere.get("pv-fp8-f16acc").unavailable(), "no FP8 on sm_80");
        assertEquals(AccuracyBar.core(PvVariant.FP16), ampere.get("default").bar());
        // asked modes are kept as asked, in order, unavailable ones with the reason
        List<Resolved> asked = AccuracyCheck.resolve(big, List.of(Mode.parse("qk-fp16"), Mode.DEFAULT),
                a -> AttentionRunner.defaultSpec(a, Arch.SM89));
        assertEquals(List.of("qk-fp16", "default"), asked.stream().map(r -> r.mode().id()).toList());
        assertNotNull(asked.get(0).unavailable());
    }

    @Test
    void stridedOrViewCallsAreRefused() {
        AttentionArgs strided = AttentionArgs.builder().q(16).k(16).v(16).o(16).heads(2).seqLen(64).headDim(64)
                .qStrides(2L * 64 * 3 * 64, 64, 3 * 64).build();
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> AccuracyCheck.checkShape(strided));
        assertTrue(e.getMessage().contains("contiguous"), e.getMessage());
    }

    /** The CPU model of each mode's kernel on BHLD inputs: INT8 / 16-bit QK, FP8 / FP16 PV, auto per head. */
    static AccuracyCheck.ModeRunner model(RandomInputs x, Arch arch) {
        return (mode, call) -> {
            KernelSpec spec = AttentionRunner.defaultSpec(call, arch);
            double scale = call.smScale();
            QuantizedAttentionModel.Result r = QuantizedAttentionModel.run(spec, x.q(), x.k(), x.v(), x.batch(), x.heads(),
                    x.kvHeads(), x.lq(), x.lk(), scale);
            float[] o = r.o().clone();
            float[] lse = r.lse().clone();
            int[] dec = null;
            if (call.qk() == QkPrecision.AUTO && spec.fp16Qk()) {
                // a short auto call (ShortSequences): every head ran 16-bit QK, as the runner writes
                dec = new int[x.batch() * x.heads()];
                java.util.Arrays.fill(dec, 1);
            }
            if (spec.qk() == QkPrecision.AUTO) {
                boolean[] d = QkIndicator.decisions(spec, x.q(), x.k(), x.batch(), x.heads(), x.kvHeads(), x.lq(), x.lk(), scale);
                QuantizedAttentionModel.Result p = QuantizedAttentionModel.run(spec.autoPartner(), x.q(), x.k(), x.v(), x.batch(),
                        x.heads(), x.kvHeads(), x.lq(), x.lk(), scale);
                dec = new int[d.length];
                int per = x.lq() * x.d();
                for (int bh = 0; bh < d.length; bh++) {
                    if (!d[bh]) continue;
                    dec[bh] = 1;
                    System.arraycopy(p.o(), bh * per, o, bh * per, per);
                    System.arraycopy(p.lse(), bh * x.lq(), lse, bh * x.lq(), x.lq());
                }
            }
            return new AccuracyCheck.Output(o, lse, dec, Double.NaN);
        };
    }

    static Report modelReport(RandomInputs x, Arch arch, List<Mode> modes) {
        AttentionArgs s = shape(x.batch(), x.heads(), x.kvHeads(), x.lq(), x.lk(), x.d(), x.type(), TensorLayout.BHLD, CausalMode.NONE);
        List<Resolved> r = AccuracyCheck.resolve(s, modes, a -> AttentionRunner.defaultSpec(a, arch));
        return AccuracyCheck.check("model " + arch.target(), s, x.q16(), x.k16(), x.v16(), r, model(x, arch),
                AccuracyCheck.Options.defaults().withTimingRuns(0));
    }

    static ModeResult of(Report r, String id) {
        return r.modes().stream().filter(m -> m.mode().id().equals(id) || m.aliases().stream().anyMatch(a -> a.id().equals(id)))
                .findFirst().orElseThrow(() -> new AssertionError(id + " not in " + r.table()));
    }

    @Test
    void aShortAutoCallIsTheSixteenBitKernelForEveryHead() {
        RandomInputs base = RandomInputs.generate(11, 1, 2, 2, 128, 512, 64, DType.BF16);
        RandomInputs x = InputFamilies.outlierChannels(base, 2, 50, false, true, 8);
        List<Mode> modes = List.of(Mode.parse("qk-fp16"), Mode.parse("auto"));
        Report r = SystemProperties.with(ShortSequences.PROPERTY, "auto", () -> modelReport(x, Arch.SM90, modes));
        String t = r.table();
        ModeResult q16 = of(r, "qk-fp16");
        assertEquals(q16, of(r, "auto"), "one kernel, listed once: " + t);
        assertEquals(2, q16.heads16(), t);
        assertTrue(q16.meetsBar(), t);
    }

    @Test
    void outlierChannelsInKSendTheRecommendationToSixteenBitQk() {
        RandomInputs base = RandomInputs.generate(11, 1, 2, 2, 128, 512, 64, DType.BF16);
        RandomInputs x = InputFamilies.outlierChannels(base, 2, 50, false, true, 8);
        List<Mode> modes = List.of(Mode.DEFAULT, Mode.parse("pv-fp16"), Mode.parse("qk-fp16"), Mode.parse("auto"));
        // the INT8 kernels and auto's own decision (short sm_90 calls would run 16-bit QK for every head)
        Report r = SystemProperties.with(ShortSequences.PROPERTY, "int8", () -> modelReport(x, Arch.SM90, modes));
        String t = r.table();
        assertFalse(of(r, "default").meetsBar(), t);
        assertFalse(of(r, "pv-fp16").meetsBar(), t);
        ModeResult q16 = of(r, "qk-fp16");
        assertTrue(q16.meetsBar(), t);
        assertTrue(q16.error().cosine() >= 0.9995 && q16.error().relL1() <= 0.015, t);
        ModeResult auto = of(r, "auto");
        assertEquals(2, auto.heads16(), t);
        assertEquals("2 of 2", t.lines().filter(l -> l.startsWith("auto ")).findFirst().orElseThrow().replaceAll(".*?(\\d+ of \\d+).*", "$1"));
        // auto sends both heads to 16-bit QK and is cheaper by rank than 16-bit QK everywhere
        assertEquals("auto", r.recommended().mode().id(), t);
        assertTrue(r.recommendation().startsWith("recommendation: auto ("), r.recommendation());
        assertTrue(r.recommendation().contains(".qkPrecision(QkPrecision.AUTO)"), r.recommendation());
        assertTrue(t.contains("FAIL: cosine") || t.contains("FAIL: rel L1"), t);
    }

    @Test
    void ordinaryInputsKeepTheDefault() {
        RandomInputs x = RandomInputs.generate(12, 1, 2, 1, 100, 300, 64, DType.FP16);
        Report r = modelReport(x, Arch.SM89, List.of());
        String t = r.table();
        assertTrue(of(r, "default").meetsBar(), t);
        assertEquals("default", r.recommended().mode().id(), t);
        assertTrue(r.recommendation().endsWith("the default, nothing to set"), r.recommendation());
        assertTrue(t.contains("qk-fp16") && t.contains("auto"), "the precise modes are listed (run on sm_89 too): " + t);
        // default and pv-fp8-f16acc are the same kernel on sm_89: run once, listed as an alias
        assertTrue(of(r, "default").aliases().contains(Mode.parse("pv-fp8-f16acc")), t);
        assertTrue(t.contains("default (= pv-fp8-f16acc)"), t);
    }

    /** Exact outputs in the call's layout: the comparison reads O and the LSE at the right places. */
    static AccuracyCheck.ModeRunner exact(float[] q, float[] k, float[] v, AttentionArgs s, double millis) {
        return (mode, call) -> {
            int[] rows = SampledReference.evenRows(s.lq(), 0);
            int shift = s.causalMode() == CausalMode.BOTTOM_RIGHT ? s.lk() - s.lq() : 0;
            SampledReference.Result ref = SampledReference.compute(q, k, v, st(s.qStrides()), st(s.kStrides()), st(s.vStrides()),
                    s.batch(), s.heads(), s.kvHeads(), s.lq(), s.lk(), s.headDim(), s.smScale(), s.causal(), shift, rows);
            float[] o = new float[q.length];
            float[] lse = new float[s.batch() * s.heads() * s.lq()];
            Strides os = s.oStrides();
            for (int b = 0; b < s.batch(); b++) {
                for (int h = 0; h < s.heads(); h++) {
                    for (int i = 0; i < s.lq(); i++) {
                        int t = (b * s.heads() + h) * s.lq() + i;
                        for (int c = 0; c < s.headDim(); c++) {
                            o[(int) (b * os.batch() + h * os.head() + i * os.token() + c)] =
                                    Half.round((float) ref.o()[t * s.headDim() + c], s.outType());
                        }
                        lse[t] = (float) ref.lse()[t];
                    }
                }
            }
            return new AccuracyCheck.Output(o, lse, null, millis);
        };
    }

    static long[] st(Strides s) {
        return new long[] {s.batch(), s.head(), s.token()};
    }

    @Test
    void layoutsSampledRowsAndBottomRightCausal() {
        for (TensorLayout layout : TensorLayout.values()) {
            AttentionArgs s = shape(2, 4, 2, 40, 70, 32, DType.BF16, layout, CausalMode.BOTTOM_RIGHT);
            RandomInputs x = RandomInputs.generate(13, 2, 4, 2, 40, 70, 32, DType.BF16); // values only; read through the layout
            List<Resolved> modes = List.of(new Resolved(Mode.DEFAULT, "exact", AccuracyBar.core(PvVariant.FP16), null, false));
            for (int rows : new int[] {0, 7}) {
                Report r = AccuracyCheck.check("cpu", s, x.q16(), x.k16(), x.v16(), modes, exact(x.q(), x.k(), x.v(), s, 1.0),
                        AccuracyCheck.Options.defaults().withMaxRowsPerHead(rows));
                ModeResult m = r.modes().get(0);
                assertTrue(m.error().cosine() > 0.99999 && m.error().relL1() < 0.004, layout + " " + rows + ": " + m.error());
                assertEquals(0, m.error().nonFinite());
                assertTrue(m.lseMaxAbs() < 1e-5, layout + ": LSE " + m.lseMaxAbs());
                assertEquals(rows == 0 ? 40 : 7, r.rowsPerHead());
                assertTrue(r.reference().contains(rows == 0 ? "every query row" : "7 of 40 query rows"), r.reference());
                assertTrue(r.shape().contains(layout.name()) && r.shape().contains("causal=bottom_right"), r.shape());
            }
        }
    }

    static ModeResult fake(String id, double cos, double rel, double ms, PvVariant barPv) {
        AccuracyBar bar = AccuracyBar.core(barPv);
        ErrorStats e = new ErrorStats(cos, rel, 0.1, 0, 100);
        return new ModeResult(Mode.parse(id), List.of(), "k-" + id, null, e, 0.01, ms, -1, 4, bar,
                bar.failure(new AccuracyBar.Accuracy(cos, rel, 0.01, 0)));
    }

    @Test
    void theRecommendationIsTheFastestWithinItsBar() {
        List<ModeResult> m = new ArrayList<>();
        m.add(fake("default", 0.9989, 0.03, 1.00, PvVariant.FP8_F16ACC));          // misses cos 0.999
        m.add(fake("pv-fp8-f32acc", 0.9992, 0.044, 1.10, PvVariant.FP8_F32ACC));   // meets
        m.add(fake("auto", 0.9993, 0.040, 1.12, PvVariant.FP8_F16ACC));            // meets, slower
        m.add(fake("pv-fp16", 0.9996, 0.016, 0.90, PvVariant.FP16));                // misses rel-L1 0.015
        m.add(fake("qk-fp16", 0.99999, 0.002, 1.50, PvVariant.FP16));
        Report r = new Report("dev", "shape", "ref", 10, 10, m);
        assertEquals("pv-fp8-f32acc", r.recommended().mode().id());
        assertTrue(r.recommendation().contains("the fastest within its bar, 1.100 ms"), r.recommendation());
        // within 3 % of the fastest: the cheaper by rank wins (auto 1.12 vs f32acc 1.10 -> f32acc by rank)
        m.set(2, fake("auto", 0.9993, 0.040, 1.09, PvVariant.FP8_F16ACC));
        assertEquals("pv-fp8-f32acc", new Report("d", "s", "r", 1, 1, m).recommended().mode().id());
        // untimed: by rank
        List<ModeResult> u = List.of(fake("qk-fp16", 0.99999, 0.002, Double.NaN, PvVariant.FP16),
                fake("pv-fp16", 0.9999, 0.01, Double.NaN, PvVariant.FP16));
        assertEquals("pv-fp16", new Report("d", "s", "r", 1, 1, u).recommended().mode().id());
        // nothing passes: say so, name the most accurate
        List<ModeResult> none = List.of(fake("default", 0.99, 0.1, 1, PvVariant.FP8_F16ACC), fake("pv-fp16", 0.995, 0.05, 2, PvVariant.FP16));
        Report n = new Report("d", "s", "r", 1, 1, none);
        assertNull(n.recommended());
        assertTrue(n.recommendation().startsWith("recommendation: no mode meets its bar on these tensors; the most accurate is pv-fp16"),
                n.recommendation());
    }

    @Test
    void jsonHasEveryModeAndTheRecommendation() {
        List<ModeResult> m = new ArrayList<>();
        m.add(fake("default", 0.9995, 0.03, 1.0, PvVariant.FP8_F16ACC));
        m.add(new ModeResult(Mode.parse("qk-fp16"), List.of(), null, "qkPrecision = fp16 is not available on \"sm_89\"", null,
                Double.NaN, Double.NaN, -1, 4, null, null));
        m.add(new ModeResult(Mode.parse("auto"), List.of(Mode.parse("auto+pv-fp8-f16acc")), "k", null,
                new ErrorStats(0.9999, 0.01, 0.2, 0, 10), 0.5, Double.NaN, 3, 4, AccuracyBar.core(PvVariant.FP8_F16ACC), null));
        String j = new Report("GPU \"x\"", "B=1", "FP64", 8, 8, m).toJson();
        assertTrue(j.contains("\"device\": \"GPU \\\"x\\\"\""), j);
        assertTrue(j.contains("{\"mode\": \"default\", \"aliases\": [], \"ran\": true, \"kernel\": \"k-default\", \"cosine\": 0.9995"), j);
        assertTrue(j.contains("\"unavailable\": \"qkPrecision = fp16 is not available on \\\"sm_89\\\"\""), j);
        assertTrue(j.contains("\"aliases\": [\"auto+pv-fp8-f16acc\"]") && j.contains("\"heads_16bit_qk\": 3, \"heads\": 4"), j);
        assertTrue(j.contains("\"ms\": null"), j);
        assertTrue(j.contains("\"recommended\": \"default\""), j);
        assertTrue(j.contains("\"bar\": {\"min_cosine\": 0.999, \"max_rel_l1\": 0.045}"), j);
    }

    @Test
    void rowsForBudgetSamplesOnlyLongSequences() {
        AttentionArgs small = shape(1, 2, 2, 512, 512, 64, DType.FP16, TensorLayout.BHLD, CausalMode.NONE);
        assertEquals(0, AccuracyCheck.rowsForBudget(small, 1e10));
        AttentionArgs big = shape(1, 32, 8, 16384, 16384, 128, DType.FP16, TensorLayout.BLHD, CausalMode.NONE);
        int rows = AccuracyCheck.rowsForBudget(big, 3e10);
        double work = SampledReference.multiplyAdds(SampledReference.evenRows(16384, rows), 1, 32, 16384, 128, false, 0);
        assertTrue(rows >= 64 && rows < 16384 && work <= 3e10, rows + " rows, " + work);
        int[] r = SampledReference.evenRows(16384, rows);
        assertEquals(0, r[0]);
        assertEquals(16383, r[r.length - 1]);
    }
}
