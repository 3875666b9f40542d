package io.sageptx.kernels.decode;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.DynamicTest.dynamicTest;

import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

import io.sageptx.spec.Arch;
import io.sageptx.spec.DType;
import io.sageptx.testing.Ptxas;

/**
 * Every decode kernel variant the runtime can pick assembles with ptxas for sm_80, sm_89, sm_90 and sm_120
 * without spills or stack: every format (dense, paged, quantized paged), every head dim 32..256 step 16
 * (dtypes alternating), every m16 tile count the head dim allows, with the default warps and every ring depth
 * up to the default's (each under the {@code .maxnreg} of the residency its plan counts on); the
 * tuner's other warps / stages at D = 64 and 128 (each holding the split combine, SplitCombine); the
 * quantized-cache append kernels of every head dim and dtype.
 */
class DecodeAssemblyTest {

    static List<DecodeSpec> specs() {
        List<DecodeSpec> out = new ArrayList<>();
        for (Arch arch : Arch.values()) {
            for (KvFormat kv : KvFormat.values()) {
                for (int d : DecodeSpec.HEAD_DIMS) {
                    DType t = ((d / 16) + kv.ordinal()) % 2 == 0 ? DType.FP16 : DType.BF16;
                    for (int mt = 1; mt <= DecodeSpec.maxMTiles(d, kv); mt *= 2) {
                        // the default and every shallower ring DecodePlan.forCall may pick instead
                        DecodeSpec base = DecodePlan.defaults(arch, d, t, kv, 16 * mt);
                        for (int st = base.stages(); st >= 2; st--) {
                            out.add(new DecodeSpec(d, t, arch, kv, base.mTiles(), base.warps(), st));
                        }
                    }
                }
            }
        }
        for (int d : new int[] {64, 128}) {
            for (int w : new int[] {2, 8}) {
                for (int s : new int[] {2, 4}) out.add(new DecodeSpec(d, DType.FP16, Arch.SM90, KvFormat.PAGED, 1, w, s));
            }
        }
        return out;
    }

    /** Assembles specs in parallel (ptxas processes) and reports every failure at once. */
    static void assembleAll(List<DecodeSpec> specs) {
        List<String> bad = specs.parallelStream().map(s -> {
            Ptxas.Result r = Ptxas.assemble(DecodeEmitter.emit(s), s.arch().target());
            if (!r.ok()) return s + ": ptxas failed\n" + r.log();
            Ptxas.EntryInfo e = r.entry(s.kernelName());
            if (!e.noSpills()) return s + ": " + e;
            if (DecodePlan.of(s).smemBytes() > DecodePlan.budget(s.arch()) && s.warps() != 8) return s + ": shared memory";
            return null;
        }).filter(x -> x != null).toList();
        assertTrue(bad.isEmpty(), bad.size() + " of " + specs.size() + " variants fail:\n" + String.join("\n", bad));
    }

    @TestFactory
    Stream<DynamicTest> decodeKernelsAssembleWithoutSpills() {
        Ptxas.assumeAvailable();
        List<DynamicTest> out = new ArrayList<>();
        for (Arch arch : Arch.values()) {
            for (KvFormat kv : KvFormat.values()) {
                List<DecodeSpec> group = specs().stream().filter(s -> s.arch() == arch && s.kv() == kv).toList();
                if (!group.isEmpty()) {
                    out.add(dynamicTest(arch.target() + " " + kv.id() + " (" + group.size() + " variants)",
                            () -> assembleAll(group)));
                }
            }
        }
        return out.stream();
    }

    @TestFactory
    Stream<DynamicTest> combineKernelsAssembleWithoutSpills() {
        Ptxas.assumeAvailable();
        List<DynamicTest> out = new ArrayList<>();
        for (Arch arch : Arch.values()) {
            for (int d : DecodeSpec.HEAD_DIMS) {
                DType t = (d / 16) % 2 == 0 ? DType.BF16 : DType.FP16;
                out.add(dynamicTest(arch.target() + " d" + d + " " + t.shortName(), () -> {
                    Ptxas.Result r = Ptxas.assemble(SplitCombine.emitKernel(d, t, arch), arch.target());
                    assertEquals(0, r.exitCode(), r.log());
                    assertTrue(r.entry(SplitCombine.kernelName(d, t)).noSpills());
                }));
            }
        }
        return out.stream();
    }

    @TestFactory
    Stream<DynamicTest> appendKernelsAssembleWithoutSpills() {
        Ptxas.assumeAvailable();
        List<DynamicTest> out = new ArrayList<>();
        for (Arch arch : Arch.values()) {
            out.add(dynamicTest(arch.target(), () -> {
                List<String> bad = DecodeSpec.HEAD_DIMS.parallelStream().flatMap(d -> Stream.of(DType.values()).map(t -> {
                    Ptxas.Result r = Ptxas.assemble(AppendEmitter.emit(d, t, arch), arch.target());
                    if (!r.ok()) return "d" + d + " " + t + ": " + r.log();
                    Ptxas.EntryInfo e = r.entry(AppendEmitter.kernelName(d, t));
                    if (!e.noSpills()) return "d" + d + " " + t + ": " + e;
                    // the one-token kernel
                    Ptxas.Result r1 = Ptxas.assemble(AppendEmitter.emit1(d, t, arch), arch.target());
                    if (!r1.ok()) return "append1 d" + d + " " + t + ": " + r1.log();
                    Ptxas.EntryInfo e1 = r1.entry(AppendEmitter.kernelName1(d, t));
                    return e1.noSpills() ? null : "append1 d" + d + " " + t + ": " + e1;
                })).filter(x -> x != null).toList();
                assertTrue(bad.isEmpty(), String.join("\n", bad));
            }));
        }
        return out.stream();
    }

    @Test
    void textIsDeterministic() {
        DecodeSpec s = DecodePlan.defaults(Arch.SM90, 128, DType.FP16, KvFormat.PAGED, 4);
        assertEquals(DecodeEmitter.emit(s), DecodeEmitter.emit(s));
        assertTrue(DecodeEmitter.emit(s).contains(".visible .entry " + s.kernelName() + "("));
        assertEquals("sageptx_decode_paged_fp16_d128_m1_w4_s3", s.kernelName());
    }

    @Test
    void specRefusesWhatTheKernelCannotDo() {
        assertThrows(IllegalArgumentException.class, () -> new DecodeSpec(100, DType.FP16, Arch.SM90, KvFormat.DENSE, 1, 4, 3));
        assertThrows(IllegalArgumentException.class, () -> new DecodeSpec(272, DType.FP16, Arch.SM90, KvFormat.DENSE, 1, 4, 3));
        assertThrows(IllegalArgumentException.class, () -> new DecodeSpec(16, DType.FP16, Arch.SM90, KvFormat.DENSE, 1, 4, 3));
        assertThrows(IllegalArgumentException.class, () -> new DecodeSpec(64, DType.FP16, Arch.SM90, KvFormat.DENSE, 4, 4, 3));
        assertThrows(IllegalArgumentException.class, () -> new DecodeSpec(256, DType.FP16, Arch.SM90, KvFormat.DENSE, 2, 4, 3));
        assertThrows(IllegalArgumentException.class, () -> new DecodeSpec(112, DType.FP16, Arch.SM90, KvFormat.PAGED_QUANT, 2, 4, 3));
        assertThrows(IllegalArgumentException.class, () -> new DecodeSpec(128, DType.FP16, Arch.SM90, KvFormat.DENSE, 1, 3, 3));
        assertThrows(IllegalArgumentException.class, () -> new DecodeSpec(128, DType.FP16, Arch.SM90, KvFormat.DENSE, 1, 4, 5));
    }

    /** sm_90, 16-bit cache, more than 16 rows per kv head: 8 warps, the deepest ring that fits, one CTA per SM; otherwise 4 warps. */
    @Test
    void wideCtasForManyRowsOnSm90() {
        DecodeSpec lq16 = DecodePlan.defaults(Arch.SM90, 128, DType.FP16, KvFormat.DENSE, 64);
        assertEquals(8, lq16.warps());
        assertEquals(3, lq16.stages(), "8 x 4 x 8 KB does not fit 227 KB, 8 x 3 does");
        assertEquals(4, DecodePlan.defaults(Arch.SM90, 64, DType.FP16, KvFormat.DENSE, 64).stages());
        assertEquals(1, DecodePlan.of(lq16).ctasPerSm(228 * 1024), "one 8-warp CTA per SM");
        assertTrue(DecodePlan.of(lq16).smemBytes() <= io.sageptx.spec.ArchLimits.of(Arch.SM90).smemPerBlock());
        assertEquals(8, DecodePlan.defaults(Arch.SM90, 64, DType.BF16, KvFormat.PAGED, 32).warps());
        assertTrue(DecodePlan.defaults(Arch.SM90, 256, DType.BF16, KvFormat.PAGED, 32).warps() < 8, "D=256: 8x2 does not fit");
        assertEquals(4, DecodePlan.defaults(Arch.SM90, 128, DType.FP16, KvFormat.DENSE, 16).warps(), "one m-tile: Lq=1 rule");
        assertEquals(4, DecodePlan.defaults(Arch.SM90, 128, DType.FP16, KvFormat.PAGED_QUANT, 64).warps(), "quantized: unchanged");
        assertTrue(DecodePlan.defaults(Arch.SM89, 128, DType.FP16, KvFormat.DENSE, 64).warps() <= 4, "99 KB parts: unchanged");
    }

    /** Residency counts registers: the plan's floor, emitted as .maxnreg, decides with shared memory and threads. */
    @Test
    void residencyCountsRegisters() {
        DecodePlan q64 = DecodePlan.of(DecodePlan.defaults(Arch.SM90, 64, DType.FP16, KvFormat.PAGED_QUANT, 4));
        assertEquals(4, q64.ctasPerSm(228 * 1024), "46 KB of shared memory, 128 registers");
        assertEquals(128, q64.maxRegisters());
        assertTrue(DecodeEmitter.emit(q64.spec()).contains(".maxnreg 128"));
        DecodePlan q128 = DecodePlan.of(DecodePlan.defaults(Arch.SM90, 128, DType.FP16, KvFormat.PAGED_QUANT, 4));
        assertEquals(2, q128.ctasPerSm(228 * 1024));
        assertEquals(255, q128.maxRegisters());
        DecodePlan wide = DecodePlan.of(DecodePlan.defaults(Arch.SM90, 64, DType.FP16, KvFormat.DENSE, 64));
        assertEquals(1, wide.ctasPerSm(228 * 1024), "8 warps of 168+ registers: one CTA per SM, whatever the shared memory");
        // a device with more shared memory per SM than the arch's table never counts on more CTAs than the registers hold
        DecodePlan d64 = DecodePlan.of(DecodePlan.defaults(Arch.SM90, 64, DType.FP16, KvFormat.DENSE, 4));
        assertEquals(3, d64.ctasPerSm(228 * 1024));
        assertEquals(168, d64.maxRegisters());
        assertEquals(3, d64.ctasPerSm(1 << 20));
    }

    /** A call that is not split takes the ring depth whose waves are fullest (by more than 5 %). */
    @Test
    void callsTakeTheRingWithFullerWaves() {
        DecodeSpec d64 = DecodePlan.defaults(Arch.SM90, 64, DType.FP16, KvFormat.DENSE, 4);
        assertEquals(4, d64.stages());
        DecodeSpec b64 = DecodePlan.forCall(d64, 512, 132, 228 * 1024);
        assertEquals(3, b64.stages(), "512 CTAs: 4 per SM fill 528 slots (97 %), 3 per SM leave a 29 % wave");
        assertEquals(4, DecodePlan.forCall(d64, 64, 132, 228 * 1024).stages(), "a split call keeps the deepest ring");
        assertEquals(4, DecodePlan.forCall(d64, 396, 132, 228 * 1024).stages(), "396 CTAs fill 3 per SM exactly");
        DecodeSpec d128 = DecodePlan.defaults(Arch.SM90, 128, DType.FP16, KvFormat.DENSE, 4);
        assertEquals(d128, DecodePlan.forCall(d128, 512, 132, 228 * 1024), "264 slots: 512 CTAs in two full waves");
        assertEquals(1.0, DecodePlan.waveEfficiency(528, 528), 1e-12);
        assertEquals(512.0 / 792, DecodePlan.waveEfficiency(512, 396), 1e-12);
    }

    @Test
    void splitHeuristicFillsTheGpu() {
        DecodePlan p = DecodePlan.of(DecodePlan.defaults(Arch.SM90, 128, DType.FP16, KvFormat.PAGED, 4));
        int smem = 228 * 1024;
        assertEquals(2, p.ctasPerSm(smem));
        assertEquals(1, p.splitTargetPerSm(smem), "16-bit: one CTA per SM");
        assertEquals(1, p.splits(64L * 8, 32768, 132, 1), "B=64 x 8 kv heads fill the GPU");
        assertEquals(1, p.splits(32L * 4, 32768, 132, 1), "128 CTAs on 132 SMs: no split");
        assertEquals(16, p.splits(8, 32768, 132, 1), "B=1 x 8 kv heads: 128 CTAs (33 x 8 = 264 in two rounds is within 5 %)");
        assertEquals(32, p.splits(4, 131072, 132, 1), "B=1 x 4 kv heads: 128 CTAs");
        assertEquals(2, p.splits(64, 32768, 132, 1), "B=8 x 8 kv heads: 128 CTAs");
        assertEquals(1, p.splits(8, 100, 132, 1), "too few keys to split");
        assertTrue(p.splits(8, 1024, 132, 1) <= 1024 / 16 / p.minTilesPerSplit());
        DecodePlan q = DecodePlan.of(DecodePlan.defaults(Arch.SM90, 128, DType.FP16, KvFormat.PAGED_QUANT, 4));
        assertEquals(2, q.splitTargetPerSm(smem), "quantized: two CTAs per SM");
        assertEquals(2, q.splits(32L * 4, 32768, 132, 2), "B=32 x 4 kv heads quantized: 256 CTAs");
        assertEquals(32, q.splits(8, 32768, 132, 2), "B=1 x 8 kv heads quantized: 256 CTAs");
        DecodePlan q64 = DecodePlan.of(DecodePlan.defaults(Arch.SM90, 64, DType.FP16, KvFormat.PAGED_QUANT, 4));
        assertEquals(2, q64.splitTargetPerSm(smem), "at most two, though four are resident");
    }
}
