package io.sageptx.cli;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.function.Function;
import java.util.stream.Collectors;

import io.sageptx.cuda.Cuda;
import io.sageptx.spec.Arch;
import io.sageptx.spec.DType;
import io.sageptx.spec.KernelSpec;

/**
 * The one vocabulary of the command line: how every command reads the options they share, and the
 * errors they give, each naming the option as the user typed it ({@code --head-dim 512 is not allowed;
 * allowed: ...}). Lists are comma-separated in every command: {@code --head-dim 64,128},
 * {@code --seq 1k,4096}, {@code --dtype fp16,bf16}, {@code --causal false|true|both} (or
 * {@code false,true}).
 */
final class Opts {

    static final String HEAD_DIM_HELP = "head dims: multiples of 16 from 32 to 256, comma-separated";
    static final String SEQ_HELP = "sequence lengths, comma-separated; a k suffix means x1024 (4k = 4096)";
    static final String CAUSAL_HELP = "causal mask: false, true or both (top-left, Lq == Lk)";
    static final String DTYPE_HELP = "input dtypes: fp16, bf16, comma-separated";
    static final String DEVICE_HELP = "CUDA device ordinal";
    static final String CACHE_DIR_HELP = "cache folder (default: $SAGEPTX_CACHE_DIR, else $XDG_CACHE_HOME/sageptx, else ~/.cache/sageptx)";
    static final String CSV_HELP = "folder to write the CSV into (created when missing)";
    static final String PLOT_HELP = "draw a PNG chart into this file (needs a Java runtime with java.desktop; see 'sageptx plot')";

    private Opts() {
    }

    /** Every value of a list option, split at commas, blanks dropped. */
    static List<String> values(List<String> raw) {
        List<String> out = new ArrayList<>();
        if (raw == null) return out;
        for (String r : raw) {
            for (String s : r.split(",")) {
                if (!s.isBlank()) out.add(s.trim());
            }
        }
        return out;
    }

    /** The one value of {@code option} in a command that makes one kernel or one call. */
    static String single(String option, List<String> raw, String why) {
        List<String> v = values(raw);
        if (v.size() != 1) {
            throw new IllegalArgumentException(option + " " + String.join(",", v) + ": takes one value here (" + why + ")");
        }
        return v.get(0);
    }

    /** {@code --head-dim}: each value one of {@link KernelSpec#HEAD_DIMS}. */
    static List<Integer> headDims(List<String> raw) {
        List<Integer> out = new ArrayList<>();
        for (String s : values(raw)) out.add(headDim(s));
        if (out.isEmpty()) throw new IllegalArgumentException("--head-dim: give at least one head dim");
        return distinct(out);
    }

    static int headDim(String s) {
        Integer d = integer(s);
        if (d == null || !KernelSpec.HEAD_DIMS.contains(d)) {
            throw new IllegalArgumentException("--head-dim " + s + " is not allowed; allowed: " + headDimsText());
        }
        return d;
    }

    static String headDimsText() {
        return KernelSpec.HEAD_DIMS.stream().map(String::valueOf).collect(Collectors.joining(", "))
                + " (every multiple of 16 from 32 to 256)";
    }

    /** {@code --seq} and the like: positive lengths, {@code 4k} = 4096. */
    static List<Integer> lengths(String option, List<String> raw) {
        List<Integer> out = new ArrayList<>();
        for (String s : values(raw)) out.add(length(option, s));
        if (out.isEmpty()) throw new IllegalArgumentException(option + ": give at least one length");
        return distinct(out);
    }

    static int length(String option, String s) {
        String t = s.trim().toLowerCase(Locale.ROOT);
        Integer n = t.endsWith("k") ? integer(t.substring(0, t.length() - 1)) : integer(t);
        if (n != null && t.endsWith("k")) n = n <= Integer.MAX_VALUE / 1024 ? n * 1024 : null;
        if (n == null || n <= 0) {
            throw new IllegalArgumentException(option + " " + s + " is not a positive length (like 4096 or 4k)");
        }
        return n;
    }

    /** {@code --causal}: false, true, both, or a comma list of false/true. */
    static List<Boolean> causal(List<String> raw) {
        List<Boolean> out = new ArrayList<>();
        for (String s : values(raw)) {
            switch (s.toLowerCase(Locale.ROOT)) {
                case "false" -> out.add(false);
                case "true" -> out.add(true);
                case "both" -> {
                    out.add(false);
                    out.add(true);
                }
                default -> throw new IllegalArgumentException("--causal " + s + " is not allowed; allowed: false, true, both");
            }
        }
        if (out.isEmpty()) throw new IllegalArgumentException("--causal: give false, true or both");
        return distinct(out);
    }

    /** {@code --causal} in a command that makes one kernel: false or true. */
    static boolean causalOne(List<String> raw, String why) {
        List<Boolean> c = causal(raw);
        if (c.size() != 1) throw new IllegalArgumentException("--causal " + String.join(",", values(raw)) + ": takes false or true here (" + why + ")");
        return c.get(0);
    }

    /** {@code --dtype}: fp16, bf16. */
    static List<DType> dtypes(String option, List<String> raw) {
        List<DType> out = new ArrayList<>();
        for (String s : values(raw)) out.add(dtype(option, s));
        if (out.isEmpty()) throw new IllegalArgumentException(option + ": give fp16 or bf16");
        return distinct(out);
    }

    static DType dtype(String option, String s) {
        return choice(option, s, DType.values(), DType::shortName);
    }

    /** One of {@code values} by its id, case-insensitively; refused naming the option and the ids. */
    static <E> E choice(String option, String value, E[] values, Function<E, String> id) {
        for (E e : values) {
            if (id.apply(e).equalsIgnoreCase(value.trim())) return e;
        }
        throw new IllegalArgumentException(option + " " + value + " is not allowed; allowed: "
                + java.util.Arrays.stream(values).map(id).collect(Collectors.joining(", ")));
    }

    /** {@code --arch}: what users type (sm_86, sm_90a, 8.6, sm_100), with the note printed on stderr. */
    static Arch.DeviceTarget arch(String value) {
        Arch.DeviceTarget t;
        try {
            t = Arch.resolve(value);
        } catch (IllegalArgumentException e) {
            String m = e.getMessage() == null ? "" : e.getMessage();
            throw new IllegalArgumentException(m.startsWith("arch: '") ? "--arch " + value + " " + m.replaceFirst("^arch: '[^']*' ", "")
                    : "--arch " + value + ": " + m, e);
        }
        if (t.portable()) System.err.println("note: --arch " + value + ": " + t.note());
        return t;
    }

    /** {@code --device N} checked against the devices present (CUDA must be usable). */
    static int device(Integer device) {
        Cuda.requireAvailable();
        int n = Cuda.deviceCount();
        int d = device == null ? 0 : device;
        if (d < 0 || d >= n) throw new IllegalArgumentException("--device " + d + " is out of range: " + n + " device(s)");
        return d;
    }

    /** A count option ({@code --batch}, {@code --heads}, {@code --runs}) that must be at least {@code min}. */
    static int atLeast(String option, int value, int min) {
        if (value < min) throw new IllegalArgumentException(option + " " + value + " must be at least " + min);
        return value;
    }

    /** A path the user typed, absolute against the directory the command was run from. */
    static Path path(Path p) {
        return p == null ? null : p.toAbsolutePath().normalize();
    }

    private static <T> List<T> distinct(List<T> in) {
        return new ArrayList<>(new LinkedHashSet<>(in));
    }

    static Integer integer(String s) {
        try {
            return Integer.parseInt(s.trim());
        } catch (NumberFormatException e) {
            return null;
        }
    }
}
