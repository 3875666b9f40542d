package io.sageptx.examples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;

import java.io.ByteArrayOutputStream;
import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;

import io.sageptx.api.Decode;
import jcuda.driver.CUdeviceptr;

/**
 * The decode-loop example under examples/decode compiles against the library as it is, into
 * target/examples-decode, where tools/gpu/decode.sh runs it on the GPU machine (no compiler there).
 */
class DecodeExampleCompilesTest {

    @Test
    void compiles() throws Exception {
        javax.tools.JavaCompiler javac = ToolProvider.getSystemJavaCompiler();
        assertNotNull(javac, "no system Java compiler (run the tests on a JDK)");
        List<String> sources;
        try (Stream<Path> s = Files.walk(Path.of("examples/decode"))) {
            sources = s.filter(p -> p.toString().endsWith(".java")).map(Path::toString).collect(Collectors.toList());
        }
        Path out = Path.of("target/examples-decode");
        Files.createDirectories(out);
        String cp = Stream.of(Decode.class, CUdeviceptr.class)
                .map(c -> new File(c.getProtectionDomain().getCodeSource().getLocation().getPath()).getPath())
                .collect(Collectors.joining(File.pathSeparator));
        List<String> args = new ArrayList<>(List.of("-d", out.toString(), "-cp", cp, "-Xlint:none"));
        args.addAll(sources);
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int rc = javac.run(null, null, err, args.toArray(new String[0]));
        assertEquals(0, rc, err.toString(StandardCharsets.UTF_8));
        assertEquals(1, sources.size(), "sources: " + sources);
    }

    private static final class ToolProvider {
        static javax.tools.JavaCompiler getSystemJavaCompiler() {
            return javax.tools.ToolProvider.getSystemJavaCompiler();
        }
    }
}
