package io.sageptx.kernels.random;

import io.sageptx.ptx.PtxFloats;
import io.sageptx.ptx.PtxVersions;
import io.sageptx.ptx.TemplateRenderer;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import io.sageptx.spec.Arch;
import io.sageptx.spec.DType;

/** Renders {@code random.stg}: a kernel that fills a 16-bit float buffer with fresh pseudo-random values. */
public final class RandomFillEmitter {

    /** Threads per CTA of the fill kernel. */
    public static final int THREADS = 256;

    public record Half(int offset, int slot) {
    }

    public record Word(int i, List<Half> halves) {
    }

    private RandomFillEmitter() {
    }

    public static String kernelName(DType type) {
        return "sageptx_fill_random_" + type.shortName();
    }

    public static String emit(DType type, Arch arch) {
        Map<String, Object> k = new LinkedHashMap<>();
        k.put("name", kernelName(type));
        k.put("params", RandomFillKernels.abi(type).paramBlock());
        k.put("type", type.ptx());
        k.put("ptxVersion", PtxVersions.base(arch));
        k.put("target", arch.target());
        k.put("threads", THREADS);
        k.put("sqrt3", PtxFloats.hex((float) Math.sqrt(3.0)));
        List<Word> words = new ArrayList<>();
        for (int w = 0; w < 4; w++) {
            words.add(new Word(w, List.of(new Half(2 * w, 0), new Half(2 * w + 1, 1))));
        }
        k.put("words", words);
        return TemplateRenderer.render("random/random", "kernel", Map.of("k", k));
    }
}
