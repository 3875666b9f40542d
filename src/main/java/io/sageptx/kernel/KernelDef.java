package io.sageptx.kernel;

import java.util.Objects;
import java.util.function.Function;

/**
 * One kernel of a module: its {@code .entry} name, its ABI (rendered into the template and bound by
 * name at launch) and its launch geometry as a function of the call ({@code C}, the family's own
 * description of one call). The PTX text comes from the {@link ModuleDef} that holds it.
 *
 * @param <C> what a call of this kernel is described by
 *
 * @param name     the kernel's entry name in its module
 * @param abi      its parameters, in order
 * @param geometry the launch geometry of a call
 */
public record KernelDef<C>(String name, KernelAbi abi, Function<C, Launch> geometry) {
    public KernelDef {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(abi, "abi");
        Objects.requireNonNull(geometry, "geometry");
    }
}
