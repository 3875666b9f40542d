package io.sageptx.cli;

import io.sageptx.kernels.AttentionFamilies;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

import io.sageptx.cuda.Cuda;
import io.sageptx.cuda.DeviceContext;
import io.sageptx.spec.Arch;
import io.sageptx.spec.DType;
import io.sageptx.spec.KernelSpec;
import io.sageptx.runtime.TuningDb;
import picocli.CommandLine.Option;

/**
 * Which devices and which kernels a command covers: {@code --device N} (default: all), head dims,
 * dtypes, causal modes. The kernel set of a device is the default spec of every combination plus
 * every tuned winner stored for that GPU.
 */
public final class KernelSetOptions {
    @Option(names = "--device", description = Opts.DEVICE_HELP + " (default: all devices)")
    Integer device;

    @Option(names = "--head-dim", defaultValue = "64,128", description = Opts.HEAD_DIM_HELP + " (default ${DEFAULT-VALUE})")
    List<String> headDims;

    @Option(names = "--dtype", defaultValue = "fp16,bf16", description = Opts.DTYPE_HELP + " (default ${DEFAULT-VALUE})")
    List<String> dtypes;

    @Option(names = "--causal", arity = "0..1", fallbackValue = "true", defaultValue = "both",
            description = Opts.CAUSAL_HELP + "; --causal alone means true (default ${DEFAULT-VALUE})")
    List<String> causal;

    @Option(names = "--tuned-only", description = "only the tuned winners, not the default specs")
    boolean tunedOnly;

    /** Checks every option (no GPU needed), so a typo is reported before any device work. */
    void validate() {
        dims();
        types();
        causals();
    }

    /** The selected device ordinals; throws when none or out of range. */
    List<Integer> devices() {
        Cuda.requireAvailable();
        if (device != null) return List.of(Opts.device(device));
        List<Integer> all = new ArrayList<>();
        for (int i = 0; i < Cuda.deviceCount(); i++) all.add(i);
        return all;
    }

    List<DType> types() {
        return Opts.dtypes("--dtype", dtypes);
    }

    List<Integer> dims() {
        return Opts.headDims(headDims);
    }

    List<Boolean> causals() {
        return Opts.causal(causal);
    }

    /** The kernel set of a device: defaults (unless --tuned-only) then tuned winners, within the selection. */
    List<KernelSpec> specs(DeviceContext ctx, String gpu) {
        Arch arch = Arch.forDevice(ctx.computeCapabilityMajor(), ctx.computeCapabilityMinor());
        Set<KernelSpec> out = new LinkedHashSet<>();
        List<DType> types = types();
        List<Integer> dims = dims();
        List<Boolean> cs = causals();
        if (!tunedOnly) {
            for (int d : dims) {
                for (DType t : types) {
                    for (boolean c : cs) out.add(AttentionFamilies.preferred(arch, d, c, t, t));
                }
            }
        }
        for (TuningDb.Entry e : TuningDb.shared().entries(gpu).values()) {
            KernelSpec s = e.spec();
            if (s.arch() == arch && dims.contains(s.headDim()) && types.contains(s.inType()) && cs.contains(s.causal())) {
                out.add(s);
            }
        }
        return new ArrayList<>(out);
    }
}
