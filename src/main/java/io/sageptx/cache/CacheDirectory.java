package io.sageptx.cache;

import java.nio.file.Path;
import java.util.Map;

/**
 * Where SagePTX keeps its files: the compiled kernels under {@code kernels/<gpu>/} and the tuning
 * results under {@code tuning/}. The root is, first found wins:
 * <ol>
 *   <li>the folder set through the API ({@link #override(Path)}, the CLI's {@code --cache-dir});</li>
 *   <li>the environment variable {@value #ENV};</li>
 *   <li>{@code $XDG_CACHE_HOME/sageptx};</li>
 *   <li>{@code ~/.cache/sageptx}.</li>
 * </ol>
 */
public final class CacheDirectory {

    /** Environment variable naming the cache root. */
    public static final String ENV = "SAGEPTX_CACHE_DIR";

    private static volatile Path override;

    private CacheDirectory() {
    }

    /**
     * Sets the cache root for this process (null: back to the environment). Takes effect for caches
     * opened afterwards; call it before the first attention call.
     */
    public static void override(Path root) {
        override = root == null ? null : root.toAbsolutePath().normalize();
    }

    /** The cache root of this process. */
    public static Path root() {
        return resolve(override, System.getenv(), System.getProperty("user.home"));
    }

    /** The resolution rule, with its inputs explicit (for tests). */
    public static Path resolve(Path apiOverride, Map<String, String> env, String userHome) {
        if (apiOverride != null) {
            return apiOverride.toAbsolutePath().normalize();
        }
        String fromEnv = env.get(ENV);
        if (fromEnv != null && !fromEnv.isBlank()) {
            return Path.of(fromEnv).toAbsolutePath().normalize();
        }
        String xdg = env.get("XDG_CACHE_HOME");
        if (xdg != null && !xdg.isBlank() && Path.of(xdg).isAbsolute()) {
            return Path.of(xdg, "sageptx").normalize();
        }
        if (userHome == null || userHome.isBlank()) {
            throw new IllegalStateException("no cache folder: set " + ENV + " (user.home is not set)");
        }
        return Path.of(userHome, ".cache", "sageptx").normalize();
    }

    /** The folder of compiled kernels under a root. */
    public static Path kernels(Path root) {
        return root.resolve("kernels");
    }

    /** The folder of tuning results under a root (kept apart from the kernels). */
    public static Path tuning(Path root) {
        return root.resolve("tuning");
    }

    /**
     * The sub-folder name of one GPU model and exact compute capability, e.g.
     * {@code sm_90-NVIDIA_H100_80GB_HBM3}: letters, digits, '_' and '-' only.
     */
    public static String gpuFolderName(String gpuName, int ccMajor, int ccMinor) {
        String clean = gpuName == null ? "" : gpuName.trim().replaceAll("[^A-Za-z0-9-]+", "_");
        clean = clean.replaceAll("^_+|_+$", "");
        return "sm_" + ccMajor + ccMinor + (clean.isEmpty() ? "" : "-" + clean);
    }
}
