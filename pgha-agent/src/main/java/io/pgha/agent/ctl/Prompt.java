package io.pgha.agent.ctl;

import io.pgha.PghaException;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.Reader;
import java.io.UncheckedIOException;
import java.util.Locale;

/**
 * The questions pghactl asks, as patronictl asks them (click's {@code confirm} and {@code prompt}):
 * the question on the output, the answer one line of the input. Nothing is read until a question is
 * asked, and an input that ends answers "no" (a confirmation) or aborts (any other question).
 */
final class Prompt {
    private final Reader source;
    private final PrintWriter out;
    private final boolean terminal;
    private BufferedReader in;

    /**
     * @param terminal whether the input is the terminal ({@link System#console()}), so a password can
     *                 be read without echo
     */
    Prompt(Reader source, PrintWriter out, boolean terminal) {
        this.source = source;
        this.out = out;
        this.terminal = terminal;
    }

    /** {@code question [y/N]: }; true for y or yes; always true when {@code force}. */
    boolean confirm(String question, boolean force) {
        if (force) {
            return true;
        }
        out.print(question + " [y/N]: ");
        out.flush();
        String a = readLine();
        return a != null && (lower(a.strip()).equals("y") || lower(a.strip()).equals("yes"));
    }

    /** {@code question [default]: }; an empty answer is {@code defaultValue}. */
    String ask(String question, String defaultValue) {
        out.print(question + " [" + defaultValue + "]: ");
        out.flush();
        String a = readLine();
        if (a == null) {
            throw new PghaException("Aborted!");
        }
        return a.isEmpty() ? defaultValue : a;
    }

    /** {@code question: }, asked again until the answer is not empty. */
    String ask(String question) {
        while (true) {
            out.print(question + ": ");
            out.flush();
            String a = readLine();
            if (a == null) {
                throw new PghaException("Aborted!");
            }
            if (!a.isEmpty()) {
                return a;
            }
        }
    }

    /** {@code label: } without echo on a terminal. */
    char[] password(String label) {
        if (terminal && System.console() != null) {
            char[] pw = System.console().readPassword("%s: ", label);
            if (pw == null) {
                throw new PghaException("Aborted!");
            }
            return pw;
        }
        out.print(label + ": ");
        out.flush();
        String a = readLine();
        if (a == null) {
            throw new PghaException("Aborted!");
        }
        return a.toCharArray();
    }

    /** The rest of the input (a YAML document piped in: {@code --apply -}). */
    String readAll() {
        try {
            if (in == null) {
                in = source instanceof BufferedReader b ? b : new BufferedReader(source);
            }
            StringBuilder sb = new StringBuilder();
            char[] buf = new char[8192];
            for (int n; (n = in.read(buf)) >= 0; ) {
                sb.append(buf, 0, n);
            }
            return sb.toString();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private String readLine() {
        try {
            if (in == null) {
                in = source instanceof BufferedReader b ? b : new BufferedReader(source);
            }
            String line = in.readLine();
            if (line != null && !terminal) {
                out.println(); // the answer does not echo when it comes from a pipe or a test
            }
            return line;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static String lower(String s) {
        return s.toLowerCase(Locale.ROOT);
    }
}
