package io.pgha.spi;

import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * A member to replicate or clone from.
 *
 * <p>In a standby cluster (Patroni's {@code standby_cluster}) the standby leader's upstream is the
 * <em>remote</em> primary of another cluster ({@link #remote(String, String, Optional, Map)}): the
 * controller streams from it through {@code primarySlotName} (if any; it never creates a slot
 * there) and writes {@code recoverySettings}. A member that cascades from the standby leader gets
 * the standby cluster's {@code restore_command} and {@code archive_cleanup_command} in
 * {@code recoverySettings} too.
 *
 * @param member           its member name (becomes nothing on the wire; used for logs and slots)
 * @param connectionUrl    its {@code conn_url} from the member entry, e.g.
 *                         {@code postgres://10.0.0.5:5432/postgres}; never carries a password. A
 *                         remote primary may list several hosts ({@code postgres://h1:5432,h2:5432/postgres}:
 *                         the controller connects with {@code target_session_attrs=read-write}), or
 *                         none (empty: an archive-only standby cluster restores WAL and streams from nobody)
 * @param remote           the upstream is the remote primary of a standby cluster
 * @param primarySlotName  for a remote upstream, the slot to stream through (empty: none)
 * @param recoverySettings recovery settings that come with this upstream ({@code restore_command},
 *                         {@code archive_cleanup_command}, {@code recovery_min_apply_delay}); they win
 *                         over the cluster's {@code postgresql.recovery_conf}
 */
public record Upstream(String member, String connectionUrl, boolean remote, Optional<String> primarySlotName,
                       Map<String, String> recoverySettings) {
    public Upstream {
        Objects.requireNonNull(member, "member");
        Objects.requireNonNull(connectionUrl, "connectionUrl");
        Objects.requireNonNull(primarySlotName, "primarySlotName");
        recoverySettings = Map.copyOf(recoverySettings);
        if (!remote && primarySlotName.isPresent()) {
            throw new IllegalArgumentException("primarySlotName is for a remote upstream only");
        }
    }

    /** A member of this cluster. */
    public Upstream(String member, String connectionUrl) {
        this(member, connectionUrl, false, Optional.empty(), Map.of());
    }

    /** The remote primary of a standby cluster. */
    public static Upstream remote(String name, String connectionUrl, Optional<String> primarySlotName, Map<String, String> recoverySettings) {
        return new Upstream(name, connectionUrl, true, primarySlotName, recoverySettings);
    }

    /** This upstream with {@code settings} as its recovery settings. */
    public Upstream withRecoverySettings(Map<String, String> settings) {
        return new Upstream(member, connectionUrl, remote, primarySlotName, settings);
    }
}
