package io.sageptx.kernels;

import io.sageptx.kernels.attention.AttentionAbi;
import io.sageptx.kernels.attention.ScratchLayout;
import io.sageptx.kernels.attention.AttentionFamily;
import io.sageptx.kernel.KernelDef;
import io.sageptx.kernel.Launch;
import io.sageptx.kernel.ModuleDef;
import io.sageptx.ptx.PtxVersions;
import io.sageptx.spec.KernelSpec;
import io.sageptx.spec.SpecCodec;

/**
 * The fused attention module of a spec and its kernel's definition, whatever the family: the PTX comes
 * from the spec's {@link AttentionFamily}, the ABI is {@link AttentionAbi}'s, and the grid is one CTA per
 * (query block, head, batch) of the call's {@link ScratchLayout}.
 */
public final class AttentionModules {

    private AttentionModules() {
    }

    /** The attention module of {@code spec}. */
    public static ModuleDef module(KernelSpec spec) {
        AttentionFamily family = AttentionFamilies.of(spec);
        return new ModuleDef("attention", SpecCodec.encode(spec), PtxVersions.isa(spec), () -> family.emit(spec));
    }

    /** The attention kernel of {@code spec}. */
    public static KernelDef<ScratchLayout> kernel(KernelSpec spec) {
        int smem = AttentionFamilies.of(spec).smemBytes(spec);
        return new KernelDef<>(spec.kernelName(), AttentionAbi.of(spec),
                l -> new Launch(l.qBlocks(), l.heads(), l.batch(), spec.threads(), smem));
    }
}
