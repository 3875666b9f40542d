package io.sageptx.kernels.reference;

import java.util.Objects;

import io.sageptx.spec.Arch;
import io.sageptx.spec.DType;

/**
 * What one FP32 reference attention kernel ({@link ReferenceKernelEmitter}) is generated for.
 *
 * @param headDim a multiple of 8 in [8, 256]
 * @param causal  top-left causal mask: key j is visible to query i iff j &lt;= i
 * @param inType  the 16-bit type of Q, K and V
 * @param arch    the PTX target ({@code .version} from {@link PtxVersions#base(Arch)})
 */
public record ReferenceSpec(int headDim, boolean causal, DType inType, Arch arch) {

    public static final int MAX_HEAD_DIM = 256;

    public ReferenceSpec {
        Objects.requireNonNull(inType, "inType");
        Objects.requireNonNull(arch, "arch");
        if (headDim < 8 || headDim > MAX_HEAD_DIM || headDim % 8 != 0) {
            throw new IllegalArgumentException("reference kernel: head dim " + headDim
                    + " must be a multiple of 8 in [8, " + MAX_HEAD_DIM + "]");
        }
    }

    @Override
    public String toString() {
        return "reference d" + headDim + (causal ? " causal" : "") + " " + inType.shortName() + " " + arch.target();
    }
}
