package io.sageptx.cache;

import java.io.IOException;
import java.io.StringReader;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.Properties;
import java.util.TreeMap;

/**
 * Properties files as the cache writes them: keys sorted, escaped as {@link Properties#store} does,
 * one header comment and no timestamp, so that equal content gives equal bytes.
 */
public final class PropertiesText {

    private PropertiesText() {
    }

    /** Properties as ISO-8859-1 bytes, keys sorted, without the date comment (so equal content gives equal bytes). */
    public static byte[] format(String header, Map<String, String> values) {
        StringBuilder sb = new StringBuilder("# ").append(header).append('\n');
        for (Map.Entry<String, String> e : new TreeMap<>(values).entrySet()) {
            Properties one = new Properties();
            one.setProperty(e.getKey(), e.getValue());
            StringWriter w = new StringWriter();
            try {
                one.store(w, null);
            } catch (IOException ex) {
                throw new UncheckedIOException(ex);
            }
            w.toString().lines().filter(l -> !l.startsWith("#")).forEach(l -> sb.append(l).append('\n'));
        }
        return sb.toString().getBytes(StandardCharsets.ISO_8859_1);
    }

    /** Parses properties text; throws IllegalArgumentException on malformed escapes. */
    public static Map<String, String> parse(byte[] bytes) {
        Properties p = new Properties();
        try {
            p.load(new StringReader(new String(bytes, StandardCharsets.ISO_8859_1)));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        Map<String, String> out = new TreeMap<>();
        p.stringPropertyNames().forEach(n -> out.put(n, p.getProperty(n)));
        return out;
    }
}
