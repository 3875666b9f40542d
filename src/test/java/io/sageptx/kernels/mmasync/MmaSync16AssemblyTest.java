package io.sageptx.kernels.mmasync;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.DynamicTest.dynamicTest;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.stream.Stream;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

import io.sageptx.kernels.AttentionFamilies;
import io.sageptx.kernels.AttentionModules;
import io.sageptx.kernels.preprocess.PreprocessEmitter;
import io.sageptx.kernels.preprocess.PreprocessKernels;
import io.sageptx.spec.Arch;
import io.sageptx.spec.ArchLimits;
import io.sageptx.spec.DType;
import io.sageptx.spec.KernelSpec;
import io.sageptx.spec.MmaKind;
import io.sageptx.spec.PvVariant;
import io.sageptx.spec.QkPrecision;
import io.sageptx.spec.SpecCodec;
import io.sageptx.spec.Sync16Tiles;
import io.sageptx.testing.Ptxas;

/**
 * The 16-bit QK mma.sync kernel ({@link QkPrecision#FP16} with {@link MmaKind#SYNC}) and qk=auto in the mma.sync
 * family: every variant (sm_80, sm_89, sm_90, sm_120; every head dim with the arch's default tiles, full and causal;
 * every tuner candidate at D 64, 96, 128; mixed dtypes) assembles without spills, stack or warnings; the instructions
 * are the 16-bit ones and nothing of the INT8 scratch is read; shared memory fits the arch (99 KB on sm_86/89/120).
 * The gated INT8 kernels of qk=auto assemble with no more registers than the plain ones (+2) and their preprocessing
 * too; the partner is the family's qk=fp16 spec.
 */
class MmaSync16AssemblyTest {

    static final Arch[] ARCHS = {Arch.SM80, Arch.SM89, Arch.SM90, Arch.SM120};

    private static final Map<String, String> TABLE = new TreeMap<>();

    static KernelSpec preferred(Arch arch, int d, boolean causal, DType in, DType out) {
        return AttentionFamilies.of(MmaKind.SYNC).preferred(arch, d, causal, in, out, null, QkPrecision.FP16).orElseThrow();
    }

    static List<KernelSpec> specs() {
        Set<KernelSpec> out = new LinkedHashSet<>();
        for (Arch arch : ARCHS) {
            for (int d : KernelSpec.HEAD_DIMS) {
                if (d > Sync16Tiles.MAX_HEAD_DIM) continue;
                out.add(preferred(arch, d, false, DType.BF16, DType.BF16));
                out.add(preferred(arch, d, true, DType.FP16, DType.FP16));
            }
            for (int d : new int[] {64, 96, 128}) {
                for (boolean causal : new boolean[] {false, true}) {
                    out.addAll(AttentionFamilies.of(MmaKind.SYNC).candidates(arch, d, causal, DType.BF16, DType.BF16,
                            QkPrecision.FP16));
                }
            }
            out.add(preferred(arch, 128, true, DType.FP16, DType.BF16));
            out.add(preferred(arch, 64, false, DType.BF16, DType.FP16));
        }
        return new ArrayList<>(out);
    }

    @AfterAll
    static void table() {
        System.out.println("| 16-bit QK mma.sync variant | smem B | stages | registers | spill stores | spill loads |");
        System.out.println("|---|---|---|---|---|---|");
        TABLE.values().forEach(System.out::println);
    }

    @TestFactory
    Stream<DynamicTest> everyVariantAssemblesWithoutSpills() {
        Ptxas.assumeAvailable();
        return specs().stream().map(spec -> dynamicTest(spec.toString(), () -> {
            String ptx = MmaSyncEmitter.emit(spec);
            String t = spec.inType().ptx();
            MmaSyncPlan plan = new MmaSyncPlan(spec);
            assertTrue(plan.stages() >= 2, "pipelined");
            assertTrue(plan.fits(), "fits " + plan.limits().name());
            assertEquals(Sync16Tiles.smemBytes(spec.headDim(), spec.blockQ(), spec.blockK(), plan.stages()), plan.smemBytes());
            assertTrue(ptx.contains(".target " + spec.arch().target() + "\n"), "the arch's target");
            assertTrue(!ptx.contains(".s8") && !ptx.contains("e4m3"), "no 8-bit operand anywhere");
            assertTrue(!ptx.contains("cvt.rn.f32.s32"), "the scores are FP32 already");
            assertTrue(!ptx.contains("[p_qkm]") && !ptx.contains("[p_qs]") && !ptx.contains("[p_ks]")
                    && !ptx.contains("[p_vs]"), "no INT8 scratch is read");
            assertTrue(ptx.contains("[p_c]") && ptx.contains("[p_q_sr]") && ptx.contains("[p_k_sr]"));
            int qkSteps = spec.headDim() / 16;
            int qk = spec.mTiles() * spec.blockK() / 8 * qkSteps;
            assertEquals(qk, count(ptx, "mma.sync.aligned.m16n8k16.row.col.f32." + t + "." + t + ".f32 {%x"), "S k16 mmas");
            assertEquals(spec.mTiles() * spec.blockK() / 8, count(ptx, "{%fzero, %fzero, %fzero, %fzero};"),
                    "every score tile starts from zero once per block");
            int pv = spec.mTiles() * spec.headDim() / 8 * spec.blockK() / 16;
            assertEquals(pv, count(ptx, "mma.sync.aligned.m16n8k16.row.col.f32." + t + "." + t + ".f32 {%o"), "P V mmas");
            assertEquals(spec.mTiles() * spec.headDim() / 8 * 4, count(ptx, "mul.f32 %o"), "O rescaled once per block");
            assertEquals(plan.stages(), count(ptx, "cp.async.commit_group"), "S-1 prologue groups and one per iteration");
            assertTrue(ptx.contains("[p_qkflags]"), "the partner's gate");
            Ptxas.Result r = Ptxas.assemble(ptx, spec.arch().target());
            assertEquals(0, r.exitCode(), r.log());
            assertTrue(!r.log().toLowerCase().contains("warning"), r.log());
            Ptxas.EntryInfo info = r.entries().get(spec.kernelName());
            synchronized (TABLE) {
                TABLE.put(String.format("%s %03d %s", spec.arch().target(), spec.headDim(), spec), "| " + spec + " | "
                        + plan.smemBytes() + " | " + plan.stages() + " | " + info.registers() + " | " + info.spillStores()
                        + " | " + info.spillLoads() + " |");
            }
            assertEquals(0, info.spillStores(), r.log());
            assertEquals(0, info.spillLoads(), r.log());
            assertEquals(0, info.stackFrame(), r.log());
        }));
    }

    static List<KernelSpec> autoSpecs() {
        List<KernelSpec> out = new ArrayList<>();
        for (Arch arch : ARCHS) {
            for (int d : new int[] {64, 96, 128}) {
                for (boolean causal : new boolean[] {false, true}) {
                    out.add(AttentionFamilies.of(MmaKind.SYNC).preferred(arch, d, causal, DType.BF16, DType.BF16, null,
                            QkPrecision.AUTO).orElseThrow());
                }
                out.add(AttentionFamilies.of(MmaKind.SYNC).preferred(arch, d, false, DType.FP16, DType.FP16, PvVariant.FP16,
                        QkPrecision.AUTO).orElseThrow());
            }
            out.add(AttentionFamilies.of(MmaKind.SYNC).preferred(arch, Sync16Tiles.MAX_HEAD_DIM, true, DType.BF16, DType.BF16,
                    null, QkPrecision.AUTO).orElseThrow());
        }
        return out;
    }

    @TestFactory
    Stream<DynamicTest> autoGatedKernelsAndTheirPreprocessingAssemble() {
        Ptxas.assumeAvailable();
        return autoSpecs().stream().distinct().map(spec -> dynamicTest(spec.toString(), () -> {
            assertEquals(MmaKind.SYNC, spec.mma());
            String ptx = AttentionModules.module(spec).ptx().get();
            assertTrue(ptx.contains("qk=auto: is this head this kernel's?"));
            assertEquals(1, count(ptx, "setp.ne.u32 %p0, %tmp, 0;\n    @%p0 bra.uni EXIT;"), "heads flagged 16-bit leave");
            Ptxas.EntryInfo gated = assemble(ptx, spec);
            KernelSpec plain = spec.toBuilder().qk(QkPrecision.INT8).build();
            Ptxas.EntryInfo base = assemble(AttentionModules.module(plain).ptx().get(), plain);
            assertTrue(gated.registers() <= base.registers() + 2, gated + " vs " + base);

            String pre = PreprocessKernels.module(spec).ptx().get();
            Ptxas.Result r = Ptxas.assemble(pre, spec.arch().target());
            assertEquals(0, r.exitCode(), r.log());
            assertTrue(!r.log().toLowerCase().contains("warning"), r.log());
            assertTrue(r.entries().containsKey(PreprocessEmitter.qkDecideName(spec)));
            r.entries().values().forEach(e -> assertTrue(e.noSpills(), e.toString()));

            KernelSpec p = spec.autoPartner();
            assertEquals(MmaKind.SYNC, p.mma());
            assertEquals(QkPrecision.FP16, p.qk());
            assertEquals(preferred(spec.arch(), spec.headDim(), spec.causal(), spec.inType(), spec.outType()), p,
                    "the partner is what a qk=fp16 call runs");
            Ptxas.Result pr = Ptxas.assemble(AttentionModules.module(p).ptx().get(), p.arch().target());
            assertEquals(0, pr.exitCode(), pr.log());
            assertTrue(pr.entry(p.kernelName()).noSpills());
        }));
    }

    @Test
    void everyArchHasTheModesAndTheirChecks() {
        for (Arch arch : ARCHS) {
            for (int d : KernelSpec.HEAD_DIMS) {
                if (d > Sync16Tiles.MAX_HEAD_DIM) {
                    assertTrue(AttentionFamilies.of(MmaKind.SYNC).preferred(arch, d, false, DType.BF16, DType.BF16, null,
                            QkPrecision.FP16).isEmpty());
                    assertTrue(AttentionFamilies.of(MmaKind.SYNC).preferred(arch, d, false, DType.BF16, DType.BF16, null,
                            QkPrecision.AUTO).isEmpty());
                    continue;
                }
                KernelSpec s = preferred(arch, d, false, DType.BF16, DType.BF16);
                assertEquals(PvVariant.FP16, s.pv());
                assertTrue(new MmaSyncPlan(s).fits(), s.toString());
                assertTrue(Sync16Tiles.smemBytes(d, s.blockQ(), s.blockK(), 2) <= ArchLimits.of(arch).smemPerBlock());
            }
            List<KernelSpec> c = AttentionFamilies.of(MmaKind.SYNC).candidates(arch, 128, false, DType.BF16, DType.BF16,
                    QkPrecision.FP16);
            assertTrue(c.size() >= 2 && c.stream().allMatch(x -> x.fp16Qk() && new MmaSyncPlan(x).fits()), c.toString());
            if (arch != Arch.SM90) {
                // where no other family runs it, the registry's default of the mode is this family's
                assertEquals(preferred(arch, 128, true, DType.BF16, DType.BF16),
                        AttentionFamilies.preferred(arch, 128, true, DType.BF16, DType.BF16, null, QkPrecision.FP16));
                assertEquals(MmaKind.SYNC,
                        AttentionFamilies.preferred(arch, 128, true, DType.BF16, DType.BF16, null, QkPrecision.AUTO).mma());
            }
        }
        // 99 KB per CTA: at D = 128 128 rows with 64-key blocks need 104448 bytes; sm_90 has room
        assertEquals(32, preferred(Arch.SM89, 128, false, DType.BF16, DType.BF16).blockK());
        assertEquals(64, preferred(Arch.SM90, 128, false, DType.BF16, DType.BF16).blockK());
        assertEquals(64, preferred(Arch.SM89, 208, false, DType.BF16, DType.BF16).blockQ());
        IllegalArgumentException big = assertThrows(IllegalArgumentException.class,
                () -> preferred(Arch.SM90, 208, false, DType.BF16, DType.BF16).toBuilder().headDim(224).build());
        assertTrue(big.getMessage().contains("KernelSpec.headDim") && big.getMessage().contains("wgmma"), big.getMessage());

        KernelSpec s = preferred(Arch.SM89, 64, true, DType.BF16, DType.BF16);
        assertTrue(s.kernelName().endsWith("_sm_89_qkfp16"), s.kernelName());
        assertEquals(s, SpecCodec.decode(SpecCodec.encode(s)));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> s.toBuilder().pv(PvVariant.FP8_F16ACC).build());
        assertTrue(e.getMessage().contains("KernelSpec.qk") && e.getMessage().contains("pv=fp16"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> s.toBuilder().stages(1).build());
        assertTrue(e.getMessage().contains("KernelSpec.stages") && e.getMessage().contains("pipelined"), e.getMessage());
        assertTrue(AttentionFamilies.of(MmaKind.SYNC).preferred(Arch.SM89, 64, true, DType.BF16, DType.BF16,
                PvVariant.FP8_F16ACC, QkPrecision.FP16).isEmpty(), "no FP8 PV with 16-bit QK");
        // qk=auto on sm_80 (no FP8 mma): the INT8 + FP16 PV kernel, gated
        KernelSpec a80 = AttentionFamilies.preferred(Arch.SM80, 128, false, DType.BF16, DType.BF16, null, QkPrecision.AUTO);
        assertEquals(PvVariant.FP16, a80.pv());
        assertEquals(QkPrecision.AUTO, a80.qk());
        assertEquals(preferred(Arch.SM80, 128, false, DType.BF16, DType.BF16), a80.autoPartner());
    }

    private static Ptxas.EntryInfo assemble(String ptx, KernelSpec spec) {
        Ptxas.Result r = Ptxas.assemble(ptx, spec.arch().target());
        assertEquals(0, r.exitCode(), r.log());
        assertTrue(!r.log().toLowerCase().contains("warning"), r.log());
        Ptxas.EntryInfo e = r.entry(spec.kernelName());
        assertTrue(e.noSpills(), e.toString());
        return e;
    }

    private static int count(String s, String what) {
        int n = 0;
        for (int i = s.indexOf(what); i >= 0; i = s.indexOf(what, i + 1)) n++;
        return n;
    }
}
