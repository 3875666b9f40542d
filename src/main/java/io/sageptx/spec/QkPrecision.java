package io.sageptx.spec;

import java.util.Arrays;
import java.util.stream.Collectors;

/**
 * How the scores S = Q K^T are computed: the precision of the QK product, a field of {@link KernelSpec}.
 * INT8 is the method (SageAttention's smoothed K, per-group INT8 scales) and the default of every call;
 * FP16 is the opt-in precise path for inputs an INT8 product cannot carry (outlier channels, large
 * magnitudes: docs/notes/accuracy-modes.md), where Q and K stay in the input's 16-bit type.
 */
public enum QkPrecision {
    /** INT8 Q and smoothed K with per-group scales, int32 accumulation (the method; the default). */
    INT8("int8"),
    /**
     * Q and K in the input's 16-bit type (fp16 or bf16) as the caller gave them, FP32 accumulation; no K
     * smoothing (so the LSE has no q . kmean term). Needs 16-bit PV ({@link PvVariant#FP16}).
     */
    FP16("fp16"),
    /**
     * Per (batch, head), on the GPU: the preprocessing estimates the INT8 logit error of every head from its
     * quantization scales and the RMS of Q and K ({@code QkIndicator} in io.sageptx.numerics); heads above the
     * threshold run the 16-bit QK kernel ({@link #FP16}), the others the INT8 kernel of the spec. Both kernels
     * are launched, each skipping the other's heads: no host synchronization. A spec of this precision is the INT8
     * kernel (FP8 PV, wgmma) of the ordinary heads; its partner {@link KernelSpec#autoPartner()} is the 16-bit one.
     */
    AUTO("auto");

    private final String id;

    QkPrecision(String id) {
        this.id = id;
    }

    /** The id used in spec text, CLI options and kernel names ({@code int8}, {@code fp16}, {@code auto}). */
    public String id() {
        return id;
    }

    /** Whether this is the default precision (then the spec's names carry no suffix for it). */
    public boolean isDefault() {
        return this == INT8;
    }

    /** Parses an id ({@code int8}, {@code fp16}, {@code auto}) or a constant name, ignoring case. */
    public static QkPrecision parse(String text) {
        String t = text.trim();
        for (QkPrecision q : values()) {
            if (q.id.equalsIgnoreCase(t) || q.name().equalsIgnoreCase(t)) return q;
        }
        throw new IllegalArgumentException("qk: '" + text + "' is not one of "
                + Arrays.stream(values()).map(QkPrecision::id).collect(Collectors.joining(", ")));
    }
}
