package io.sageptx.cli;

import java.nio.file.Path;

import io.sageptx.cache.CacheDirectory;
import picocli.CommandLine.Option;

/** {@code --cache-dir}: overrides SAGEPTX_CACHE_DIR and the default folder. */
public final class CacheOptions {
    @Option(names = "--cache-dir", description = "cache folder (default: $SAGEPTX_CACHE_DIR, else $XDG_CACHE_HOME/sageptx, else ~/.cache/sageptx)")
    Path cacheDir;

    /** Applies the option and returns the cache root in effect. */
    Path apply() {
        if (cacheDir != null) CacheDirectory.override(cacheDir);
        return CacheDirectory.root();
    }
}
