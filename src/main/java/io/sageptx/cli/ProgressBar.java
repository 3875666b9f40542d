package io.sageptx.cli;

import java.io.PrintStream;

import io.sageptx.tune.Autotuner;

/** A one-line progress bar on standard error: {@code [#######.......]  7/27  what}. */
final class ProgressBar implements Autotuner.Progress {
    private static final int WIDTH = 30;
    private final PrintStream err;
    private final String title;

    ProgressBar(PrintStream err, String title) {
        this.err = err;
        this.title = title;
    }

    @Override
    public void step(int done, int total, String what) {
        int filled = total == 0 ? WIDTH : done * WIDTH / total;
        String text = String.format("\r%s [%s%s] %d/%d %s", title, "#".repeat(filled), ".".repeat(WIDTH - filled), done,
                total, what);
        err.print(text.length() > 150 ? text.substring(0, 150) : text + " ".repeat(150 - text.length()));
        if (done >= total) err.println();
        err.flush();
    }
}
