package io.sageptx.cli;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;

import io.sageptx.ptx.AttentionKernelEmitter;
import io.sageptx.ptx.PreprocessEmitter;
import io.sageptx.spec.Arch;
import io.sageptx.spec.KernelSpec;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "emit-ptx", mixinStandardHelpOptions = true,
        description = "Print or write the PTX of a kernel spec (no GPU needed).")
final class EmitPtxCommand implements Callable<Integer> {

    @Option(names = "--arch", defaultValue = "sm_89", description = "target: sm_80, sm_89, sm_90 or sm_120 (default ${DEFAULT-VALUE})")
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
        KernelSpec spec = options.spec(Arch.parse(arch));
        String ptx = switch (module) {
            case "attention" -> AttentionKernelEmitter.emit(spec);
            case "preprocess" -> PreprocessEmitter.emit(spec);
            default -> throw new IllegalArgumentException("--module: '" + module + "' is not one of attention, preprocess");
        };
        if (output == null) {
            System.out.print(ptx);
        } else {
            Files.writeString(output, ptx, StandardCharsets.US_ASCII);
            System.err.println("wrote " + output + " (" + ptx.length() + " bytes, " + spec + ")");
        }
        return 0;
    }
}
