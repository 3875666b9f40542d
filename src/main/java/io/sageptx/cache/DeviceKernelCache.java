package io.sageptx.cache;

import java.nio.file.Path;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Consumer;
import java.util.function.Supplier;

import io.sageptx.cuda.CubinLinker;
import io.sageptx.cuda.DeviceContext;
import io.sageptx.cuda.PtxModule;

/**
 * The kernel cache of one CUDA device: a {@link ModuleCache} of {@link PtxModule}s in
 * {@code <root>/kernels/<gpu>/}. A module is compiled once by the driver's JIT as a whole program
 * ({@code cuModuleLoadDataEx}: its log gives registers and spills, or the error) and stored as its PTX
 * image, which {@code cuModuleLoadData} compiles again on a load in a new process unless the driver's
 * compute cache holds it (keyed by the exact PTX text). Not the linker's cubin ({@link CubinLinker}): the
 * linker compiles PTX as relocatable code, where ptxas serializes every wgmma of a kernel that calls a
 * subroutine, ignores {@code setmaxnreg}, and spills the large mma.sync kernels (D >= 176 on sm_89: up to
 * 248 bytes at D = 256) that spill nowhere as whole programs ({@code docs/notes/wgmma-jit.md}).
 * Any module family goes through {@link #load}: give it a key that names what was rendered and a
 * supplier of the PTX.
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

    /** The CUDA backend of a device: the whole-program JIT to compile and check, {@code cuModuleLoadData} to load. */
    public static CubinBackend<PtxModule> backend(DeviceContext ctx) {
        return new CubinBackend<>() {
            @Override
            public Compiled compile(String ptx, String name) {
                Built<PtxModule> b = build(ptx, name);
                b.module().close();
                return b.compiled();
            }

            @Override
            public Built<PtxModule> build(String ptx, String name) {
                // whole-program JIT (cuModuleLoadDataEx, with its log: a PTX error surfaces as a PtxLoadException
                // naming the lines); the module it leaves is the one returned, the PTX image is what the cache
                // stores (loading it again later hits the driver's compute cache, or JITs it where that is off)
                long t0 = System.nanoTime();
                PtxModule m = PtxModule.load(ctx, ptx, name);
                try {
                    String info = m.infoLog();
                    byte[] image = ModuleCache.ptxImage(ptx.getBytes(java.nio.charset.StandardCharsets.UTF_8));
                    double ms = (System.nanoTime() - t0) / 1e6;
                    String stats = info.contains("registers") ? info : statsFromFunctions(m, ptx);
                    return new Built<>(new Compiled(image, stats, ms), m, 0);
                } catch (RuntimeException | Error e) {
                    m.close();
                    throw e;
                }
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
    static String statsFromFunctions(PtxModule m, String ptx) {
        StringBuilder sb = new StringBuilder();
        java.util.regex.Matcher e = ENTRY.matcher(ptx);
        while (e.find()) {
            io.sageptx.cuda.CudaKernel k = m.function(e.group(1));
            sb.append("ptxas info    : Function properties for ").append(e.group(1)).append('\n')
                    .append("    ").append(k.localBytes()).append(" bytes stack frame, 0 bytes spill stores, 0 bytes spill loads\n")
                    .append("ptxas info    : Used ").append(k.numRegs()).append(" registers, ").append(k.staticSharedBytes())
                    .append(" bytes smem\n");
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
