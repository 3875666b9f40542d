package io.sageptx.cli;

import java.nio.file.Path;

import io.sageptx.cache.CacheDirectory;
import picocli.CommandLine.Option;

/** {@code --cache-dir}: overrides SAGEPTX_CACHE_DIR and the default folder; relative to the current directory. */
public final class CacheOptions {
    @Option(names = "--cache-dir", description = Opts.CACHE_DIR_HELP)
    Path cacheDir;

    /** Applies the option and returns the cache root in effect. */
    Path apply() {
        if (cacheDir != null) CacheDirectory.override(Opts.path(cacheDir));
        return CacheDirectory.root();
    }
}
