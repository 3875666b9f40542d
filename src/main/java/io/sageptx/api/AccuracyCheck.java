package io.sageptx.api;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Objects;

import io.sageptx.call.AttentionArgs;
import io.sageptx.call.CausalMode;
import io.sageptx.call.Strides;
import io.sageptx.cuda.CudaEvent;
import io.sageptx.cuda.CudaStream;
import io.sageptx.cuda.DeviceBuffer;
import io.sageptx.cuda.DeviceContext;
import io.sageptx.numerics.AccuracyBar;
import io.sageptx.numerics.ErrorStats;
import io.sageptx.numerics.Half;
import io.sageptx.numerics.SampledReference;
import io.sageptx.spec.KernelSpec;
import io.sageptx.spec.PvVariant;
import io.sageptx.spec.QkPrecision;

/**
 * A diagnostic on the caller's own tensors: runs Q, K, V through every mode the device offers (each QK precision
 * and PV variant the attention families have there) and measures each output against an exact FP64 reference
 * (cosine, relative L1, max abs error, NaN/Inf count, LSE error), times each mode, and recommends the cheapest
 * mode that meets its bar ({@link AccuracyBar#core}: FP8 PV cosine &gt;= 0.999 and rel-L1 &lt;= 0.045, FP16 PV
 * cosine &gt;= 0.9995 and rel-L1 &lt;= 0.015). {@code sageptx verify --q FILE --k FILE --v FILE} is its command
 * line (docs/verify-files.md).
 *
 * <p>The reference is computed on the CPU in FP64 ({@link SampledReference}, all cores) from the 16-bit values
 * exactly as the kernels get them. Its cost grows with Lq x Lk x D per head: for long sequences
 * {@link Options#maxRowsPerHead} compares an even sample of the query rows ({@link #rowsForBudget} picks one for
 * a budget of multiply-adds); the statistics are then over those rows.
 *
 * <p>The tensors are those of an {@link AttentionArgs} call in its layout ({@link io.sageptx.call.TensorLayout},
 * contiguous: no explicit strides, not varlen); its PV variant, QK precision and spec are ignored (each mode
 * sets its own). Output dtype, causal mode, softmax scale and GQA are the call's.
 */
public final class AccuracyCheck {

    /** Default {@link Options#timingRuns}: timed runs per mode after the first (which loads the kernels). */
    public static final int DEFAULT_TIMING_RUNS = 3;
    /** Modes whose median time is within this factor of the fastest passing one count as equally cheap. */
    public static final double TIME_TIE = 1.03;

    private AccuracyCheck() {
    }

    /**
     * One way of running a call: a QK precision and a PV variant (null: the architecture's default one). Its id is
     * what {@code sageptx verify --modes} takes: {@code default} (INT8 QK, the default PV), {@code pv-fp8-f16acc},
     * {@code pv-fp8-f32acc}, {@code pv-fp16} (INT8 QK with that PV), {@code qk-fp16} (16-bit QK and PV),
     * {@code auto} (per head on the GPU), and combinations such as {@code auto+pv-fp8-f32acc}.
     *
     * @param qk the QK precision (not null)
     * @param pv the PV variant, or null for the default of the architecture and precision
     */
    public record Mode(QkPrecision qk, PvVariant pv) {

        /**
         * INT8 QK with the architecture's default PV variant, asked for explicitly: what a call that asks for nothing
         * runs, except on short sequences on sm_90, where such a call runs {@code qk-fp16} (faster there, see
         * {@link io.sageptx.runtime.ShortSequences}); this mode always shows the INT8 kernel.
         */
        public static final Mode DEFAULT = new Mode(QkPrecision.INT8, null);

        /** Checks the QK precision is given. */
        public Mode {
            Objects.requireNonNull(qk, "qk");
        }

        /** The id: {@code default}, {@code pv-<pv>}, {@code qk-<qk>} or {@code auto}, joined by {@code +}. */
        public String id() {
            String q = qk.isDefault() ? "" : qk == QkPrecision.AUTO ? "auto" : "qk-" + qk.id();
            String p = pv == null ? "" : "pv-" + pv.id();
            if (q.isEmpty() && p.isEmpty()) return "default";
            return q.isEmpty() ? p : p.isEmpty() ? q : q + "+" + p;
        }

        @Override
        public String toString() {
            return id();
        }

        /**
         * Every combination of a QK precision and a PV variant (or none), cheapest first by a fixed order: FP8 PV
         * (or the default) before FP16 PV, INT8 QK before {@code auto} before 16-bit QK. Which of them a device runs
         * is {@link AccuracyCheck#resolve}'s business.
         *
         * @return the candidate modes
         */
        public static List<Mode> candidates() {
            List<Mode> out = new ArrayList<>();
            for (QkPrecision q : QkPrecision.values()) {
                out.add(new Mode(q, null));
                for (PvVariant p : PvVariant.values()) out.add(new Mode(q, p));
            }
            out.sort(Comparator.comparingInt(Mode::costRank));
            return out;
        }

        /** The fixed cost order of {@link #candidates()} (lower: cheaper), used where no time was measured. */
        public int costRank() {
            int pvRank = pv == null ? 0 : pv.isFp8() ? 1 + pv.ordinal() : 10;
            int qkRank = switch (qk) {
                case INT8 -> 0;
                case AUTO -> 1;
                default -> 2 + qk.ordinal();
            };
            boolean pv16 = pv != null && !pv.isFp8() || qk == QkPrecision.FP16; // 16-bit QK runs 16-bit PV
            return (pv16 ? 1000 : 0) + qkRank * 100 + pvRank;
        }

        /** Whether this is a mode of one setting (not a {@code +} combination of a non-default QK and a PV). */
        public boolean isBase() {
            return qk.isDefault() || pv == null;
        }

        /**
         * Parses an id ({@link #id()}), case-insensitively; also accepted: {@code fp16-pv} for {@code pv-fp16},
         * {@code qk-auto} for {@code auto}, {@code qk=fp16} and {@code pv=fp16}.
         *
         * @param text the id
         * @return the mode
         * @throws IllegalArgumentException naming the text and the ids allowed
         */
        public static Mode parse(String text) {
            String t = text.trim().toLowerCase(Locale.ROOT);
            QkPrecision q = QkPrecision.INT8;
            PvVariant p = null;
            boolean any = false;
            for (String part : t.split("\\+")) {
                String s = part.trim().replace('=', '-');
                if (s.equals("default") || s.equals("int8") || s.equals("qk-int8")) {
                    any = true;
                    continue;
                }
                try {
                    if (s.equals("auto")) {
                        q = QkPrecision.AUTO;
                    } else if (s.startsWith("qk-")) {
                        q = QkPrecision.parse(s.substring(3));
                    } else if (s.startsWith("pv-")) {
                        p = PvVariant.parse(s.substring(3));
                    } else if (s.endsWith("-pv")) {
                        p = PvVariant.parse(s.substring(0, s.length() - 3));
                    } else {
                        throw new IllegalArgumentException(s);
                    }
                } catch (IllegalArgumentException e) {
                    throw new IllegalArgumentException("mode '" + text.trim() + "' is not one of " + allowedText());
                }
                any = true;
            }
            if (!any) throw new IllegalArgumentException("mode '" + text + "' is empty; allowed: " + allowedText());
            return new Mode(q, p);
        }

        /** The ids of the base modes, for messages and help. */
        public static String allowedText() {
            StringBuilder b = new StringBuilder();
            for (Mode m : candidates()) {
                if (m.isBase()) b.append(b.length() == 0 ? "" : ", ").append(m.id());
            }
            return b + " (or a qk and a pv joined by +, like auto+pv-fp8-f32acc)";
        }

        AttentionArgs.Builder apply(AttentionArgs.Builder b) {
            return b.qkPrecision(qk).pv(pv);
        }
    }

    /**
     * A progress sink: one line per step of a long check (reading, the reference, each mode).
     */
    public interface Progress {
        /** Discards every line. */
        Progress NONE = line -> { };

        /**
         * Receives one line of progress.
         *
         * @param line the text, without a newline
         */
        void line(String line);
    }

    /**
     * What to check and how.
     *
     * @param modes          the modes to run, in this order; empty: every mode of the device
     *                       ({@link #resolve})
     * @param maxRowsPerHead compare this many query rows per head, spread evenly (0: every row)
     * @param timingRuns     timed runs per mode after the first; 0: no timing (the recommendation then uses
     *                       {@link Mode#costRank})
     * @param progress       where progress lines go
     */
    public record Options(List<Mode> modes, int maxRowsPerHead, int timingRuns, Progress progress) {

        /** Checks and copies the arguments. */
        public Options {
            modes = List.copyOf(modes);
            if (maxRowsPerHead < 0) throw new IllegalArgumentException("maxRowsPerHead = " + maxRowsPerHead + " must be >= 0");
            if (timingRuns < 0) throw new IllegalArgumentException("timingRuns = " + timingRuns + " must be >= 0");
            Objects.requireNonNull(progress, "progress");
        }

        /** Every mode, every row, {@value AccuracyCheck#DEFAULT_TIMING_RUNS} timed runs, no progress. */
        public static Options defaults() {
            return new Options(List.of(), 0, DEFAULT_TIMING_RUNS, Progress.NONE);
        }

        /**
         * These options with other modes.
         *
         * @param m the modes (empty: every mode)
         * @return the new options
         */
        public Options withModes(List<Mode> m) {
            return new Options(m, maxRowsPerHead, timingRuns, progress);
        }

        /**
         * These options with another row sample.
         *
         * @param rows rows per head (0: all)
         * @return the new options
         */
        public Options withMaxRowsPerHead(int rows) {
            return new Options(modes, rows, timingRuns, progress);
        }

        /**
         * These options with another number of timed runs.
         *
         * @param runs timed runs per mode (0: none)
         * @return the new options
         */
        public Options withTimingRuns(int runs) {
            return new Options(modes, maxRowsPerHead, runs, progress);
        }

        /**
         * These options with a progress sink.
         *
         * @param p the sink
         * @return the new options
         */
        public Options withProgress(Progress p) {
            return new Options(modes, maxRowsPerHead, timingRuns, p);
        }
    }

    /**
     * A mode as the device runs it, before running: its kernel, or why it does not run here.
     *
     * @param mode        the mode
     * @param kernel      the kernel spec (or "decode kernels") a call of this mode runs; null when unavailable
     * @param bar         the bar of that kernel ({@link AccuracyBar#core} of its PV variant); null when unavailable
     * @param unavailable why the mode does not run on this device, or null
     * @param sixteenBitQk whether that kernel is the 16-bit QK one (qk=auto on a short call runs it for every head)
     */
    public record Resolved(Mode mode, String kernel, AccuracyBar bar, String unavailable, boolean sixteenBitQk) {
    }

    /**
     * The result of one mode.
     *
     * @param mode        the mode
     * @param aliases     other modes asked for that run the same kernel (not run again)
     * @param kernel      the kernel spec that ran (or "decode kernels"), or null when the mode did not run
     * @param unavailable why the mode did not run (not on this device, or its call failed), or null
     * @param error       O against the reference over the compared rows (null when not run)
     * @param lseMaxAbs   largest absolute error of the LSE over the compared rows (infinite for a NaN)
     * @param millis      median GPU time of one call in milliseconds, or NaN when not timed
     * @param heads16     {@code auto}: how many (batch, head) pairs ran 16-bit QK; -1 for other modes
     * @param headCount   batch x heads
     * @param bar         the bar the mode is judged by, or null when not run
     * @param failure     why the mode misses its bar, or null when it meets it (or did not run)
     */
    public record ModeResult(Mode mode, List<Mode> aliases, String kernel, String unavailable, ErrorStats error,
                             double lseMaxAbs, double millis, int heads16, int headCount, AccuracyBar bar, String failure) {

        /** Copies the aliases. */
        public ModeResult {
            aliases = List.copyOf(aliases);
        }

        /** Whether the mode ran. */
        public boolean ran() {
            return unavailable == null;
        }

        /** Whether it ran and met its bar. */
        public boolean meetsBar() {
            return ran() && failure == null;
        }

        /** The mode's id with its aliases, like {@code default (= pv-fp8-f16acc)}. */
        public String label() {
            if (aliases.isEmpty()) return mode.id();
            StringBuilder b = new StringBuilder(mode.id()).append(" (=");
            for (Mode a : aliases) b.append(' ').append(a.id());
            return b.append(')').toString();
        }
    }

    /**
     * Everything a check found.
     *
     * @param device      the device, in words
     * @param shape       the call's shape, in words
     * @param reference   what the reference is (FP64 CPU, rows compared)
     * @param rowsPerHead query rows compared per head
     * @param lq          query rows per head
     * @param modes       one result per mode, in the order run
     */
    public record Report(String device, String shape, String reference, int rowsPerHead, int lq, List<ModeResult> modes) {

        /** Copies the modes. */
        public Report {
            modes = List.copyOf(modes);
        }

        /**
         * The cheapest mode that meets its bar: the fastest by median time (modes within {@value AccuracyCheck#TIME_TIE}
         * x of it count as equal, the lower {@link Mode#costRank} wins), or by {@link Mode#costRank} when some passing
         * mode was not timed; null when no mode meets its bar.
         *
         * @return the mode's result, or null
         */
        public ModeResult recommended() {
            List<ModeResult> ok = modes.stream().filter(ModeResult::meetsBar).toList();
            if (ok.isEmpty()) return null;
            Comparator<ModeResult> byRank = Comparator.comparingInt(r -> r.mode().costRank());
            boolean timed = ok.stream().allMatch(r -> Double.isFinite(r.millis()));
            if (!timed) return ok.stream().min(byRank).orElseThrow();
            double fastest = ok.stream().mapToDouble(ModeResult::millis).min().orElseThrow();
            return ok.stream().filter(r -> r.millis() <= fastest * TIME_TIE).min(byRank).orElseThrow();
        }

        /** The most accurate mode that ran (lowest rel-L1 with no NaN/Inf), or null when none ran. */
        public ModeResult mostAccurate() {
            return modes.stream().filter(ModeResult::ran)
                    .min(Comparator.comparingLong((ModeResult r) -> r.error().nonFinite())
                            .thenComparingDouble(r -> Double.isNaN(r.error().relL1()) ? Double.MAX_VALUE : r.error().relL1()))
                    .orElse(null);
        }

        /** One line: the recommended mode and why, or that none meets its bar (and the most accurate one). */
        public String recommendation() {
            ModeResult r = recommended();
            if (r == null) {
                ModeResult best = mostAccurate();
                return "recommendation: no mode meets its bar on these tensors"
                        + (best == null ? "" : "; the most accurate is " + best.mode().id() + " (" + stats(best) + ")");
            }
            String how = Double.isFinite(r.millis()) ? String.format(Locale.ROOT, "the fastest within its bar, %.3f ms", r.millis())
                    : "the cheapest within its bar";
            String call = callText(r.mode());
            return "recommendation: " + r.mode().id() + " (" + stats(r) + "; " + how + ")" + (call.isEmpty() ? "" : ": " + call);
        }

        private static String stats(ModeResult r) {
            return String.format(Locale.ROOT, "cos %.6f, rel-L1 %.5f", r.error().cosine(), r.error().relL1());
        }

        /** A plain-text table, one row per mode, then the recommendation line. */
        public String table() {
            List<String[]> rows = new ArrayList<>();
            rows.add(new String[] {"mode", "kernel", "cosine", "rel L1", "max abs", "non-finite", "LSE err", "ms", "16-bit QK heads", "bar", "result"});
            for (ModeResult r : modes) {
                if (!r.ran()) {
                    rows.add(new String[] {r.label(), "-", "-", "-", "-", "-", "-", "-", "-", "-", "not run: " + r.unavailable()});
                    continue;
                }
                ErrorStats e = r.error();
                rows.add(new String[] {r.label(), r.kernel(), String.format(Locale.ROOT, "%.6f", e.cosine()),
                        String.format(Locale.ROOT, "%.5f", e.relL1()), String.format(Locale.ROOT, "%.4g", e.maxAbs()),
                        String.valueOf(e.nonFinite()), String.format(Locale.ROOT, "%.4g", r.lseMaxAbs()),
                        Double.isFinite(r.millis()) ? String.format(Locale.ROOT, "%.3f", r.millis()) : "-",
                        r.heads16() < 0 ? "-" : r.heads16() + " of " + r.headCount(),
                        String.format(Locale.ROOT, "cos>=%s relL1<=%s", trim(r.bar().minCosine()), trim(r.bar().maxRelL1())),
                        r.failure() == null ? "PASS" : "FAIL: " + r.failure()});
            }
            int[] w = new int[rows.get(0).length];
            for (String[] row : rows) {
                for (int i = 0; i < w.length; i++) w[i] = Math.max(w[i], row[i].length());
            }
            StringBuilder b = new StringBuilder();
            b.append("device: ").append(device).append('\n').append("shape: ").append(shape).append('\n')
                    .append("reference: ").append(reference).append('\n');
            for (int j = 0; j < rows.size(); j++) {
                StringBuilder line = new StringBuilder();
                for (int i = 0; i < w.length; i++) {
                    line.append(i == 0 ? "" : "  ").append(rows.get(j)[i]).append(" ".repeat(w[i] - rows.get(j)[i].length()));
                }
                b.append(line.toString().stripTrailing()).append('\n');
                if (j == 0) {
                    StringBuilder sep = new StringBuilder();
                    for (int i = 0; i < w.length; i++) sep.append(i == 0 ? "" : "  ").append("-".repeat(w[i]));
                    b.append(sep).append('\n');
                }
            }
            return b.append(recommendation()).append('\n').toString();
        }

        /** The report as a JSON object (device, shape, reference, modes with their numbers, recommendation). */
        public String toJson() {
            StringBuilder b = new StringBuilder("{\n");
            b.append("  \"device\": ").append(Json.str(device)).append(",\n");
            b.append("  \"shape\": ").append(Json.str(shape)).append(",\n");
            b.append("  \"reference\": ").append(Json.str(reference)).append(",\n");
            b.append("  \"rows_per_head\": ").append(rowsPerHead).append(",\n");
            b.append("  \"lq\": ").append(lq).append(",\n");
            b.append("  \"modes\": [");
            for (int i = 0; i < modes.size(); i++) {
                ModeResult r = modes.get(i);
                b.append(i == 0 ? "\n" : ",\n").append("    {\"mode\": ").append(Json.str(r.mode().id()));
                b.append(", \"aliases\": [");
                for (int j = 0; j < r.aliases().size(); j++) b.append(j == 0 ? "" : ", ").append(Json.str(r.aliases().get(j).id()));
                b.append("], \"ran\": ").append(r.ran());
                if (!r.ran()) {
                    b.append(", \"unavailable\": ").append(Json.str(r.unavailable())).append('}');
                    continue;
                }
                ErrorStats e = r.error();
                b.append(", \"kernel\": ").append(Json.str(r.kernel()));
                b.append(", \"cosine\": ").append(Json.num(e.cosine())).append(", \"rel_l1\": ").append(Json.num(e.relL1()));
                b.append(", \"max_abs\": ").append(Json.num(e.maxAbs())).append(", \"non_finite\": ").append(e.nonFinite());
                b.append(", \"lse_max_abs\": ").append(Json.num(r.lseMaxAbs())).append(", \"ms\": ").append(Json.num(r.millis()));
                if (r.heads16() >= 0) b.append(", \"heads_16bit_qk\": ").append(r.heads16()).append(", \"heads\": ").append(r.headCount());
                b.append(", \"bar\": {\"min_cosine\": ").append(Json.num(r.bar().minCosine())).append(", \"max_rel_l1\": ")
                        .append(Json.num(r.bar().maxRelL1())).append('}');
                b.append(", \"meets_bar\": ").append(r.meetsBar());
                if (r.failure() != null) b.append(", \"failure\": ").append(Json.str(r.failure()));
                b.append('}');
            }
            b.append(modes.isEmpty() ? "],\n" : "\n  ],\n");
            ModeResult rec = recommended();
            b.append("  \"recommended\": ").append(rec == null ? "null" : Json.str(rec.mode().id())).append(",\n");
            b.append("  \"recommendation\": ").append(Json.str(recommendation())).append("\n}\n");
            return b.toString();
        }
    }

    private static String trim(double x) {
        String s = String.format(Locale.ROOT, "%.4f", x);
        return s.replaceAll("0+$", "").replaceAll("\\.$", "");
    }

    /** The builder calls that select a mode, as Java text ("" for the default). */
    static String callText(Mode m) {
        StringBuilder b = new StringBuilder();
        if (!m.qk().isDefault()) b.append(".qkPrecision(QkPrecision.").append(m.qk().name()).append(')');
        if (m.pv() != null) b.append(".pv(PvVariant.").append(m.pv().name()).append(')');
        return b.length() == 0 ? "the default, nothing to set" : b.toString();
    }

    /** Minimal JSON text. */
    static final class Json {
        private Json() {
        }

        static String str(String s) {
            if (s == null) return "null";
            StringBuilder b = new StringBuilder("\"");
            for (char c : s.toCharArray()) {
                switch (c) {
                    case '"' -> b.append("\\\"");
                    case '\\' -> b.append("\\\\");
                    case '\n' -> b.append("\\n");
                    case '\r' -> b.append("\\r");
                    case '\t' -> b.append("\\t");
                    default -> {
                        if (c < 0x20) b.append(String.format("\\u%04x", (int) c));
                        else b.append(c);
                    }
                }
            }
            return b.append('"').toString();
        }

        static String num(double x) {
            if (Double.isNaN(x) || Double.isInfinite(x)) return "null";
            return String.valueOf(x);
        }
    }

    // ------------------------------------------------------------------------------------------------------------

    /**
     * The query rows per head to compare so that the FP64 reference costs at most {@code multiplyAdds}
     * (every row when that fits; at least 64 rows, or every row when Lq is smaller).
     *
     * @param shape        the call
     * @param multiplyAdds the budget of multiply-adds (about 1-2 per nanosecond and core in Java)
     * @return rows per head (0: every row)
     */
    public static int rowsForBudget(AttentionArgs shape, double multiplyAdds) {
        int lq = shape.lq();
        int shift = causalShift(shape);
        if (SampledReference.multiplyAdds(SampledReference.evenRows(lq, 0), shape.batch(), shape.heads(), shape.lk(),
                shape.headDim(), shape.causal(), shift) <= multiplyAdds) {
            return 0;
        }
        double perRow = SampledReference.multiplyAdds(SampledReference.evenRows(lq, 0), shape.batch(), shape.heads(),
                shape.lk(), shape.headDim(), shape.causal(), shift) / lq;
        int rows = (int) Math.max(64, Math.min(lq, Math.floor(multiplyAdds / perRow)));
        return rows >= lq ? 0 : rows;
    }

    private static int causalShift(AttentionArgs a) {
        return a.causalMode() == CausalMode.BOTTOM_RIGHT ? a.lk() - a.lq() : 0;
    }

    /**
     * The modes a call can run on {@code att}'s device, each with the kernel it runs (the tuned winner when one is
     * stored, else the default spec; the decode kernels when the call is routed there). Modes that run the same
     * kernel as an earlier one are kept (the check runs the kernel once and lists the later mode as an alias).
     * With {@code asked} empty: every {@link Mode#candidates() candidate} the device runs, and the base modes it
     * does not run (with the reason); with modes asked: exactly those, in that order.
     *
     * @param att   the device
     * @param shape the call (its pointers are ignored)
     * @param asked the modes asked for, or empty for all
     * @return the modes, resolved
     */
    public static List<Resolved> resolve(SageAttention att, AttentionArgs shape, List<Mode> asked) {
        return resolve(shape, asked, a -> {
            if (att.decodeRoute(a) != null) return null;
            return att.specFor(a);
        });
    }

    /** The kernel a call runs: a spec, or null for the decode kernels; throws IllegalArgumentException when refused. */
    interface SpecOf {
        KernelSpec of(AttentionArgs a);
    }

    static final String DECODE = "decode kernels (16-bit K/V read directly)";

    static List<Resolved> resolve(AttentionArgs shape, List<Mode> asked, SpecOf specOf) {
        checkShape(shape);
        boolean all = asked.isEmpty();
        List<Resolved> out = new ArrayList<>();
        for (Mode m : all ? Mode.candidates() : asked) {
            AttentionArgs a = call(shape, m, 16, 16, 16, 16, 0, 0);
            Resolved r;
            try {
                a.validate();
                KernelSpec s = specOf.of(a);
                r = s == null ? new Resolved(m, DECODE, AccuracyBar.core(PvVariant.FP16), null, false)
                        : new Resolved(m, s.toString(), AccuracyBar.core(s.pv()), null, s.fp16Qk());
            } catch (IllegalArgumentException | UnsupportedOperationException e) {
                r = new Resolved(m, null, null, UserText.oneLine(e), false);
            }
            if (all && r.unavailable() != null && !m.isBase()) continue;
            out.add(r);
        }
        return out;
    }

    /** One line of an exception's message. */
    static final class UserText {
        private UserText() {
        }

        static String oneLine(Throwable e) {
            String m = e.getMessage() == null || e.getMessage().isBlank() ? e.getClass().getSimpleName() : e.getMessage();
            return m.lines().findFirst().orElse(m);
        }
    }

    static void checkShape(AttentionArgs shape) {
        if (shape.isVarlen()) throw new IllegalArgumentException("accuracy check: varlen calls are not supported; give each sequence as a batch of one");
        if (shape.spec() != null) throw new IllegalArgumentException("accuracy check: the call asks for a spec; the modes choose their kernels (leave spec unset)");
        Strides q = shape.layout().strides(shape.heads(), shape.lq(), shape.headDim());
        Strides kv = shape.layout().strides(shape.kvHeads(), shape.lk(), shape.headDim());
        if (!q.equals(shape.qStrides()) || !kv.equals(shape.kStrides()) || !kv.equals(shape.vStrides()) || !q.equals(shape.oStrides())) {
            throw new IllegalArgumentException("accuracy check: the tensors must be contiguous in the call's layout "
                    + shape.layout() + " (no explicit strides); copy views into contiguous tensors first");
        }
    }

    /** The call of one mode on the given buffers (the shape's sizes, layout, dtypes, causal mode, scale). */
    static AttentionArgs call(AttentionArgs s, Mode m, long q, long k, long v, long o, long lse, long decisions) {
        AttentionArgs.Builder b = AttentionArgs.builder().q(q).k(k).v(v).o(o).lse(lse).batch(s.batch()).heads(s.heads())
                .kvHeads(s.kvHeads()).lq(s.lq()).lk(s.lk()).headDim(s.headDim()).inType(s.inType()).outType(s.outType())
                .causal(s.causalMode()).smScale(s.smScale()).layout(s.layout());
        m.apply(b);
        if (m.qk() == QkPrecision.AUTO) b.qkDecisions(decisions);
        return b.build();
    }

    /** Runs one mode's call and returns what it wrote. */
    interface ModeRunner {
        /**
         * @param mode the mode
         * @param call its call (pointers are the runner's business)
         * @return O decoded to floats in the call's layout, the LSE [B][H][Lq], the auto decisions [B][H] or null,
         *         the median time in ms or NaN
         */
        Output run(Mode mode, AttentionArgs call);
    }

    record Output(float[] o, float[] lse, int[] decisions, double millis) {
    }

    // ------------------------------------------------------------------------------------------------------------

    /**
     * Checks the modes on tensors already on {@code att}'s device: {@code call}'s Q, K and V (contiguous in its
     * layout) are copied to the host for the reference; O, the LSE and the {@code auto} decisions go to scratch
     * buffers of this check (the call's O and LSE pointers are not written). The tensors must be ready: synchronize
     * the stream that wrote them first (the copies here are synchronous on the legacy default stream).
     *
     * @param att  the device
     * @param call the call: its Q, K, V device pointers, shape, layout, dtypes, causal mode, scale
     * @param opts what to check
     * @return the report
     */
    public static Report run(SageAttention att, AttentionArgs call, Options opts) {
        checkShape(call);
        DeviceContext ctx = att.context();
        ctx.makeCurrent();
        long qn = (long) call.batch() * call.heads() * call.lq() * call.headDim();
        long kn = (long) call.batch() * call.kvHeads() * call.lk() * call.headDim();
        short[] q = new short[Math.toIntExact(qn)];
        short[] k = new short[Math.toIntExact(kn)];
        short[] v = new short[Math.toIntExact(kn)];
        opts.progress().line("copying Q, K, V to the host for the reference");
        try (DeviceBuffer dq = DeviceBuffer.wrap(ctx, call.q(), 2 * qn);
             DeviceBuffer dk = DeviceBuffer.wrap(ctx, call.k(), 2 * kn);
             DeviceBuffer dv = DeviceBuffer.wrap(ctx, call.v(), 2 * kn)) {
            dq.copyTo(q);
            dk.copyTo(k);
            dv.copyTo(v);
        }
        return runOnDevice(att, call, call.q(), call.k(), call.v(), q, k, v, opts);
    }

    /**
     * Checks the modes on host tensors: 16-bit values of {@code shape.inType()} in {@code shape}'s layout
     * (contiguous), uploaded once.
     *
     * @param att   the device
     * @param shape the call's shape, layout, dtypes, causal mode and scale (its pointers are ignored)
     * @param q     Q as 16-bit values
     * @param k     K as 16-bit values
     * @param v     V as 16-bit values
     * @param opts  what to check
     * @return the report
     */
    public static Report runHost(SageAttention att, AttentionArgs shape, short[] q, short[] k, short[] v, Options opts) {
        checkShape(shape);
        checkLengths(shape, q, k, v);
        DeviceContext ctx = att.context();
        ctx.makeCurrent();
        try (DeviceBuffer dq = DeviceBuffer.allocate(ctx, 2L * q.length);
             DeviceBuffer dk = DeviceBuffer.allocate(ctx, 2L * k.length);
             DeviceBuffer dv = DeviceBuffer.allocate(ctx, 2L * v.length)) {
            dq.copyFrom(q);
            dk.copyFrom(k);
            dv.copyFrom(v);
            return runOnDevice(att, shape, dq.address(), dk.address(), dv.address(), q, k, v, opts);
        }
    }

    private static void checkLengths(AttentionArgs s, short[] q, short[] k, short[] v) {
        long qn = (long) s.batch() * s.heads() * s.lq() * s.headDim();
        long kn = (long) s.batch() * s.kvHeads() * s.lk() * s.headDim();
        if (q == null || q.length != qn) throw new IllegalArgumentException("q has " + (q == null ? 0 : q.length) + " elements; the shape needs " + qn);
        if (k == null || k.length != kn) throw new IllegalArgumentException("k has " + (k == null ? 0 : k.length) + " elements; the shape needs " + kn);
        if (v == null || v.length != kn) throw new IllegalArgumentException("v has " + (v == null ? 0 : v.length) + " elements; the shape needs " + kn);
    }

    private static Report runOnDevice(SageAttention att, AttentionArgs shape, long dq, long dk, long dv, short[] q, short[] k,
                                      short[] v, Options opts) {
        DeviceContext ctx = att.context();
        int qn = q.length;
        int rows = shape.batch() * shape.heads() * shape.lq();
        int bh = shape.batch() * shape.heads();
        List<Resolved> modes = resolve(att, shape, opts.modes());
        try (DeviceBuffer dO = DeviceBuffer.allocate(ctx, 2L * qn);
             DeviceBuffer dl = DeviceBuffer.allocate(ctx, 4L * rows);
             DeviceBuffer dd = DeviceBuffer.allocate(ctx, 4L * bh);
             CudaStream s = CudaStream.create(ctx);
             CudaEvent start = CudaEvent.create(ctx);
             CudaEvent end = CudaEvent.create(ctx)) {
            ModeRunner runner = (mode, c) -> {
                AttentionArgs a = call(c, mode, dq, dk, dv, dO.address(), dl.address(), dd.address());
                dO.fill16((short) 0xFFFF, s); // NaN in fp16 and bf16: an unwritten output shows
                dl.fill32(0x7FFFFFFF, s);
                dd.fill32(-1, s);
                att.forward(a, s.handle());
                s.synchronize();
                short[] o16 = new short[qn];
                dO.copyTo(o16);
                float[] lse = new float[rows];
                dl.copyTo(lse);
                int[] dec = null;
                if (mode.qk() == QkPrecision.AUTO) {
                    dec = new int[bh];
                    dd.copyTo(dec);
                }
                double ms = Double.NaN;
                if (opts.timingRuns() > 0) {
                    double[] t = new double[opts.timingRuns()];
                    for (int i = 0; i < t.length; i++) {
                        start.record(s);
                        att.forward(a, s.handle());
                        end.record(s);
                        t[i] = CudaEvent.elapsedMillis(start, end);
                    }
                    Arrays.sort(t);
                    ms = t[t.length / 2];
                }
                return new Output(Half.decode(o16, a.outType()), lse, dec, ms);
            };
            String device = ctx.name() + " (cuda:" + ctx.ordinal() + ", " + att.arch().target() + ")";
            return check(device, shape, q, k, v, modes, runner, opts);
        }
    }

    /** The check itself, over any runner (the GPU's, or a model in tests). */
    static Report check(String device, AttentionArgs shape, short[] q16, short[] k16, short[] v16, List<Resolved> modes,
                        ModeRunner runner, Options opts) {
        checkShape(shape);
        checkLengths(shape, q16, k16, v16);
        int b = shape.batch();
        int h = shape.heads();
        int lq = shape.lq();
        int d = shape.headDim();
        int shift = causalShift(shape);
        int[] rows = SampledReference.evenRows(lq, opts.maxRowsPerHead());
        double work = SampledReference.multiplyAdds(rows, b, h, shape.lk(), d, shape.causal(), shift);
        int cores = Runtime.getRuntime().availableProcessors();
        opts.progress().line(String.format(Locale.ROOT, "FP64 reference on the CPU: %d of %d query rows per head, %.3g "
                + "multiply-adds on %d cores (about %.0f s)", rows.length, lq, work, cores, work / (1.0e9 * cores)));
        float[] q = Half.decode(q16, shape.inType());
        float[] k = Half.decode(k16, shape.inType());
        float[] v = Half.decode(v16, shape.inType());
        long t0 = System.nanoTime();
        SampledReference.Result ref = SampledReference.compute(q, k, v, strides(shape.qStrides()), strides(shape.kStrides()),
                strides(shape.vStrides()), b, h, shape.kvHeads(), lq, shape.lk(), d, shape.smScale(), shape.causal(), shift, rows);
        opts.progress().line(String.format(Locale.ROOT, "reference done in %.1f s", (System.nanoTime() - t0) / 1e9));
        Strides os = shape.oStrides();
        List<ModeResult> out = new ArrayList<>();
        List<Resolved> runnable = modes.stream().filter(r -> r.unavailable() == null).toList();
        int done = 0;
        for (Resolved r : modes) {
            if (r.unavailable() != null) {
                out.add(new ModeResult(r.mode(), List.of(), null, r.unavailable(), null, Double.NaN, Double.NaN, -1, b * h, null, null));
                continue;
            }
            int same = -1;
            for (int i = 0; i < out.size(); i++) {
                if (out.get(i).ran() && r.kernel().equals(out.get(i).kernel())) same = i;
            }
            if (same >= 0) {
                ModeResult p = out.get(same);
                List<Mode> al = new ArrayList<>(p.aliases());
                al.add(r.mode());
                // auto running the 16-bit QK kernel itself (a short call, ShortSequences) gave every head to it
                int heads16 = r.mode().qk() == QkPrecision.AUTO && r.sixteenBitQk() ? b * h : p.heads16();
                out.set(same, new ModeResult(p.mode(), al, p.kernel(), p.unavailable(), p.error(), p.lseMaxAbs(), p.millis(),
                        heads16, p.headCount(), p.bar(), p.failure()));
                done++;
                continue;
            }
            done++;
            opts.progress().line("mode " + done + " of " + runnable.size() + ": " + r.mode().id() + " (" + r.kernel() + ")");
            Output o;
            try {
                o = runner.run(r.mode(), call(shape, r.mode(), 16, 16, 16, 16, 0, 0));
            } catch (IllegalArgumentException | UnsupportedOperationException e) {
                out.add(new ModeResult(r.mode(), List.of(), null, "failed: " + UserText.oneLine(e), null, Double.NaN, Double.NaN,
                        -1, b * h, null, null));
                continue;
            }
            float[] got = new float[ref.o().length];
            double lseErr = 0;
            for (int bi = 0; bi < b; bi++) {
                for (int hi = 0; hi < h; hi++) {
                    for (int ri = 0; ri < rows.length; ri++) {
                        int task = (bi * h + hi) * rows.length + ri;
                        long base = bi * os.batch() + hi * os.head() + (long) rows[ri] * os.token();
                        for (int c = 0; c < d; c++) got[task * d + c] = o.o()[(int) (base + c)];
                        double want = ref.lse()[task];
                        double have = o.lse()[(bi * h + hi) * lq + rows[ri]];
                        double err = want == have ? 0 : Math.abs(have - want);
                        lseErr = Double.isNaN(err) ? Double.POSITIVE_INFINITY : Math.max(lseErr, err);
                    }
                }
            }
            ErrorStats e = ErrorStats.of(got, ref.o());
            int heads16 = -1;
            if (o.decisions() != null && !DECODE.equals(r.kernel())) {
                heads16 = 0;
                for (int x : o.decisions()) if (x == 1) heads16++;
            }
            String why = r.bar().failure(new AccuracyBar.Accuracy(e.cosine(), e.relL1(), lseErr, e.nonFinite()));
            out.add(new ModeResult(r.mode(), List.of(), r.kernel(), null, e, lseErr, o.millis(), heads16, b * h, r.bar(), why));
        }
        String refText = "FP64 on the CPU, " + (rows.length == lq ? "every query row" : rows.length + " of " + lq
                + " query rows per head (evenly spaced)");
        return new Report(device, shapeText(shape), refText, rows.length, lq, out);
    }

    private static long[] strides(Strides s) {
        return new long[] {s.batch(), s.head(), s.token()};
    }

    /** The shape in words, like {@code B=1 H=8 Hkv=8 Lq=512 Lk=512 D=128 bf16 BHLD causal=none scale=0.0884}. */
    static String shapeText(AttentionArgs s) {
        return String.format(Locale.ROOT, "B=%d H=%d Hkv=%d Lq=%d Lk=%d D=%d %s->%s %s causal=%s sm_scale=%.6g", s.batch(),
                s.heads(), s.kvHeads(), s.lq(), s.lk(), s.headDim(), s.inType().shortName(), s.outType().shortName(), s.layout(),
                s.causalMode().name().toLowerCase(Locale.ROOT), s.smScale());
    }
}
