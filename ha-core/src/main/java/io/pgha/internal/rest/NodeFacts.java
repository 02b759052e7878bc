package io.pgha.internal.rest;

import io.pgha.MemberTags;
import io.pgha.Role;
import io.pgha.internal.cluster.Cluster;
import io.pgha.internal.cluster.Member;
import io.pgha.internal.decision.LeaseView;
import io.pgha.internal.engine.HaEngine;
import io.pgha.internal.engine.EngineView;
import io.pgha.spi.Lsn;
import io.pgha.spi.PostgresState;
import java.util.Optional;

/**
 * What the health checks and status documents need to know about this node right now, derived
 * once per request from the engine's last cycle and its live lease belief.
 *
 * @param leader      holds the leader lock with a lease that is certainly valid <em>now</em> and runs as a primary
 * @param standbyLeader holds the leader lock with a lease that is certainly valid now and runs as the standby
 *                    leader of a standby cluster (a standby that streams from the remote primary)
 * @param replica     runs as a standby
 * @param lag         bytes behind the leader's last optime, or empty when unknown
 * @param sinceCycle  nanoseconds since the HA loop last finished a cycle
 */
record NodeFacts(String name, String scope, MemberTags tags, EngineView view, boolean running, boolean leader, boolean replica,
                 boolean streaming, boolean inSyncKey, Optional<Long> lag, long sinceCycle, boolean paused, Optional<Cluster> cluster,
                 boolean failsafeActive, boolean standbyLeader) {

    NodeFacts(String name, String scope, MemberTags tags, EngineView view, boolean running, boolean leader, boolean replica,
              boolean streaming, boolean inSyncKey, Optional<Long> lag, long sinceCycle, boolean paused, Optional<Cluster> cluster,
              boolean failsafeActive) {
        this(name, scope, tags, view, running, leader, replica, streaming, inSyncKey, lag, sinceCycle, paused, cluster, failsafeActive,
                false);
    }

    /** {@code synchronous_mode: quorum}: the sync key lists voters, and a standby in it is a quorum standby. */
    boolean quorumMode() {
        return view.config().syncMode().quorum();
    }

    /** A replica listed in the sync key outside quorum mode (Patroni's {@code sync_standby}). */
    boolean syncStandby() {
        return inSyncKey && !quorumMode();
    }

    /** A replica listed in the sync key as a voter in quorum mode (Patroni's {@code quorum_standby}). */
    boolean quorumStandby() {
        return inSyncKey && quorumMode();
    }

    /** This node's facts now, from its engine. */
    static NodeFacts of(HaEngine engine) {
        EngineView v = engine.view();
        return of(engine.config().name(), engine.config().scope(), engine.tags(), v, engine.leaseNow(), engine.now(),
                engine.failsafeActive());
    }

    static NodeFacts of(String name, String scope, MemberTags tags, EngineView view, LeaseView liveLease, long now) {
        return of(name, scope, tags, view, liveLease, now, false);
    }

    static NodeFacts of(String name, String scope, MemberTags tags, EngineView view, LeaseView liveLease, long now,
                        boolean failsafeActive) {
        Optional<PostgresState> pg = view.postgres();
        boolean running = pg.map(PostgresState::isRunning).orElse(false);
        Optional<Cluster> cluster = view.cluster();
        boolean named = cluster.map(c -> c.isLeader(name)).orElse(false);
        boolean leader = named && liveLease.isValid(now) && pg.map(PostgresState::isRunningPrimary).orElse(false)
                && view.status().role() == Role.PRIMARY;
        boolean standbyLeader = named && liveLease.isValid(now) && pg.map(PostgresState::isRunningReplica).orElse(false)
                && view.status().role() == Role.STANDBY_LEADER;
        boolean replica = pg.map(PostgresState::isRunningReplica).orElse(false);
        boolean streaming = pg.map(PostgresState::streaming).orElse(false);
        boolean inSync = cluster.flatMap(Cluster::sync).map(s -> s.standbys().contains(name)).orElse(false);
        Optional<Long> lag = Optional.empty();
        if (pg.isPresent() && cluster.isPresent()) {
            long optime = cluster.get().leaderOptime().orElse(
                    cluster.get().leaderMember().map(Member::xlogLocation).map(Lsn::value).orElse(0L));
            if (optime > 0) {
                lag = Optional.of(Math.max(0, optime - pg.get().walPosition().value()));
            }
        }
        return new NodeFacts(name, scope, tags, view, running, leader, replica, streaming, inSync, lag, now - view.lastCycleAt(),
                view.config().paused(), cluster, failsafeActive, standbyLeader);
    }

    Optional<PostgresState> pg() {
        return view.postgres();
    }
}
