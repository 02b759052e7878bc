package io.pgha.agent.ctl;

import java.util.ArrayList;
import java.util.List;

/** The box table patronictl prints, with an optional title in the top border. */
final class Table {
    private final List<String> header;
    private final List<Boolean> rightAligned;
    private final List<List<String>> rows = new ArrayList<>();

    Table(List<String> header, List<Boolean> rightAligned) {
        this.header = header;
        this.rightAligned = rightAligned;
    }

    void add(List<String> row) {
        rows.add(row);
    }

    String render(String title) {
        int[] w = new int[header.size()];
        for (int i = 0; i < w.length; i++) {
            w[i] = header.get(i).length();
            for (List<String> r : rows) {
                w[i] = Math.max(w[i], r.get(i).length());
            }
        }
        StringBuilder border = new StringBuilder("+");
        for (int x : w) {
            border.append("-".repeat(x + 2)).append('+');
        }
        StringBuilder sb = new StringBuilder();
        String top = border.toString();
        if (title != null && !title.isEmpty()) {
            String t = "+ " + title + " ";
            top = t.length() < top.length() ? t + top.substring(t.length()) : t + "+";
        }
        sb.append(top).append('\n');
        sb.append(line(header, w)).append('\n').append(border).append('\n');
        for (List<String> r : rows) {
            sb.append(line(r, w)).append('\n');
        }
        sb.append(border).append('\n');
        return sb.toString();
    }

    private String line(List<String> cells, int[] w) {
        StringBuilder sb = new StringBuilder("|");
        for (int i = 0; i < w.length; i++) {
            String c = cells.get(i);
            String pad = " ".repeat(w[i] - c.length());
            sb.append(' ').append(rightAligned.get(i) ? pad + c : c + pad).append(" |");
        }
        return sb.toString();
    }
}
