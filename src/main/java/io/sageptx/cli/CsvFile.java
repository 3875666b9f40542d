package io.sageptx.cli;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/** A small CSV reader and writer (RFC 4180 quoting): what bench, autotune and verify write and plot reads. */
final class CsvFile {

    /** The header and the rows of a file, each row by column name. */
    record Table(Path file, List<String> header, List<Map<String, String>> rows) {
        boolean has(String... columns) {
            for (String c : columns) if (!header.contains(c)) return false;
            return true;
        }
    }

    private CsvFile() {
    }

    static Table read(Path file) throws IOException {
        List<String> lines = Files.readAllLines(file, StandardCharsets.UTF_8);
        List<List<String>> records = new ArrayList<>();
        StringBuilder pending = null;
        for (String line : lines) {
            String l = pending == null ? line : pending + "\n" + line;
            if (quotes(l) % 2 == 1) { // a quoted field goes on over the line break
                pending = new StringBuilder(l);
                continue;
            }
            pending = null;
            if (!l.isBlank()) records.add(split(l));
        }
        if (records.isEmpty()) throw new IllegalArgumentException(file + ": empty CSV file (no header)");
        List<String> header = records.get(0);
        List<Map<String, String>> rows = new ArrayList<>();
        for (int r = 1; r < records.size(); r++) {
            List<String> rec = records.get(r);
            Map<String, String> row = new LinkedHashMap<>();
            for (int i = 0; i < header.size(); i++) row.put(header.get(i), i < rec.size() ? rec.get(i) : "");
            rows.add(row);
        }
        return new Table(file, header, rows);
    }

    private static int quotes(String s) {
        int n = 0;
        for (int i = 0; i < s.length(); i++) if (s.charAt(i) == '"') n++;
        return n;
    }

    static List<String> split(String line) {
        List<String> out = new ArrayList<>();
        StringBuilder cur = new StringBuilder();
        boolean quoted = false;
        for (int i = 0; i < line.length(); i++) {
            char c = line.charAt(i);
            if (quoted) {
                if (c == '"' && i + 1 < line.length() && line.charAt(i + 1) == '"') {
                    cur.append('"');
                    i++;
                } else if (c == '"') {
                    quoted = false;
                } else {
                    cur.append(c);
                }
            } else if (c == '"') {
                quoted = true;
            } else if (c == ',') {
                out.add(cur.toString());
                cur.setLength(0);
            } else {
                cur.append(c);
            }
        }
        out.add(cur.toString());
        return out;
    }

    /** One CSV line of the cells (quoted where needed). */
    static String line(Object... cells) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < cells.length; i++) {
            if (i > 0) sb.append(',');
            String s = cells[i] == null ? "" : cells[i] instanceof Double d ? number(d) : cells[i].toString();
            if (s.contains(",") || s.contains("\"") || s.contains("\n")) s = "\"" + s.replace("\"", "\"\"") + "\"";
            sb.append(s);
        }
        return sb.toString();
    }

    private static String number(double d) {
        return Double.isNaN(d) ? "" : String.format(Locale.ROOT, "%.6g", d);
    }

    /** A number cell; NaN when empty or not a number. */
    static double num(Map<String, String> row, String column) {
        String s = row.get(column);
        if (s == null || s.isBlank()) return Double.NaN;
        try {
            return Double.parseDouble(s.trim());
        } catch (NumberFormatException e) {
            return Double.NaN;
        }
    }
}
