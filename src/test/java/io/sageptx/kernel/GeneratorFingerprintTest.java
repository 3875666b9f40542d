package io.sageptx.kernel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.sageptx.cache.ModuleKey;
import io.sageptx.kernels.AttentionModules;
import io.sageptx.kernels.wgmma.SwizzledTile;
import io.sageptx.spec.Arch;
import io.sageptx.spec.DType;
import io.sageptx.spec.KernelSpec;
import io.sageptx.spec.PvVariant;
import io.sageptx.spec.QuantGranularity;

/**
 * The cache key changes whenever the emitted text could: changing one byte of any class or template the
 * generator is made of (here: the spec enums that put numbers into the PTX, an emitter, a plan, a
 * template) changes the fingerprint every key carries.
 */
class GeneratorFingerprintTest {

    @TempDir
    Path tmp;

    static Path classesRoot() throws URISyntaxException {
        Path p = Path.of(KernelSpec.class.getProtectionDomain().getCodeSource().getLocation().toURI());
        return p;
    }

    @Test
    void anyChangedClassOrTemplateOfTheGeneratorChangesTheFingerprint() throws Exception {
        Path copy = tmp.resolve("classes");
        copyTree(classesRoot(), copy);
        GeneratorFingerprint base = GeneratorFingerprint.of(copy);
        assertEquals(base, GeneratorFingerprint.of(copy), "deterministic");
        assertEquals(GeneratorFingerprint.current(), GeneratorFingerprint.of(classesRoot()), "current() reads the library");
        List<String> inputs = List.of(path(PvVariant.class), path(DType.class), path(Arch.class),
                path(QuantGranularity.class), path(KernelSpec.class), path(SwizzledTile.class),
                path(AttentionModules.class), "templates/attention/common.stg", "templates/wgmma/attention.stg",
                "templates/preprocess/preprocess.stg");
        for (String input : inputs) {
            Path f = copy.resolve(input);
            byte[] original = Files.readAllBytes(f);
            byte[] changed = original.clone();
            changed[changed.length / 2] ^= 1;
            Files.write(f, changed);
            assertNotEquals(base, GeneratorFingerprint.of(copy), "changing " + input + " must change the fingerprint");
            Files.write(f, original);
        }
        assertEquals(base, GeneratorFingerprint.of(copy));
    }

    @Test
    void theModuleKeyCarriesTheFingerprint() {
        GeneratorFingerprint f = GeneratorFingerprint.current();
        ModuleKey a = new ModuleKey("attention", ModuleKey.GENERATOR_VERSION + "+" + f.classes().substring(0, 16),
                f.templates(), "spec", "9.0", 13000);
        ModuleKey b = new ModuleKey("attention", ModuleKey.GENERATOR_VERSION + "+0000000000000000", f.templates(), "spec",
                "9.0", 13000);
        assertNotEquals(a.digest(), b.digest());
    }

    private static String path(Class<?> c) {
        return c.getName().replace('.', '/') + ".class";
    }

    private static void copyTree(Path from, Path to) throws IOException {
        try (Stream<Path> s = Files.walk(from)) {
            for (Path p : (Iterable<Path>) s::iterator) {
                Path t = to.resolve(from.relativize(p).toString());
                if (Files.isDirectory(p)) Files.createDirectories(t);
                else Files.copy(p, t);
            }
        }
    }
}
