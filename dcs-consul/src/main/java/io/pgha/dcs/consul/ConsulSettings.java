package io.pgha.dcs.consul;

import java.net.URI;
import java.time.Duration;
import java.util.Objects;
import java.util.Optional;
import javax.net.ssl.SSLContext;

/**
 * What a {@link ConsulDcs} was built with; immutable. The ACL token lives only here and in the
 * requests' {@code X-Consul-Token} header: {@link #toString()} leaves it out.
 *
 * @param url             the agent's HTTP API, {@code scheme://host:port}
 * @param token           the ACL token, if any
 * @param sslContext      the TLS context for an {@code https} url (built from PEM files or given), if any
 * @param namespace       the key prefix above the scopes, without slashes at either end ({@code service})
 * @param consistency     how reads and watches are served
 * @param registerService whether members are registered as instances of a Consul service
 * @param minSessionTtl   the agents' {@code session_ttl_min}
 * @param watchWait       how long one blocking query of a watch waits
 * @param callThreads     threads for concurrent calls to the agent
 */
record ConsulSettings(URI url, Optional<String> token, Optional<SSLContext> sslContext, String namespace,
                      ConsulDcs.Consistency consistency, boolean registerService, Duration minSessionTtl, Duration watchWait,
                      int callThreads) {
    ConsulSettings {
        Objects.requireNonNull(url, "url");
        Objects.requireNonNull(token, "token");
        Objects.requireNonNull(sslContext, "sslContext");
        Objects.requireNonNull(namespace, "namespace");
        Objects.requireNonNull(consistency, "consistency");
        Objects.requireNonNull(minSessionTtl, "minSessionTtl");
        Objects.requireNonNull(watchWait, "watchWait");
    }

    @Override
    public String toString() {
        // never the token
        return "ConsulSettings[url=" + url + ", token=" + (token.isPresent() ? "set" : "none") + (sslContext.isPresent() ? ", tls" : "")
                + ", namespace=" + namespace + ", consistency=" + consistency + (registerService ? ", registerService" : "")
                + ", minSessionTtl=" + minSessionTtl + ", watchWait=" + watchWait + ", callThreads=" + callThreads + "]";
    }
}
