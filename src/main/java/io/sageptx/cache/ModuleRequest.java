package io.sageptx.cache;

import java.util.Objects;
import java.util.function.Supplier;

/**
 * One module to get from a cache: a label for reports, its key, and how to render its PTX (called
 * only on a miss).
 */
public record ModuleRequest(String label, ModuleKey key, Supplier<String> ptx) {
    public ModuleRequest {
        Objects.requireNonNull(label, "label");
        Objects.requireNonNull(key, "key");
        Objects.requireNonNull(ptx, "ptx");
    }
}
