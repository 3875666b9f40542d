package io.sageptx.golden;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

import io.sageptx.kernels.AttentionModules;
import io.sageptx.kernels.merge.LseMergeEmitter;
import io.sageptx.kernels.merge.MergeSpec;
import io.sageptx.kernels.preprocess.PreprocessKernels;
import io.sageptx.kernels.random.RandomFillEmitter;
import io.sageptx.kernels.reference.ReferenceKernelEmitter;
import io.sageptx.kernels.reference.ReferenceSpec;
import io.sageptx.spec.Arch;
import io.sageptx.spec.DType;
import io.sageptx.spec.KernelSpec;
import io.sageptx.spec.MmaKind;
import io.sageptx.spec.PvVariant;
import io.sageptx.spec.QkPrecision;
import io.sageptx.spec.QuantGranularity;

/**
 * Every module the generator emits over the spec grid of the ptxas tests (every arch, head dim, causal
 * mode, dtype, PV variant, MMA kind, tile and granularity), by a label that depends only on the spec's
 * fields. {@code GoldenModulesTest} compares their SHA-256 with the hashes recorded before the
 * kernel-families restructuring.
 */
final class GoldenModules {

    private GoldenModules() {
    }

    /** label -> PTX supplier, in a fixed order. */
    static Map<String, Supplier<String>> all() {
        Map<String, Supplier<String>> out = new LinkedHashMap<>();
        for (KernelSpec s : attentionSpecs()) {
            out.putIfAbsent("attention " + label(s), () -> AttentionModules.module(s).ptx().get());
            out.putIfAbsent("preprocess " + label(s), () -> PreprocessKernels.module(s).ptx().get());
        }
        for (Arch arch : Arch.values()) {
            for (DType t : DType.values()) {
                for (int d = 32; d <= 256; d += 16) merge(out, new MergeSpec(d, d == 128 ? 3 : 2, t, arch));
                merge(out, new MergeSpec(8, 1, t, arch));
                merge(out, new MergeSpec(40, 5, t, arch));
                merge(out, new MergeSpec(256, MergeSpec.MAX_PARTS, t, arch));
                for (int d : new int[] {32, 40, 48, 64, 128, 256}) {
                    for (boolean causal : new boolean[] {false, true}) {
                        ReferenceSpec r = new ReferenceSpec(d, causal, t, arch);
                        out.putIfAbsent("reference d" + d + (causal ? " causal" : "") + " " + t.shortName() + " "
                                + arch.target(), () -> ReferenceKernelEmitter.emit(r));
                    }
                }
                out.putIfAbsent("random " + t.shortName() + " " + arch.target(), () -> RandomFillEmitter.emit(t, arch));
            }
        }
        return out;
    }

    private static void merge(Map<String, Supplier<String>> out, MergeSpec m) {
        out.putIfAbsent("merge d" + m.headDim() + " p" + m.parts() + " " + m.dtype().shortName() + " " + m.arch().target(),
                () -> LseMergeEmitter.emit(m));
    }

    /** A spec's label from its fields alone (stable across changes of KernelSpec's text forms). */
    static String label(KernelSpec s) {
        return "d" + s.headDim() + " q" + s.blockQ() + " k" + s.blockK() + " w" + s.warps()
                + (s.causal() ? " causal" : " full") + " pv=" + s.pv().id() + " quant=" + s.quant().id()
                + " in=" + s.inType().shortName() + " out=" + s.outType().shortName() + " " + s.arch().target()
                + " " + s.mma().id() + (s.stages() == 0 ? "" : " stages=" + s.stages())
                + (s.pipe().isDefault() ? "" : " pipe=" + s.pipe().id())
                + (s.qk() == QkPrecision.INT8 ? "" : " qk=" + s.qk().id());
    }

    static List<KernelSpec> attentionSpecs() {
        List<KernelSpec> out = new ArrayList<>();
        for (Arch arch : Arch.values()) {
            List<PvVariant> pvs = new ArrayList<>();
            for (PvVariant pv : PvVariant.values()) if (!pv.isFp8() || arch.hasFp8Mma()) pvs.add(pv);
            for (int d : KernelSpec.HEAD_DIMS) {
                boolean core = d == 64 || d == 128;
                for (boolean causal : new boolean[] {false, true}) {
                    for (DType t : DType.values()) {
                        KernelSpec base = KernelSpec.defaults(arch, d, causal, t, t);
                        out.add(base);
                        if (core) for (PvVariant pv : pvs) out.add(base.toBuilder().pv(pv).build());
                    }
                }
                if (core) {
                    out.add(KernelSpec.defaults(arch, d, d == 128, DType.FP16, DType.BF16));
                    out.add(KernelSpec.defaults(arch, d, d == 64, DType.BF16, DType.FP16));
                    for (QuantGranularity q : QuantGranularity.values()) {
                        out.add(KernelSpec.defaults(arch, d, false, DType.FP16, DType.FP16).toBuilder().quant(q).build());
                        out.add(KernelSpec.defaults(arch, d, true, DType.BF16, DType.BF16).toBuilder().quant(q).build());
                    }
                    for (PvVariant pv : pvs) {
                        out.add(KernelSpec.defaults(arch, d, false, DType.FP16, DType.FP16).toBuilder().pv(pv).tiles(64, 4).build());
                    }
                    out.add(KernelSpec.defaults(arch, d, true, DType.BF16, DType.BF16).toBuilder().tiles(64, 4).build());
                    out.add(KernelSpec.defaults(arch, d, true, DType.FP16, DType.BF16).toBuilder().tiles(64, 4).quant(QuantGranularity.PER_BLOCK).build());
                    // every mma.sync pipeline depth (issue 13): the single-buffered kernel and two stages
                    for (PvVariant pv : pvs) {
                        for (int st = 1; st <= 2; st++) {
                            for (boolean causal : new boolean[] {false, true}) {
                                out.add(KernelSpec.defaults(arch, d, causal, DType.FP16, DType.FP16).toBuilder().pv(pv).stages(st).build());
                            }
                        }
                    }
                }
                if (arch == Arch.SM90) {
                    for (PvVariant pv : new PvVariant[] {PvVariant.FP8_F16ACC, PvVariant.FP8_F32ACC}) {
                        for (boolean causal : new boolean[] {false, true}) {
                            for (DType t : DType.values()) {
                                KernelSpec w = KernelSpec.defaults(arch, d, causal, t, t).toBuilder().pv(pv).mma(MmaKind.WGMMA).build();
                                out.add(w);
                                out.add(w.toBuilder().tiles(64, 4).build());
                            }
                        }
                        for (QuantGranularity q : QuantGranularity.values()) {
                            out.add(KernelSpec.defaults(arch, d, false, DType.FP16, DType.BF16).toBuilder().pv(pv).mma(MmaKind.WGMMA).quant(q).build());
                        }
                    }
                    // the 16-bit QK wgmma kernel (qk=fp16, and auto's partner) and the gated INT8 kernel of qk=auto
                    if (core) {
                        for (boolean causal : new boolean[] {false, true}) {
                            KernelSpec auto = KernelSpec.defaults(arch, d, causal, DType.FP16, DType.FP16).toBuilder()
                                    .pv(PvVariant.FP8_F16ACC).mma(MmaKind.WGMMA).tiles(128, 8).blockK(64).qk(QkPrecision.AUTO).build();
                            out.add(auto);
                            out.add(auto.autoPartner());
                        }
                    }
                }
            }
        }
        // the warp-specialized wgmma kernels (issue 12): ws at D 64, 128, 192 (causal both), wspp at D 64, 128
        for (int d : new int[] {64, 128, 192}) {
            for (boolean causal : new boolean[] {false, true}) {
                KernelSpec w = KernelSpec.defaults(Arch.SM90, d, causal, DType.FP16, DType.FP16).toBuilder().pv(PvVariant.FP8_F16ACC)
                        .mma(MmaKind.WGMMA).pipe(io.sageptx.spec.Pipe.WS).build();
                out.add(w);
                if (d != 192 && !causal) out.add(w.toBuilder().pipe(io.sageptx.spec.Pipe.WSPP).build());
            }
        }
        out.add(KernelSpec.defaults(Arch.SM89, 64, false, DType.FP16, DType.BF16).toBuilder().pv(PvVariant.FP8_F32ACC).build());
        out.add(KernelSpec.defaults(Arch.SM89, 128, true, DType.BF16, DType.FP16).toBuilder().pv(PvVariant.FP16).build());
        out.add(KernelSpec.defaults(Arch.SM120, 128, false, DType.BF16, DType.FP16).toBuilder().pv(PvVariant.FP8_F32ACC).quant(QuantGranularity.PER_WARP).build());
        out.add(KernelSpec.defaults(Arch.SM90, 128, true, DType.FP16, DType.FP16).toBuilder().pv(PvVariant.FP8_F16ACC).quant(QuantGranularity.PER_BLOCK).build());
        out.add(KernelSpec.defaults(Arch.SM89, 128, false, DType.BF16, DType.BF16).toBuilder().pv(PvVariant.FP8_F32ACC).quant(QuantGranularity.PER_WARP).tiles(64, 4).build());
        return out;
    }

    static String sha256(String text) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(text.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
