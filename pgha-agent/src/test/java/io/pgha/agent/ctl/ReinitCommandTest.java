package io.pgha.agent.ctl;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/** pghactl reinit: POST /reinitialize on named replicas; --wait polls GET /patroni until PostgreSQL runs again (stubs). */
class ReinitCommandTest {

    @Test
    void waitPrintsProgressUntilTheMemberRunsAgain() throws IOException {
        try (StubbedCluster c = new StubbedCluster()) {
            AtomicInteger looks = new AtomicInteger();
            c.p1.on("POST /reinitialize", 200, "reinitialize started")
                    .on("GET /patroni", b -> new RestStub.Reply(200, looks.incrementAndGet() < 3
                            ? "{\"state\":\"stopped\",\"role\":\"uninitialized\"}" : "{\"state\":\"running\",\"role\":\"replica\"}"));
            CtlFixture.Run r = c.f.run("", "reinit", "batman", "postgresql1", "--wait", "--force", "--poll-interval", "10");
            assertThat(r.rc()).as(r.err()).isZero();
            assertThat(r.out()).endsWith("""
                    Success: reinitialize for member postgresql1
                    Waiting for reinitialize to complete on: postgresql1
                    postgresql1: stopped
                    postgresql1: running
                    Reinitialize is completed on: postgresql1
                    """);
            assertThat(c.p1.requests.get(0)).isEqualTo("POST /reinitialize {\"force\":true,\"from_leader\":false}");
        }
    }

    @Test
    void waitGivesUpAfterItsTimeout() throws IOException {
        try (StubbedCluster c = new StubbedCluster()) {
            c.p2.on("POST /reinitialize", 200, "reinitialize started").on("GET /patroni", 200, "{\"state\":\"stopped\"}");
            CtlFixture.Run r = c.f.run("", "reinit", "batman", "postgresql2", "--wait", "--force", "--wait-timeout", "0",
                    "--poll-interval", "10");
            assertThat(r.rc()).isEqualTo(1);
            assertThat(r.out()).contains("Timed out after 0 s waiting for reinitialize to complete on: postgresql2");
        }
    }

    @Test
    void theLeaderIsNoReplicaToReinitializeAndForceAloneChoosesNobody() throws IOException {
        try (StubbedCluster c = new StubbedCluster()) {
            assertThat(c.f.run("", "reinit", "batman", "postgresql0", "--force").err()).contains("No replica among provided members");
            CtlFixture.Run none = c.f.run("", "reinit", "batman", "--force");
            assertThat(none.rc()).isZero();
            assertThat(c.p1.requests).isEmpty();
            assertThat(c.p2.requests).isEmpty();
        }
    }

    @Test
    void withoutNamesItAsksWhichReplica() throws IOException {
        try (StubbedCluster c = new StubbedCluster()) {
            c.p2.on("POST /reinitialize", 503, "reinitialize already in progress");
            CtlFixture.Run r = c.f.run("postgresql2\ny\nn\n", "reinit", "batman");
            assertThat(r.out()).contains("Which member do you want to reinitialize [postgresql1, postgresql2]? []: ")
                    .contains("Failed: reinitialize for member postgresql2, status code=503, (reinitialize already in progress)")
                    .contains("Do you want to cancel it and reinitialize anyway? [y/N]: ");
            assertThat(r.rc()).isEqualTo(1);
        }
    }
}
