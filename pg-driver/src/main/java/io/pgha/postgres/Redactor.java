package io.pgha.postgres;

import java.util.Comparator;
import java.util.List;
import java.util.Objects;

/**
 * Removes the configured passwords from any text before it reaches a log line or an exception
 * message. A second line of defence: pgha never puts a password in a command line or a message on
 * purpose, but programs' output (and pgjdbc's messages) are not under our control.
 */
final class Redactor {
    static final String MASK = "******";
    private final List<String> secrets;

    Redactor(List<String> secrets) {
        // longest first, so a password that contains another one is masked whole
        this.secrets = secrets.stream().filter(Objects::nonNull).filter(s -> !s.isEmpty()).distinct()
                .sorted(Comparator.comparingInt(String::length).reversed()).toList();
    }

    String scrub(String text) {
        if (text == null) {
            return null;
        }
        String out = text;
        for (String s : secrets) {
            out = out.replace(s, MASK);
        }
        return out;
    }
}
