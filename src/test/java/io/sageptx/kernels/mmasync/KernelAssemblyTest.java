package io.sageptx.kernels.mmasync;

import static org.junit.jupiter.api.Assertions.assertAll;
import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.DynamicContainer.dynamicContainer;
import static org.junit.jupiter.api.DynamicTest.dynamicTest;

import io.sageptx.kernels.preprocess.PreprocessEmitter;
import io.sageptx.ptx.PtxVersions;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.DynamicNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

import io.sageptx.spec.Arch;
import io.sageptx.spec.DType;
import io.sageptx.spec.KernelSpec;
import io.sageptx.spec.PvVariant;
import io.sageptx.spec.QuantGranularity;
import io.sageptx.testing.Ptxas;

/**
 * Every PTX module the generator emits for the supported spec space must assemble with ptxas for its
 * target, with no register spills and no stack frame in any entry function. Also checks the PTX text
 * itself (mma instructions per PV variant, header lines, entry names, determinism), which needs no ptxas.
 */
class KernelAssemblyTest {

    private static final String MMA_QK = "mma.sync.aligned.m16n8k32.row.col.s32.s8.s8.s32";
    private static final String MMA_PV_F16ACC = "mma.sync.aligned.m16n8k32.row.col.f16.e4m3.e4m3.f16";
    private static final String MMA_PV_F32ACC = "mma.sync.aligned.m16n8k32.row.col.f32.e4m3.e4m3.f32";
    private static final Pattern ENTRY = Pattern.compile("(?m)^\\s*(\\.visible\\s+)?\\.entry\\s+([A-Za-z0-9_$]+)\\s*\\(");

    /** The head dims of the full variant matrix here; HeadDimAssemblyTest covers every head dim. */
    static final List<Integer> CORE_HEAD_DIMS = List.of(64, 128);

    /** Registers of the default attention kernels (filled by the assembly sweep, printed at the end). */
    private static final Map<String, Integer> DEFAULT_REGISTERS = new ConcurrentHashMap<>();

    // ---------------------------------------------------------------- spec sets

    static List<PvVariant> pvVariants(Arch arch) {
        List<PvVariant> out = new ArrayList<>();
        for (PvVariant pv : PvVariant.values()) {
            if (!pv.isFp8() || arch.hasFp8Mma()) out.add(pv);
        }
        return out;
    }

    /** The specs whose modules must assemble with no spills. */
    static List<KernelSpec> requiredSpecs() {
        Set<KernelSpec> specs = new LinkedHashSet<>();
        for (Arch arch : Arch.values()) {
            for (int d : CORE_HEAD_DIMS) {
                // Full matrix with the default tiles: causal x dtype (out = in) x every PV variant of the arch.
                for (boolean causal : new boolean[] {false, true}) {
                    for (DType t : DType.values()) {
                        for (PvVariant pv : pvVariants(arch)) {
                            specs.add(KernelSpec.defaults(arch, d, causal, t, t).toBuilder().pv(pv).build());
                        }
                    }
                }
                // Mixed input/output dtypes.
                specs.add(KernelSpec.defaults(arch, d, d == 128, DType.FP16, DType.BF16));
                specs.add(KernelSpec.defaults(arch, d, d == 64, DType.BF16, DType.FP16));
                // Coarser quantization granularities.
                for (QuantGranularity q : QuantGranularity.values()) {
                    specs.add(KernelSpec.defaults(arch, d, false, DType.FP16, DType.FP16).toBuilder().quant(q).build());
                    specs.add(KernelSpec.defaults(arch, d, true, DType.BF16, DType.BF16).toBuilder().quant(q).build());
                }
                // The alternative tile shape: blockQ 64 with 4 warps (16 rows per warp).
                for (PvVariant pv : pvVariants(arch)) {
                    specs.add(KernelSpec.defaults(arch, d, false, DType.FP16, DType.FP16).toBuilder().pv(pv).tiles(64, 4).build());
                }
                specs.add(KernelSpec.defaults(arch, d, true, DType.BF16, DType.BF16).toBuilder().tiles(64, 4).build());
                specs.add(KernelSpec.defaults(arch, d, true, DType.FP16, DType.BF16).toBuilder().tiles(64, 4).quant(QuantGranularity.PER_BLOCK).build());
            }
        }
        // Every pipeline depth (the default one is in the matrix above): the single-buffered kernel and the
        // pipelined ones, per arch, head dim, PV variant, full and causal.
        for (Arch arch : Arch.values()) {
            for (int d : CORE_HEAD_DIMS) {
                for (PvVariant pv : pvVariants(arch)) {
                    for (int st = 1; st <= 3; st++) {
                        specs.add(KernelSpec.defaults(arch, d, st == 2, DType.FP16, DType.FP16).toBuilder().pv(pv).stages(st).build());
                    }
                }
            }
        }
        // A few more combinations of the non-default variants.
        specs.add(KernelSpec.defaults(Arch.SM89, 64, false, DType.FP16, DType.BF16).toBuilder().pv(PvVariant.FP8_F32ACC).build());
        specs.add(KernelSpec.defaults(Arch.SM89, 128, true, DType.BF16, DType.FP16).toBuilder().pv(PvVariant.FP16).build());
        specs.add(KernelSpec.defaults(Arch.SM120, 128, false, DType.BF16, DType.FP16).toBuilder().pv(PvVariant.FP8_F32ACC).quant(QuantGranularity.PER_WARP).build());
        specs.add(KernelSpec.defaults(Arch.SM90, 128, true, DType.FP16, DType.FP16).toBuilder().pv(PvVariant.FP8_F16ACC).quant(QuantGranularity.PER_BLOCK).build());
        specs.add(KernelSpec.defaults(Arch.SM89, 128, false, DType.BF16, DType.BF16).toBuilder().pv(PvVariant.FP8_F32ACC).quant(QuantGranularity.PER_WARP).tiles(64, 4).build());
        return new ArrayList<>(specs);
    }

    /** Default tiles and quantization, any PV variant. */
    static boolean isDefaultTiles(KernelSpec s) {
        return s.equals(KernelSpec.defaults(s.arch(), s.headDim(), s.causal(), s.inType(), s.outType()).toBuilder().pv(s.pv()).build());
    }

    // ---------------------------------------------------------------- modules

    /** One PTX module: the attention kernel or the preprocessing kernels of a spec. */
    record Module(KernelSpec spec, boolean attention) {

        String ptx() {
            return attention ? MmaSyncEmitter.emit(spec) : PreprocessEmitter.emit(spec);
        }

        String isa() {
            return attention ? PtxVersions.isa(spec) : PtxVersions.base(spec.arch());
        }

        Set<String> expectedEntries() {
            Set<String> names = new LinkedHashSet<>();
            if (attention) {
                names.add(spec.kernelName());
            } else {
                names.add(PreprocessEmitter.kvStatsName(spec));
                names.add(PreprocessEmitter.quantQName(spec));
                names.add(PreprocessEmitter.quantKName(spec));
                if (spec.pv().isFp8()) names.add(PreprocessEmitter.quantVName(spec));
            }
            return names;
        }

        String label() {
            return (attention ? "attention " : "preprocess ") + spec;
        }
    }

    record Assembled(String ptx, Ptxas.Result result) {
    }

    static Set<String> entries(String ptx) {
        Set<String> out = new LinkedHashSet<>();
        Matcher m = ENTRY.matcher(ptx);
        while (m.find()) {
            if (m.group(1) == null) throw new AssertionError("entry " + m.group(2) + " is not .visible");
            out.add(m.group(2));
        }
        return out;
    }

    static String headerValue(String ptx, String directive) {
        Matcher m = Pattern.compile("(?m)^\\s*\\" + directive + "\\s+(\\S+)\\s*$").matcher(ptx);
        if (!m.find()) throw new AssertionError("no " + directive + " line");
        String v = m.group(1);
        assertFalse(m.find(), "more than one " + directive + " line");
        return v;
    }

    /** Checks on the PTX text of a module (no ptxas). */
    static void checkText(Module mod, String ptx) {
        KernelSpec s = mod.spec();
        assertAll(mod.label(),
                () -> assertEquals(mod.isa(), headerValue(ptx, ".version"), ".version"),
                () -> assertEquals(s.arch().target(), headerValue(ptx, ".target"), ".target"),
                () -> assertEquals(mod.expectedEntries(), entries(ptx), "entry functions (all .visible .entry)"),
                () -> {
                    if (mod.attention()) {
                        // the running output is rescaled once per block: one mul per accumulator in the loop
                        int outs = s.mTiles() * s.headDim() / 8 * 4;
                        assertEquals(outs, count(ptx, "mul.f32 %o"), "O rescaled by alpha once per block");
                    }
                });
    }

    private static int count(String text, String what) {
        int n = 0;
        for (int i = text.indexOf(what); i >= 0; i = text.indexOf(what, i + 1)) n++;
        return n;
    }

    /** Checks on the ptxas result: exit 0, every entry reported, no spills, no stack frame. */
    static void checkAssembled(Module mod, Assembled a) {
        Ptxas.Result r = a.result();
        assertEquals(0, r.exitCode(), () -> "ptxas failed for " + mod.label() + ":\n" + r.log());
        assertEquals(mod.expectedEntries(), r.entries().keySet(), () -> "entries ptxas compiled:\n" + r.log());
        for (String name : mod.expectedEntries()) {
            Ptxas.EntryInfo e = r.entry(name);
            assertTrue(e.registers() > 0, () -> "no register count parsed for " + name + ":\n" + r.log());
            assertEquals(0, e.spillStores(), () -> "spill stores in " + e);
            assertEquals(0, e.spillLoads(), () -> "spill loads in " + e);
            assertEquals(0, e.stackFrame(), () -> "stack frame in " + e);
            assertTrue(e.sharedBytes() <= 48 * 1024, () -> "static smem over 48 KiB in " + e);
        }
        if (mod.attention() && isDefaultTiles(mod.spec())) {
            KernelSpec s = mod.spec();
            int regs = r.entry(s.kernelName()).registers();
            DEFAULT_REGISTERS.put(String.format("%-6s D=%-3d %-10s%s %-6s %s->%s", s.arch().target(), s.headDim(),
                    s.pv().id(), s.pv() == s.arch().defaultPv() ? "*" : " ", s.causal() ? "causal" : "full",
                    s.inType().shortName(), s.outType().shortName()), regs);
            System.out.println(s.kernelName() + ": " + regs + " registers");
        }
    }

    @TestFactory
    Stream<DynamicNode> everyModuleAssemblesWithoutSpills() {
        Ptxas.assumeAvailable();
        List<KernelSpec> specs = requiredSpecs();
        int threads = Math.max(2, Runtime.getRuntime().availableProcessors());
        ExecutorService pool = Executors.newFixedThreadPool(threads, r -> {
            Thread t = new Thread(r, "ptxas-worker");
            t.setDaemon(true);
            return t;
        });
        Map<Module, CompletableFuture<Assembled>> jobs = new LinkedHashMap<>();
        for (KernelSpec s : specs) {
            for (boolean attention : new boolean[] {true, false}) {
                Module m = new Module(s, attention);
                jobs.put(m, CompletableFuture.supplyAsync(() -> {
                    String ptx = m.ptx();
                    return new Assembled(ptx, Ptxas.assemble(ptx, s.arch().target()));
                }, pool));
            }
        }
        CompletableFuture.allOf(jobs.values().toArray(CompletableFuture[]::new))
                .whenComplete((v, e) -> pool.shutdown());

        // Group per arch, then per module kind, for readable reports.
        Map<Arch, List<DynamicNode>> attention = new TreeMap<>();
        Map<Arch, List<DynamicNode>> preprocess = new TreeMap<>();
        jobs.forEach((m, job) -> (m.attention() ? attention : preprocess)
                .computeIfAbsent(m.spec().arch(), a -> new ArrayList<>())
                .add(dynamicTest(m.label(), () -> {
                    Assembled a = job.join();
                    checkText(m, a.ptx());
                    checkAssembled(m, a);
                })));
        List<DynamicNode> out = new ArrayList<>();
        for (Arch arch : Arch.values()) {
            out.add(dynamicContainer(arch.target() + " attention", attention.getOrDefault(arch, List.of())));
            out.add(dynamicContainer(arch.target() + " preprocess", preprocess.getOrDefault(arch, List.of())));
        }
        return out.stream();
    }

    @AfterAll
    static void printDefaultRegisters() {
        if (DEFAULT_REGISTERS.isEmpty()) return;
        System.out.println("Registers of the attention kernels with default tiles (* = the arch's default PV):");
        new TreeMap<>(DEFAULT_REGISTERS).forEach((k, v) -> System.out.println("  " + k + "  " + v));
    }

    // ---------------------------------------------------------------- 32 rows per warp: allowed, may spill

    /**
     * blockQ 128 with 4 warps (two m16 tiles per warp) is a valid spec and plans and renders, but at D=128 it
     * needs more than 255 registers and spills; it is deliberately not part of the no-spill set. This test
     * documents that: the spec is accepted, the module assembles, and the spill numbers are printed.
     */
    @Test
    void thirtyTwoRowsPerWarpIsAllowedButNotRequiredToAvoidSpills() {
        KernelSpec s = assertDoesNotThrow(() -> KernelSpec.defaults(Arch.SM89, 128, false, DType.FP16, DType.FP16)
                .toBuilder().tiles(128, 4).build());
        assertEquals(32, s.warpRows());
        assertEquals(2, s.mTiles());
        MmaSyncPlan plan = new MmaSyncPlan(s);
        assertEquals(128, s.threads());
        assertTrue(plan.fits());
        String ptx = MmaSyncEmitter.emit(s);
        assertEquals(Set.of(s.kernelName()), entries(ptx));

        Ptxas.assumeAvailable();
        for (int d : CORE_HEAD_DIMS) {
            KernelSpec spec = KernelSpec.defaults(Arch.SM89, d, false, DType.FP16, DType.FP16).toBuilder().tiles(128, 4).build();
            Ptxas.Result r = Ptxas.assemble(MmaSyncEmitter.emit(spec), spec.arch().target());
            assertEquals(0, r.exitCode(), r.log());
            System.out.println("32 rows/warp (not required to be spill-free): " + r.entry(spec.kernelName()));
        }
    }

    // ---------------------------------------------------------------- PTX text, no ptxas

    @Test
    void defaultSm89KernelUsesInt8QkAndFp8F16AccumulatePv() {
        KernelSpec s = KernelSpec.defaults(Arch.SM89, 128, false, DType.FP16, DType.FP16);
        assertEquals(PvVariant.FP8_F16ACC, s.pv());
        String ptx = MmaSyncEmitter.emit(s);
        assertTrue(ptx.contains(MMA_PV_F16ACC), "FP8 f16-accumulate PV mma");
        assertTrue(ptx.contains(MMA_QK), "INT8 QK mma");
        assertFalse(ptx.contains(MMA_PV_F32ACC));
        assertFalse(ptx.contains("m16n8k16"));
    }

    @Test
    void fp8F32AccumulateKernelUsesF32Mma() {
        for (Arch arch : List.of(Arch.SM89, Arch.SM90, Arch.SM120)) {
            KernelSpec s = KernelSpec.defaults(arch, 128, true, DType.BF16, DType.BF16).toBuilder().pv(PvVariant.FP8_F32ACC).build();
            String ptx = MmaSyncEmitter.emit(s);
            assertTrue(ptx.contains(MMA_PV_F32ACC), s.toString());
            assertTrue(ptx.contains(MMA_QK), s.toString());
            assertFalse(ptx.contains(MMA_PV_F16ACC), s.toString());
        }
    }

    @Test
    void fp16PvKernelUsesM16n8k16AndNoFp8Mma() {
        for (Arch arch : Arch.values()) {
            for (DType t : DType.values()) {
                KernelSpec s = KernelSpec.defaults(arch, 64, false, t, t).toBuilder().pv(PvVariant.FP16).build();
                String ptx = MmaSyncEmitter.emit(s);
                assertTrue(ptx.contains("mma.sync.aligned.m16n8k16.row.col.f32." + t.ptx() + "." + t.ptx() + ".f32"),
                        s.toString());
                assertTrue(ptx.contains(MMA_QK), s.toString());
                assertFalse(Pattern.compile("mma\\S*e4m3").matcher(ptx).find(), "no e4m3 mma in " + s);
                assertFalse(PreprocessEmitter.emit(s).contains("_quant_v"), "no V quantization kernel for " + s);
            }
        }
    }

    @Test
    void renderingIsDeterministic() {
        for (KernelSpec s : List.of(KernelSpec.defaults(Arch.SM89, 128, false, DType.FP16, DType.FP16),
                KernelSpec.defaults(Arch.SM80, 64, true, DType.BF16, DType.FP16),
                KernelSpec.defaults(Arch.SM120, 128, true, DType.BF16, DType.BF16).toBuilder().pv(PvVariant.FP8_F32ACC).quant(QuantGranularity.PER_WARP).tiles(64, 4).build())) {
            assertEquals(MmaSyncEmitter.emit(s), MmaSyncEmitter.emit(s), s.toString());
            assertEquals(PreprocessEmitter.emit(s), PreprocessEmitter.emit(s), s.toString());
        }
    }

    @Test
    void headersAndEntriesOfEveryRequiredModule() {
        for (KernelSpec s : requiredSpecs()) {
            for (boolean attention : new boolean[] {true, false}) {
                Module m = new Module(s, attention);
                checkText(m, m.ptx());
            }
        }
    }

    @Test
    void differentSpecsGiveDifferentKernels() {
        List<KernelSpec> specs = requiredSpecs();
        Set<String> names = specs.stream().map(KernelSpec::kernelName).collect(Collectors.toSet());
        assertEquals(specs.size(), names.size());
        Set<String> texts = specs.stream().map(MmaSyncEmitter::emit).collect(Collectors.toSet());
        assertEquals(specs.size(), texts.size());
    }

    // ---------------------------------------------------------------- the ptxas log parser

    @Test
    void parsesPtxasVerboseOutput() {
        String log = String.join("\n",
                "ptxas info    : 0 bytes gmem",
                "ptxas info    : Compiling entry function 'k_a' for 'sm_89'",
                "ptxas info    : Function properties for k_a",
                "    0 bytes stack frame, 0 bytes spill stores, 0 bytes spill loads",
                "ptxas info    : Used 169 registers, used 1 barriers, 456 bytes cmem[0]",
                "ptxas info    : Compile time = 54.586 ms",
                "ptxas info    : Function properties for helper",
                "    8 bytes stack frame, 4 bytes spill stores, 4 bytes spill loads",
                "ptxas info    : Compiling entry function 'k_b' for 'sm_89'",
                "ptxas info    : Function properties for k_b",
                "    40 bytes stack frame, 76 bytes spill stores, 72 bytes spill loads",
                "ptxas info    : Used 255 registers, used 1 barriers, 40 bytes cumulative stack size, 33024 bytes smem,"
                        + " 384 bytes cmem[0]");
        Map<String, Ptxas.EntryInfo> e = Ptxas.parse(log);
        assertEquals(List.of("k_a", "k_b"), new ArrayList<>(e.keySet()));
        assertEquals(new Ptxas.EntryInfo("k_a", 169, 0, 0, 0, 0), e.get("k_a"));
        assertEquals(new Ptxas.EntryInfo("k_b", 255, 76, 72, 40, 33024), e.get("k_b"));
        assertTrue(e.get("k_a").noSpills());
        assertFalse(e.get("k_b").noSpills());
    }
}
