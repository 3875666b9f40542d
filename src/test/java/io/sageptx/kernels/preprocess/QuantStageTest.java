package io.sageptx.kernels.preprocess;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Map;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import io.sageptx.kernels.AttentionFamilies;
import io.sageptx.spec.Arch;
import io.sageptx.spec.ArchLimits;
import io.sageptx.spec.DType;
import io.sageptx.spec.KernelSpec;
import io.sageptx.spec.QkPrecision;

/**
 * The row quantization's staging memory (cp.async chunks in dynamic shared memory): the launch asks for exactly what
 * the rendered kernel indexes, and it fits one CTA of every architecture for every spec the library would launch there
 * (the defaults and the tuner's candidates).
 */
class QuantStageTest {

    @ParameterizedTest
    @EnumSource(Arch.class)
    void stagingFitsEveryArchAndMatchesTheKernel(Arch arch) {
        int limit = ArchLimits.of(arch).smemPerBlock();
        int checked = 0;
        for (int d : KernelSpec.HEAD_DIMS) {
            for (boolean causal : new boolean[] {false, true}) {
                for (KernelSpec s : AttentionFamilies.candidates(arch, d, causal, DType.BF16, DType.BF16, QkPrecision.INT8)) {
                    Map<String, Object> m = PreprocessEmitter.model(s);
                    int q = PreprocessEmitter.qStageBytes(s);
                    int k = PreprocessEmitter.kStageBytes(s);
                    assertEquals(q, modelStage(m, "q"), s + ": Q launch bytes vs the kernel's slots");
                    assertEquals(k, modelStage(m, "k"), s + ": K launch bytes vs the kernel's slots");
                    // the static shared memory of the kernel (group maxima, row dots) is under 4 KiB
                    assertTrue(q + 4096 <= limit && k + 4096 <= limit,
                            s + ": staging " + q + " / " + k + " B does not fit " + limit + " B per block on " + arch);
                    checked++;
                }
            }
        }
        assertTrue(checked > 0, "no candidates on " + arch);
    }

    @SuppressWarnings("unchecked")
    private static int modelStage(Map<String, Object> m, String key) {
        return (Integer) ((Map<String, Object>) m.get(key)).get("stageBytes");
    }
}
