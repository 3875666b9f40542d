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

import javax.tools.JavaCompiler;
import javax.tools.ToolProvider;

import org.junit.jupiter.api.Test;

import io.sageptx.api.SageAttention;
import jcuda.driver.CUdeviceptr;

/** The embedding example under examples/ compiles against the library as it is (it runs on the GPU machine). */
class EmbeddingExampleCompilesTest {

    @Test
    void compiles() throws Exception {
        JavaCompiler javac = ToolProvider.getSystemJavaCompiler();
        assertNotNull(javac, "no system Java compiler (run the tests on a JDK)");
        List<String> sources;
        try (Stream<Path> s = Files.walk(Path.of("examples/embedding"))) {
            sources = s.filter(p -> p.toString().endsWith(".java")).map(Path::toString).collect(Collectors.toList());
        }
        Path out = Files.createTempDirectory("sageptx-example");
        String cp = Stream.of(SageAttention.class, CUdeviceptr.class)
                .map(c -> new File(c.getProtectionDomain().getCodeSource().getLocation().getPath()).getPath())
                .collect(Collectors.joining(File.pathSeparator));
        List<String> args = new ArrayList<>(List.of("-d", out.toString(), "-cp", cp, "-Xlint:none"));
        args.addAll(sources);
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int rc = javac.run(null, null, err, args.toArray(new String[0]));
        assertEquals(0, rc, err.toString(StandardCharsets.UTF_8));
        assertEquals(1, sources.size(), "sources: " + sources);
    }
}
