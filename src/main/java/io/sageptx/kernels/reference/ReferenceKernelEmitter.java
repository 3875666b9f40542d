package io.sageptx.kernels.reference;

import io.sageptx.ptx.PtxFloats;
import io.sageptx.ptx.PtxVersions;
import io.sageptx.ptx.TemplateRenderer;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import io.sageptx.spec.DType;

/**
 * Builds the model of SagePTX's plain FP32 attention kernel ({@code reference.stg}), the reference of
 * the GPU tests and of {@code verify} on shapes too large for the CPU.
 *
 * <p>Kernel {@link #kernelName}: parameters {@code (u64 q, u64 k, u64 v, u64 o, u64 lse, u32 Lq, u32 Lk,
 * u32 H, u32 group, f32 sm_scale)}; Q, K, V 16-bit {@code [B][H or Hkv][L][D]}, O float32
 * {@code [B][H][Lq][D]}, LSE float32 natural log {@code [B][H][Lq]} (not written when 0), group =
 * H / Hkv. Launch with grid {@code (ceil(Lq / WARPS_PER_CTA), H, B)} and {@link #THREADS} threads.
 *
 * <p>One warp per query row; lane l holds channels {@code l + 32 s} for slots {@code s < ceil(D / 32)}
 * (the last slot predicated when D is not a multiple of 32). Keys are processed {@link #UNROLL} at a
 * time, then one at a time; register names: {@code %q/%o[s]}, {@code %kf/%vf[u * slots + s]} for key
 * u of a block, {@code %dot/%sh/%s/%pr[u]}.
 */
public final class ReferenceKernelEmitter {

    public static final int WARPS_PER_CTA = 4;
    public static final int THREADS = 32 * WARPS_PER_CTA;
    /** Keys per iteration of the main loop. */
    public static final int UNROLL = 4;

    /** A 16-bit load into {@code raw} (widened into {@code f}) from {@code [base + off]}; partial: lanes below the D tail only. */
    public record Ld(String raw, String f, String base, int off, boolean partial) {
    }

    /** {@code dot = q * k} (init) or {@code dot += q * k}. */
    public record DotOp(boolean init, String dot, String q, String k) {
    }

    /** One butterfly step: {@code sh = shfl.bfly(dot, lanes); dot += sh}. */
    public record Shfl(String sh, String dot, int lanes) {
    }

    /** Key u of a block: its reduced dot, its score (exp2 domain) and its probability register. */
    public record Score(String dot, String s, String p) {
    }

    /** {@code o += p * v}. */
    public record Pv(String o, String p, String v) {
    }

    public record Store(String o, int off, boolean partial) {
    }

    /** A block of {@code count} keys; the pointers then advance by {@code stepBytes}. */
    public record Block(int count, long stepBytes, List<Ld> kLoads, List<Ld> vLoads, List<DotOp> dots,
                        List<Shfl> shuffles, List<Score> scores, List<Pv> pv) {
    }

    private ReferenceKernelEmitter() {
    }

    /** The {@code .entry} name, e.g. {@code sageptx_ref_fp16_d128_causal}. */
    public static String kernelName(ReferenceSpec s) {
        return "sageptx_ref_" + s.inType().shortName() + "_d" + s.headDim() + (s.causal() ? "_causal" : "");
    }

    /** The PTX module (one kernel) of {@code spec}. */
    public static String emit(ReferenceSpec spec) {
        return TemplateRenderer.render("reference/reference", "module", Map.of("m", model(spec)));
    }

    /** Number of channel slots per lane: ceil(D / 32). */
    public static int slots(int headDim) {
        return (headDim + 31) / 32;
    }

    static Map<String, Object> model(ReferenceSpec spec) {
        int d = spec.headDim();
        int slots = slots(d);
        int tailLanes = d - 32 * (slots - 1);
        boolean hasPartial = tailLanes != 32;
        boolean bf16 = spec.inType() == DType.BF16;
        int inBytes = spec.inType().bytes();
        int rowBytes = d * inBytes;

        Map<String, Object> m = new LinkedHashMap<>();
        m.put("title", spec.toString());
        m.put("name", kernelName(spec));
        m.put("params", ReferenceKernels.ABI.paramBlock());
        m.put("ptxVersion", PtxVersions.base(spec.arch()));
        m.put("target", spec.arch().target());
        m.put("threads", THREADS);
        m.put("warps", WARPS_PER_CTA);
        m.put("unroll", UNROLL);
        m.put("causal", spec.causal());
        m.put("bf16", bf16);
        // bf16 loads zero-extend into 32 bits and shift; fp16 loads 16 bits and converts
        m.put("rawType", bf16 ? "b32" : "b16");
        m.put("ldType", bf16 ? "u16" : "b16");
        m.put("inBytes", inBytes);
        m.put("rowBytes", rowBytes);
        m.put("oRowBytes", d * 4);
        m.put("slotCount", slots);
        m.put("kvRegs", UNROLL * slots);
        m.put("hasPartial", hasPartial);
        m.put("partialLanes", tailLanes);
        m.put("log2e", PtxFloats.hex((float) (1.0 / Math.log(2.0))));
        m.put("ln2", PtxFloats.hex((float) Math.log(2.0)));
        m.put("negInf", PtxFloats.hex(Float.NEGATIVE_INFINITY));

        List<Ld> qLoads = new ArrayList<>();
        List<String> oRegs = new ArrayList<>();
        List<Store> stores = new ArrayList<>();
        for (int s = 0; s < slots; s++) {
            boolean partial = hasPartial && s == slots - 1;
            qLoads.add(new Ld("%qr" + s, "%q" + s, "%rd_q", 32 * s * inBytes, partial));
            oRegs.add("%o" + s);
            stores.add(new Store("%o" + s, 32 * s * 4, partial));
        }
        m.put("qLoads", qLoads);
        m.put("oRegs", oRegs);
        m.put("stores", stores);
        m.put("main", block(UNROLL, slots, hasPartial, inBytes, rowBytes));
        m.put("tail", block(1, slots, hasPartial, inBytes, rowBytes));
        return m;
    }

    private static Block block(int keys, int slots, boolean hasPartial, int inBytes, int rowBytes) {
        List<Ld> kLoads = new ArrayList<>();
        List<Ld> vLoads = new ArrayList<>();
        List<DotOp> dots = new ArrayList<>();
        List<Shfl> shuffles = new ArrayList<>();
        List<Score> scores = new ArrayList<>();
        List<Pv> pv = new ArrayList<>();
        for (int u = 0; u < keys; u++) {
            for (int s = 0; s < slots; s++) {
                int r = u * slots + s;
                boolean partial = hasPartial && s == slots - 1;
                int off = u * rowBytes + 32 * s * inBytes;
                kLoads.add(new Ld("%kr" + r, "%kf" + r, "%rd_k", off, partial));
                vLoads.add(new Ld("%vr" + r, "%vf" + r, "%rd_v", off, partial));
                dots.add(new DotOp(s == 0, "%dot" + u, "%q" + s, "%kf" + r));
            }
            scores.add(new Score("%dot" + u, "%s" + u, "%pr" + u));
        }
        for (int lanes = 16; lanes >= 1; lanes /= 2) {
            for (int u = 0; u < keys; u++) shuffles.add(new Shfl("%sh" + u, "%dot" + u, lanes));
        }
        for (int s = 0; s < slots; s++) {
            for (int u = 0; u < keys; u++) pv.add(new Pv("%o" + s, "%pr" + u, "%vf" + (u * slots + s)));
        }
        return new Block(keys, (long) keys * rowBytes, kLoads, vLoads, dots, shuffles, scores, pv);
    }
}
