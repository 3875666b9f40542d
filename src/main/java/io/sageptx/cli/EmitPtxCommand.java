package io.sageptx.cli;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;

import io.sageptx.kernels.AttentionFamilies;
import io.sageptx.kernels.AttentionModules;
import io.sageptx.kernels.preprocess.PreprocessKernels;
import io.sageptx.spec.Arch;
import io.sageptx.spec.ArchLimits;
import io.sageptx.spec.KernelSpec;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "emit-ptx", mixinStandardHelpOptions = true,
        description = "Print or write the PTX of a kernel spec (no GPU needed).")
final class EmitPtxCommand implements Callable<Integer> {

    @Option(names = "--arch", defaultValue = "sm_89",
            description = "the GPU architecture: sm_80, sm_86, sm_89, sm_90 (or sm_90a), sm_100, sm_120, ... or a compute "
                    + "capability such as 8.6; devices without a target of their own get the portable PTX they run, "
                    + "with a note (default ${DEFAULT-VALUE})")
    String arch;

    @Option(names = "--module", defaultValue = "attention",
            description = "which module: attention (the fused kernel) or preprocess (default ${DEFAULT-VALUE})")
    String module;

    @Option(names = {"-o", "--output"}, description = "write to this file instead of standard output")
    Path output;

    @Mixin
    SpecOptions options;

    @Override
    public Integer call() throws Exception {
        Arch.DeviceTarget target = Opts.arch(arch);
        KernelSpec spec = options.spec(target.arch(), "--arch " + arch);
        String ptx = switch (module) {
            case "attention" -> AttentionModules.module(spec).ptx().get();
            case "preprocess" -> PreprocessKernels.module(spec).ptx().get();
            default -> throw new IllegalArgumentException("--module " + module + " is not allowed; allowed: attention, preprocess");
        };
        if (output == null) {
            System.out.print(ptx);
        } else {
            Path file = Opts.path(output);
            Files.writeString(file, ptx, StandardCharsets.US_ASCII);
            System.err.println("wrote " + file + " (" + ptx.length() + " bytes, " + spec + ")");
        }
        if (module.equals("attention")) {
            // the launch configuration on the named device (its own limits; the plan is sized for the
            // smallest device that runs this arch's PTX), once the module is out
            System.err.println("launch: " + AttentionFamilies.of(spec).launchSummary(spec,
                    ArchLimits.forDevice(target.major(), target.minor())));
        }
        return 0;
    }
}
