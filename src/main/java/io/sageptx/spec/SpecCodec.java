package io.sageptx.spec;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The one text codec of a {@link KernelSpec}. The canonical form {@link #encode} ({@code d=128,q=128,k=64,
 * w=8,causal=false,pv=fp8-f16acc,quant=thread,in=fp16,out=fp16,arch=sm_90,mma=wgmma}, plus {@code qk=fp16} for
 * the 16-bit QK precision, absent means int8; plus {@code pipe=ws} for the warp-specialized wgmma kernel, absent
 * means serial) is what the kernel
 * cache keys and the tuning database store and {@link #decode} reads back; {@link #kernelName} (the PTX
 * identifier) and {@link #label} (logs, CLI, bench tables) are derived from the same fields here, so a new
 * spec field is added in one place.
 */
public final class SpecCodec {

    private SpecCodec() {
    }

    /** The canonical one-line form. */
    public static String encode(KernelSpec s) {
        StringBuilder sb = new StringBuilder();
        fields(s).forEach((k, v) -> sb.append(sb.length() == 0 ? "" : ",").append(k).append('=').append(v));
        return sb.toString();
    }

    /** The fields in canonical order, as the canonical form writes them. */
    private static Map<String, String> fields(KernelSpec s) {
        Map<String, String> f = new LinkedHashMap<>();
        f.put("d", Integer.toString(s.headDim()));
        f.put("q", Integer.toString(s.blockQ()));
        f.put("k", Integer.toString(s.blockK()));
        f.put("w", Integer.toString(s.warps()));
        f.put("causal", Boolean.toString(s.causal()));
        f.put("pv", s.pv().id());
        f.put("quant", s.quant().id());
        f.put("in", s.inType().shortName());
        f.put("out", s.outType().shortName());
        f.put("arch", s.arch().target());
        f.put("mma", s.mma().id());
        if (s.stages() != 0) f.put("stages", Integer.toString(s.stages()));
        if (!s.qk().isDefault()) f.put("qk", s.qk().id()); // written only when not int8: older lines stay as they were
        if (!s.pipe().isDefault()) f.put("pipe", s.pipe().id()); // written only when not serial (issue 12)
        return f;
    }

    /**
     * {@code base} with some fields of the canonical form replaced ({@code name -> value}, names as {@link #encode}
     * writes them); the result passes the spec's own checks or IllegalArgumentException names what is wrong.
     */
    public static KernelSpec withFields(KernelSpec base, Map<String, String> changes) {
        Map<String, String> f = fields(base);
        f.putAll(changes);
        StringBuilder sb = new StringBuilder();
        f.forEach((k, v) -> sb.append(sb.length() == 0 ? "" : ",").append(k).append('=').append(v));
        return decode(sb.toString());
    }

    /** Parses {@link #encode} output; throws IllegalArgumentException naming what is wrong. */
    public static KernelSpec decode(String text) {
        Map<String, String> f = new LinkedHashMap<>();
        for (String part : text.trim().split(",")) {
            int eq = part.indexOf('=');
            if (eq <= 0) throw new IllegalArgumentException("spec '" + text + "': '" + part + "' is not name=value");
            f.put(part.substring(0, eq).trim(), part.substring(eq + 1).trim());
        }
        try {
            return new KernelSpec(num(f, "d"), num(f, "q"), num(f, "k"), num(f, "w"), bool(f, "causal"),
                    PvVariant.parse(get(f, "pv")), QuantGranularity.parse(get(f, "quant")), DType.parse(get(f, "in")),
                    DType.parse(get(f, "out")), Arch.parse(get(f, "arch")),
                    f.containsKey("mma") ? MmaKind.parse(f.get("mma")) : MmaKind.SYNC, // no mma: written before wgmma
                    f.containsKey("stages") ? num(f, "stages") : 0,                  // no stages: the planner's
                    f.containsKey("qk") ? QkPrecision.parse(f.get("qk")) : QkPrecision.INT8,  // no qk: int8
                    f.containsKey("pipe") ? Pipe.parse(f.get("pipe")) : Pipe.SERIAL);           // no pipe: serial
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("spec '" + text + "': " + e.getMessage());
        }
    }

    /** The PTX kernel name, e.g. {@code sage_attn_d128_q128_k64_w8_full_fp8f16acc_thread_fp16_fp16_sm_90a_wgmma}. */
    public static String kernelName(KernelSpec s) {
        return "sage_attn_d" + s.headDim() + "_q" + s.blockQ() + "_k" + s.blockK() + "_w" + s.warps()
                + (s.causal() ? "_causal" : "_full") + "_" + s.pv().id().replace("-", "") + "_" + s.quant().id() + "_"
                + s.inType().shortName() + "_" + s.outType().shortName() + "_" + s.arch().target() + s.mma().nameSuffix()
                + (s.stages() == 0 ? "" : "_s" + s.stages())
                + (s.qk().isDefault() ? "" : "_qk" + s.qk().id())
                + (s.pipe().isDefault() ? "" : "_" + s.pipe().id());
    }

    /** The short label, e.g. {@code d128 q128 k64 w8 full pv=fp8-f16acc quant=thread in=fp16 out=fp16 sm_90 wgmma}. */
    public static String label(KernelSpec s) {
        return "d" + s.headDim() + " q" + s.blockQ() + " k" + s.blockK() + " w" + s.warps() + (s.causal() ? " causal" : " full")
                + " pv=" + s.pv().id() + " quant=" + s.quant().id() + " in=" + s.inType().shortName() + " out="
                + s.outType().shortName() + " " + s.arch().target() + s.mma().labelSuffix()
                + (s.stages() == 0 ? "" : " stages=" + s.stages())
                + (s.qk().isDefault() ? "" : " qk=" + s.qk().id())
                + (s.pipe().isDefault() ? "" : " pipe=" + s.pipe().id());
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
