package io.pgha.postgres;

import io.pgha.spi.PostgresException;

import java.net.URI;
import java.net.URISyntaxException;

/**
 * A member's {@code conn_url} ({@code postgres://host:port/dbname}), reduced to what pgha uses.
 * User information in the URL is ignored and never echoed: the credentials come from the
 * controller's configuration.
 */
record ConnUrl(String host, int port, String database) {

    static ConnUrl parse(String url) {
        URI uri;
        try {
            uri = new URI(url);
        } catch (URISyntaxException | NullPointerException e) {
            throw new PostgresException("not a postgres:// URL: '" + safe(url) + "'");
        }
        String scheme = uri.getScheme();
        if (!"postgres".equals(scheme) && !"postgresql".equals(scheme)) {
            throw new PostgresException("not a postgres:// URL: '" + safe(url) + "'");
        }
        String host = uri.getHost();
        if (host == null || host.isEmpty()) {
            throw new PostgresException("no host in '" + safe(url) + "'");
        }
        if (host.startsWith("[") && host.endsWith("]")) {
            host = host.substring(1, host.length() - 1);
        }
        int port = uri.getPort() < 0 ? 5432 : uri.getPort();
        String path = uri.getPath();
        String db = path == null || path.length() <= 1 ? "postgres" : path.substring(1);
        return new ConnUrl(host, port, db);
    }

    /** {@code postgres://host:port/db}, brackets around an IPv6 literal. */
    static String format(String host, int port, String database) {
        String h = host.contains(":") ? "[" + host + "]" : host;
        return "postgres://" + h + ":" + port + "/" + database;
    }

    /** The URL without user information, for messages. */
    static String safe(String url) {
        if (url == null) {
            return "null";
        }
        int at = url.indexOf('@');
        int scheme = url.indexOf("://");
        return at > 0 && scheme >= 0 && at > scheme ? url.substring(0, scheme + 3) + url.substring(at + 1) : url;
    }

    String hostPort() {
        return (host.contains(":") ? "[" + host + "]" : host) + ":" + port;
    }
}
