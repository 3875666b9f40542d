package io.sageptx.testing;

import java.util.function.Supplier;

/** A system property set for the length of a test's body, then restored (or cleared when it was not set). */
public final class SystemProperties {

    private SystemProperties() {
    }

    /** Runs {@code body} with {@code name} set to {@code value}. */
    public static void with(String name, String value, Runnable body) {
        with(name, value, () -> {
            body.run();
            return null;
        });
    }

    /** Evaluates {@code body} with {@code name} set to {@code value}. */
    public static <T> T with(String name, String value, Supplier<T> body) {
        String before = System.getProperty(name);
        try {
            System.setProperty(name, value);
            return body.get();
        } finally {
            if (before == null) System.clearProperty(name);
            else System.setProperty(name, before);
        }
    }
}
