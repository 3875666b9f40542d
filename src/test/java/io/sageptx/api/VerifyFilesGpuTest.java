package io.sageptx.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.sageptx.api.AccuracyCheck.ModeResult;
import io.sageptx.api.AccuracyCheck.Report;
import io.sageptx.api.AccuracyCheck.Resolved;
import io.sageptx.call.AttentionArgs;
import io.sageptx.call.CausalMode;
import io.sageptx.call.TensorLayout;
import io.sageptx.cuda.DeviceBuffer;
import io.sageptx.numerics.InputFamilies;
import io.sageptx.numerics.RandomInputs;
import io.sageptx.spec.Arch;
import io.sageptx.spec.DType;
import io.sageptx.testing.GpuTest;

/**
 * Issue 11, item 3 on the GPU: the caller's own tensors written to files (raw and .npy), read back through
 * {@link TensorFile} and checked with {@link AccuracyCheck} in every mode of the device, against the FP64 reference.
 * Two inputs: ordinary (Q, V ~ N(0, 1), K with a channel bias) and 2 channels of K x50 (the outlier family the INT8
 * QK product cannot carry). Asserts every mode of the device is in the report and ran, the numbers are sane, and
 * on sm_90 16-bit QK meets the FP16-PV bars on the outlier input and auto sends every head there. Prints the
 * reports.
 */
@GpuTest
class VerifyFilesGpuTest {

    @TempDir
    static Path tmp;

    private static SageAttention att;

    @BeforeAll
    static void open() {
        att = SageAttention.onDevice(0);
    }

    @AfterAll
    static void close() {
        if (att != null) att.close();
    }

    /** BHLD values [B][H][L][D] to the layout's order. */
    static short[] toLayout(short[] bhld, int b, int h, int l, int d, TensorLayout layout) {
        if (layout == TensorLayout.BHLD) return bhld.clone();
        short[] out = new short[bhld.length];
        for (int bi = 0; bi < b; bi++)
            for (int hi = 0; hi < h; hi++)
                for (int t = 0; t < l; t++)
                    System.arraycopy(bhld, ((bi * h + hi) * l + t) * d, out, ((bi * l + t) * h + hi) * d, d);
        return out;
    }

    static Path write(String name, short[] v, boolean npy, String shape) throws Exception {
        ByteBuffer bb = ByteBuffer.allocate(2 * v.length).order(ByteOrder.LITTLE_ENDIAN);
        for (short s : v) bb.putShort(s);
        Path p = tmp.resolve(name);
        Files.write(p, npy ? TensorFileTest.npy(1, "<i2", shape, false, bb.array()) : bb.array());
        return p;
    }

    record Case(String name, RandomInputs x, TensorLayout layout, boolean npy) {
    }

    static final int B = 1, H = 4, HKV = 2, L = 1024, D = 128;

    static Case ordinary() {
        return new Case("ordinary", RandomInputs.generate(31, B, H, HKV, L, L, D, DType.BF16), TensorLayout.BLHD, false);
    }

    static Case outliers() {
        RandomInputs base = RandomInputs.generate(32, B, H, HKV, L, L, D, DType.BF16);
        return new Case("outliers K 2ch x50", InputFamilies.outlierChannels(base, 2, 50, false, true, 8), TensorLayout.BHLD, true);
    }

    static Report check(Case c) throws Exception {
        RandomInputs x = c.x();
        String qs = c.layout() == TensorLayout.BHLD ? B + ", " + H + ", " + L + ", " + D : B + ", " + L + ", " + H + ", " + D;
        String ks = c.layout() == TensorLayout.BHLD ? B + ", " + HKV + ", " + L + ", " + D : B + ", " + L + ", " + HKV + ", " + D;
        Path q = write(c.name() + "-q", toLayout(x.q16(), B, H, L, D, c.layout()), c.npy(), qs);
        Path k = write(c.name() + "-k", toLayout(x.k16(), B, HKV, L, D, c.layout()), c.npy(), ks);
        Path v = write(c.name() + "-v", toLayout(x.v16(), B, HKV, L, D, c.layout()), c.npy(), ks);
        AttentionArgs shape = AttentionArgs.builder().batch(B).heads(H).kvHeads(HKV).seqLen(L).headDim(D).dtype(DType.BF16)
                .layout(c.layout()).causal(CausalMode.NONE).build();
        long qn = (long) B * H * L * D;
        long kn = (long) B * HKV * L * D;
        Report r = AccuracyCheck.runHost(att, shape, TensorFile.open(q).read(qn, "Q"), TensorFile.open(k).read(kn, "K"),
                TensorFile.open(v).read(kn, "V"), AccuracyCheck.Options.defaults().withProgress(l -> System.err.println("  " + l)));
        System.out.println("== " + c.name() + "\n" + r.table());
        // every mode the device has is in the report and ran
        List<Resolved> modes = AccuracyCheck.resolve(att, shape, List.of());
        Set<String> inReport = r.modes().stream().flatMap(m -> java.util.stream.Stream.concat(java.util.stream.Stream.of(m.mode()),
                m.aliases().stream())).map(AccuracyCheck.Mode::id).collect(Collectors.toSet());
        for (Resolved m : modes) {
            assertTrue(inReport.contains(m.mode().id()), m.mode().id() + " missing:\n" + r.table());
        }
        for (ModeResult m : r.modes()) {
            if (modes.stream().anyMatch(x2 -> x2.mode().equals(m.mode()) && x2.unavailable() == null)) {
                assertTrue(m.ran(), m.label() + ": " + m.unavailable());
                assertEquals(0, m.error().nonFinite(), m.label());
                assertTrue(m.error().cosine() > 0.9 && m.error().cosine() <= 1.0000001, m.label() + ": " + m.error());
                assertTrue(m.error().relL1() >= 0 && m.error().relL1() < 0.5, m.label() + ": " + m.error());
                assertTrue(m.millis() > 0, m.label() + ": timed");
                assertEquals(m.mode().qk() == io.sageptx.spec.QkPrecision.AUTO, m.heads16() >= 0, m.label());
            }
        }
        return r;
    }

    static ModeResult mode(Report r, String id) {
        return r.modes().stream().filter(m -> m.mode().id().equals(id) || m.aliases().stream().anyMatch(a -> a.id().equals(id)))
                .findFirst().orElse(null);
    }

    @Test
    void ordinaryInputsFromRawBlhdFiles() throws Exception {
        Report r = check(ordinary());
        ModeResult def = mode(r, "default");
        assertTrue(def.meetsBar(), r.table());
        assertNotNull(r.recommended(), r.table());
        ModeResult auto = mode(r, "auto");
        if (auto != null && auto.ran()) assertEquals(0, auto.heads16(), "ordinary heads stay INT8:\n" + r.table());
    }

    @Test
    void outlierChannelsInKFromNpyFiles() throws Exception {
        Report r = check(outliers());
        if (att.arch() != Arch.SM90) return; // 16-bit QK and auto are sm_90 modes
        ModeResult q16 = mode(r, "qk-fp16");
        assertTrue(q16.ran(), r.table());
        assertTrue(q16.error().cosine() >= 0.9995 && q16.error().relL1() <= 0.015, "16-bit QK within the FP16-PV bars:\n" + r.table());
        assertTrue(q16.meetsBar(), r.table());
        ModeResult auto = mode(r, "auto");
        assertEquals(B * H, auto.heads16(), "auto sends every outlier head to 16-bit QK:\n" + r.table());
        assertTrue(auto.meetsBar(), r.table());
        String rec = r.recommended().mode().id();
        assertTrue(rec.equals("auto") || rec.startsWith("auto+") || rec.equals("qk-fp16"), r.table());
    }

    @Test
    void devicePointersAndSampledRows() {
        RandomInputs x = ordinary().x();
        AttentionArgs.Builder b = AttentionArgs.builder().batch(B).heads(H).kvHeads(HKV).seqLen(L).headDim(D).dtype(DType.BF16);
        try (DeviceBuffer dq = DeviceBuffer.allocate(att.context(), 2L * x.q16().length);
             DeviceBuffer dk = DeviceBuffer.allocate(att.context(), 2L * x.k16().length);
             DeviceBuffer dv = DeviceBuffer.allocate(att.context(), 2L * x.v16().length)) {
            dq.copyFrom(x.q16());
            dk.copyFrom(x.k16());
            dv.copyFrom(x.v16());
            AttentionArgs call = b.q(dq.address()).k(dk.address()).v(dv.address()).o(16).build();
            Report r = AccuracyCheck.run(att, call, AccuracyCheck.Options.defaults().withModes(List.of(AccuracyCheck.Mode.DEFAULT))
                    .withMaxRowsPerHead(100).withTimingRuns(1));
            assertEquals(1, r.modes().size());
            assertEquals(100, r.rowsPerHead());
            assertTrue(r.modes().get(0).meetsBar(), r.table());
        }
    }

    @Test
    void theCommandLineWritesJson() throws Exception {
        Case c = outliers();
        RandomInputs x = c.x();
        String qs = B + ", " + H + ", " + L + ", " + D;
        String ks = B + ", " + HKV + ", " + L + ", " + D;
        Path q = write("cli-q.npy", x.q16(), true, qs);
        Path k = write("cli-k.npy", x.k16(), true, ks);
        Path v = write("cli-v.npy", x.v16(), true, ks);
        Path json = tmp.resolve("report.json");
        PrintStream old = System.out;
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        int code;
        try (PrintStream p = new PrintStream(out, true, StandardCharsets.UTF_8)) {
            System.setOut(p);
            code = io.sageptx.cli.Main.commandLine().execute("verify", "--q", q.toString(), "--k", k.toString(), "--v", v.toString(),
                    "--dtype", "bf16", "--json", json.toString());
        } finally {
            System.setOut(old);
        }
        String text = out.toString(StandardCharsets.UTF_8);
        System.out.println(text);
        String j = Files.readString(json);
        assertTrue(j.contains("\"modes\": [") && j.contains("\"mode\": \"default\"") && j.contains("\"recommendation\": "), j);
        assertTrue(text.contains("recommendation: "), text);
        if (att.arch() == Arch.SM90) assertEquals(0, code, text);
    }
}
