package io.sageptx.kernels.wgmma;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.DynamicTest.dynamicTest;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

import io.sageptx.kernels.attention.AttentionAbi;
import io.sageptx.spec.Arch;
import io.sageptx.spec.DType;
import io.sageptx.spec.KernelSpec;
import io.sageptx.spec.MmaKind;
import io.sageptx.spec.PvVariant;
import io.sageptx.spec.QkPrecision;
import io.sageptx.spec.SpecCodec;
import io.sageptx.testing.Ptxas;

/**
 * The 16-bit QK wgmma kernel ({@link QkPrecision#FP16}): every variant (head dims 32..256, both dtypes, causal
 * and not, tiles 128/8 and 64/4 with 64-key blocks, 128/8 with 32-key blocks) assembles for sm_90a without
 * spills or warnings, within 128 registers up to D = 128 (two CTAs per SM); the instructions are the 16-bit
 * ones; the spec field's checks, names and text form.
 */
class Wgmma16AssemblyTest {

    private static final Map<String, String> TABLE = new TreeMap<>();

    static List<KernelSpec> specs() {
        List<KernelSpec> out = new ArrayList<>();
        for (int d : KernelSpec.HEAD_DIMS) {
            for (boolean causal : new boolean[] {false, true}) {
                for (DType t : DType.values()) {
                    for (int[] tl : new int[][] {{128, 8, 64}, {64, 4, 64}, {128, 8, 32}}) {
                        out.add(spec(d, causal, t, t).toBuilder().tiles(tl[0], tl[1]).blockK(tl[2]).build());
                    }
                }
            }
        }
        out.add(spec(128, false, DType.FP16, DType.BF16));
        out.add(spec(64, true, DType.BF16, DType.FP16));
        return out;
    }

    static KernelSpec spec(int d, boolean causal, DType in, DType out) {
        return KernelSpec.defaults(Arch.SM90, d, causal, in, out).toBuilder().pv(PvVariant.FP16).blockK(64)
                .mma(MmaKind.WGMMA).qk(QkPrecision.FP16).build();
    }

    @AfterAll
    static void table() {
        System.out.println("| 16-bit QK wgmma variant | registers | spill stores | spill loads |");
        System.out.println("|---|---|---|---|");
        TABLE.values().forEach(System.out::println);
    }

    @TestFactory
    Stream<DynamicTest> everyVariantAssemblesWithoutSpills() {
        Ptxas.assumeAvailable();
        return specs().stream().distinct().map(spec -> dynamicTest(spec.toString(), () -> {
            String ptx = WgmmaEmitter.emit(spec);
            String t = spec.inType().ptx();
            assertTrue(ptx.contains(".target sm_90a"), "wgmma needs sm_90a");
            assertTrue(ptx.contains(".version 8.0"), "wgmma is PTX ISA 8.0");
            assertTrue(!ptx.contains("ldmatrix"), "Q, K, V are read by the tensor cores from shared memory");
            assertTrue(!ptx.contains(".s8") && !ptx.contains("e4m3"), "no 8-bit operand anywhere");
            assertTrue(!ptx.contains("cvt.rn.f32.s32"), "the scores are FP32 already");
            assertTrue(!ptx.contains("[%rd_ks"), "no K scale is read (the kernel never sets %rd_ks)");
            assertTrue(!ptx.contains("[p_qkm]") && !ptx.contains("[p_qs]") && !ptx.contains("[p_ks]"),
                    "no INT8 scratch is read (no scales, no q . kmean in the LSE)");
            int runs = new WgmmaPlan(spec).vRuns().size();
            int qkSteps = spec.headDim() / 16;
            int pv = spec.blockK() / 16 * runs;
            assertEquals(qkSteps + pv, count(ptx, "wgmma.mma_async"));
            assertEquals(qkSteps, count(ptx, ".f32." + t + "." + t + " {%x0,"), "S k16 steps into the scores");
            assertEquals(qkSteps, count(ptx, ", %qdesc, %kdesc, %pfalse, 1, 1, 0, 0;")
                    + count(ptx, ", %qdesc, %kdesc, %ptrue, 1, 1, 0, 0;"), "both S operands K-major");
            assertEquals(1, count(ptx, ", %qdesc, %kdesc, %pfalse, 1, 1, 0, 0;"), "S starts from zero once per block");
            assertEquals(pv, count(ptx, ", %vdesc, %ptrue, 1, 1, 1;"), "P V accumulates into O, V as an MN-major B");
            assertEquals(spec.blockK() / 16 * 4, count(ptx, "cvt.rn." + t + "x2.f32 %pa"), "P packed to 16-bit pairs");
            assertEquals(4, count(ptx, "wgmma.fence.sync.aligned") + count(ptx, "wgmma.commit_group.sync.aligned"));
            assertEquals(3, count(ptx, "cp.async.commit_group"), "Q, block 0, and the prefetch");
            assertTrue(ptx.contains("fence.proxy.async.shared::cta"), "copies are made visible to the async proxy");
            Ptxas.Result r = Ptxas.assemble(ptx, WgmmaEmitter.TARGET);
            assertEquals(0, r.exitCode(), r.log());
            assertTrue(!r.log().toLowerCase().contains("warning"), r.log());
            Ptxas.EntryInfo info = r.entries().get(spec.kernelName());
            synchronized (TABLE) {
                TABLE.put(String.format("%03d %s", spec.headDim(), spec), "| " + spec + " | " + info.registers() + " | "
                        + info.spillStores() + " | " + info.spillLoads() + " |");
            }
            assertEquals(0, info.spillStores(), r.log());
            assertEquals(0, info.spillLoads(), r.log());
            assertEquals(0, info.stackFrame(), r.log());
            int cap = spec.headDim() <= 128 ? WgmmaEmitter.REGISTERS_PER_THREAD : 255; // 2 CTAs per SM up to D=128
            assertTrue(info.registers() <= cap, info.registers() + " registers > " + cap + ": " + r.log());
            assertTrue(new WgmmaPlan(spec).smemBytes() <= 227 * 1024, "fits the shared memory of an SM");
        }));
    }

    @Test
    void theSpecFieldIsCheckedNamedAndEncoded() {
        KernelSpec s = spec(128, true, DType.BF16, DType.BF16);
        assertEquals(QkPrecision.FP16, s.qk());
        assertTrue(s.kernelName().endsWith("_sm_90a_wgmma_qkfp16"), s.kernelName());
        assertTrue(s.toString().endsWith(" wgmma qk=fp16"), s.toString());
        assertTrue(SpecCodec.encode(s).endsWith(",mma=wgmma,qk=fp16"), SpecCodec.encode(s));
        assertEquals(s, SpecCodec.decode(SpecCodec.encode(s)));
        KernelSpec int8 = s.toBuilder().qk(QkPrecision.INT8).pv(PvVariant.FP8_F16ACC).blockK(64).build();
        assertTrue(!SpecCodec.encode(int8).contains("qk"), "int8 is the default: not written");
        assertEquals(QkPrecision.INT8, SpecCodec.decode(SpecCodec.encode(int8)).qk());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> s.toBuilder().pv(PvVariant.FP8_F16ACC).build());
        assertTrue(e.getMessage().contains("KernelSpec.qk") && e.getMessage().contains("pv=fp16"), e.getMessage());
        // the mma.sync family has a 16-bit QK kernel too (up to D = 208, pipelined)
        assertEquals(MmaKind.SYNC, s.toBuilder().mma(MmaKind.SYNC).build().mma());
        e = assertThrows(IllegalArgumentException.class, () -> s.toBuilder().mma(MmaKind.SYNC).headDim(256).build());
        assertTrue(e.getMessage().contains("KernelSpec.headDim") && e.getMessage().contains("mma=sync"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> KernelSpec.defaults(Arch.SM89, 64, false, DType.FP16, DType.FP16).toBuilder().qk(QkPrecision.FP16).build());
        assertTrue(e.getMessage().contains("qk"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> QkPrecision.parse("int4"));
        assertEquals(QkPrecision.FP16, QkPrecision.parse("FP16"));
    }

    @Test
    void theAbiAddsTheCallerStridesAndTheSoftmaxScale() {
        String block = AttentionAbi.of(spec(64, false, DType.FP16, DType.FP16)).paramBlock();
        for (String p : new String[] {"p_q_sb", "p_q_sh", "p_q_sr", "p_k_sb", "p_k_sh", "p_k_sr", "p_c"}) {
            assertTrue(block.contains(p), p);
        }
        String int8 = AttentionAbi.of(KernelSpec.defaults(Arch.SM90, 64, false, DType.FP16, DType.FP16).toBuilder()
                .pv(PvVariant.FP8_F16ACC).mma(MmaKind.WGMMA).build()).paramBlock();
        assertTrue(!int8.contains("p_q_sr") && !int8.contains("p_c "), "the INT8 kernel's ABI is unchanged");
    }

    private static int count(String s, String what) {
        int n = 0;
        for (int i = s.indexOf(what); i >= 0; i = s.indexOf(what, i + 1)) n++;
        return n;
    }
}
