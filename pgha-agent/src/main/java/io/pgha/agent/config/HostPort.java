package io.pgha.agent.config;

import io.pgha.ConfigurationException;
import java.util.ArrayList;
import java.util.List;

/**
 * An address as Patroni writes it: {@code host:port}, {@code [v6]:port}, or for {@code listen} a
 * comma-separated host list sharing one port ({@code 127.0.0.1,10.0.0.5:5432}).
 */
public record HostPort(List<String> hosts, int port) {
    public HostPort {
        hosts = List.copyOf(hosts);
    }

    public String host() {
        return hosts.get(0);
    }

    static HostPort parse(String key, String text, int defaultPort) {
        String t = text.trim();
        if (t.isEmpty()) {
            throw new ConfigurationException(key, "is empty");
        }
        int port = defaultPort;
        String hostPart = t;
        int colon = t.lastIndexOf(':');
        boolean bracketed = t.contains("]");
        if (colon > 0 && (!bracketed || colon > t.lastIndexOf(']'))) {
            String p = t.substring(colon + 1);
            hostPart = t.substring(0, colon);
            try {
                port = Integer.parseInt(p);
            } catch (NumberFormatException e) {
                throw new ConfigurationException(key, "'" + text + "' has a port that is not a number");
            }
        }
        if (port <= 0 || port > 65535) {
            throw new ConfigurationException(key, "'" + text + "' needs a port between 1 and 65535");
        }
        List<String> hosts = new ArrayList<>();
        for (String h : hostPart.split(",")) {
            String x = h.trim();
            if (x.startsWith("[") && x.endsWith("]")) {
                x = x.substring(1, x.length() - 1);
            }
            if (x.isEmpty()) {
                throw new ConfigurationException(key, "'" + text + "' has an empty host");
            }
            hosts.add(x);
        }
        return new HostPort(hosts, port);
    }

    @Override
    public String toString() {
        return String.join(",", hosts) + ":" + port;
    }
}
