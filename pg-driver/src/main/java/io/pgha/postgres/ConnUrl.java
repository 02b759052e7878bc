package io.pgha.postgres;

import io.pgha.spi.PostgresException;

import java.net.URI;
import java.net.URISyntaxException;

/**
 * A member's {@code conn_url} ({@code postgres://host:port/dbname}), reduced to what pgha uses.
 * User information in the URL is ignored and never echoed: the credentials come from the
 * controller's configuration.
 */
record ConnUrl(String host, int port, String database, java.util.List<String> moreHostPorts) {

    ConnUrl(String host, int port, String database) {
        this(host, port, database, java.util.List.of());
    }

    ConnUrl {
        moreHostPorts = java.util.List.copyOf(moreHostPorts);
    }

    /**
     * Also a libpq multi-host URL ({@code postgres://h1:5432,h2:5433/postgres}), as a standby
     * cluster's {@code standby_cluster.host} may list its remote cluster's members: {@link #host()}
     * and {@link #port()} are the first, {@link #conninfoHosts()} names them all.
     */
    static ConnUrl parse(String url) {
        int sep = url == null ? -1 : url.indexOf("://");
        if (sep > 0) {
            int end = url.indexOf('/', sep + 3);
            String authority = end < 0 ? url.substring(sep + 3) : url.substring(sep + 3, end);
            if (authority.contains(",") && !authority.contains("@")) {
                String rest = end < 0 ? "" : url.substring(end);
                String[] parts = authority.split(",");
                ConnUrl first = parse(url.substring(0, sep + 3) + parts[0] + rest);
                java.util.List<String> more = new java.util.ArrayList<>();
                for (int i = 1; i < parts.length; i++) {
                    more.add(parse(url.substring(0, sep + 3) + parts[i] + rest).hostPort());
                }
                return new ConnUrl(first.host(), first.port(), first.database(), more);
            }
        }
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

    /** Several hosts: libpq tries them in order and keeps the first that takes writes. */
    boolean multiHost() {
        return !moreHostPorts.isEmpty();
    }

    /**
     * {@code host=... port=...} for a libpq connection string: one host, or all of them with
     * {@code target_session_attrs=read-write} (Patroni's standby cluster with several hosts).
     */
    String conninfoHosts() {
        if (!multiHost()) {
            return "host=" + Gucs.conninfoValue(host) + " port=" + port;
        }
        java.util.List<String> hosts = new java.util.ArrayList<>(java.util.List.of(host));
        java.util.List<String> ports = new java.util.ArrayList<>(java.util.List.of(Integer.toString(port)));
        for (String hp : moreHostPorts) {
            int colon = hp.lastIndexOf(':');
            String h = hp.substring(0, colon);
            hosts.add(h.startsWith("[") ? h.substring(1, h.length() - 1) : h);
            ports.add(hp.substring(colon + 1));
        }
        return "host=" + Gucs.conninfoValue(String.join(",", hosts)) + " port=" + Gucs.conninfoValue(String.join(",", ports))
                + " target_session_attrs=read-write";
    }

    /** Whether {@code host}:{@code port} is one of the servers this URL names (any of several hosts). */
    boolean names(String otherHost, int otherPort) {
        if (port == otherPort && host.equalsIgnoreCase(otherHost)) {
            return true;
        }
        for (String hp : moreHostPorts) {
            int colon = hp.lastIndexOf(':');
            String h = hp.substring(0, colon);
            h = h.startsWith("[") ? h.substring(1, h.length() - 1) : h;
            if (h.equalsIgnoreCase(otherHost) && hp.substring(colon + 1).equals(Integer.toString(otherPort))) {
                return true;
            }
        }
        return false;
    }

    String hostPort() {
        if (multiHost()) {
            return (host.contains(":") ? "[" + host + "]" : host) + ":" + port + "," + String.join(",", moreHostPorts);
        }
        return (host.contains(":") ? "[" + host + "]" : host) + ":" + port;
    }
}
