package io.sageptx.cli;

import java.io.PrintStream;

import io.sageptx.tune.Autotuner;

/**
 * A progress bar on standard error: {@code [#######.......]  7/27  what}, redrawn in place on a
 * terminal, one line per step otherwise (logs, pipes).
 */
final class ProgressBar implements Autotuner.Progress {
    private static final int WIDTH = 30;
    private final PrintStream err;
    private final String title;
    private final boolean terminal;

    ProgressBar(PrintStream err, String title) {
        this(err, title, System.console() != null);
    }

    ProgressBar(PrintStream err, String title, boolean terminal) {
        this.err = err;
        this.title = title;
        this.terminal = terminal;
    }

    @Override
    public void step(int done, int total, String what) {
        int filled = total == 0 ? WIDTH : done * WIDTH / total;
        String text = String.format("%s [%s%s] %d/%d %s", title, "#".repeat(filled), ".".repeat(WIDTH - filled), done,
                total, what);
        if (terminal) {
            text = text.length() > 150 ? text.substring(0, 150) : text + " ".repeat(150 - text.length());
            err.print("\r" + text);
            if (done >= total) err.println();
        } else {
            err.println(text);
        }
        err.flush();
    }
}
