package io.pgha.dcs.etcd;

import io.etcd.jetcd.Client;
import java.net.URI;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import javax.net.ssl.SSLContext;

/**
 * What an {@link EtcdDcs} was built with; immutable. The password lives only here and in the jetcd
 * client: {@link #toString()} leaves it out.
 *
 * @param endpoints      the members' client URLs, all of one scheme; empty with a shared client
 * @param namespace      the key prefix above the scopes, normalized like Patroni's ({@code /service})
 * @param user           the etcd user, if any
 * @param password       its password, present exactly when the user is
 * @param sslContext     the TLS context for {@code https} endpoints (built from PEM files, or given)
 * @param connectTimeout how long opening a connection to one member may take
 * @param requestTimeout how long one request to one member may take, if set
 * @param sharedClient   the host service's jetcd client, if one was given instead of endpoints
 * @param cachedReads    whether member sessions answer reads from their watch when that is provably current
 */
record EtcdSettings(List<URI> endpoints, String namespace, Optional<String> user, Optional<String> password,
                    Optional<SSLContext> sslContext, Duration connectTimeout, Optional<Duration> requestTimeout,
                    Optional<Client> sharedClient, boolean cachedReads) {
    EtcdSettings {
        endpoints = List.copyOf(endpoints);
        Objects.requireNonNull(namespace, "namespace");
        Objects.requireNonNull(user, "user");
        Objects.requireNonNull(password, "password");
        Objects.requireNonNull(sslContext, "sslContext");
        Objects.requireNonNull(connectTimeout, "connectTimeout");
        Objects.requireNonNull(requestTimeout, "requestTimeout");
        Objects.requireNonNull(sharedClient, "sharedClient");
    }

    @Override
    public String toString() {
        // never the password
        return "endpoints=" + (sharedClient.isPresent() ? "<shared client>" : endpoints) + ", namespace=" + namespace
                + user.map(u -> ", user=" + u).orElse("") + (sslContext.isPresent() ? ", tls" : "")
                + ", connectTimeout=" + connectTimeout + requestTimeout.map(t -> ", requestTimeout=" + t).orElse("")
                + (cachedReads ? "" : ", cachedReads=false");
    }
}
