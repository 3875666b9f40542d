package io.sageptx.cli;

import java.util.logging.Formatter;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import java.util.logging.SimpleFormatter;

/**
 * Shows the library's platform-logger messages ({@code System.getLogger("io.sageptx...")}, which the JDK
 * routes to java.util.logging) on standard error, one line each: {@code warning: sageptx cache: ...}.
 * Only the command line does this; the library itself never writes to standard error.
 */
final class CliLogging {

    /** Kept strongly: java.util.logging holds its loggers weakly, and their configuration with them. */
    private static final Logger ROOT = Logger.getLogger("io.sageptx");
    private static volatile boolean installed;

    private CliLogging() {
    }

    /** Installs the handler once (idempotent); messages at INFO and above are shown. */
    static synchronized void install() {
        if (installed) return;
        ROOT.setUseParentHandlers(false);
        ROOT.setLevel(Level.INFO);
        ROOT.addHandler(new StderrHandler());
        installed = true;
    }

    /** Writes to the current {@code System.err} at publish time, so a redirected stream sees the messages. */
    private static final class StderrHandler extends Handler {
        private final Formatter text = new SimpleFormatter();

        StderrHandler() {
            setLevel(Level.INFO);
        }

        @Override
        public void publish(LogRecord r) {
            if (r == null || !isLoggable(r)) return;
            String prefix = r.getLevel().intValue() >= Level.SEVERE.intValue() ? "error: "
                    : r.getLevel().intValue() >= Level.WARNING.intValue() ? "warning: " : "";
            StringBuilder sb = new StringBuilder(prefix).append(text.formatMessage(r));
            if (r.getThrown() != null) sb.append(" (").append(r.getThrown()).append(')');
            System.err.println(sb);
            System.err.flush();
        }

        @Override
        public void flush() {
            System.err.flush();
        }

        @Override
        public void close() {
        }
    }
}
