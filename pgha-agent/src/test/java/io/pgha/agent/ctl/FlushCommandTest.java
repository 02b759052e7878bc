package io.pgha.agent.ctl;

import static org.assertj.core.api.Assertions.assertThat;

import io.pgha.spi.ClusterKey;
import java.io.IOException;
import org.junit.jupiter.api.Test;

/** pghactl flush discards scheduled restarts (DELETE /restart) and a scheduled switchover (DELETE /switchover, else the key). */
class FlushCommandTest {
    private static final String SCHEDULED = "{\"leader\":\"postgresql0\",\"member\":\"postgresql1\",\"scheduled_at\":\"2026-11-26T13:00:00+00:00\"}";

    @Test
    void onlyMembersWithAScheduledRestartAreAskedToDropIt() throws IOException {
        try (StubbedCluster c = new StubbedCluster(p -> {
        }, p -> p.putObject("scheduled_restart").put("schedule", "2026-11-26T13:00:00+00:00"), p -> {
        })) {
            c.p1.on("DELETE /restart", 200, "scheduled restart deleted");
            CtlFixture.Run r = c.f.run("", "flush", "batman", "restart", "--force");
            assertThat(r.rc()).as(r.err()).isZero();
            assertThat(r.out()).contains("| Scheduled restart         |").endsWith("""
                    No scheduled restart for member postgresql0
                    Success: flush scheduled restart for member postgresql1
                    No scheduled restart for member postgresql2
                    """);
            assertThat(c.p1.requests).containsExactly("DELETE /restart");
        }
    }

    @Test
    void aMemberThatHasNoneAnymoreAnswers404() throws IOException {
        try (StubbedCluster c = new StubbedCluster(p -> {
        }, p -> p.putObject("scheduled_restart").put("schedule", "2026-11-26T13:00:00+00:00"), p -> {
        })) {
            c.p1.on("DELETE /restart", 404, "no restarts are scheduled");
            CtlFixture.Run r = c.f.run("", "flush", "batman", "postgresql1", "restart", "--force");
            assertThat(r.rc()).isEqualTo(1);
            assertThat(r.out()).endsWith("Failed: flush scheduled restart for member postgresql1, status code=404, (no restarts are scheduled)\n");
        }
    }

    @Test
    void aScheduledSwitchoverIsCancelledThroughTheLeader() throws IOException {
        try (StubbedCluster c = new StubbedCluster()) {
            c.f.key(ClusterKey.FAILOVER, SCHEDULED);
            c.p0.on("DELETE /switchover", 200, "scheduled switchover deleted");
            CtlFixture.Run r = c.f.run("", "flush", "batman", "switchover");
            assertThat(r.rc()).as(r.err()).isZero();
            assertThat(r.out()).isEqualTo("Success: scheduled switchover deleted\n");
            assertThat(c.p1.requests).isEmpty();
        }
    }

    @Test
    void withoutAScheduledSwitchoverThereIsNothingToFlush() throws IOException {
        try (StubbedCluster c = new StubbedCluster()) {
            assertThat(c.f.run("", "flush", "batman", "switchover").out()).isEqualTo("No pending scheduled switchover\n");
        }
    }

    @Test
    void whenNoMemberAnswersTheFailoverKeyIsRemovedFromTheStore() throws IOException {
        StubbedCluster c = new StubbedCluster();
        try {
            c.f.key(ClusterKey.FAILOVER, SCHEDULED);
            c.p0.close();
            c.p1.close();
            c.p2.close();
            CtlFixture.Run r = c.f.run("", "flush", "batman", "switchover");
            assertThat(r.rc()).as(r.err()).isZero();
            assertThat(r.out()).contains(" Could not find any accessible member of cluster batman");
            assertThat(c.f.value(ClusterKey.FAILOVER)).isEmpty();
        } finally {
            c.f.close();
        }
    }

    @Test
    void theTargetMustBeRestartOrSwitchover() throws IOException {
        try (StubbedCluster c = new StubbedCluster()) {
            assertThat(c.f.run("", "flush", "batman", "failover").err()).contains("'failover' is not one of 'restart', 'switchover'");
        }
    }
}
