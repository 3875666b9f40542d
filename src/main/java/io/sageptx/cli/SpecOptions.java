package io.sageptx.cli;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import io.sageptx.kernels.AttentionFamilies;
import io.sageptx.kernels.attention.AttentionFamily;
import io.sageptx.spec.Arch;
import io.sageptx.spec.DType;
import io.sageptx.spec.KernelSpec;
import io.sageptx.spec.MmaKind;
import io.sageptx.spec.Pipe;
import io.sageptx.spec.PvVariant;
import io.sageptx.spec.QuantGranularity;
import picocli.CommandLine.Option;

/**
 * Options that choose one kernel spec (emit-ptx, run). What is not given is the default the library runs
 * for the rest ({@code AttentionFamilies.preferred}); an option the user did not give is never blamed:
 * {@code --warps} alone keeps the default rows per warp (so {@code --warps 4} on sm_90 gets a 64-row
 * block), {@code --block-q} alone picks the warps to match.
 */
public final class SpecOptions {
    @Option(names = "--head-dim", defaultValue = "128", description = "head dim: a multiple of 16 from 32 to 256 (default ${DEFAULT-VALUE})")
    List<String> headDim;

    @Option(names = "--causal", arity = "0..1", fallbackValue = "true", defaultValue = "false",
            description = "causal mask, top-left (Lq == Lk): false or true; --causal alone means true (default ${DEFAULT-VALUE})")
    List<String> causal;

    @Option(names = "--dtype", defaultValue = "fp16", description = "input dtype: fp16 or bf16 (default ${DEFAULT-VALUE})")
    List<String> dtype;

    @Option(names = "--out-dtype", description = "output dtype: fp16 or bf16 (default: the input dtype)")
    String outDtype;

    @Option(names = "--pv", description = "PV variant: fp8-f16acc, fp8-f32acc or fp16 (default: the architecture's, see 'sageptx info')")
    String pv;

    @Option(names = "--quant", defaultValue = "thread", description = "INT8 scale groups: thread, warp or block (default ${DEFAULT-VALUE})")
    String quant;

    @Option(names = "--block-q", description = "query rows per CTA (default: the kernel family's, 128 for mma.sync)")
    Integer blockQ;

    @Option(names = "--warps", description = "warps per CTA: 4 or 8 (default: the kernel family's, 8)")
    Integer warps;

    @Option(names = "--block-k", description = "keys per main-loop block, one of 32, 64, 128 (default: the kernel family's: 128 for the sm_90 wgmma "
            + "kernel up to D = 192, else 64)")
    Integer blockK;

    @Option(names = "--mma",
            description = "kernel family: sync (mma.sync, every arch) or wgmma (sm_90 only, FP8 PV; the sm_90 default at every head dim)")
    String mma;

    @Option(names = "--stages",
            description = "mma.sync K/V pipeline depth: 1 (single-buffered), 2 or 3 (default: the planner's for the arch)")
    Integer stages;

    @Option(names = "--pipe",
            description = "wgmma main-loop schedule: serial, ws (warp-specialized: producer + 2 consumer warpgroups) or wspp "
                    + "(ws with ping-pong); ws/wspp need --mma wgmma and FP8 PV: fp8-f16acc up to D = 192, fp8-f32acc up to D = 144 (default: the family's, serial)")
    String pipe;
    private static final String ONE = "one kernel";

    int headDim() {
        return Opts.headDim(Opts.single("--head-dim", headDim, ONE));
    }

    boolean causal() {
        return Opts.causalOne(causal, ONE);
    }

    DType in() {
        return Opts.dtype("--dtype", Opts.single("--dtype", dtype, ONE));
    }

    DType out() {
        return outDtype == null ? in() : Opts.dtype("--out-dtype", outDtype);
    }

    PvVariant pvVariant() {
        return pv == null ? null : Opts.choice("--pv", pv, PvVariant.values(), PvVariant::id);
    }

    /**
     * The spec these options give on {@code arch}; {@code archOption} is how the user named the arch (e.g.
     * {@code --arch sm_86}) or null when it is the device's.
     */
    KernelSpec spec(Arch arch, String archOption) {
        KernelSpec s = tiledSpec(arch, archOption);
        if (blockK != null) {
            try {
                s = s.toBuilder().blockK(blockK).build();
            } catch (IllegalArgumentException e) {
                Matcher mt = SPEC_FIELD.matcher(e.getMessage() == null ? "" : e.getMessage());
                throw new IllegalArgumentException("--block-k " + blockK + " is not allowed for " + s + "; allowed: "
                        + (mt.matches() ? mt.group(3) : e.getMessage()), e);
            }
        }
        if (stages != null) {
            try {
                s = s.toBuilder().stages(stages).build();
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("--stages " + stages + " is not allowed for " + s + ": " + e.getMessage(), e);
            }
        }
        if (pipe == null) return s;
        Pipe p = Opts.choice("--pipe", pipe, Pipe.values(), Pipe::id);
        // the warp-specialized kernels run 64-key blocks: a 128-key default follows unless --block-k was given
        if (blockK == null && p != Pipe.SERIAL && s.blockK() == 128) s = s.toBuilder().blockK(64).build();
        try {
            return s.toBuilder().pipe(p).build();
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("--pipe " + p.id() + " is not allowed for " + s + ": " + e.getMessage(), e);
        }
    }

    private KernelSpec tiledSpec(Arch arch, String archOption) {
        int d = headDim();
        boolean c = causal();
        DType in = in();
        DType out = out();
        PvVariant p = pvVariant();
        QuantGranularity q = Opts.choice("--quant", quant, QuantGranularity.values(), QuantGranularity::id);
        MmaKind m = mma == null ? null : Opts.choice("--mma", mma, MmaKind.values(), MmaKind::id);
        if (warps != null && !KernelSpec.WARPS.contains(warps)) {
            throw new IllegalArgumentException("--warps " + warps + " is not allowed; allowed: " + join(KernelSpec.WARPS));
        }
        if (blockQ != null && blockQ <= 0) throw new IllegalArgumentException("--block-q " + blockQ + " must be positive");
        String on = archOption != null ? " (" + archOption + ")" : " (this device)";

        KernelSpec base;
        if (m != null) {
            AttentionFamily f = AttentionFamilies.of(m);
            if (!f.serves(arch)) {
                throw new IllegalArgumentException("--mma " + m.id() + " does not run on " + arch.target() + on + "; allowed there: "
                        + String.join(", ", families(arch)));
            }
            Optional<KernelSpec> s = f.preferred(arch, d, c, in, out, p);
            if (s.isEmpty()) {
                throw new IllegalArgumentException("--mma " + m.id() + " runs no " + (p == null ? "" : "--pv " + p.id() + " ")
                        + "kernel on " + arch.target() + on + (p == null ? "" : "; allowed --pv with --mma " + m.id() + ": "
                        + String.join(", ", pvs(arch, List.of(f)))));
            }
            base = s.get();
        } else {
            try {
                base = AttentionFamilies.preferred(arch, d, c, in, out, p);
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("--pv " + (p == null ? "(default)" : p.id()) + " does not run on " + arch.target()
                        + on + "; allowed there: " + String.join(", ", pvs(arch, AttentionFamilies.all())), e);
            }
        }
        Map<String, String> given = given(m, p);
        KernelSpec s = build(() -> base.toBuilder().quant(q).build(), given);
        if (blockQ == null && warps == null) return s;
        List<int[]> tiles = new ArrayList<>();
        if (blockQ != null && warps != null) {
            tiles.add(new int[]{blockQ, warps});
        } else if (warps != null) { // keep the rows per warp of the default, else any block that fits
            tiles.add(new int[]{warps * s.warpRows(), warps});
            tiles.add(new int[]{s.blockQ(), warps});
            for (int r : KernelSpec.WARP_ROWS) tiles.add(new int[]{warps * r, warps});
        } else { // keep the rows per warp of the default, else any warp count that fits
            if (blockQ % s.warpRows() == 0 && KernelSpec.WARPS.contains(blockQ / s.warpRows())) {
                tiles.add(new int[]{blockQ, blockQ / s.warpRows()});
            }
            tiles.add(new int[]{blockQ, s.warps()});
            for (int w : KernelSpec.WARPS) tiles.add(new int[]{blockQ, w});
        }
        IllegalArgumentException first = null;
        for (int[] t : tiles) {
            try {
                return s.toBuilder().tiles(t[0], t[1]).build();
            } catch (IllegalArgumentException e) {
                if (first == null) first = e;
            }
        }
        if (blockQ != null && warps != null) throw userTerms(first, given);
        // one of the two was given and nothing fits it: say so with the default of the other named as such
        String which = warps != null ? "--warps " + warps : "--block-q " + blockQ;
        String other = warps != null ? "--block-q" : "--warps";
        int otherValue = warps != null ? s.blockQ() : s.warps();
        Map<String, String> both = new LinkedHashMap<>(given);
        both.put(other, Integer.toString(otherValue));
        String reason;
        try {
            s.toBuilder().tiles(warps != null ? s.blockQ() : blockQ, warps != null ? warps : s.warps()).build();
            reason = userTerms(first, both).getMessage();
        } catch (IllegalArgumentException e) {
            reason = userTerms(e, both).getMessage();
        }
        throw new IllegalArgumentException(which + " fits no " + other + " on " + arch.target() + on + ": with " + other + " "
                + otherValue + ", " + reason);
    }

    /** The options the user gave that shape the spec, as they typed them. */
    private Map<String, String> given(MmaKind m, PvVariant p) {
        Map<String, String> g = new LinkedHashMap<>();
        g.put("--head-dim", Opts.values(headDim).get(0));
        if (m != null) g.put("--mma", m.id());
        if (p != null) g.put("--pv", p.id());
        g.put("--quant", quant);
        if (blockQ != null) g.put("--block-q", blockQ.toString());
        if (warps != null) g.put("--warps", warps.toString());
        return g;
    }

    private interface Build {
        KernelSpec get();
    }

    private static KernelSpec build(Build b, Map<String, String> given) {
        try {
            return b.get();
        } catch (IllegalArgumentException e) {
            throw userTerms(e, given);
        }
    }

    private static final Pattern SPEC_FIELD = Pattern.compile("^KernelSpec\\.(\\w+) = (.*?) is not allowed; allowed: (.*)$", Pattern.DOTALL);
    private static final Map<String, String> OPTION_OF = Map.of("headDim", "--head-dim", "blockQ", "--block-q",
            "warps", "--warps", "pv", "--pv", "mma", "--mma", "quant", "--quant");

    /**
     * A spec's refusal ({@code KernelSpec.blockQ = 128 is not allowed; allowed: ...}) in the user's terms:
     * the option when the user gave it, else "the default X" beside the options they did give.
     */
    static IllegalArgumentException userTerms(IllegalArgumentException e, Map<String, String> given) {
        String msg = e.getMessage() == null ? "" : e.getMessage();
        Matcher mt = SPEC_FIELD.matcher(msg);
        if (!mt.matches()) return e;
        String field = mt.group(1);
        String value = mt.group(2);
        String allowed = mt.group(3);
        String option = OPTION_OF.get(field);
        if (option != null && given.containsKey(option)) {
            return new IllegalArgumentException(option + " " + value + " is not allowed; allowed: " + allowed, e);
        }
        StringBuilder with = new StringBuilder();
        given.forEach((k, v) -> {
            if (!k.equals("--head-dim") && !k.equals("--quant")) with.append(with.length() == 0 ? "" : " ").append(k).append(' ').append(v);
        });
        String what = option != null ? "the default " + option + " " + value : "the kernel's " + field + " " + value;
        return new IllegalArgumentException(what + " does not fit " + (with.length() == 0 ? "these options" : with)
                + "; allowed: " + allowed + (option != null ? " (give " + option + ")" : ""), e);
    }

    private static List<String> families(Arch arch) {
        List<String> out = new ArrayList<>();
        for (AttentionFamily f : AttentionFamilies.all()) if (f.serves(arch)) out.add(f.mma().id());
        return out;
    }

    private static List<String> pvs(Arch arch, List<AttentionFamily> families) {
        List<String> out = new ArrayList<>();
        for (PvVariant v : PvVariant.values()) {
            for (AttentionFamily f : families) {
                if (f.serves(arch) && f.preferred(arch, 128, false, DType.FP16, DType.FP16, v).isPresent()) {
                    out.add(v.id());
                    break;
                }
            }
        }
        return out;
    }

    private static String join(List<Integer> v) {
        return v.stream().map(String::valueOf).reduce((a, b) -> a + ", " + b).orElse("");
    }
}
