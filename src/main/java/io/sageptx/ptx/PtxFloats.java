package io.sageptx.ptx;

/** PTX float literals: {@code 0f} followed by the 8 hex digits of the IEEE single, exact and deterministic. */
public final class PtxFloats {
    private PtxFloats() {
    }

    /** The PTX literal of {@code f}: {@code 0f} and its IEEE bits in hex (exact, unlike a decimal). */
    public static String hex(float f) {
        return String.format("0f%08X", Float.floatToRawIntBits(f));
    }
}
