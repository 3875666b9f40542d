package io.sageptx.testing;

import io.sageptx.cuda.Cuda;

/** Test-side view of GPU availability; delegates to {@link Cuda#available()} (cached, never throws). */
public final class Gpu {

    private Gpu() {
    }

    /** True when a CUDA driver and at least one device are usable. */
    public static boolean available() {
        return Cuda.available();
    }

    /** Why no GPU can be used, or {@code null} when one can. */
    public static String unavailableReason() {
        return Cuda.unavailableReason();
    }
}
