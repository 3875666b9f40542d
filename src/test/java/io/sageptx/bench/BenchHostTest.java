package io.sageptx.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

import io.sageptx.kernels.random.RandomFillEmitter;
import io.sageptx.spec.Arch;
import io.sageptx.spec.DType;
import io.sageptx.spec.KernelSpec;
import io.sageptx.spec.PvVariant;
import io.sageptx.testing.Ptxas;

/** Benchmark arithmetic and the random-fill kernel, without a GPU. */
class BenchHostTest {

    @Test
    void flopsFollowTheIssueFormulaAndHalveWhenCausal() {
        BenchResult full = new BenchResult("gpu", 4, 32, 128, 16384, false, "fp16", "default", "s", 20, 10, 8, 2, 3e9);
        BenchResult causal = new BenchResult("gpu", 4, 32, 128, 16384, true, "fp16", "default", "s", 20, 10, 8, 2, 3e9);
        assertEquals(4.0 * 4 * 32 * 16384.0 * 16384 * 128, full.flops());
        assertEquals(full.flops() / 2, causal.flops());
        assertEquals(full.flops() / 1e-2 / 1e12, full.totalTflops(), 1e-9);
        assertEquals(full.flops() / 8e-3 / 1e12, full.attnTflops(), 1e-9);
        assertEquals(3e9 / 2e-3 / 1e12, full.preTbps(), 1e-12);
    }

    @Test
    void preprocessingBytesCountEachTensorOnceInAndOnceOut() {
        AttentionBenchmark.Shape s = new AttentionBenchmark.Shape(2, 4, 64, 1024, false, DType.FP16);
        KernelSpec fp8 = KernelSpec.defaults(Arch.SM89, 64, false, DType.FP16, DType.FP16);
        double e = 2.0 * 4 * 1024 * 64;
        assertEquals(3 * e * 3, AttentionBenchmark.preprocessBytes(s, fp8.toBuilder().pv(PvVariant.FP8_F32ACC).build()));
        assertEquals(2 * e * 3, AttentionBenchmark.preprocessBytes(s, fp8.toBuilder().pv(PvVariant.FP16).build()));
    }

    @Test
    void medianOfOddAndEvenCounts() {
        assertEquals(2.0, AttentionBenchmark.median(new double[] {3, 1, 2}));
        assertEquals(2.5, AttentionBenchmark.median(new double[] {4, 1, 2, 3}));
    }

    @Test
    void variantsCoverThePvVariantsOfTheArch() {
        assertEquals(java.util.List.of("default", "fp8-f16acc", "fp8-f32acc", "fp16"), Variants.all(Arch.SM89));
        assertEquals(java.util.List.of("default", "fp16"), Variants.all(Arch.SM80));
        assertEquals(PvVariant.FP16, Variants.spec("fp16", Arch.SM89, 64, true, DType.FP16).pv());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Variants.spec("nope", Arch.SM90, 64, true, DType.FP16));
        assertTrue(e.getMessage().contains("nope") && e.getMessage().contains("default"), e.getMessage());
    }

    /** default+qk=auto with a shape is what a call asking only for qk=auto runs: the short-sequence rule applies. */
    @Test
    void defaultWithQkAutoFollowsTheShortSequenceRule() {
        io.sageptx.testing.SystemProperties.with(io.sageptx.runtime.ShortSequences.PROPERTY, "auto", () -> {
            KernelSpec shortCall = Variants.spec("default+qk=auto", Arch.SM90, 128, false, DType.FP16, 4, 32, 1024);
            assertEquals(io.sageptx.spec.QkPrecision.FP16, shortCall.qk(), shortCall.toString());
            KernelSpec longCall = Variants.spec("default+qk=auto", Arch.SM90, 128, false, DType.FP16, 4, 32, 16384);
            assertEquals(io.sageptx.spec.QkPrecision.AUTO, longCall.qk(), longCall.toString());
            // a precision asked for explicitly is kept at short lengths too
            KernelSpec int8 = Variants.spec("default+qk=int8", Arch.SM90, 128, false, DType.FP16, 4, 32, 1024);
            assertEquals(io.sageptx.spec.QkPrecision.INT8, int8.qk(), int8.toString());
        });
    }

    @Test
    void variantLabelsTakeSpecFieldOverrides() {
        KernelSpec s = Variants.spec("fp8-f16acc+q=64+w=4", Arch.SM89, 128, false, DType.FP16);
        assertEquals(64, s.blockQ());
        assertEquals(4, s.warps());
        assertEquals(PvVariant.FP8_F16ACC, s.pv());
        assertEquals(io.sageptx.spec.QkPrecision.AUTO, Variants.spec("default+qk=auto", Arch.SM90, 64, true, DType.BF16).qk());
        IllegalArgumentException shape = assertThrows(IllegalArgumentException.class,
                () -> Variants.spec("default+d=64", Arch.SM90, 128, false, DType.FP16));
        assertTrue(shape.getMessage().contains("comes from the shape"), shape.getMessage());
        IllegalArgumentException bad = assertThrows(IllegalArgumentException.class,
                () -> Variants.spec("default+q", Arch.SM90, 128, false, DType.FP16));
        assertTrue(bad.getMessage().contains("not name=value"), bad.getMessage());
    }

    @Test
    void randomFillKernelAssemblesForEveryArchAndType() {
        Ptxas.assumeAvailable();
        for (Arch arch : Arch.values()) {
            for (DType t : DType.values()) {
                Ptxas.Result r = Ptxas.assemble(RandomFillEmitter.emit(t, arch), arch.target());
                assertEquals(0, r.exitCode(), r.log());
                Ptxas.EntryInfo info = r.entries().get(RandomFillEmitter.kernelName(t));
                assertEquals(0, info.spillStores(), r.log());
                assertEquals(0, info.stackFrame(), r.log());
            }
        }
    }
}
