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
    @Option(names = "--device", description = "CUDA device ordinal (default: all devices)")
    Integer device;

    @Option(names = "--head-dim", split = ",", defaultValue = "64,128", description = "head dimensions (default ${DEFAULT-VALUE})")
    List<Integer> headDims;

    @Option(names = "--dtype", split = ",", defaultValue = "fp16,bf16", description = "dtypes (default ${DEFAULT-VALUE})")
    List<String> dtypes;

    @Option(names = "--causal", arity = "1", split = ",", defaultValue = "false,true", description = "causal modes (default ${DEFAULT-VALUE})")
    List<Boolean> causal;

    @Option(names = "--tuned-only", description = "only the tuned winners, not the default specs")
    boolean tunedOnly;

    /** The selected device ordinals; throws when none or out of range. */
    List<Integer> devices() {
        Cuda.requireAvailable();
        int n = Cuda.deviceCount();
        if (device != null) {
            if (device < 0 || device >= n) {
                throw new IllegalArgumentException("--device " + device + " is out of range: " + n + " device(s)");
            }
            return List.of(device);
        }
        List<Integer> all = new ArrayList<>();
        for (int i = 0; i < n; i++) all.add(i);
        return all;
    }

    List<DType> types() {
        return dtypes.stream().map(DType::parse).toList();
    }

    List<Integer> dims() {
        for (int d : headDims) {
            if (!KernelSpec.HEAD_DIMS.contains(d)) {
                throw new IllegalArgumentException("--head-dim " + d + " is not supported; supported: " + KernelSpec.HEAD_DIMS);
            }
        }
        return headDims;
    }

    /** The kernel set of a device: defaults (unless --tuned-only) then tuned winners, within the selection. */
    List<KernelSpec> specs(DeviceContext ctx, String gpu) {
        Arch arch = Arch.forDevice(ctx.computeCapabilityMajor(), ctx.computeCapabilityMinor());
        Set<KernelSpec> out = new LinkedHashSet<>();
        List<DType> types = types();
        List<Integer> dims = dims();
        if (!tunedOnly) {
            for (int d : dims) {
                for (DType t : types) {
                    for (boolean c : causal) out.add(AttentionFamilies.preferred(arch, d, c, t, t));
                }
            }
        }
        for (TuningDb.Entry e : TuningDb.shared().entries(gpu).values()) {
            KernelSpec s = e.spec();
            if (s.arch() == arch && dims.contains(s.headDim()) && types.contains(s.inType()) && causal.contains(s.causal())) {
                out.add(s);
            }
        }
        return new ArrayList<>(out);
    }
}
