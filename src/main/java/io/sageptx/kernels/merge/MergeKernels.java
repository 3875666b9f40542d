package io.sageptx.kernels.merge;

import io.sageptx.kernel.KernelAbi;
import io.sageptx.kernel.KernelDef;
import io.sageptx.kernel.Launch;
import io.sageptx.kernel.ModuleDef;
import io.sageptx.ptx.PtxVersions;

/** The LSE merge module of a {@link MergeSpec}: its ABI (one O and LSE pointer per part), module and grid. */
public final class MergeKernels {

    /** The rows of one merge launch: one warp per (row, head, batch). */
    public record Grid(int rows, int heads, int batch) {
    }

    private MergeKernels() {
    }

    /** Output O and LSE, then {@code p_o<i>}, {@code p_lse<i>} per part, the shape and the byte strides. */
    public static KernelAbi abi(MergeSpec spec) {
        KernelAbi.Builder b = KernelAbi.builder()
                .u64("p_out_o", "out: O, 16-bit rows of D channels")
                .u64("p_out_lse", "out: natural-log LSE [B][H][L] float32");
        for (int i = 0; i < spec.parts(); i++) b.u64("p_o" + i).u64("p_lse" + i);
        return b.u32("p_l").u32("p_h").u64("p_sb", "bytes between batches").u64("p_sh", "bytes between heads")
                .u64("p_sl", "bytes between rows").build();
    }

    public static ModuleDef module(MergeSpec spec) {
        return new ModuleDef("merge", "d=" + spec.headDim() + ",parts=" + spec.parts() + ",dtype=" + spec.dtype().shortName()
                + ",arch=" + spec.arch().target(), PtxVersions.base(spec.arch()), () -> LseMergeEmitter.emit(spec));
    }

    public static KernelDef<Grid> kernel(MergeSpec spec) {
        return new KernelDef<>(LseMergeEmitter.kernelName(spec), abi(spec),
                g -> new Launch((g.rows() + LseMergeEmitter.WARPS - 1) / LseMergeEmitter.WARPS, g.heads(), g.batch(),
                        LseMergeEmitter.THREADS, 0));
    }
}
