package io.sageptx.kernel;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.JarURLConnection;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.List;
import java.util.TreeMap;
import java.util.jar.JarEntry;
import java.util.jar.JarFile;
import java.util.stream.Stream;

import io.sageptx.cache.Digests;

/**
 * A hash of everything that can change the text of a generated module: every class file of the library
 * ({@code io/sageptx/**}) and every template ({@code templates/**}), read from wherever the library was
 * loaded (a class folder or a jar). Cache keys carry it, so no hand-kept list of "the classes and
 * templates an emitter uses" exists to forget one: any change of the generator, in any package, makes
 * every cached binary of the old one a miss. Computed once per process.
 *
 * @param classes   SHA-256 of the class files (names and contents, in name order)
 * @param templates SHA-256 of the templates
 */
public record GeneratorFingerprint(String classes, String templates) {

    /** Resource prefixes that make up the generator. */
    static final List<String> CLASS_PREFIX = List.of("io/sageptx/");
    static final String TEMPLATE_PREFIX = "templates/";

    private static volatile GeneratorFingerprint current;

    /** The fingerprint of the library this class was loaded from. */
    public static GeneratorFingerprint current() {
        GeneratorFingerprint f = current;
        if (f == null) {
            synchronized (GeneratorFingerprint.class) {
                if (current == null) current = load();
                f = current;
            }
        }
        return f;
    }

    private static GeneratorFingerprint load() {
        String self = GeneratorFingerprint.class.getName().replace('.', '/') + ".class";
        URL url = GeneratorFingerprint.class.getClassLoader().getResource(self);
        if (url == null) throw new IllegalStateException("cannot find " + self + " on the class path");
        try {
            if (url.getProtocol().equals("jar")) {
                JarURLConnection c = (JarURLConnection) url.openConnection();
                c.setUseCaches(false);
                try (JarFile jar = c.getJarFile()) {
                    return of(jar);
                }
            }
            Path file = Path.of(url.toURI());
            Path root = file;
            for (int i = 0; i < self.split("/").length; i++) root = root.getParent();
            return of(root);
        } catch (IOException e) {
            throw new UncheckedIOException("fingerprinting the generator at " + url, e);
        } catch (URISyntaxException e) {
            throw new IllegalStateException("fingerprinting the generator at " + url, e);
        }
    }

    /** The fingerprint of a class-path folder (its {@code io/sageptx} classes and {@code templates}). */
    public static GeneratorFingerprint of(Path root) throws IOException {
        TreeMap<String, byte[]> classes = new TreeMap<>();
        TreeMap<String, byte[]> templates = new TreeMap<>();
        try (Stream<Path> s = Files.walk(root)) {
            for (Path p : (Iterable<Path>) s.filter(Files::isRegularFile)::iterator) {
                String name = root.relativize(p).toString().replace('\\', '/');
                add(name, () -> Files.readAllBytes(p), classes, templates);
            }
        }
        return new GeneratorFingerprint(hash(classes), hash(templates));
    }

    /** The fingerprint of a jar. */
    public static GeneratorFingerprint of(JarFile jar) throws IOException {
        TreeMap<String, byte[]> classes = new TreeMap<>();
        TreeMap<String, byte[]> templates = new TreeMap<>();
        for (JarEntry e : (Iterable<JarEntry>) jar.stream()::iterator) {
            if (e.isDirectory()) continue;
            add(e.getName(), () -> {
                try (InputStream in = jar.getInputStream(e)) {
                    return in.readAllBytes();
                }
            }, classes, templates);
        }
        return new GeneratorFingerprint(hash(classes), hash(templates));
    }

    private interface Bytes {
        byte[] read() throws IOException;
    }

    private static void add(String name, Bytes bytes, TreeMap<String, byte[]> classes, TreeMap<String, byte[]> templates)
            throws IOException {
        if (name.startsWith(TEMPLATE_PREFIX)) {
            templates.put(name, bytes.read());
        } else if (name.endsWith(".class") && CLASS_PREFIX.stream().anyMatch(name::startsWith)) {
            classes.put(name, bytes.read());
        }
    }

    private static String hash(TreeMap<String, byte[]> files) {
        if (files.isEmpty()) throw new IllegalStateException("generator fingerprint: no files found");
        MessageDigest md = Digests.newSha256();
        files.forEach((name, content) -> {
            md.update(name.getBytes(StandardCharsets.UTF_8));
            md.update((byte) 0);
            md.update(content);
            md.update((byte) 0);
        });
        return HexFormat.of().formatHex(md.digest());
    }
}
