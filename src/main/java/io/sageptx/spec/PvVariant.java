package io.sageptx.spec;

/** How the P·V product is computed. */
public enum PvVariant {
    /**
     * FP8 e4m3 P and V (V around its channel means), mma m16n8k32 (or wgmma) with FP16 accumulators started
     * from zero every key block and flushed into FP32 once per block (SageAttention2++).
     */
    FP8_F16ACC("fp8-f16acc"),
    /**
     * FP8 e4m3 P and V (V around its channel means), mma m16n8k32 (or wgmma) with FP32 accumulators restarted
     * every key block and added into the FP32 output (two-level FP32).
     */
    FP8_F32ACC("fp8-f32acc"),
    /** P and V in the input's 16-bit type, mma m16n8k16 with FP32 accumulators (INT8 QK + FP16 PV). */
    FP16("fp16");

    private final String id;

    PvVariant(String id) {
        this.id = id;
    }

    /** The name users type ({@code fp8-f16acc}, {@code fp8-f32acc}, {@code fp16}). */
    public String id() {
        return id;
    }

    /** Whether P and V are FP8 (e4m3). */
    public boolean isFp8() {
        return this != FP16;
    }

    /**
     * The largest |V8| the per-channel V scale maps to. With FP16 accumulators the chained partial of a
     * key block must stay below the FP16 maximum: {@code blockK * 448 * vmax < 65504}, which 2.25 keeps for
     * blockK = 64 (64 512). With FP32 accumulators the whole e4m3 range (448) is used.
     */
    public float vMax(int blockK) {
        if (this == FP8_F16ACC) {
            float v = 2.25f * 64 / blockK;
            if (blockK * 448.0 * v >= 65504.0) throw new IllegalStateException("fp16 partial bound violated");
            return v;
        }
        return this == FP8_F32ACC ? 448.0f : 1.0f;
    }

    /** The variant named by its id (or its enum name). */
    public static PvVariant parse(String text) {
        for (PvVariant p : values()) {
            if (p.id.equalsIgnoreCase(text.trim()) || p.name().equalsIgnoreCase(text.trim())) return p;
        }
        throw new IllegalArgumentException("pv: '" + text + "' is not one of fp8-f16acc, fp8-f32acc, fp16");
    }
}
