package io.sageptx.cuda;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * What the driver's JIT makes of PTX files, for comparing it with the offline ptxas on the GPU machine: per file
 * the verbose JIT log of {@code cuModuleLoadDataEx} ({@code <name>.jitlog}) and the cubin of the driver's linker
 * ({@code <name>.cubin}, the path the kernel cache takes), for {@code cuobjdump -sass}.
 * Arguments: OUTDIR PTX...
 */
public final class JitProbeMain {

    private JitProbeMain() {
    }

    public static void main(String[] args) throws Exception {
        Path out = Path.of(args[0]);
        Files.createDirectories(out);
        DeviceContext ctx = DeviceContext.of(0);
        for (int i = 1; i < args.length; i++) {
            Path f = Path.of(args[i]);
            String name = f.getFileName().toString().replaceFirst("\\.ptx$", "");
            String ptx = Files.readString(f);
            try (PtxModule m = PtxModule.load(ctx, ptx, name)) {
                Files.writeString(out.resolve(name + ".jitlog"), m.infoLog());
                System.out.println(name + ": " + m.infoLog().replace('\n', ' '));
            }
            CubinLinker.Result r = CubinLinker.link(ctx, ptx, name);
            Files.write(out.resolve(name + ".cubin"), r.cubin());
        }
    }
}
