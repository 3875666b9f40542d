package io.sageptx.examples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import javax.tools.JavaCompiler;
import javax.tools.ToolProvider;

import org.junit.jupiter.api.Test;

import io.sageptx.api.SageAttention;
import jcuda.driver.CUdeviceptr;

/**
 * The README's complete Java examples (code blocks that start with their imports) compile as they are,
 * against the library and JCuda only: what a user copying them gets.
 */
class ReadmeSnippetsTest {

    @Test
    void completeSnippetsCompile() throws Exception {
        String readme = Files.readString(Path.of("README.md"));
        Matcher m = Pattern.compile("```java\\n(.*?)```", Pattern.DOTALL).matcher(readme);
        Path src = Files.createTempDirectory("sageptx-readme");
        List<String> files = new ArrayList<>();
        while (m.find()) {
            String code = m.group(1);
            if (!code.startsWith("import ")) continue; // a fragment, not a compilation unit
            Matcher cls = Pattern.compile("(?m)^public (?:final )?class (\\w+)").matcher(code);
            assertTrue(cls.find(), "a complete snippet declares a public class:\n" + code);
            Path f = src.resolve(cls.group(1) + ".java");
            Files.writeString(f, code);
            files.add(f.toString());
        }
        assertTrue(!files.isEmpty(), "the README has a complete Java example");
        String cp = Stream.of(SageAttention.class, CUdeviceptr.class)
                .map(c -> new File(c.getProtectionDomain().getCodeSource().getLocation().getPath()).getPath())
                .collect(Collectors.joining(File.pathSeparator));
        List<String> args = new ArrayList<>(List.of("-d", src.resolve("out").toString(), "-cp", cp, "-Xlint:none"));
        args.addAll(files);
        JavaCompiler javac = ToolProvider.getSystemJavaCompiler();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        assertEquals(0, javac.run(null, null, err, args.toArray(new String[0])), err.toString(StandardCharsets.UTF_8));
    }
}
