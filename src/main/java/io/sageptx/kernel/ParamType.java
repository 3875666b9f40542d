package io.sageptx.kernel;

/** The PTX type of a kernel parameter and the Java value that binds it. */
public enum ParamType {
    /** A 64-bit value: a device address or a 64-bit integer ({@code long}). */
    U64("u64", Long.class),
    /** A 32-bit unsigned integer ({@code int}). */
    U32("u32", Integer.class),
    /** A 32-bit float ({@code float}). */
    F32("f32", Float.class);

    private final String ptx;
    private final Class<?> javaType;

    ParamType(String ptx, Class<?> javaType) {
        this.ptx = ptx;
        this.javaType = javaType;
    }

    /** The PTX type suffix ({@code u64}). */
    public String ptx() {
        return ptx;
    }

    /** The boxed Java type a bound value must have. */
    public Class<?> javaType() {
        return javaType;
    }
}
