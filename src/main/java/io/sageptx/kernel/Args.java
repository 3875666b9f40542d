package io.sageptx.kernel;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Arguments of one launch by parameter name; {@link KernelAbi#bind} puts them in {@code .param} order and
 * checks names and types. Not thread-safe.
 */
public final class Args {

    private final Map<String, Object> values = new LinkedHashMap<>();

    /** A device address, or 0 for none. */
    public Args ptr(String name, long address) {
        return put(name, address);
    }

    /** A 64-bit integer. */
    public Args u64(String name, long value) {
        return put(name, value);
    }

    /** Binds a 32-bit integer parameter by name. */
    public Args u32(String name, int value) {
        return put(name, value);
    }

    /** Binds a 32-bit float parameter by name. */
    public Args f32(String name, float value) {
        return put(name, value);
    }

    /** The three element strides (batch, head, token) of a tensor: {@code <prefix>_sb}, {@code _sh}, {@code _sr}. */
    public Args strides(String prefix, long batch, long head, long token) {
        return u64(prefix + "_sb", batch).u64(prefix + "_sh", head).u64(prefix + "_sr", token);
    }

    private Args put(String name, Object v) {
        if (values.putIfAbsent(name, v) != null) throw new IllegalArgumentException("argument " + name + " bound twice");
        return this;
    }

    Map<String, Object> values() {
        return values;
    }

    /** The bound values by name, in binding order (read-only; for tools that run kernels elsewhere, e.g. emulators). */
    public Map<String, Object> bound() {
        return java.util.Collections.unmodifiableMap(values);
    }

    @Override
    public String toString() {
        return "Args" + values;
    }
}
