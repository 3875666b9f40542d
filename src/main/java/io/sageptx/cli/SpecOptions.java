package io.sageptx.cli;

import io.sageptx.kernels.AttentionFamilies;
import io.sageptx.spec.Arch;
import io.sageptx.spec.DType;
import io.sageptx.spec.KernelSpec;
import io.sageptx.spec.MmaKind;
import io.sageptx.spec.PvVariant;
import io.sageptx.spec.QuantGranularity;
import picocli.CommandLine.Option;

/** Options that choose a kernel spec; shared by the commands that generate or run kernels. */
public final class SpecOptions {
    @Option(names = "--head-dim", defaultValue = "128", description = "head dimension: 64 or 128 (default ${DEFAULT-VALUE})")
    int headDim;

    @Option(names = "--causal", description = "causal mask (top-left, Lq == Lk)")
    boolean causal;

    @Option(names = "--dtype", defaultValue = "fp16", description = "input dtype: fp16 or bf16 (default ${DEFAULT-VALUE})")
    String dtype;

    @Option(names = "--out-dtype", description = "output dtype (default: the input dtype)")
    String outDtype;

    @Option(names = "--pv", description = "PV variant: fp8-f16acc, fp8-f32acc or fp16 (default: the arch's)")
    String pv;

    @Option(names = "--quant", defaultValue = "thread", description = "INT8 scale groups: thread, warp or block (default ${DEFAULT-VALUE})")
    String quant;

    @Option(names = "--block-q", description = "query rows per CTA (default 128)")
    Integer blockQ;

    @Option(names = "--warps", description = "warps per CTA: 4 or 8 (default 8)")
    Integer warps;

    @Option(names = "--mma",
            description = "main-loop instructions: sync (mma.sync) or wgmma (sm_90 only, FP8 PV; default there for head dims 64 and 128)")
    String mma;

    @Option(names = "--stages",
            description = "mma.sync K/V pipeline depth: 1 (single-buffered), 2 or 3 (default: the planner's for the arch)")
    Integer stages;

    DType in() {
        return DType.parse(dtype);
    }

    DType out() {
        return outDtype == null ? in() : DType.parse(outDtype);
    }

    KernelSpec spec(Arch arch) {
        KernelSpec s = AttentionFamilies.preferred(arch, headDim, causal, in(), out(), pv == null ? null : PvVariant.parse(pv));
        if (mma != null) s = s.toBuilder().mma(MmaKind.parse(mma)).build();
        s = s.toBuilder().quant(QuantGranularity.parse(quant)).build();
        if (blockQ != null || warps != null) {
            s = s.toBuilder().tiles(blockQ == null ? s.blockQ() : blockQ, warps == null ? s.warps() : warps).build();
        }
        if (stages != null) s = s.toBuilder().stages(stages).build();
        return s;
    }
}
