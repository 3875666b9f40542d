package io.sageptx.kernels.merge;

import io.sageptx.kernels.preprocess.PreprocessEmitter;
import io.sageptx.ptx.PtxFloats;
import io.sageptx.ptx.PtxVersions;
import io.sageptx.ptx.TemplateRenderer;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import io.sageptx.spec.DType;

/**
 * Builds the model of the LSE merge kernel ({@code merge.stg}): it combines P partial attention outputs
 * over disjoint key ranges, (O_i, LSE_i), into the output of one call over all keys:
 * {@code m = max_i LSE_i, w_i = exp(LSE_i - m), LSE = m + ln(sum w_i), O = sum (w_i / sum w) O_i}.
 * Parts whose weight is 0 (LSE = -inf: no visible key) are not read, so whatever their O holds (NaN
 * included) does not matter; a row whose parts are all -inf gets O = 0 and LSE = -inf.
 *
 * <p>Kernel {@link #kernelName}: parameters {@code (u64 out_o, u64 out_lse, u64 o_0, u64 lse_0, ...,
 * u64 o_{P-1}, u64 lse_{P-1}, u32 L, u32 H, u64 strideB, u64 strideH, u64 strideL)}; O tensors 16-bit,
 * row (b, h, l) at byte offset {@code b*strideB + h*strideH + l*strideL} (strides in bytes, multiples of
 * 16, the D channels contiguous); LSE float32 natural log {@code [B][H][L]}. Launch with grid
 * {@code (ceil(L / WARPS), H, B)} and {@link #THREADS} threads: one warp per row, lane l holds channels
 * {@code 8l .. 8l+7} of each 256-channel slot. The output may be the same memory as one of the parts
 * (every lane reads its elements, and the warp all LSEs, before anything is written).
 */
public final class LseMergeEmitter {

    public static final int WARPS = 4;
    public static final int THREADS = 32 * WARPS;
    /** Channels one lane holds per slot (one 16-byte load). */
    public static final int CHANNELS_PER_LANE = 8;

    /** Part i: its parameter names and the register that holds its LSE, then its weight. */
    public record Part(int i, String oParam, String lseParam, String x) {
    }

    /** Eight channels at byte offset {@code off} of the row; partial: only lanes below the tail hold channels. */
    public record Slot(int off, boolean partial, List<String> acc, List<PreprocessEmitter.Unpack> units, List<Fma> fmas,
                       List<Pack> packs) {
    }

    public record Fma(String acc, String v) {
    }

    /** {@code dst = cvt(hi, lo)}: two outputs packed into one 32-bit register. */
    public record Pack(String dst, String hi, String lo) {
    }

    private LseMergeEmitter() {
    }

    /** The {@code .entry} name, e.g. {@code sageptx_merge_fp16_d128_p3}. */
    public static String kernelName(MergeSpec s) {
        return "sageptx_merge_" + s.dtype().shortName() + "_d" + s.headDim() + "_p" + s.parts();
    }

    /** The PTX module (one kernel) of {@code spec}. */
    public static String emit(MergeSpec spec) {
        return TemplateRenderer.render("merge/merge", "module", Map.of("m", model(spec)));
    }

    /** Channel slots per lane: ceil(D / 256). */
    public static int slots(int headDim) {
        return (headDim + 32 * CHANNELS_PER_LANE - 1) / (32 * CHANNELS_PER_LANE);
    }

    static Map<String, Object> model(MergeSpec spec) {
        int d = spec.headDim();
        int slots = slots(d);
        int chunks = d / CHANNELS_PER_LANE;
        int tailLanes = chunks - 32 * (slots - 1);
        boolean hasPartial = tailLanes != 32;
        int slotBytes = 32 * CHANNELS_PER_LANE * spec.dtype().bytes();

        Map<String, Object> m = new LinkedHashMap<>();
        m.put("title", spec.toString());
        m.put("name", kernelName(spec));
        m.put("params", MergeKernels.abi(spec).paramBlock());
        m.put("ptxVersion", PtxVersions.base(spec.arch()));
        m.put("target", spec.arch().target());
        m.put("threads", THREADS);
        m.put("warps", WARPS);
        m.put("bf16", spec.dtype() == DType.BF16);
        m.put("cvtType", spec.dtype().ptx());
        m.put("laneBytes", CHANNELS_PER_LANE * spec.dtype().bytes());
        m.put("hasPartial", hasPartial);
        m.put("partialLanes", tailLanes);
        m.put("partCount", spec.parts());
        m.put("accCount", slots * CHANNELS_PER_LANE);
        m.put("log2e", PtxFloats.hex((float) (1.0 / Math.log(2.0))));
        m.put("ln2", PtxFloats.hex((float) Math.log(2.0)));
        m.put("negInf", PtxFloats.hex(Float.NEGATIVE_INFINITY));

        List<Part> parts = new ArrayList<>();
        for (int i = 0; i < spec.parts(); i++) parts.add(new Part(i, "p_o" + i, "p_lse" + i, "%x" + i));
        m.put("parts", parts);

        List<String> values = new ArrayList<>();
        for (int e = 0; e < CHANNELS_PER_LANE; e++) values.add("%v" + e);
        List<PreprocessEmitter.Unpack> units = new ArrayList<>();
        for (int r = 0; r < 4; r++) units.add(new PreprocessEmitter.Unpack("%raw" + r, values.get(2 * r), values.get(2 * r + 1)));
        List<Slot> list = new ArrayList<>();
        for (int s = 0; s < slots; s++) {
            List<String> acc = new ArrayList<>();
            List<Fma> fmas = new ArrayList<>();
            List<Pack> packs = new ArrayList<>();
            for (int e = 0; e < CHANNELS_PER_LANE; e++) {
                acc.add("%acc" + (s * CHANNELS_PER_LANE + e));
                fmas.add(new Fma(acc.get(e), values.get(e)));
            }
            for (int r = 0; r < 4; r++) packs.add(new Pack("%raw" + r, acc.get(2 * r + 1), acc.get(2 * r)));
            list.add(new Slot(s * slotBytes, hasPartial && s == slots - 1, acc, units, fmas, packs));
        }
        m.put("slots", list);
        return m;
    }
}
