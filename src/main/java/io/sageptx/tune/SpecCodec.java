package io.sageptx.tune;

import java.util.HashMap;
import java.util.Map;

import io.sageptx.spec.Arch;
import io.sageptx.spec.DType;
import io.sageptx.spec.KernelSpec;
import io.sageptx.spec.MmaKind;
import io.sageptx.spec.PvVariant;
import io.sageptx.spec.QuantGranularity;

/** A {@link KernelSpec} as one line of text ({@code d=128,q=128,k=64,w=8,...}) and back. */
public final class SpecCodec {

    private SpecCodec() {
    }

    public static String encode(KernelSpec s) {
        return "d=" + s.headDim() + ",q=" + s.blockQ() + ",k=" + s.blockK() + ",w=" + s.warps() + ",causal=" + s.causal()
                + ",pv=" + s.pv().id() + ",quant=" + s.quant().id() + ",in=" + s.inType().shortName() + ",out="
                + s.outType().shortName() + ",arch=" + s.arch().target() + ",mma=" + s.mma().id();
    }

    /** Parses {@link #encode} output; throws IllegalArgumentException naming what is wrong. */
    public static KernelSpec decode(String text) {
        Map<String, String> f = new HashMap<>();
        for (String part : text.trim().split(",")) {
            int eq = part.indexOf('=');
            if (eq <= 0) throw new IllegalArgumentException("spec '" + text + "': '" + part + "' is not name=value");
            f.put(part.substring(0, eq).trim(), part.substring(eq + 1).trim());
        }
        try {
            return new KernelSpec(num(f, "d"), num(f, "q"), num(f, "k"), num(f, "w"), bool(f, "causal"),
                    PvVariant.parse(get(f, "pv")), QuantGranularity.parse(get(f, "quant")), DType.parse(get(f, "in")),
                    DType.parse(get(f, "out")), Arch.parse(get(f, "arch")),
                    f.containsKey("mma") ? MmaKind.parse(f.get("mma")) : MmaKind.SYNC); // no mma: written before wgmma
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("spec '" + text + "': " + e.getMessage());
        }
    }

    private static String get(Map<String, String> f, String name) {
        String v = f.get(name);
        if (v == null) throw new IllegalArgumentException("spec has no '" + name + "'");
        return v;
    }

    private static int num(Map<String, String> f, String name) {
        return Integer.parseInt(get(f, name));
    }

    private static boolean bool(Map<String, String> f, String name) {
        String v = get(f, name);
        if (!v.equals("true") && !v.equals("false")) throw new IllegalArgumentException("spec: " + name + "=" + v);
        return Boolean.parseBoolean(v);
    }
}
