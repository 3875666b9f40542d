package io.sageptx.cli;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

import io.sageptx.api.AccuracyCheck;
import io.sageptx.api.SageAttention;
import io.sageptx.api.TensorFile;
import io.sageptx.call.AttentionArgs;
import io.sageptx.call.CausalMode;
import io.sageptx.call.TensorLayout;
import io.sageptx.spec.DType;

/**
 * {@code sageptx verify --q FILE --k FILE --v FILE}: the caller's own tensors through every mode
 * ({@link AccuracyCheck}). Everything that can be checked without a GPU (options, file headers and sizes) is
 * checked first, in {@link #prepare}, so a wrong shape is reported before any device work.
 */
final class VerifyFiles {

    /** The FP64 reference's budget per core for {@code --ref-rows auto}: about 10 s of multiply-adds. */
    static final double AUTO_BUDGET_PER_CORE = 1.5e10;

    /** The command's file-mode options, as given (null: not given). */
    record Given(Path q, Path k, Path v, Integer batch, Integer heads, Integer kvHeads, String seqQ, String seqK,
                 Integer headDim, String dtype, String layout, String causal, List<String> modes, Double smScale,
                 String refRows, int timingRuns) {
    }

    /** What {@link #prepare} found: the call's shape, the three files and the options of the check. */
    record Prepared(AttentionArgs shape, TensorFile q, TensorFile k, TensorFile v, List<AccuracyCheck.Mode> modes,
                    int maxRowsPerHead, String rowsNote) {
    }

    private VerifyFiles() {
    }

    static TensorLayout layout(String s) {
        if (s == null) return TensorLayout.BHLD;
        return switch (s.trim().toLowerCase(Locale.ROOT)) {
            case "bhld", "bhsd", "hnd" -> TensorLayout.BHLD;
            case "blhd", "bshd", "nhd" -> TensorLayout.BLHD;
            default -> throw new IllegalArgumentException("--layout " + s + " is not allowed; allowed: bhld (= bhsd, [B, H, L, D], "
                    + "the default), blhd (= bshd, [B, L, H, D])");
        };
    }

    static CausalMode causal(String s) {
        if (s == null) return CausalMode.NONE;
        return switch (s.trim().toLowerCase(Locale.ROOT)) {
            case "false", "none" -> CausalMode.NONE;
            case "true", "top-left" -> CausalMode.TOP_LEFT;
            case "bottom-right" -> CausalMode.BOTTOM_RIGHT;
            default -> throw new IllegalArgumentException("--causal " + s + " is not allowed with --q; allowed: false, true "
                    + "(= top-left: query i sees keys j <= i), bottom-right (j <= i + Lk - Lq)");
        };
    }

    static List<AccuracyCheck.Mode> modes(List<String> raw) {
        List<AccuracyCheck.Mode> out = new ArrayList<>();
        for (String s : Opts.values(raw)) {
            if (s.equalsIgnoreCase("all")) return List.of();
            try {
                AccuracyCheck.Mode m = AccuracyCheck.Mode.parse(s);
                if (!out.contains(m)) out.add(m);
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("--modes " + s + " is not allowed; allowed: all, "
                        + AccuracyCheck.Mode.allowedText());
            }
        }
        return out;
    }

    /** The dims of a .npy shape in a layout: {b, h, l, d}; a 3-D shape is a batch of one. */
    static long[] dims(TensorFile f, TensorLayout layout, String name) {
        long[] s = f.shape();
        if (s.length == 3) s = new long[] {1, s[0], s[1], s[2]};
        if (s.length != 4) {
            throw new IllegalArgumentException(f.path() + ": shape " + f.shapeText() + " is not 4-D (" + name + " as "
                    + (layout == TensorLayout.BHLD ? "[B, H, L, D]" : "[B, L, H, D]") + ", --layout " + layout.name().toLowerCase(Locale.ROOT) + ")");
        }
        return layout == TensorLayout.BHLD ? s : new long[] {s[0], s[2], s[1], s[3]};
    }

    private static int pick(String option, Integer given, long fromFile, TensorFile f, String what) {
        if (given != null && f != null && given != fromFile) {
            throw new IllegalArgumentException(option + " " + given + " does not match " + f.path() + ": its shape "
                    + f.shapeText() + " has " + what + " = " + fromFile);
        }
        if (given != null) return given;
        if (f != null) {
            if (fromFile < 1 || fromFile > Integer.MAX_VALUE) throw new IllegalArgumentException(f.path() + ": " + what + " = " + fromFile + " is not allowed");
            return (int) fromFile;
        }
        return -1;
    }

    private static int required(String option, int v, String why) {
        if (v < 1) throw new IllegalArgumentException(option + ": give " + why + " (raw files carry no shape)");
        return v;
    }

    /** Reads the headers and sizes and checks every option; no GPU. */
    static Prepared prepare(Given g) throws IOException {
        if (g.q() == null || g.k() == null || g.v() == null) {
            throw new IllegalArgumentException("--q, --k and --v go together: missing " + (g.q() == null ? "--q" : g.k() == null ? "--k" : "--v"));
        }
        List<AccuracyCheck.Mode> modes = modes(g.modes());
        TensorLayout layout = layout(g.layout());
        CausalMode causal = causal(g.causal());
        if (g.timingRuns() < 0) throw new IllegalArgumentException("--timing-runs " + g.timingRuns() + " must be at least 0");
        TensorFile q = TensorFile.open(g.q());
        TensorFile k = TensorFile.open(g.k());
        TensorFile v = TensorFile.open(g.v());
        long[] qd = q.npy() ? dims(q, layout, "Q") : null;
        long[] kd = k.npy() ? dims(k, layout, "K") : null;
        long[] vd = v.npy() ? dims(v, layout, "V") : null;
        if (kd != null && vd != null && !java.util.Arrays.equals(kd, vd)) {
            throw new IllegalArgumentException(v.path() + ": shape " + v.shapeText() + " differs from K's " + k.shapeText());
        }
        long[] kv = kd != null ? kd : vd;
        TensorFile kvf = kd != null ? k : vd != null ? v : null;
        Integer seqQ = g.seqQ() == null ? null : Opts.length("--seq-q", g.seqQ());
        Integer seqK = g.seqK() == null ? null : Opts.length("--seq-k", g.seqK());
        int batch = pick("--batch", g.batch(), qd != null ? qd[0] : kv != null ? kv[0] : -1, qd != null ? q : kvf, "B");
        if (batch < 1) batch = 1;
        if (qd != null && kv != null && qd[0] != kv[0]) {
            throw new IllegalArgumentException(kvf.path() + ": batch " + kv[0] + " differs from Q's " + qd[0] + " (" + q.path() + ")");
        }
        int heads = required("--heads", pick("--heads", g.heads(), qd != null ? qd[1] : -1, qd != null ? q : null, "H"),
                "the query heads");
        int kvHeads = pick("--kv-heads", g.kvHeads(), kv != null ? kv[1] : -1, kvf, "Hkv");
        if (kvHeads < 1) kvHeads = heads;
        int lq = required("--seq-q", pick("--seq-q", seqQ, qd != null ? qd[2] : -1, qd != null ? q : null, "Lq"), "the query length");
        int lk = pick("--seq-k", seqK, kv != null ? kv[2] : -1, kvf, "Lk");
        if (lk < 1) lk = lq;
        long fileD = qd != null ? qd[3] : kv != null ? kv[3] : -1;
        int d = required("--head-dim", pick("--head-dim", g.headDim(), fileD, qd != null ? q : kvf, "D"), "the head dim");
        if (qd != null && kv != null && qd[3] != kv[3]) {
            throw new IllegalArgumentException(kvf.path() + ": head dim " + kv[3] + " differs from Q's " + qd[3]);
        }
        if (!io.sageptx.spec.KernelSpec.HEAD_DIMS.contains(d)) {
            throw new IllegalArgumentException("--head-dim " + d + " is not allowed; allowed: " + Opts.headDimsText());
        }
        DType dtype = dtype(g.dtype(), q, k, v);
        if (lq != lk && g.causal() != null && g.causal().trim().equalsIgnoreCase("true")) {
            throw new IllegalArgumentException("--causal true with Lq = " + lq + " != Lk = " + lk + " is ambiguous: give "
                    + "--causal top-left (query i sees keys j <= i) or --causal bottom-right (j <= i + Lk - Lq)");
        }
        AttentionArgs.Builder b = AttentionArgs.builder().q(16).k(16).v(16).o(16).batch(batch).heads(heads).kvHeads(kvHeads)
                .lq(lq).lk(lk).headDim(d).dtype(dtype).layout(layout).causal(causal);
        if (g.smScale() != null) b.smScale(g.smScale().floatValue());
        AttentionArgs shape = b.build();
        try {
            shape.validate();
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("the shape of --q/--k/--v: " + e.getMessage(), e);
        }
        String lay = layout.name().toLowerCase(Locale.ROOT);
        String qDims = layout == TensorLayout.BHLD ? "[B=" + batch + ", H=" + heads + ", Lq=" + lq + ", D=" + d + "]"
                : "[B=" + batch + ", Lq=" + lq + ", H=" + heads + ", D=" + d + "]";
        String kDims = layout == TensorLayout.BHLD ? "[B=" + batch + ", Hkv=" + kvHeads + ", Lk=" + lk + ", D=" + d + "]"
                : "[B=" + batch + ", Lk=" + lk + ", Hkv=" + kvHeads + ", D=" + d + "]";
        q.checkSize((long) batch * heads * lq * d, "Q " + qDims + " " + lay);
        k.checkSize((long) batch * kvHeads * lk * d, "K " + kDims + " " + lay);
        v.checkSize((long) batch * kvHeads * lk * d, "V " + kDims + " " + lay);
        int rows;
        String note = null;
        String rr = g.refRows() == null ? "auto" : g.refRows().trim().toLowerCase(Locale.ROOT);
        if (rr.equals("all")) {
            rows = 0;
            int cores = Runtime.getRuntime().availableProcessors();
            if (AccuracyCheck.rowsForBudget(shape, AUTO_BUDGET_PER_CORE * cores * 6) > 0) {
                note = "warning: --ref-rows all: the FP64 reference over every query row takes more than a minute here "
                        + "(the estimate follows); --ref-rows auto samples the rows";
            }
        } else if (rr.equals("auto")) {
            int cores = Runtime.getRuntime().availableProcessors();
            rows = AccuracyCheck.rowsForBudget(shape, AUTO_BUDGET_PER_CORE * cores);
            if (rows > 0) {
                note = "note: the FP64 reference compares " + rows + " of " + lq + " query rows per head, evenly spaced "
                        + "(--ref-rows auto keeps it to about 10 s on " + cores + " cores; --ref-rows all for every row)";
            }
        } else {
            Integer n = Opts.integer(rr);
            if (n == null || n < 1) throw new IllegalArgumentException("--ref-rows " + g.refRows() + " is not allowed; allowed: auto, all, or a count >= 1");
            rows = n >= lq ? 0 : n;
        }
        return new Prepared(shape, q, k, v, modes, rows, note);
    }

    private static DType dtype(String given, TensorFile... files) {
        DType g = given == null ? null : Opts.dtype("--dtype", given);
        for (TensorFile f : files) {
            if (f.dtype() != null && g != null && f.dtype() != g) {
                throw new IllegalArgumentException("--dtype " + g.shortName() + " does not match " + f.path() + ": it is "
                        + f.dtype().shortName() + " ('<f2'); for bf16 save t.view(torch.int16)");
            }
        }
        if (g != null) return g;
        DType seen = null;
        for (TensorFile f : files) {
            if (f.dtype() == null) {
                throw new IllegalArgumentException("--dtype: give fp16 or bf16 (" + f.path() + " does not say: "
                        + (f.npy() ? "its dtype is a 16-bit integer" : "a raw file") + ")");
            }
            seen = f.dtype();
        }
        return seen;
    }

    /** Runs the check on the device and prints the report; exit code 0 when some mode meets its bar. */
    static int run(Prepared p, int device, int timingRuns, Path json) throws IOException {
        if (json != null) {
            Path parent = json.toAbsolutePath().getParent();
            if (parent != null && !Files.isDirectory(parent)) {
                throw new java.nio.file.NoSuchFileException(json.toString());
            }
        }
        if (p.rowsNote() != null) System.err.println(p.rowsNote());
        AttentionArgs s = p.shape();
        System.err.println("verify: reading " + p.q().path() + ", " + p.k().path() + ", " + p.v().path());
        short[] q = p.q().read((long) s.batch() * s.heads() * s.lq() * s.headDim(), "Q");
        short[] k = p.k().read((long) s.batch() * s.kvHeads() * s.lk() * s.headDim(), "K");
        short[] v = p.v().read((long) s.batch() * s.kvHeads() * s.lk() * s.headDim(), "V");
        AccuracyCheck.Options o = AccuracyCheck.Options.defaults().withModes(p.modes()).withMaxRowsPerHead(p.maxRowsPerHead())
                .withTimingRuns(timingRuns).withProgress(line -> System.err.println("verify: " + line));
        AccuracyCheck.Report r;
        try (SageAttention att = SageAttention.onDevice(device)) {
            r = AccuracyCheck.runHost(att, s, q, k, v, o);
        }
        System.out.print(r.table());
        if (json != null) {
            Files.writeString(json, r.toJson());
            System.err.println("wrote " + json);
        }
        return r.recommended() != null ? 0 : 1;
    }
}
