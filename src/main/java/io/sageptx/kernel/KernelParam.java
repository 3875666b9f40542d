package io.sageptx.kernel;

import java.util.Objects;

/**
 * One parameter of a kernel's ABI.
 *
 * @param name    the PTX parameter name ({@code p_q8}); arguments are bound by it
 * @param type    its PTX type
 * @param comment what it holds, rendered after it in the {@code .param} block (may be empty)
 */
public record KernelParam(String name, ParamType type, String comment) {
    public KernelParam {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(type, "type");
        Objects.requireNonNull(comment, "comment");
        if (!name.matches("[A-Za-z_][A-Za-z0-9_]*")) {
            throw new IllegalArgumentException("kernel parameter name '" + name + "' is not a PTX identifier");
        }
    }
}
