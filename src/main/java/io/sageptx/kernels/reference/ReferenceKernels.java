package io.sageptx.kernels.reference;

import io.sageptx.kernel.KernelAbi;
import io.sageptx.kernel.KernelDef;
import io.sageptx.kernel.Launch;
import io.sageptx.kernel.ModuleDef;
import io.sageptx.ptx.PtxVersions;

/** The FP32 reference attention module of a {@link ReferenceSpec}: ABI, module and grid. */
public final class ReferenceKernels {

    /** One call's grid: a warp per (query row, head, batch). */
    public record Grid(int lq, int heads, int batch) {
    }

    public static final KernelAbi ABI = KernelAbi.builder()
            .u64("p_q", "Q [B][H][Lq][D] 16-bit")
            .u64("p_k", "K [B][Hkv][Lk][D] 16-bit")
            .u64("p_v", "V [B][Hkv][Lk][D] 16-bit")
            .u64("p_o", "out: O [B][H][Lq][D] float32")
            .u64("p_lse", "out: natural-log LSE [B][H][Lq] float32, or 0")
            .u32("p_lq")
            .u32("p_lk")
            .u32("p_h")
            .u32("p_group", "H / Hkv: query head h reads kv head h / group")
            .f32("p_scale", "sm_scale")
            .build();

    private ReferenceKernels() {
    }

    public static ModuleDef module(ReferenceSpec spec) {
        return new ModuleDef("reference", "d=" + spec.headDim() + ",causal=" + spec.causal() + ",in="
                + spec.inType().shortName() + ",arch=" + spec.arch().target(), PtxVersions.base(spec.arch()),
                () -> ReferenceKernelEmitter.emit(spec));
    }

    public static KernelDef<Grid> kernel(ReferenceSpec spec) {
        int warps = ReferenceKernelEmitter.WARPS_PER_CTA;
        return new KernelDef<>(ReferenceKernelEmitter.kernelName(spec), ABI,
                g -> new Launch((int) (((long) g.lq() + warps - 1) / warps), g.heads(), g.batch(),
                        ReferenceKernelEmitter.THREADS, 0));
    }
}
