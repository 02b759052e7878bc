package io.pgha.agent.ctl;

import java.util.ArrayList;
import java.util.List;

/**
 * The box table patronictl prints (prettytable): an optional title written over the top border, a
 * cell may hold several lines, and when one does a rule separates every row.
 */
final class Table {
    private final List<String> header;
    private final List<Boolean> rightAligned;
    private final List<List<String>> rows = new ArrayList<>();

    Table(List<String> header, List<Boolean> rightAligned) {
        this.header = List.copyOf(header);
        this.rightAligned = List.copyOf(rightAligned);
    }

    void add(List<String> row) {
        rows.add(List.copyOf(row));
    }

    /** The table; {@code title} (without its padding) replaces the start of the top border, cut to fit as patronictl does. */
    String render(String title) {
        int[] w = new int[header.size()];
        boolean multiLine = false;
        for (int i = 0; i < w.length; i++) {
            w[i] = header.get(i).length();
            for (List<String> r : rows) {
                for (String line : r.get(i).split("\n", -1)) {
                    w[i] = Math.max(w[i], line.length());
                }
                multiLine |= r.get(i).indexOf('\n') >= 0;
            }
        }
        StringBuilder border = new StringBuilder("+");
        for (int x : w) {
            border.append("-".repeat(x + 2)).append('+');
        }
        String rule = border.toString();
        String top = rule;
        if (title != null && !title.isEmpty()) {
            String t = " " + title + " ";
            t = t.substring(0, Math.min(t.length(), rule.length() - 2));
            top = rule.charAt(0) + t + rule.substring(1 + t.length());
        }
        StringBuilder sb = new StringBuilder();
        sb.append(top).append('\n');
        lines(sb, header, w);
        sb.append(rule).append('\n');
        for (int r = 0; r < rows.size(); r++) {
            if (multiLine && r > 0) {
                sb.append(rule).append('\n');
            }
            lines(sb, rows.get(r), w);
        }
        sb.append(rule).append('\n');
        return sb.toString();
    }

    private void lines(StringBuilder sb, List<String> cells, int[] w) {
        List<String[]> split = new ArrayList<>();
        int height = 1;
        for (String c : cells) {
            String[] parts = c.split("\n", -1);
            split.add(parts);
            height = Math.max(height, parts.length);
        }
        for (int l = 0; l < height; l++) {
            sb.append('|');
            for (int i = 0; i < w.length; i++) {
                String[] parts = split.get(i);
                String c = l < parts.length ? parts[l] : "";
                String pad = " ".repeat(w[i] - c.length());
                sb.append(' ').append(rightAligned.get(i) ? pad + c : c + pad).append(" |");
            }
            sb.append('\n');
        }
    }
}
