package io.pgha;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.Properties;

/**
 * The version of pgha this library is, as the build wrote it (the Maven project version, e.g.
 * {@code 0.1.0} or {@code 0.1.0-SNAPSHOT}). It is the one source of every version pgha shows: the
 * member entry's and {@code GET /patroni}'s {@code version}, {@code /metrics}' {@code patroni_version},
 * {@code pgha --version}, {@code pghactl --version} and {@code pghactl version}.
 */
public final class PghaVersion {
    private static final String RESOURCE = "pgha-version.properties";
    private static final String VERSION = load();

    private PghaVersion() {
    }

    /** This library's version, e.g. {@code 0.1.0}. */
    public static String current() {
        return VERSION;
    }

    private static String load() {
        Properties p = new Properties();
        try (InputStream in = PghaVersion.class.getResourceAsStream(RESOURCE)) {
            if (in != null) {
                p.load(in);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + RESOURCE, e);
        }
        String v = p.getProperty("version", "").trim();
        if (!v.isEmpty() && !v.startsWith("${")) {
            return v;
        }
        // classes not built by Maven (an IDE's own compiler, say): the jar manifest, else nothing better
        String manifest = PghaVersion.class.getPackage().getImplementationVersion();
        return manifest != null ? manifest : "0.0.0-unknown";
    }
}
