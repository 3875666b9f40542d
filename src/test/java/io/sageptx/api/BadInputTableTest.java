package io.sageptx.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.DynamicTest.dynamicTest;

import io.sageptx.call.AttentionArgs;
import io.sageptx.call.CausalMode;
import io.sageptx.call.MergeArgs;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.function.UnaryOperator;
import java.util.stream.Stream;

import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

import io.sageptx.cuda.DeviceBuffer;
import io.sageptx.ptx.PtxVersions;
import io.sageptx.spec.Arch;
import io.sageptx.spec.DType;
import io.sageptx.spec.KernelSpec;
import io.sageptx.spec.PvVariant;
import io.sageptx.spec.UnsupportedDeviceException;
import jcuda.driver.CUdeviceptr;

/**
 * The table of bad inputs (issue 5): every invalid argument of an attention call, of an LSE merge and
 * of the device is refused with an IllegalArgumentException (or its subclass UnsupportedDeviceException
 * for the device) whose message names the argument, by checks that run before anything touches the GPU
 * ({@link SageAttention#checkCall}, {@link MergeArgs#validate}, {@link Arch#forDevice},
 * {@link PtxVersions#requireDriver}). The test runs without a GPU; {@link #noCaseTouchedTheDevice}
 * checks that no case allocated device memory.
 */
class BadInputTableTest {

    private static final Arch ARCH = Arch.SM90;
    private static final long WS = 0x100000L;

    /** One bad input: what it is, the call that must fail, the text the message must contain. */
    record Case(String name, Runnable call, String names, Class<? extends IllegalArgumentException> type) {
    }

    /** A valid call: B=2, H=8, Hkv=2, L=128, D=128, fp16, LSE, on sm_90. */
    static AttentionArgs.Builder ok() {
        return AttentionArgs.builder().q(0x10000).k(0x20000).v(0x30000).o(0x40000).lse(0x50000).batch(2).heads(8)
                .kvHeads(2).lq(128).lk(128).headDim(128).dtype(DType.FP16);
    }

    static Runnable attention(UnaryOperator<AttentionArgs.Builder> edit) {
        return () -> SageAttention.checkCall(edit.apply(ok()).build(), ARCH, 0, 0, false);
    }

    static Runnable attentionOn(Arch arch, UnaryOperator<AttentionArgs.Builder> edit) {
        return () -> SageAttention.checkCall(edit.apply(ok()).build(), arch, 0, 0, false);
    }

    static Runnable workspace(long address, long bytes) {
        return () -> SageAttention.checkCall(ok().build(), ARCH, address, bytes, true);
    }

    /** A valid merge: 3 parts, B=2, H=4, L=100, D=64, bf16. */
    static MergeArgs.Builder okMerge() {
        return MergeArgs.builder().part(0x10000, 0x11000).part(0x20000, 0x21000).part(0x30000, 0x31000)
                .out(0x40000, 0x41000).batch(2).heads(4).seqLen(100).headDim(64).dtype(DType.BF16);
    }

    static Runnable merge(UnaryOperator<MergeArgs.Builder> edit) {
        return () -> edit.apply(okMerge()).build().validate();
    }

    static Case bad(String name, Runnable call, String names) {
        return new Case(name, call, names, IllegalArgumentException.class);
    }

    static Case device(String name, Runnable call, String names) {
        return new Case(name, call, names, UnsupportedDeviceException.class);
    }

    static List<Case> cases() {
        KernelSpec sm89 = KernelSpec.defaults(Arch.SM89, 128, false, DType.FP16, DType.FP16);
        KernelSpec sm90 = KernelSpec.defaults(ARCH, 128, false, DType.FP16, DType.FP16);
        long need = SageAttention.workspaceBytes(ok().build(), ARCH);
        List<Case> t = new ArrayList<>();
        // ---- pointers
        t.add(bad("q null", attention(b -> b.q(0)), "q is a null"));
        t.add(bad("k null", attention(b -> b.k(0)), "k is a null"));
        t.add(bad("v null", attention(b -> b.v(0)), "v is a null"));
        t.add(bad("o null", attention(b -> b.o(0)), "o is a null"));
        t.add(bad("q null CUdeviceptr", attention(b -> b.q((CUdeviceptr) null)), "q is a null"));
        t.add(bad("o unset CUdeviceptr", attention(b -> b.o(new CUdeviceptr())), "o is a null"));
        t.add(bad("q unaligned", attention(b -> b.q(0x10008)), "q = 0x10008"));
        t.add(bad("k unaligned", attention(b -> b.k(0x20001)), "k = 0x20001"));
        t.add(bad("v unaligned", attention(b -> b.v(0x30002)), "v = 0x30002"));
        t.add(bad("o unaligned", attention(b -> b.o(0x40004)), "o = 0x40004"));
        t.add(bad("lse unaligned", attention(b -> b.lse(0x50004)), "lse = 0x50004"));
        t.add(bad("q unaligned through a CUdeviceptr offset", attention(b -> b.q(new CUdeviceptr().withByteOffset(0x10002))),
                "q = 0x10002"));
        // ---- shapes
        t.add(bad("batch 0", attention(b -> b.batch(0)), "batch = 0"));
        t.add(bad("batch negative", attention(b -> b.batch(-3)), "batch = -3"));
        t.add(bad("heads 0", attention(b -> b.heads(0)), "heads = 0"));
        t.add(bad("kvHeads negative", attention(b -> b.kvHeads(-2)), "kvHeads = -2"));
        t.add(bad("lq 0 with lk given", attention(b -> b.lq(0).lk(128)), "lq = 0"));
        t.add(bad("lk negative", attention(b -> b.lk(-5)), "lk = -5"));
        t.add(bad("headDim 0", attention(b -> b.headDim(0)), "headDim = 0"));
        t.add(bad("headDim negative", attention(b -> b.headDim(-64)), "headDim = -64"));
        t.add(bad("headDim 100 (not generated)", attention(b -> b.headDim(100)), "headDim = 100"));
        t.add(bad("headDim 512 (too large)", attention(b -> b.headDim(512)), "headDim = 512"));
        t.add(bad("heads not a multiple of kvHeads", attention(b -> b.heads(6).kvHeads(4)), "kvHeads = 4"));
        t.add(bad("kvHeads above heads", attention(b -> b.heads(8).kvHeads(16)), "kvHeads = 16"));
        t.add(bad("batch above the grid limit", attention(b -> b.batch(70000).lq(1).lk(1)), "batch = 70000"));
        t.add(bad("heads above the grid limit", attention(b -> b.heads(70000).kvHeads(1).lq(1).lk(1)), "heads = 70000"));
        t.add(bad("q over 2^31 elements", attention(b -> b.batch(64).heads(64).kvHeads(64).lq(8192).lk(16)), "q and o too large"));
        t.add(bad("k over 2^31 elements", attention(b -> b.batch(64).heads(64).kvHeads(64).lq(16).lk(8192)), "k and v too large"));
        // ---- scale and dtypes
        t.add(bad("smScale NaN", attention(b -> b.smScale(Float.NaN)), "smScale = NaN"));
        t.add(bad("smScale negative", attention(b -> b.smScale(-0.125f)), "smScale = -0.125"));
        t.add(bad("smScale zero", attention(b -> b.smScale(0f)), "smScale = 0.0"));
        t.add(bad("smScale +inf", attention(b -> b.smScale(Float.POSITIVE_INFINITY)), "smScale = Infinity"));
        t.add(bad("smScale -inf", attention(b -> b.smScale(Float.NEGATIVE_INFINITY)), "smScale = -Infinity"));
        t.add(bad("dtype null", attention(b -> b.dtype(null)), "dtype is null"));
        t.add(bad("inType null", attention(b -> b.inType(null)), "inType is null"));
        t.add(bad("dtype fp32 (text)", () -> DType.parse("fp32"), "dtype: 'fp32'"));
        // ---- specs and variants
        t.add(bad("spec for another head dim", attention(b -> b.spec(sm90.toBuilder().tiles(128, 8).build()).headDim(64)), "spec"));
        t.add(bad("spec for other dtypes", attention(b -> b.spec(sm90.toBuilder().types(DType.BF16, DType.BF16).build())), "spec"));
        t.add(bad("spec causal, call not", attention(b -> b.spec(sm90.toBuilder().causal(true).build())), "spec"));
        t.add(bad("spec for the wrong arch", attention(b -> b.spec(sm89)), "spec targets sm_89"));
        t.add(bad("FP8 PV on sm_80", attentionOn(Arch.SM80, b -> b.pv(PvVariant.FP8_F16ACC)), "pv"));
        // ---- caller workspace
        t.add(bad("workspace null", workspace(0, need), "workspace is a null"));
        t.add(bad("workspace unaligned", workspace(WS + 128, need), "workspace = 0x100080"));
        t.add(bad("workspace too small", workspace(WS, need - 1), "workspaceBytes = " + (need - 1)));
        t.add(bad("workspace size negative", workspace(WS, -1), "workspaceBytes = -1"));
        // ---- the device
        t.add(device("GPU below compute capability 8.0", () -> Arch.forDevice(7, 5), "compute capability 7.5"));
        t.add(device("driver too old for PTX ISA 8.7", () -> PtxVersions.requireDriver(12040, "8.7", "test GPU", "kernel"),
                "driver"));
        t.add(device("driver too old for PTX ISA 7.8", () -> PtxVersions.requireDriver(11070, "7.8", "test GPU", "kernel"),
                "driver"));
        // ---- LSE merge
        t.add(bad("merge with no parts", () -> MergeArgs.builder().out(0x40000, 0x41000).seqLen(4).headDim(64).build()
                .validate(), "parts"));
        t.add(bad("merge part O null", merge(b -> b.part(0, 0x51000)), "part[3].o is a null"));
        t.add(bad("merge part LSE null", merge(b -> b.part(0x50000, 0)), "part[3].lse is a null"));
        t.add(bad("merge part O unaligned", merge(b -> b.part(0x50008, 0x51000)), "part[3].o = 0x50008"));
        t.add(bad("merge part LSE unaligned", merge(b -> b.part(0x50000, 0x51002)), "part[3].lse = 0x51002"));
        t.add(bad("merge out O null", merge(b -> b.out(0, 0x41000)), "out.o is a null"));
        t.add(bad("merge out LSE null", merge(b -> b.out(0x40000, 0)), "out.lse is a null"));
        t.add(bad("merge headDim 12", merge(b -> b.headDim(12)), "headDim = 12"));
        t.add(bad("merge headDim 264", merge(b -> b.headDim(264)), "headDim = 264"));
        t.add(bad("merge dtype null", merge(b -> b.dtype(null)), "dtype is null"));
        t.add(bad("merge seqLen 0", merge(b -> b.seqLen(0)), "seqLen = 0"));
        t.add(bad("merge heads negative", merge(b -> b.heads(-1)), "heads = -1"));
        t.add(bad("merge row stride below D", merge(b -> b.strides(6400 * 4, 6400, 32)), "strideL = 32"));
        t.add(bad("merge row stride not 16-byte", merge(b -> b.strides(6800 * 4, 6800, 68)), "strideL = 68"));
        t.add(bad("merge rows over 2^31", merge(b -> b.batch(1024).heads(1024).seqLen(4096)), "rows"));
        t.add(bad("merge output is part 40 of 41", () -> {
            MergeArgs.Builder b = okMerge();
            for (int n = 3; n < 40; n++) b.part(0x100000L * (n + 1), 0x100000L * (n + 1) + 0x1000);
            b.part(0x40000, 0x41000).build().validate();
        }, "part[40] is the output"));

        // ---- shapes and modes: strides, causal alignment, varlen (the last dim is contiguous by construction:
        // strides are given for batch, head and token only)
        t.add(bad("q token stride not 16-byte", attention(b -> b.qStrides(8L * 128 * 128, 128L * 128, 100)), "qStrides"));
        t.add(bad("k stride negative", attention(b -> b.kStrides(-2L * 128 * 128, 128L * 128, 128)), "kStrides"));
        t.add(bad("v head stride not 16-byte", attention(b -> b.vStrides(2L * 128 * 128, 12, 256)), "vStrides"));
        t.add(bad("o rows overlap", attention(b -> b.oStrides(8L * 128 * 128, 128L * 128, 64)), "overlap"));
        t.add(bad("o stride odd", attention(b -> b.oStrides(8L * 128 * 129, 128L * 129, 129)), "oStrides"));
        t.add(bad("causal(true) with lq != lk", attention(b -> b.lq(100).causal(true)), "ambiguous"));
        t.add(bad("causal mode null", attention(b -> b.causal((CausalMode) null)), "causal mode"));
        t.add(bad("layout null", attention(b -> b.layout(null)), "layout"));
        t.add(bad("varlen without cu_seqlens_q", attention(b -> b.varlen(0, 0x60000, 128, 128)), "cu_seqlens"));
        t.add(bad("varlen cu_seqlens unaligned", attention(b -> b.varlen(0x60002, 0x60000, 128, 128)), "4-byte aligned"));
        t.add(bad("varlen causal(true), different cu_seqlens", attention(b -> b.varlen(0x60000, 0x70000, 128, 128)
                .causal(true)), "ambiguous"));
        t.add(bad("varlen max_seqlen_q 0", attention(b -> b.varlen(0x60000, 0x60000, 0, 128)), "lq = 0"));
        return t;
    }

    @TestFactory
    Stream<DynamicTest> everyBadInputIsRefusedByName() {
        return cases().stream().map(c -> dynamicTest(c.name(), () -> {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, c.call()::run, c.name());
            assertInstanceOf(c.type(), e, c.name());
            assertTrue(e.getMessage().contains(c.names()),
                    c.name() + ": the message must name the argument ('" + c.names() + "'): " + e.getMessage());
        }));
    }

    @Test
    void theTableHasAtLeastThirtyDistinctCases() {
        Set<String> names = new LinkedHashSet<>();
        for (Case c : cases()) assertTrue(names.add(c.name()), "duplicate case " + c.name());
        assertTrue(names.size() >= 30, names.size() + " cases");
        System.out.println("bad inputs (" + names.size() + "): " + String.join("; ", names));
    }

    @Test
    void theBaselinesAreValid() {
        SageAttention.checkCall(ok().build(), ARCH, 0, 0, false);
        long need = SageAttention.workspaceBytes(ok().build(), ARCH);
        SageAttention.checkCall(ok().build(), ARCH, WS, need, true);
        okMerge().build().validate();
        okMerge().layoutBlhd().build().validate();
        assertEquals(0x10002L, DeviceBuffer.addressOf(new CUdeviceptr().withByteOffset(0x10002)));
    }

    @Test
    void noCaseTouchedTheDevice() {
        for (Case c : cases()) {
            try {
                c.call().run();
            } catch (IllegalArgumentException expected) {
                // the table's point
            }
        }
        assertEquals(0, DeviceBuffer.allocationCount(), "a check allocated device memory");
    }
}
