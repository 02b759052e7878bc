package io.pgha.agent.logging;

import io.pgha.ConfigurationException;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Patroni's log formats are Python's: {@code %(asctime)s %(levelname)s: %(message)s} with a
 * {@code strftime} date format. This turns them into logback patterns, so an operator's
 * {@code log.format} and {@code log.dateformat} keep their meaning.
 */
final class PythonFormat {
    /** Python's default asctime: {@code 2024-05-01 12:00:00,123}. */
    static final String DEFAULT_DATE = "yyyy-MM-dd HH:mm:ss,SSS";

    private static final Pattern ATTRIBUTE = Pattern.compile("%\\((\\w+)\\)([-#0 +]*\\d*(?:\\.\\d+)?)([sdfrix])");
    private static final Map<String, String> CONVERTERS = Map.ofEntries(
            Map.entry("levelname", "pyLevel"),
            Map.entry("message", "msg"),
            Map.entry("name", "logger"),
            Map.entry("module", "logger{0}"),
            Map.entry("threadName", "thread"),
            Map.entry("filename", "file"),
            Map.entry("lineno", "line"),
            Map.entry("funcName", "method"),
            Map.entry("process", "pid"));

    private PythonFormat() {
    }

    /**
     * The logback pattern of {@code format}; a stack trace, when one is shown, follows the message
     * on its own lines, as Python prints it.
     *
     * @throws ConfigurationException naming {@code log.format} or {@code log.dateformat}
     */
    static String pattern(String format, String dateformat, String tracebackLevel) {
        StringBuilder out = new StringBuilder();
        Matcher m = ATTRIBUTE.matcher(format);
        int at = 0;
        while (m.find()) {
            out.append(literal(format.substring(at, m.start())));
            String name = m.group(1);
            String flags = m.group(2).replace(" ", "").replace("#", "").replace("+", "").replace("0", "");
            String converter = switch (name) {
                case "asctime" -> "d{\"" + dateformat + "\"}";
                case "msecs" -> "d{SSS}";
                default -> CONVERTERS.get(name);
            };
            if (converter == null) {
                throw new ConfigurationException("log.format", "the attribute %(" + name + ") is not supported by pgha (supported: asctime, "
                        + "msecs, " + String.join(", ", new java.util.TreeSet<>(CONVERTERS.keySet())) + ")");
            }
            out.append('%').append(flags).append(converter);
            at = m.end();
        }
        out.append(literal(format.substring(at)));
        return out.append("%pyTraceback{").append(tracebackLevel).append("}%n").toString();
    }

    /** A Python {@code strftime} format as a {@link java.text.SimpleDateFormat} pattern. */
    static String dateFormat(String strftime) {
        StringBuilder out = new StringBuilder();
        StringBuilder quoted = new StringBuilder();
        for (int i = 0; i < strftime.length(); i++) {
            char c = strftime.charAt(i);
            if (c != '%' || i + 1 == strftime.length()) {
                quoted.append(c);
                continue;
            }
            char d = strftime.charAt(++i);
            String p = switch (d) {
                case 'Y' -> "yyyy";
                case 'y' -> "yy";
                case 'm' -> "MM";
                case 'd' -> "dd";
                case 'H' -> "HH";
                case 'I' -> "hh";
                case 'M' -> "mm";
                case 'S' -> "ss";
                case 'f' -> "SSS";
                case 'p' -> "a";
                case 'b' -> "MMM";
                case 'B' -> "MMMM";
                case 'a' -> "EEE";
                case 'A' -> "EEEE";
                case 'j' -> "DDD";
                case 'z' -> "Z";
                case 'Z' -> "z";
                case '%' -> null;
                default -> throw new ConfigurationException("log.dateformat", "the directive %" + d + " is not supported by pgha");
            };
            if (p == null) {
                quoted.append('%');
                continue;
            }
            flushQuoted(out, quoted);
            out.append(p);
        }
        flushQuoted(out, quoted);
        if (out.indexOf("\"") >= 0) {
            throw new ConfigurationException("log.dateformat", "must not contain a double quote");
        }
        return out.toString();
    }

    private static void flushQuoted(StringBuilder out, StringBuilder quoted) {
        if (!quoted.isEmpty()) {
            out.append('\'').append(quoted.toString().replace("'", "''")).append('\'');
            quoted.setLength(0);
        }
    }

    /** Text between attributes, escaped for logback's pattern parser. */
    private static String literal(String text) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (c == '%' && i + 1 < text.length() && text.charAt(i + 1) == '%') {
                sb.append("\\%");
                i++;
            } else if (c == '%' || c == '(' || c == ')' || c == '\\') {
                sb.append('\\').append(c);
            } else {
                sb.append(c);
            }
        }
        return sb.toString();
    }
}
