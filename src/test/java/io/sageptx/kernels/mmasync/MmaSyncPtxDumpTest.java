package io.sageptx.kernels.mmasync;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

import org.junit.jupiter.api.Test;

import io.sageptx.spec.Arch;
import io.sageptx.spec.DType;
import io.sageptx.spec.KernelSpec;
import io.sageptx.spec.PvVariant;

/**
 * Writes the PTX of the mma.sync kernels the SASS table of docs/notes/mmasync-performance.md is about into
 * {@code target/mmasync-ptx/} (the GPU machine has ptxas and cuobjdump but no Java: tools/gpu/mmasync-sass.sh
 * reads them there): sm_80, sm_89, sm_90, sm_120 x D 64, 128 x every PV variant of the arch x the
 * single-buffered kernel (stages 1, the "before") and the planner's default ("after"), and the family's default tile
 * where it is not 128 x 8 ("preferred"), non-causal fp16. File names: {@code <arch>_d<D>_<pv>_<s1|default|preferred>.ptx}.
 */
class MmaSyncPtxDumpTest {

    static final Path DIR = Path.of("target", "mmasync-ptx");

    @Test
    void dumpsThePtxOfTheSassTable() throws IOException {
        Files.createDirectories(DIR);
        int n = 0;
        for (Arch arch : Arch.values()) {
            for (int d : new int[] {64, 128}) {
                for (PvVariant pv : PvVariant.values()) {
                    if (pv.isFp8() && !arch.hasFp8Mma()) continue;
                    for (int st : new int[] {1, 0}) {
                        KernelSpec s = KernelSpec.defaults(arch, d, false, DType.FP16, DType.FP16).toBuilder().pv(pv).stages(st).build();
                        String name = arch.target() + "_d" + d + "_" + pv.id() + "_" + (st == 1 ? "s1" : "default") + ".ptx";
                        Files.writeString(DIR.resolve(name), MmaSyncEmitter.emit(s), StandardCharsets.US_ASCII);
                        n++;
                    }
                    // the family's default tile where it is not the 128 x 8 one (64 x 4, 128 x 4)
                    KernelSpec base = KernelSpec.defaults(arch, d, false, DType.FP16, DType.FP16).toBuilder().pv(pv).build();
                    KernelSpec pref = new MmaSyncFamily().preferred(arch, d, false, DType.FP16, DType.FP16, pv).orElseThrow();
                    if (!pref.equals(base)) {
                        String name = arch.target() + "_d" + d + "_" + pv.id() + "_preferred.ptx";
                        Files.writeString(DIR.resolve(name), MmaSyncEmitter.emit(pref), StandardCharsets.US_ASCII);
                    }
                }
            }
        }
        assertTrue(n >= 40, "wrote " + n);
    }
}
