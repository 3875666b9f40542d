package io.sageptx.spec;

/** Element type of the attention inputs and outputs. */
public enum DType {
    /** IEEE half precision. */
    FP16("f16", "fp16"),
    /** bfloat16. */
    BF16("bf16", "bf16");

    private final String ptx;
    private final String shortName;

    DType(String ptx, String shortName) {
        this.ptx = ptx;
        this.shortName = shortName;
    }

    /** PTX type suffix ({@code f16} or {@code bf16}). */
    public String ptx() {
        return ptx;
    }

    /** The name users type and logs print ({@code fp16}, {@code bf16}). */
    public String shortName() {
        return shortName;
    }

    /** Bytes per element (2). */
    public int bytes() {
        return 2;
    }

    /** The dtype named {@code fp16} or {@code bf16} (case-insensitive). */
    public static DType parse(String text) {
        for (DType d : values()) {
            if (d.shortName.equalsIgnoreCase(text.trim()) || d.name().equalsIgnoreCase(text.trim())) return d;
        }
        throw new IllegalArgumentException("dtype: '" + text + "' is not one of fp16, bf16");
    }
}
