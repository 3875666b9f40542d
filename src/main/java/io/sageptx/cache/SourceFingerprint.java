package io.sageptx.cache;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A hash of the content of class-path resources: the templates a module is rendered from, and the
 * class files of the Java code that builds its model. Any edit of either changes the hash, so cached
 * binaries of the old generator are never loaded. Computed once per list and process.
 */
public final class SourceFingerprint {

    private static final Map<List<String>, String> CACHE = new ConcurrentHashMap<>();

    private SourceFingerprint() {
    }

    /** SHA-256 over the named resources (e.g. {@code templates/attention.stg}), in order. */
    public static String ofResources(List<String> resources) {
        return CACHE.computeIfAbsent(List.copyOf(resources), SourceFingerprint::hash);
    }

    /** The resource names of the class files of {@code classes}, for {@link #ofResources}. */
    public static List<String> classFiles(Class<?>... classes) {
        return java.util.Arrays.stream(classes).map(c -> c.getName().replace('.', '/') + ".class").toList();
    }

    private static String hash(List<String> resources) {
        MessageDigest md = Digests.newSha256();
        ClassLoader loader = SourceFingerprint.class.getClassLoader();
        for (String r : resources) {
            try (InputStream in = loader.getResourceAsStream(r)) {
                if (in == null) {
                    throw new IllegalStateException("resource " + r + " is not on the class path");
                }
                md.update(r.getBytes(StandardCharsets.UTF_8));
                md.update((byte) 0);
                md.update(in.readAllBytes());
                md.update((byte) 0);
            } catch (IOException e) {
                throw new UncheckedIOException("reading resource " + r, e);
            }
        }
        return java.util.HexFormat.of().formatHex(md.digest());
    }
}
