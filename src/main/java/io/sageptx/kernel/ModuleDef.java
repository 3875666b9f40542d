package io.sageptx.kernel;

import java.util.Objects;
import java.util.function.Supplier;

/**
 * One PTX module: what is emitted, cached and loaded as one unit.
 *
 * @param family a name for the kind of module ({@code attention}, {@code preprocess}, {@code merge})
 * @param spec   the canonical text of what the module is generated for: with the generator's
 *               fingerprint ({@link GeneratorFingerprint}), everything its PTX depends on
 * @param isa    the PTX ISA version it declares (the driver must accept it)
 * @param ptx    renders the PTX (called on a cache miss only)
 */
public record ModuleDef(String family, String spec, String isa, Supplier<String> ptx) {
    public ModuleDef {
        Objects.requireNonNull(family, "family");
        Objects.requireNonNull(spec, "spec");
        Objects.requireNonNull(isa, "isa");
        Objects.requireNonNull(ptx, "ptx");
    }

    /** A label for logs and errors. */
    public String label() {
        return family + " " + spec;
    }
}
