package io.sageptx.kernel;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

import io.sageptx.cuda.KernelArgs;

/**
 * A kernel's parameters in {@code .param} order: the one place that defines its ABI. The template renders
 * {@link #paramBlock()} inside the {@code .entry (...)}; a launch binds {@link Args} by name
 * ({@link #bind}), so the Java side never lists arguments by position.
 */
public final class KernelAbi {

    /** Column the comments of the {@code .param} block start at (after {@code .param .u64 }). */
    static final int NAME_WIDTH = 10;

    private final List<KernelParam> params;

    private KernelAbi(List<KernelParam> params) {
        Set<String> seen = new HashSet<>();
        for (KernelParam p : params) {
            if (!seen.add(p.name())) throw new IllegalArgumentException("kernel parameter '" + p.name() + "' twice");
        }
        this.params = List.copyOf(params);
    }

    /** An empty parameter list to add to, in order. */
    public static Builder builder() {
        return new Builder();
    }

    /** The parameters, in order. */
    public List<KernelParam> params() {
        return params;
    }

    /**
     * The lines between {@code .entry name(} and {@code )}: {@code     .param .u64 p_q8,      // comment},
     * the last without a comma, comments one column after the padded name.
     */
    public String paramBlock() {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < params.size(); i++) {
            KernelParam p = params.get(i);
            String name = p.name() + (i < params.size() - 1 ? "," : "");
            sb.append("    .param .").append(p.type().ptx()).append(' ');
            if (p.comment().isEmpty()) {
                sb.append(name);
            } else {
                sb.append(String.format("%-" + NAME_WIDTH + "s // %s", name, p.comment()));
            }
            if (i < params.size() - 1) sb.append('\n');
        }
        return sb.toString();
    }

    /**
     * The launch arguments in parameter order. Every parameter must be bound exactly once with a value of
     * its type, and no other name may be bound.
     *
     * @throws IllegalArgumentException naming the kernel and the parameter otherwise
     */
    public KernelArgs bind(String kernel, Args args) {
        Map<String, Object> values = new LinkedHashMap<>(args.values());
        KernelArgs out = new KernelArgs();
        List<String> missing = new ArrayList<>();
        for (KernelParam p : params) {
            Object v = values.remove(p.name());
            if (v == null) {
                missing.add(p.name());
                continue;
            }
            if (!p.type().javaType().isInstance(v)) {
                throw new IllegalArgumentException("kernel " + kernel + ": parameter " + p.name() + " is ." + p.type().ptx()
                        + ", bound to a " + v.getClass().getSimpleName());
            }
            switch (p.type()) {
                case U64 -> out.i64((Long) v);
                case U32 -> out.i32((Integer) v);
                case F32 -> out.f32((Float) v);
                default -> throw new IllegalStateException(p.type().name());
            }
        }
        if (!missing.isEmpty()) throw new IllegalArgumentException("kernel " + kernel + ": parameters not bound: " + missing);
        if (!values.isEmpty()) {
            throw new IllegalArgumentException("kernel " + kernel + ": no parameters named " + values.keySet());
        }
        return out;
    }

    /** Adds parameters in order. */
    public static final class Builder {
        private final List<KernelParam> params = new ArrayList<>();

        /** Adds a 64-bit parameter (a pointer or a stride), with a comment for the PTX. */
        public Builder u64(String name, String comment) {
            params.add(new KernelParam(name, ParamType.U64, comment));
            return this;
        }

        /** Adds a 64-bit parameter. */
        public Builder u64(String name) {
            return u64(name, "");
        }

        /** Adds a 32-bit integer parameter, with a comment for the PTX. */
        public Builder u32(String name, String comment) {
            params.add(new KernelParam(name, ParamType.U32, comment));
            return this;
        }

        /** Adds a 32-bit integer parameter. */
        public Builder u32(String name) {
            return u32(name, "");
        }

        /** Adds a 32-bit float parameter, with a comment for the PTX. */
        public Builder f32(String name, String comment) {
            params.add(new KernelParam(name, ParamType.F32, comment));
            return this;
        }

        /** The three element strides (batch, head, token) of a tensor: {@code <prefix>_sb}, {@code _sh}, {@code _sr}. */
        public Builder strides(String prefix, String comment) {
            return u64(prefix + "_sb", comment).u64(prefix + "_sh").u64(prefix + "_sr");
        }

        /** The parameter list. */
        public KernelAbi build() {
            return new KernelAbi(params);
        }
    }
}
