package io.sageptx.runtime;

import java.util.ArrayList;
import java.util.List;

import io.sageptx.call.AttentionArgs;
import io.sageptx.call.CausalMode;
import io.sageptx.call.Strides;
import io.sageptx.kernel.Args;
import io.sageptx.kernel.KernelDef;
import io.sageptx.kernels.AttentionModules;
import io.sageptx.kernels.attention.ScratchLayout;
import io.sageptx.kernels.preprocess.PreprocessKernels;
import io.sageptx.numerics.QuantizedAttentionModel;
import io.sageptx.spec.KernelSpec;
import io.sageptx.spec.QkPrecision;

/**
 * The launches of one attention call, in stream order, with every argument bound: what {@link AttentionRunner} queues
 * on the GPU and what the emulation tests run without one (no device is touched here).
 *
 * <p>INT8 QK: K/V statistics, INT8 K, INT8 Q, FP8 V^T (FP8 PV only), the qk=auto decision (auto only), the fused
 * kernel, then for auto its 16-bit partner. 16-bit QK: the fused kernel alone, on the caller's tensors.
 */
public final class AttentionLaunches {

    /** What a launch does; {@link #def} gives its kernel. */
    public enum Role {
        /** K channel means, V channel scales and means. */
        KV_STATS,
        /** INT8 K minus its means, with scales. */
        QUANT_K,
        /** INT8 Q with scales (and q . kmean for the LSE). */
        QUANT_Q,
        /** FP8 V, transposed and permuted. */
        QUANT_V,
        /** qk=auto: each head's precision. */
        QK_DECIDE,
        /** The fused attention kernel of the spec. */
        ATTENTION,
        /** qk=auto: the 16-bit QK kernel of the heads flagged 1. */
        PARTNER
    }

    /**
     * One launch.
     *
     * @param role   what it does
     * @param spec   the spec whose module holds its kernel (the partner's for {@link Role#PARTNER})
     * @param layout the layout its grid is sized by
     * @param args   its arguments, bound by name
     */
    public record Launch(Role role, KernelSpec spec, ScratchLayout layout, Args args) {
    }

    /**
     * Device addresses of the call's scratch buffers (0 where the spec needs none).
     *
     * @param q8      INT8 Q
     * @param k8      INT8 K
     * @param v8      FP8 V^T
     * @param qScale  Q scales
     * @param kScale  K scales
     * @param kMean   K channel means
     * @param vScale  V channel scales
     * @param vMean   V channel means
     * @param qkm     the LSE's q . kmean rows
     * @param qkStats qk=auto flags and sums of squares
     */
    public record Scratch(long q8, long k8, long v8, long qScale, long kScale, long kMean, long vScale, long vMean, long qkm,
                          long qkStats) {

        /** The addresses of a workspace's buffers for a layout (V scale and mean only for FP8 PV, stats only for auto). */
        static Scratch of(Workspace w, ScratchLayout l) {
            KernelSpec spec = l.spec();
            boolean fp8 = spec.pv().isFp8();
            return new Scratch(w.q8().address(), w.k8().address(), fp8 ? w.v8().address() : 0L, w.qScale().address(),
                    w.kScale().address(), w.kMean().address(), fp8 ? w.vScale().address() : 0L, fp8 ? w.vMean(l) : 0L,
                    w.qkm().address(), spec.qk() == QkPrecision.AUTO ? w.qkStats().address() : 0L);
        }
    }

    private AttentionLaunches() {
    }

    /** The kernel of a launch of {@code spec} (for {@link Role#PARTNER}: of the partner spec). */
    public static KernelDef<ScratchLayout> def(Role role, KernelSpec spec) {
        return switch (role) {
            case KV_STATS -> PreprocessKernels.kvStats(spec);
            case QUANT_K -> PreprocessKernels.quantK(spec);
            case QUANT_Q -> PreprocessKernels.quantQ(spec);
            case QUANT_V -> PreprocessKernels.quantV(spec);
            case QK_DECIDE -> PreprocessKernels.qkDecide(spec);
            case ATTENTION, PARTNER -> AttentionModules.kernel(spec);
        };
    }

    /** The launches of a call of {@code l.spec()}, in stream order. */
    public static List<Launch> of(ScratchLayout l, AttentionArgs a, Scratch s) {
        KernelSpec spec = l.spec();
        List<Launch> out = new ArrayList<>();
        if (spec.fp16Qk()) {
            out.add(new Launch(Role.ATTENTION, spec, l, args16(l, a, 0L)));
            return out;
        }
        boolean auto = spec.qk() == QkPrecision.AUTO;
        // 1. K channel means (and V channel scales for FP8 PV)
        out.add(new Launch(Role.KV_STATS, spec, l, strides(strides(new Args().ptr("p_k", a.k()).ptr("p_v", a.v())
                .ptr("p_kmean", s.kMean()).ptr("p_vscale", s.vScale()).ptr("p_vmean", s.vMean()).u32("p_lk", a.lk())
                .ptr("p_cuk", a.cuSeqlensK()), "p_k", a.kStrides(), a.isVarlen()), "p_v", a.vStrides(), a.isVarlen())));
        // 2. INT8 smoothed K
        Args k8 = strides(new Args().ptr("p_src", a.k()).ptr("p_dst", s.k8()).ptr("p_scale", s.kScale()).ptr("p_mean", s.kMean())
                .ptr("p_rowdot", 0L).u32("p_l", a.lk()).u32("p_lpad", l.lkPadded()).u32("p_scalestride", l.kScalesPerHead())
                .u32("p_group", 1).f32("p_factor", 1.0f).f32("p_dotfactor", 0.0f).ptr("p_cu", a.cuSeqlensK()), "p",
                a.kStrides(), a.isVarlen());
        if (auto) k8.ptr("p_sumsq", s.qkStats() + l.kSumSqOffset());
        out.add(new Launch(Role.QUANT_K, spec, l, k8));
        // 3. INT8 Q with sm_scale * log2(e) folded into its scales (and q . kmean for the LSE)
        Args q8 = strides(new Args().ptr("p_src", a.q()).ptr("p_dst", s.q8()).ptr("p_scale", s.qScale()).ptr("p_mean", s.kMean())
                .ptr("p_rowdot", a.hasLse() ? s.qkm() : 0L).u32("p_l", a.lq()).u32("p_lpad", l.lqPadded())
                .u32("p_scalestride", l.qScalesPerHead()).u32("p_group", a.heads() / a.kvHeads())
                .f32("p_factor", a.smScale() * QuantizedAttentionModel.LOG2_E).f32("p_dotfactor", a.smScale())
                .ptr("p_cu", a.cuSeqlensQ()), "p", a.qStrides(), a.isVarlen());
        if (auto) q8.ptr("p_sumsq", s.qkStats() + l.qSumSqOffset());
        out.add(new Launch(Role.QUANT_Q, spec, l, q8));
        // 4. FP8 V, transposed and permuted
        long vIn = a.v();
        if (spec.pv().isFp8()) {
            out.add(new Launch(Role.QUANT_V, spec, l, strides(new Args().ptr("p_v", a.v()).ptr("p_vscale", s.vScale())
                    .ptr("p_vmean", s.vMean()).ptr("p_v8", s.v8()).u32("p_lk", a.lk()).u32("p_lkpad", l.lkPadded())
                    .ptr("p_cu", a.cuSeqlensK()), "p", a.vStrides(), a.isVarlen())));
            vIn = s.v8();
        }
        // qk=auto: every head's precision, from the scales and sums of squares just written
        if (auto) {
            out.add(new Launch(Role.QK_DECIDE, spec, l, new Args().ptr("p_qs", s.qScale()).ptr("p_ks", s.kScale())
                    .ptr("p_qss", s.qkStats() + l.qSumSqOffset()).ptr("p_kss", s.qkStats() + l.kSumSqOffset())
                    .ptr("p_flags", s.qkStats()).ptr("p_decisions", a.qkDecisions()).u32("p_lq", a.lq()).u32("p_lk", a.lk())
                    .ptr("p_cuq", a.cuSeqlensQ()).ptr("p_cuk", a.cuSeqlensK()).u32("p_group", a.heads() / a.kvHeads())
                    .u32("p_qsstride", l.qScalesPerHead()).u32("p_ksstride", l.kScalesPerHead())
                    .u32("p_qtiles", l.qScaleTiles()).u32("p_kblocks", l.kBlocks()).f32("p_smscale", a.smScale())));
        }
        // 5. the fused kernel (qk=auto: of the heads flagged 0, then its 16-bit partner of those flagged 1)
        Args main = new Args();
        if (auto) main.ptr("p_qkflags", s.qkStats());
        out.add(new Launch(Role.ATTENTION, spec, l, strides(strides(main.ptr("p_q8", s.q8()).ptr("p_k8", s.k8()).ptr("p_v", vIn)
                .ptr("p_qs", s.qScale()).ptr("p_ks", s.kScale()).ptr("p_vs", s.vScale()).ptr("p_vm", s.vMean())
                .ptr("p_o", a.o()).ptr("p_lse", a.lse()).ptr("p_qkm", s.qkm())
                .u32("p_lq", a.lq()).u32("p_lk", a.lk()).u32("p_lqpad", l.lqPadded()).u32("p_lkpad", l.lkPadded())
                .u32("p_heads", a.heads()).u32("p_group", a.heads() / a.kvHeads())
                .u32("p_qsstride", l.qScalesPerHead()).u32("p_ksstride", l.kScalesPerHead())
                .ptr("p_cuq", a.cuSeqlensQ()).ptr("p_cuk", a.cuSeqlensK())
                .u32("p_causal_br", a.causalMode() == CausalMode.BOTTOM_RIGHT ? 1 : 0),
                "p_o", a.oStrides(), a.isVarlen()), "p_v", a.vStrides(), a.isVarlen())));
        if (auto) {
            KernelSpec p = spec.autoPartner();
            ScratchLayout pl = new ScratchLayout(p, a.batch(), a.heads(), a.kvHeads(), a.lq(), a.lk());
            out.add(new Launch(Role.PARTNER, p, pl, args16(pl, a, s.qkStats())));
        }
        return out;
    }

    /**
     * 16-bit QK: the fused kernel reads Q, K and V from the caller's tensors (no preprocessing, no scratch); the INT8
     * scratch parameters are unused and bound to 0; {@code qkFlags}: the auto flags (0: every head).
     */
    private static Args args16(ScratchLayout l, AttentionArgs a, long qkFlags) {
        Args args = new Args().ptr("p_q8", a.q()).ptr("p_k8", a.k()).ptr("p_v", a.v()).ptr("p_qs", 0L).ptr("p_ks", 0L)
                .ptr("p_vs", 0L).ptr("p_vm", 0L).ptr("p_o", a.o()).ptr("p_lse", a.lse()).ptr("p_qkm", 0L)
                .u32("p_lq", a.lq()).u32("p_lk", a.lk()).u32("p_lqpad", l.lqPadded()).u32("p_lkpad", l.lkPadded())
                .u32("p_heads", a.heads()).u32("p_group", a.heads() / a.kvHeads()).u32("p_qsstride", 0).u32("p_ksstride", 0)
                .ptr("p_cuq", a.cuSeqlensQ()).ptr("p_cuk", a.cuSeqlensK())
                .u32("p_causal_br", a.causalMode() == CausalMode.BOTTOM_RIGHT ? 1 : 0);
        strides(args, "p_o", a.oStrides(), a.isVarlen());
        strides(args, "p_v", a.vStrides(), a.isVarlen());
        strides(args, "p_q", a.qStrides(), a.isVarlen());
        strides(args, "p_k", a.kStrides(), a.isVarlen());
        return args.f32("p_c", a.smScale() * QuantizedAttentionModel.LOG2_E).ptr("p_qkflags", qkFlags);
    }

    /** Binds a tensor's element strides (batch, head, token); varlen tensors have no batch stride. */
    private static Args strides(Args args, String prefix, Strides st, boolean varlen) {
        return args.strides(prefix, varlen ? 0 : st.batch(), st.head(), st.token());
    }
}
