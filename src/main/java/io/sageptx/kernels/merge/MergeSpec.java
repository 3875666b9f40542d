package io.sageptx.kernels.merge;

import java.util.Objects;

import io.sageptx.spec.Arch;
import io.sageptx.spec.DType;

/**
 * What one LSE merge kernel ({@link LseMergeEmitter}) is generated for.
 *
 * @param headDim a multiple of 8 in [8, {@link #MAX_HEAD_DIM}]
 * @param parts   partial results merged by one launch, in [1, {@link #MAX_PARTS}]
 * @param dtype   the 16-bit type of the partial outputs and of the merged output
 * @param arch    the PTX target ({@code .version} from {@link PtxVersions#base(Arch)})
 */
public record MergeSpec(int headDim, int parts, DType dtype, Arch arch) {

    public static final int MAX_HEAD_DIM = 256;
    /** Most parts one launch merges (its pointers are kernel parameters); more take several launches. */
    public static final int MAX_PARTS = 32;

    public MergeSpec {
        Objects.requireNonNull(dtype, "dtype");
        Objects.requireNonNull(arch, "arch");
        if (headDim < 8 || headDim > MAX_HEAD_DIM || headDim % 8 != 0) {
            throw new IllegalArgumentException("merge kernel: headDim = " + headDim + " must be a multiple of 8 in [8, "
                    + MAX_HEAD_DIM + "]");
        }
        if (parts < 1 || parts > MAX_PARTS) {
            throw new IllegalArgumentException("merge kernel: parts = " + parts + " must be in [1, " + MAX_PARTS + "]");
        }
    }

    @Override
    public String toString() {
        return "merge d" + headDim + " p" + parts + " " + dtype.shortName() + " " + arch.target();
    }
}
