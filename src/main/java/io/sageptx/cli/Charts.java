package io.sageptx.cli;

import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.Graphics2D;
import java.awt.Paint;
import java.awt.RenderingHints;
import java.awt.geom.Rectangle2D;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

import javax.imageio.ImageIO;

import org.jfree.chart.ChartFactory;
import org.jfree.chart.JFreeChart;
import org.jfree.chart.axis.CategoryAxis;
import org.jfree.chart.axis.CategoryLabelPositions;
import org.jfree.chart.plot.CategoryPlot;
import org.jfree.chart.plot.PlotOrientation;
import org.jfree.chart.plot.ValueMarker;
import org.jfree.chart.renderer.category.BarRenderer;
import org.jfree.chart.renderer.category.LineAndShapeRenderer;
import org.jfree.chart.renderer.category.StandardBarPainter;
import org.jfree.chart.ui.RectangleAnchor;
import org.jfree.chart.ui.TextAnchor;
import org.jfree.data.category.DefaultCategoryDataset;

/**
 * The command line's pictures, drawn with JFreeChart into PNG files (headless AWT): the benchmark
 * (TFLOP/s against N per variant, PyTorch's backends dashed), the autotuner (candidates' times per key)
 * and verify (error per kernel against its bar). Only {@link PlotSupport} calls it, after checking that
 * the runtime can draw.
 */
final class Charts {

    /** The size of an image: given, or the default for its panels. */
    record Size(Integer width, Integer height) {
        static final Size DEFAULT = new Size(null, null);

        int w(int dflt) {
            return width == null ? dflt : width;
        }

        int h(int dflt) {
            return height == null ? dflt : height;
        }
    }

    private static final Color[] PALETTE = {new Color(0x1f77b4), new Color(0xff7f0e), new Color(0x2ca02c),
            new Color(0xd62728), new Color(0x9467bd), new Color(0x8c564b), new Color(0xe377c2), new Color(0x17becf),
            new Color(0xbcbd22), new Color(0x7f7f7f)};

    private Charts() {
    }

    // ---------------------------------------------------------------------------------------------- bench

    /**
     * TFLOP/s (whole call) against N, one panel per dtype, head dim and causal mode, one line per variant;
     * the PyTorch SDPA backends of {@code sdpa} (tools/sdpa_bench.py's CSV, fp16) as dashed lines.
     *
     * @return the image's width and height
     */
    static int[] bench(CsvFile.Table bench, CsvFile.Table sdpa, Path png, Size size) throws IOException {
        Map<String, List<Map<String, String>>> panels = new LinkedHashMap<>();
        for (Map<String, String> r : bench.rows()) panels.computeIfAbsent(panelKey(r), k -> new ArrayList<>()).add(r);
        if (sdpa != null) {
            for (Map<String, String> r : sdpa.rows()) {
                String key = panelKey(r);
                if (panels.containsKey(key)) panels.get(key).add(r);
            }
        }
        if (panels.isEmpty()) throw new IllegalArgumentException(bench.file() + ": no benchmark rows to draw");
        String gpu = bench.rows().get(0).getOrDefault("gpu", "");
        List<JFreeChart> charts = new ArrayList<>();
        for (Map.Entry<String, List<Map<String, String>>> p : panels.entrySet()) {
            DefaultCategoryDataset data = new DefaultCategoryDataset();
            TreeSet<Integer> ns = new TreeSet<>();
            for (Map<String, String> r : p.getValue()) ns.add((int) CsvFile.num(r, "seq_len"));
            Set<String> series = new LinkedHashSet<>();
            Set<String> dashed = new LinkedHashSet<>();
            for (Map<String, String> r : p.getValue()) {
                boolean torch = r.containsKey("backend");
                String name = torch ? "PyTorch " + r.get("backend") : r.get("variant");
                series.add(name);
                if (torch) dashed.add(name);
            }
            for (String s : series) {
                for (int n : ns) data.addValue(null, s, lengthLabel(n)); // every N in order, holes stay holes
            }
            for (Map<String, String> r : p.getValue()) {
                boolean torch = r.containsKey("backend");
                double tf = CsvFile.num(r, torch ? "tflops" : "total_tflops");
                if (!Double.isNaN(tf)) data.setValue(tf, torch ? "PyTorch " + r.get("backend") : r.get("variant"),
                        lengthLabel((int) CsvFile.num(r, "seq_len")));
            }
            JFreeChart c = ChartFactory.createLineChart(p.getKey(), "N (sequence length)", "TFLOP/s (whole call)", data,
                    PlotOrientation.VERTICAL, true, false, false);
            style(c);
            LineAndShapeRenderer lr = (LineAndShapeRenderer) c.getCategoryPlot().getRenderer();
            lr.setDefaultShapesVisible(true);
            int i = 0;
            for (String s : series) {
                int row = data.getRowIndex(s);
                lr.setSeriesPaint(row, PALETTE[i++ % PALETTE.length]);
                lr.setSeriesStroke(row, dashed.contains(s)
                        ? new BasicStroke(2f, BasicStroke.CAP_ROUND, BasicStroke.JOIN_ROUND, 1f, new float[]{7f, 5f}, 0f)
                        : new BasicStroke(2.2f));
            }
            charts.add(c);
        }
        int cols = Math.min(2, charts.size());
        int rows = (charts.size() + cols - 1) / cols;
        return grid(charts, cols, "SagePTX bench" + (gpu.isEmpty() ? "" : ": " + gpu), png, size.w(620 * cols),
                size.h(40 + 420 * rows));
    }

    private static String panelKey(Map<String, String> r) {
        String dtype = r.getOrDefault("dtype", "fp16");
        boolean causal = Boolean.parseBoolean(r.getOrDefault("causal", "false").trim());
        return String.format(Locale.ROOT, "D=%d, %s, %s", (int) CsvFile.num(r, "head_dim"), causal ? "causal" : "not causal",
                dtype.isEmpty() ? "fp16" : dtype);
    }

    static String lengthLabel(int n) {
        return n >= 1024 && n % 1024 == 0 ? (n / 1024) + "k" : Integer.toString(n);
    }

    // ------------------------------------------------------------------------------------------- autotune

    /** Median time of every timed candidate, one horizontal bar panel per key; the winner in green. */
    static int[] autotune(CsvFile.Table t, Path png, Size size) throws IOException {
        Map<String, List<Map<String, String>>> keys = new LinkedHashMap<>();
        for (Map<String, String> r : t.rows()) keys.computeIfAbsent(r.get("key"), k -> new ArrayList<>()).add(r);
        if (keys.isEmpty()) throw new IllegalArgumentException(t.file() + ": no autotune rows to draw");
        List<JFreeChart> charts = new ArrayList<>();
        List<Integer> heights = new ArrayList<>();
        for (Map.Entry<String, List<Map<String, String>>> k : keys.entrySet()) {
            DefaultCategoryDataset data = new DefaultCategoryDataset();
            List<Boolean> winner = new ArrayList<>();
            int skipped = 0;
            for (Map<String, String> r : k.getValue()) {
                double ms = CsvFile.num(r, "median_ms");
                if (Double.isNaN(ms)) {
                    skipped++;
                    continue;
                }
                data.addValue(ms, "median ms", "#" + r.get("index") + " " + r.get("spec"));
                winner.add("winner".equalsIgnoreCase(r.get("status")));
            }
            JFreeChart c = ChartFactory.createBarChart("key " + k.getKey() + (skipped > 0 ? " (not timed: " + skipped
                    + " pruned, inaccurate or failed)" : ""), "candidate", "median ms per call", data,
                    PlotOrientation.HORIZONTAL, false, false, false);
            style(c);
            c.getCategoryPlot().setRenderer(bars(winner, new Color(0x2ca02c), new Color(0x1f77b4)));
            c.getCategoryPlot().getDomainAxis().setMaximumCategoryLabelWidthRatio(0.5f);
            charts.add(c);
            heights.add(110 + 22 * Math.max(1, data.getColumnCount()));
        }
        int total = 40 + heights.stream().mapToInt(Integer::intValue).sum();
        return column(charts, heights, "SagePTX autotune", png, size.w(1100), size.h(total));
    }

    // --------------------------------------------------------------------------------------------- verify

    /** Relative L1 error of every kernel against its bar (a marker per bar), failures in red. */
    static int[] verify(CsvFile.Table t, Path png, Size size) throws IOException {
        if (t.rows().isEmpty()) throw new IllegalArgumentException(t.file() + ": no verify rows to draw");
        DefaultCategoryDataset data = new DefaultCategoryDataset();
        List<Boolean> fail = new ArrayList<>();
        Map<Double, Set<String>> bars = new java.util.TreeMap<>();
        double top = 0;
        for (Map<String, String> r : t.rows()) {
            String n = r.getOrDefault("seq_len", "");
            data.addValue(CsvFile.num(r, "rel_l1"), "rel L1", r.get("device") + " " + r.get("spec") + (n.isEmpty() ? "" : " N=" + n));
            fail.add(!"PASS".equalsIgnoreCase(r.get("result")));
            double b = CsvFile.num(r, "max_rel_l1");
            if (!Double.isNaN(b)) bars.computeIfAbsent(b, x -> new java.util.TreeSet<>()).add(r.getOrDefault("pv", ""));
            top = Math.max(top, Math.max(Double.isNaN(b) ? 0 : b, CsvFile.num(r, "rel_l1")));
        }
        JFreeChart c = ChartFactory.createBarChart("relative L1 error of O against the FP64 reference", "kernel",
                "relative L1 error", data, PlotOrientation.HORIZONTAL, false, false, false);
        style(c);
        CategoryPlot plot = c.getCategoryPlot();
        plot.setRenderer(bars(fail, new Color(0xd62728), new Color(0x2ca02c)));
        if (top > 0) plot.getRangeAxis().setRange(0, top * 1.12);
        plot.getDomainAxis().setMaximumCategoryLabelWidthRatio(0.5f);
        for (Map.Entry<Double, Set<String>> e : bars.entrySet()) {
            double b = e.getKey();
            ValueMarker m = new ValueMarker(b, new Color(0x555555), new BasicStroke(1.5f, BasicStroke.CAP_BUTT,
                    BasicStroke.JOIN_MITER, 1f, new float[]{5f, 4f}, 0f));
            m.setLabel(String.format(Locale.ROOT, "bar %.2f (%s)", b, String.join(", ", e.getValue())));
            m.setLabelFont(new Font(Font.SANS_SERIF, Font.PLAIN, 11));
            m.setLabelAnchor(RectangleAnchor.TOP_LEFT);
            m.setLabelTextAnchor(TextAnchor.TOP_RIGHT);
            plot.addRangeMarker(m);
        }
        int h = 150 + 22 * t.rows().size();
        return column(List.of(c), List.of(h), "SagePTX verify: green within the bar, red outside", png, size.w(1100),
                size.h(40 + h));
    }

    // --------------------------------------------------------------------------------------------- layout

    private static BarRenderer bars(List<Boolean> highlight, Color on, Color off) {
        BarRenderer r = new BarRenderer() {
            @Override
            public Paint getItemPaint(int row, int column) {
                return column < highlight.size() && highlight.get(column) ? on : off;
            }
        };
        r.setBarPainter(new StandardBarPainter());
        r.setShadowVisible(false);
        r.setMaximumBarWidth(0.8);
        return r;
    }

    private static void style(JFreeChart c) {
        c.setBackgroundPaint(Color.WHITE);
        c.getTitle().setFont(new Font(Font.SANS_SERIF, Font.BOLD, 14));
        CategoryPlot p = c.getCategoryPlot();
        p.setBackgroundPaint(Color.WHITE);
        p.setRangeGridlinePaint(new Color(0xcccccc));
        p.setDomainGridlinesVisible(false);
        p.setOutlineVisible(false);
        CategoryAxis x = p.getDomainAxis();
        x.setTickLabelFont(new Font(Font.SANS_SERIF, Font.PLAIN, 11));
        if (p.getOrientation() == PlotOrientation.VERTICAL && p.getDataset().getColumnCount() > 8) {
            x.setCategoryLabelPositions(CategoryLabelPositions.UP_45);
        }
    }

    /** Panels in a grid of {@code cols} columns under one title. */
    private static int[] grid(List<JFreeChart> charts, int cols, String title, Path png, int width, int height) throws IOException {
        int rows = (charts.size() + cols - 1) / cols;
        return paint(title, png, width, height, (g, top) -> {
            double cw = width / (double) cols;
            double ch = (height - top) / (double) rows;
            for (int i = 0; i < charts.size(); i++) {
                charts.get(i).draw(g, new Rectangle2D.Double((i % cols) * cw, top + (i / cols) * ch, cw, ch));
            }
        });
    }

    /** Panels stacked, each with its share of the height. */
    private static int[] column(List<JFreeChart> charts, List<Integer> heights, String title, Path png, int width, int height)
            throws IOException {
        double sum = heights.stream().mapToInt(Integer::intValue).sum();
        return paint(title, png, width, height, (g, top) -> {
            double y = top;
            for (int i = 0; i < charts.size(); i++) {
                double h = (height - top) * heights.get(i) / sum;
                charts.get(i).draw(g, new Rectangle2D.Double(0, y, width, h));
                y += h;
            }
        });
    }

    private interface Painter {
        void paint(Graphics2D g, int top);
    }

    private static int[] paint(String title, Path png, int width, int height, Painter painter) throws IOException {
        if (width < 200 || height < 150 || (long) width * height > 100_000_000L) {
            throw new IllegalArgumentException("image size " + width + "x" + height + " is not allowed; allowed: at least "
                    + "200x150, at most 100 megapixels");
        }
        BufferedImage img = new BufferedImage(width, height, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = img.createGraphics();
        try {
            g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
            g.setRenderingHint(RenderingHints.KEY_TEXT_ANTIALIASING, RenderingHints.VALUE_TEXT_ANTIALIAS_ON);
            g.setColor(Color.WHITE);
            g.fillRect(0, 0, width, height);
            int top = 36;
            g.setColor(Color.BLACK);
            g.setFont(new Font(Font.SANS_SERIF, Font.BOLD, 16));
            java.awt.FontMetrics fm = g.getFontMetrics();
            g.drawString(title, Math.max(4, (width - fm.stringWidth(title)) / 2), 8 + fm.getAscent());
            painter.paint(g, top);
        } finally {
            g.dispose();
        }
        try (OutputStream out = Files.newOutputStream(png)) {
            if (!ImageIO.write(img, "png", out)) throw new IOException(png + ": no PNG writer in this Java runtime");
        }
        return new int[]{width, height};
    }
}
