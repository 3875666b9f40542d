package io.sageptx.cli;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Whether this Java runtime can draw (no AWT class is touched here), and the entry points that do it
 * through {@link Charts} (JFreeChart, headless AWT). The GPU machine's trimmed runtime has no
 * {@code java.desktop} module: there every plot is refused before any work, with what to do instead.
 */
final class PlotSupport {

    private PlotSupport() {
    }

    /** True when the {@code java.desktop} module (AWT, ImageIO) is in this runtime. */
    static boolean canDraw() {
        return ModuleLayer.boot().findModule("java.desktop").isPresent();
    }

    /**
     * Refuses {@code option} up front when this runtime cannot draw.
     *
     * @param option what asked for a picture ({@code --plot}, {@code plot})
     * @param csvHint how the user gets the data to draw it elsewhere
     */
    static void requireDrawing(String option, String csvHint) {
        if (canDraw()) return;
        throw new IllegalArgumentException((option.equals("plot") ? "" : option + ": ") + "this Java runtime has no java.desktop module (AWT), so it cannot "
                + "draw charts (a trimmed, jlink'ed runtime such as the GPU machine's); " + csvHint
                + " and draw it where a full JDK runs: java -jar sageptx-<version>-cli.jar plot FILE.csv -o FILE.png");
    }

    /** Creates the PNG's folder when missing and returns the absolute path. */
    static Path target(Path png) throws IOException {
        Path p = Opts.path(png);
        if (p.getParent() != null) Files.createDirectories(p.getParent());
        return p;
    }

    /** Runs a drawing job, turning a missing AWT piece into one clear line. */
    static void draw(String option, Job job) throws IOException {
        System.setProperty("java.awt.headless", "true");
        try {
            job.run();
        } catch (LinkageError e) {
            throw new IllegalStateException(option + ": drawing failed in this Java runtime (" + e + "); draw the CSV "
                    + "where a full JDK runs: sageptx plot FILE.csv -o FILE.png", e);
        }
    }

    /** A drawing job. */
    interface Job {
        void run() throws IOException;
    }
}
