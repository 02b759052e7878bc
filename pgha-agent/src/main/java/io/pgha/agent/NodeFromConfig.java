package io.pgha.agent;

import com.fasterxml.jackson.databind.JsonNode;
import io.pgha.HaNode;
import io.pgha.RestApiConfig;
import io.pgha.SynchronousMode;
import io.pgha.agent.config.AgentConfig;
import io.pgha.agent.config.Secret;
import io.pgha.spi.Dcs;
import io.pgha.spi.PostgresController;
import java.math.BigDecimal;
import java.time.Duration;
import java.util.Optional;

/** Maps a Patroni-format configuration onto {@link HaNode.Builder}. */
public final class NodeFromConfig {
    private NodeFromConfig() {
    }

    /** The retry timeout the configuration asks for (Patroni's default 10 s), needed before the node exists. */
    public static Duration retryTimeout(AgentConfig c) {
        return seconds(c.bootstrap().dcs(), "retry_timeout").orElse(Duration.ofSeconds(10));
    }

    public static HaNode.Builder builder(AgentConfig c, Dcs dcs, PostgresController pg) {
        JsonNode d = c.bootstrap().dcs();
        HaNode.Builder b = HaNode.builder().name(c.name()).scope(c.scope()).dcs(dcs).postgres(pg).tags(c.tags())
                .initialDynamicConfig(d.toString());
        seconds(d, "ttl").ifPresent(b::ttl);
        seconds(d, "loop_wait").ifPresent(b::loopWait);
        seconds(d, "retry_timeout").ifPresent(b::retryTimeout);
        if (d.has("maximum_lag_on_failover")) {
            b.maximumLagOnFailover(d.get("maximum_lag_on_failover").asLong());
        }
        seconds(d, "primary_start_timeout").or(() -> seconds(d, "master_start_timeout")).ifPresent(b::primaryStartTimeout);
        boolean quorum = "quorum".equalsIgnoreCase(d.path("synchronous_mode").asText().trim());
        if (quorum || d.path("synchronous_mode").asBoolean(false) || "on".equals(d.path("synchronous_mode").asText())) {
            b.synchronousMode(SynchronousMode.of(true, quorum, d.path("synchronous_mode_strict").asBoolean(false)));
        }
        if (d.has("synchronous_node_count")) {
            b.synchronousNodeCount(d.get("synchronous_node_count").asInt(1));
        }
        if (d.path("postgresql").has("use_pg_rewind")) {
            b.usePgRewind(d.path("postgresql").path("use_pg_rewind").asBoolean(true));
        }
        if (d.has("check_timeline")) {
            b.checkTimeline(d.get("check_timeline").asBoolean(false));
        }
        Optional<RestApiConfig> rest = c.restapi().map(NodeFromConfig::restApi);
        rest.ifPresent(b::restApi);
        // HaNode's own peer client, made only when a race or failsafe mode first needs it
        b.peerClient(new LazyPeerClient(() -> new io.pgha.internal.rest.HttpPeerClient(rest.flatMap(RestApiConfig::sslContext),
                rest.flatMap(RestApiConfig::username), rest.flatMap(RestApiConfig::password)), true));
        AgentConfig.Watchdog w = c.watchdog();
        if (w.mode() != io.pgha.WatchdogMode.OFF) {
            Duration ttl = seconds(d, "ttl").orElse(Duration.ofSeconds(30));
            b.watchdog(io.pgha.DeviceWatchdog.of(w.device())).watchdogMode(w.mode())
                    .watchdogSafetyMargin(w.safetyMargin() < 0 ? ttl.dividedBy(2) : Duration.ofSeconds(w.safetyMargin()));
        }
        return b;
    }

    static RestApiConfig restApi(AgentConfig.RestApi r) {
        RestApiConfig.Builder b = RestApiConfig.builder().listen(r.listen().host(), r.listen().port());
        r.connectAddress().ifPresent(ca -> b.connectAddress(ca.host(), ca.port()));
        if (r.username().isPresent()) {
            b.credentials(r.username().get(), r.password().map(Secret::revealString).orElse(""));
        }
        r.certfile().ifPresent(cert -> r.keyfilePassword().ifPresentOrElse(
                pw -> b.certificate(cert, r.keyfile().orElse(cert), pw.revealString()),
                () -> b.certificate(cert, r.keyfile().orElse(cert))));
        // without certfile, build() refuses these rather than ignore them
        r.cafile().ifPresent(b::trustedCa);
        if (!r.allowlist().isEmpty()) {
            b.allowlist(r.allowlist());
        }
        if (r.allowlistIncludeMembers()) {
            b.allowlistIncludeMembers(true);
        }
        // Patroni's thread_pool_size counts its own threads too (minimum 5); pgha's pool serves requests only
        r.threadPoolSize().ifPresent(n -> b.threads(Math.max(1, Math.min(64, n))));
        r.verifyClient().ifPresent(v -> b.clientAuth(RestApiConfig.ClientAuth.valueOf(v.toUpperCase(java.util.Locale.ROOT))));
        return b.build();
    }

    private static Optional<Duration> seconds(JsonNode d, String key) {
        JsonNode n = d.get(key);
        if (n == null || n.isNull()) {
            return Optional.empty();
        }
        BigDecimal s = n.isNumber() ? n.decimalValue() : new BigDecimal(n.asText().trim());
        return Optional.of(Duration.ofNanos(s.movePointRight(9).longValue()));
    }
}
