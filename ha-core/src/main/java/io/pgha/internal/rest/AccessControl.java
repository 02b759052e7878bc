package io.pgha.internal.rest;

import io.pgha.RestApiConfig;
import io.pgha.internal.cluster.Cluster;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.Base64;
import java.util.Optional;
import java.util.function.Supplier;

/**
 * Who may call the REST API's unsafe endpoints (POST, PUT, PATCH, DELETE): Patroni's allowlist
 * (addresses, blocks, and the members' hosts when included), then basic authentication.
 */
final class AccessControl {
    private final RestApiConfig config;
    private final Supplier<Optional<Cluster>> cluster;

    AccessControl(RestApiConfig config, Supplier<Optional<Cluster>> cluster) {
        this.config = config;
        this.cluster = cluster;
    }

    /** Patroni's allowlist: the caller's address in a listed range, or a member's host when members are included. */
    boolean allowed(InetAddress caller) {
        if (config.allowlist().isEmpty() && !config.allowlistIncludeMembers()) {
            return true;
        }
        if (config.allowlist().stream().anyMatch(r -> r.contains(caller))) {
            return true;
        }
        if (!config.allowlistIncludeMembers()) {
            return false;
        }
        return cluster.get().map(c -> c.members().values().stream()
                .flatMap(m -> java.util.stream.Stream.concat(m.apiUrl().stream(), java.util.stream.Stream.of(m.connUrl())))
                .map(AccessControl::hostOf).flatMap(Optional::stream)
                .anyMatch(h -> resolvesTo(h, caller))).orElse(false);
    }

    private static Optional<String> hostOf(String url) {
        try {
            return Optional.ofNullable(java.net.URI.create(url).getHost());
        } catch (IllegalArgumentException e) {
            return Optional.empty();
        }
    }

    private static boolean resolvesTo(String host, InetAddress caller) {
        try {
            for (InetAddress a : InetAddress.getAllByName(host.replace("[", "").replace("]", ""))) {
                if (a.equals(caller)) {
                    return true;
                }
            }
        } catch (UnknownHostException e) {
            // a member whose host does not resolve is not the caller
        }
        return false;
    }

    /** Basic auth against the configured credentials, compared in constant time; true when none are configured. */
    boolean authorized(String header) {
        if (config.username().isEmpty()) {
            return true;
        }
        if (header == null || !header.regionMatches(true, 0, "Basic ", 0, 6)) {
            return false;
        }
        byte[] given;
        try {
            given = Base64.getDecoder().decode(header.substring(6).trim());
        } catch (IllegalArgumentException e) {
            return false;
        }
        char[] pw = config.password().orElse(new char[0]);
        byte[] expected = (config.username().get() + ":" + new String(pw)).getBytes(StandardCharsets.UTF_8);
        java.util.Arrays.fill(pw, '\0');
        return MessageDigest.isEqual(given, expected);
    }
}
