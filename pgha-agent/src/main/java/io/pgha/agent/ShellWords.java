package io.pgha.agent;

import java.util.ArrayList;
import java.util.List;

/** A command line from the configuration, split into its words without a shell. */
public final class ShellWords {
    private ShellWords() {
    }

    /**
     * Splits a command as a shell splits plain words and quotes (Patroni uses shlex): callbacks,
     * replica and bootstrap methods, post_bootstrap.
     *
     * @throws io.pgha.ConfigurationException naming {@code setting} for an unterminated quote or no command
     */
    public static List<String> split(String setting, String command) {
        List<String> words = new ArrayList<>();
        StringBuilder w = new StringBuilder();
        char quote = 0;
        boolean inWord = false;
        for (int i = 0; i < command.length(); i++) {
            char ch = command.charAt(i);
            if (quote != 0) {
                if (ch == quote) {
                    quote = 0;
                } else if (ch == '\\' && quote == '"' && i + 1 < command.length()) {
                    w.append(command.charAt(++i));
                } else {
                    w.append(ch);
                }
            } else if (ch == '\'' || ch == '"') {
                quote = ch;
                inWord = true;
            } else if (ch == '\\' && i + 1 < command.length()) {
                w.append(command.charAt(++i));
                inWord = true;
            } else if (Character.isWhitespace(ch)) {
                if (inWord) {
                    words.add(w.toString());
                    w.setLength(0);
                    inWord = false;
                }
            } else {
                w.append(ch);
                inWord = true;
            }
        }
        if (quote != 0) {
            throw new io.pgha.ConfigurationException(setting, "an unterminated quote in '" + command + "'");
        }
        if (inWord) {
            words.add(w.toString());
        }
        if (words.isEmpty()) {
            throw new io.pgha.ConfigurationException(setting, "must name a command");
        }
        return words;
    }
}
