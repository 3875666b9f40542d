package io.sageptx.cache;

import java.nio.file.Path;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Consumer;
import java.util.function.Supplier;

import io.sageptx.cuda.CubinLinkException;
import io.sageptx.cuda.CubinLinker;
import io.sageptx.cuda.DeviceContext;
import io.sageptx.cuda.PtxModule;

/**
 * The kernel cache of one CUDA device: a {@link ModuleCache} of {@link PtxModule}s in
 * {@code <root>/kernels/<gpu>/}, compiling with the driver's linker ({@link CubinLinker}) and loading
 * cubins with {@code cuModuleLoadData}; modules that need whole-program compilation
 * ({@link CubinLinker#needsWholeProgram}: the wgmma kernels) are stored as their PTX image, which
 * {@code cuModuleLoadData} JIT-compiles. Any module family goes through {@link #load}: give it a key
 * that names what was rendered and a supplier of the PTX.
 *
 * <p>Modules are loaded through {@code io.sageptx.kernel.KernelLoader}, which derives their keys.
 */
public final class DeviceKernelCache {

    private record Opened(Path root, ModuleCache<PtxModule> cache) {
    }

    private static final Map<Integer, Opened> CACHES = new ConcurrentHashMap<>();
    /** Logger {@code io.sageptx.cache.DeviceKernelCache}: corrupt entries, unwritable folders, linker fallbacks. */
    private static final System.Logger LOG = System.getLogger(DeviceKernelCache.class.getName());
    private static final Consumer<String> TO_LOG = m -> LOG.log(System.Logger.Level.WARNING, m);
    private static volatile Consumer<String> warnings = TO_LOG;
    private static final java.util.Set<Integer> LINK_WARNED = ConcurrentHashMap.newKeySet();

    private DeviceKernelCache() {
    }

    /**
     * Where warnings go instead of the default, the platform logger {@code io.sageptx.cache.DeviceKernelCache}
     * ({@link System.Logger}, level WARNING; bridged to SLF4J or Log4j where an application installs a bridge).
     *
     * @param sink the new destination; null restores the logger
     */
    public static void warnings(Consumer<String> sink) {
        warnings = sink == null ? TO_LOG : sink;
    }

    /** The cache of {@code ctx}'s device under the current {@link CacheDirectory#root()}. */
    public static ModuleCache<PtxModule> of(DeviceContext ctx) {
        Path root = CacheDirectory.root();
        Opened o = CACHES.compute(ctx.ordinal(), (k, old) -> old != null && old.root().equals(root) ? old
                : new Opened(root, open(ctx, root)));
        return o.cache();
    }

    /** The folder of {@code ctx}'s device under {@code root}. */
    public static Path folder(DeviceContext ctx, Path root) {
        return CacheDirectory.kernels(root).resolve(CacheDirectory.gpuFolderName(ctx.name(),
                ctx.computeCapabilityMajor(), ctx.computeCapabilityMinor()));
    }

    private static ModuleCache<PtxModule> open(DeviceContext ctx, Path root) {
        return new ModuleCache<>(folder(ctx, root), computeCapability(ctx), backend(ctx), m -> warnings.accept(m));
    }

    /** The CUDA backend of a device: the driver's linker to compile, {@code cuModuleLoadData} to load. */
    public static CubinBackend<PtxModule> backend(DeviceContext ctx) {
        return new CubinBackend<>() {
            @Override
            public Compiled compile(String ptx, String name) {
                byte[] binary;
                double ms;
                if (CubinLinker.needsWholeProgram(ptx)) {
                    // wgmma / setmaxnreg: the PTX image itself, JIT-compiled as a whole program on every load (the
                    // driver's own compute cache keeps the result by PTX text): the linker's relocatable code would
                    // serialize the wgmmas and ignore setmaxnreg
                    long t0 = System.nanoTime();
                    binary = (ptx + "\0").getBytes(java.nio.charset.StandardCharsets.UTF_8);
                    ms = (System.nanoTime() - t0) / 1e6;
                    return new Compiled(binary, statsFromFunctions(ctx, binary, ptx, name), ms);
                }
                try {
                    CubinLinker.Result r = CubinLinker.link(ctx, ptx, name);
                    binary = r.cubin();
                    ms = r.millis();
                } catch (CubinLinkException e) {
                    // valid PTX the linker refuses: cache the PTX image itself (cuModuleLoadData JITs it)
                    if (LINK_WARNED.add(ctx.ordinal())) {
                        warnings.accept("sageptx cache: the driver's linker failed (" + e.getMessage().lines().findFirst()
                                .orElse("") + "); caching PTX images instead of cubins on cuda:" + ctx.ordinal());
                    }
                    long t0 = System.nanoTime();
                    binary = (ptx + "\0").getBytes(java.nio.charset.StandardCharsets.UTF_8);
                    ms = (System.nanoTime() - t0) / 1e6;
                }
                return new Compiled(binary, statsFromFunctions(ctx, binary, ptx, name), ms);
            }

            @Override
            public PtxModule load(byte[] cubin, String name) {
                return PtxModule.loadCubin(ctx, cubin, name);
            }
        };
    }

    private static final java.util.regex.Pattern ENTRY = java.util.regex.Pattern.compile("\\.entry\\s+([A-Za-z_$][\\w$]*)");

    /**
     * The compiler's per-kernel report, in ptxas's verbose format, built from the loaded functions'
     * attributes (registers, local bytes per thread as the stack frame, static shared memory) of every
     * {@code .entry} of the PTX. Spills show as local bytes; their store/load byte counts are not
     * available that way (reported as 0).
     */
    static String statsFromFunctions(DeviceContext ctx, byte[] cubin, String ptx, String name) {
        StringBuilder sb = new StringBuilder();
        try (PtxModule m = PtxModule.loadCubin(ctx, cubin, name)) {
            java.util.regex.Matcher e = ENTRY.matcher(ptx);
            while (e.find()) {
                io.sageptx.cuda.CudaKernel k = m.function(e.group(1));
                sb.append("ptxas info    : Function properties for ").append(e.group(1)).append('\n')
                        .append("    ").append(k.localBytes()).append(" bytes stack frame, 0 bytes spill stores, 0 bytes spill loads\n")
                        .append("ptxas info    : Used ").append(k.numRegs()).append(" registers, ").append(k.staticSharedBytes())
                        .append(" bytes smem\n");
            }
        }
        return sb.toString();
    }

    /** e.g. {@code 9.0}. */
    public static String computeCapability(DeviceContext ctx) {
        return ctx.computeCapabilityMajor() + "." + ctx.computeCapabilityMinor();
    }

    /**
     * The key of a module rendered on {@code ctx}'s device.
     *
     * @param family    what kind of module (free text, e.g. {@code attention})
     * @param specText  the canonical text of what the module is generated for
     * @param generator the generator version and the hash of its class files
     * @param templates the hash of its templates
     */
    public static ModuleKey key(DeviceContext ctx, String family, String specText, String generator, String templates) {
        return new ModuleKey(family, generator, templates, specText, computeCapability(ctx), ctx.driverVersion());
    }

    /** Shorthand: {@code of(ctx).load(key, ptx)}. */
    public static LoadedModule<PtxModule> load(DeviceContext ctx, ModuleKey key, Supplier<String> ptx) {
        return of(ctx).load(key, ptx);
    }
}
