package io.pgha.internal.decision;

import static org.assertj.core.api.Assertions.assertThat;

import io.pgha.MemberTags;
import io.pgha.internal.cluster.Cluster;
import io.pgha.internal.decision.SwitchoverCheck.Refusal;
import io.pgha.internal.decision.SwitchoverCheck.Request;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.Optional;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** One row per answer of Patroni's switchover and failover endpoints. */
class SwitchoverCheckTest {
    private static final Instant NOW = Instant.parse("2026-12-04T12:00:00Z");

    private static Situation threeNodes() {
        return Situation.of().leader("n1").member("n1", "primary", 1000).member("n2", "replica", 900).member("n3", "replica", 800);
    }

    private static Request switchover(String leader, String candidate) {
        return new Request(false, Optional.ofNullable(leader), Optional.ofNullable(candidate), Optional.empty());
    }

    private static Request failover(String candidate) {
        return new Request(true, Optional.empty(), Optional.ofNullable(candidate), Optional.empty());
    }

    private static Request scheduled(String leader, OffsetDateTime at) {
        return new Request(false, Optional.of(leader), Optional.empty(), Optional.of(at));
    }

    static Stream<Arguments> rows() {
        OffsetDateTime later = OffsetDateTime.ofInstant(NOW.plusSeconds(60), ZoneOffset.UTC);
        OffsetDateTime earlier = OffsetDateTime.ofInstant(NOW.minusSeconds(60), ZoneOffset.UTC);
        return Stream.of(
                row("a switchover from the leader to a running replica is accepted", switchover("n1", "n2"), threeNodes(), false, null),
                row("a switchover to any candidate is accepted", switchover("n1", null), threeNodes(), false, null),
                row("a failover to a running replica is accepted", failover("n3"), threeNodes(), false, null),
                row("a switchover scheduled later is accepted", scheduled("n1", later), threeNodes(), false, null),
                row("a failover cannot be scheduled", new Request(true, Optional.empty(), Optional.of("n2"), Optional.of(later)),
                        threeNodes(), false, new Refusal(400, "Failover can't be scheduled")),
                row("a failover needs a candidate", failover(null), threeNodes(), false,
                        new Refusal(400, "Failover could be performed only to a specific candidate")),
                row("a switchover needs a leader", switchover(null, "n2"), threeNodes(), false,
                        new Refusal(400, "Switchover could be performed only from a specific leader")),
                row("target and source must differ", switchover("n1", "n1"), threeNodes(), false,
                        new Refusal(400, "Switchover target and source are the same")),
                row("nothing can be scheduled while paused", scheduled("n1", later), threeNodes().paused(), false,
                        new Refusal(400, "Can't schedule switchover in the paused state")),
                row("a paused cluster switches over only to a named candidate", switchover("n1", null), threeNodes().paused(), false,
                        new Refusal(400, "Switchover is possible only to a specific candidate in a paused state")),
                row("a switchover cannot be scheduled in the past", scheduled("n1", earlier), threeNodes(), false,
                        new Refusal(422, "Cannot schedule switchover in the past")),
                row("the named leader must be the leader", switchover("n2", "n3"), threeNodes(), false,
                        new Refusal(412, "leader name does not match")),
                row("the candidate must be a member", switchover("n1", "n9"), threeNodes(), false,
                        new Refusal(412, "candidate 'n9' is not a member of the cluster")),
                row("a nofailover candidate is refused", switchover("n1", "n4"),
                        threeNodes().member("n4", "replica", 900, MemberTags.DEFAULT.withNofailover(true)), false,
                        new Refusal(412, "candidate 'n4' is tagged nofailover")),
                row("in synchronous mode a switchover goes only to a synchronous standby", switchover("n1", "n3"),
                        threeNodes().syncKey("n1", "n2"), true, new Refusal(412, "candidate name does not match with sync_standby")),
                row("in synchronous mode a switchover to the synchronous standby is accepted", switchover("n1", "n2"),
                        threeNodes().syncKey("n1", "n2"), true, null),
                row("in synchronous mode a failover may go to any member", failover("n3"), threeNodes().syncKey("n1", "n2"), true, null),
                row("a cluster with no running replica has no candidate", switchover("n1", null),
                        Situation.of().leader("n1").member("n1", "primary", 1000).stoppedMember("n2"), false,
                        new Refusal(412, "failover is not possible: no good candidates have been found")));
    }

    private static Arguments row(String name, Request r, Situation s, boolean syncMode, Refusal expected) {
        return Arguments.of(name, r, s, syncMode, expected);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("rows")
    void answersAsPatroniDoes(String name, Request r, Situation s, boolean syncMode, Refusal expected) {
        Cluster c = s.input().cluster().orElseThrow();
        assertThat(SwitchoverCheck.check(r, c, NOW, syncMode)).isEqualTo(Optional.ofNullable(expected));
    }
}
