package io.pgha.agent.ctl;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.pgha.spi.ClusterKey;
import java.io.IOException;
import org.junit.jupiter.api.Test;

/** pghactl restart sends Patroni's POST /restart body and prints patronictl's line for each answer (the REST APIs are stubs). */
class RestartCommandTest {

    private static JsonNode body(String request) throws IOException {
        return Entries.JSON.readTree(request.substring(request.indexOf('{')));
    }

    @Test
    void replicasAreRestartedWithTheFiltersInTheBodyAndTheLeaderIsLeftAlone() throws IOException {
        try (StubbedCluster c = new StubbedCluster()) {
            c.p1.on("POST /restart", 200, "restarted successfully");
            c.p2.on("POST /restart", 200, "restarted successfully");
            CtlFixture.Run r = c.f.run("", "restart", "batman", "--role", "replica", "--pg-version", "15.8", "--timeout", "30", "--force");
            assertThat(r.rc()).as(r.err()).isZero();
            assertThat(r.out()).contains("| Member      | Host ").endsWith("""
                    Success: restart on member postgresql1
                    Success: restart on member postgresql2
                    """);
            assertThat(c.p0.requests).isEmpty();
            assertThat(c.p1.requests).singleElement().satisfies(req -> {
                assertThat(req).startsWith("POST /restart ");
                assertThat(body(req)).isEqualTo(Entries.JSON.readTree("{\"postgres_version\":\"15.8\",\"timeout\":30,\"role\":\"replica\"}"));
            });
        }
    }

    @Test
    void aScheduledRestartSendsTheTimeWithItsOffsetAndAnAnswer202SaysScheduled() throws IOException {
        try (StubbedCluster c = new StubbedCluster()) {
            c.p1.on("POST /restart", 202, "Restart scheduled");
            CtlFixture.Run r = c.f.run("", "restart", "batman", "postgresql1", "--scheduled", "2026-11-26T13:00+01:00", "--pending",
                    "--force");
            assertThat(r.rc()).as(r.err()).isZero();
            assertThat(r.out()).endsWith("Success: restart scheduled on member postgresql1\n");
            assertThat(body(c.p1.requests.get(0))).isEqualTo(
                    Entries.JSON.readTree("{\"restart_pending\":true,\"schedule\":\"2026-11-26T13:00:00+01:00\"}"));
        }
    }

    @Test
    void aForcedScheduleFirstCancelsTheRestartAlreadyScheduledOnTheMember() throws IOException {
        try (StubbedCluster c = new StubbedCluster(p -> {
        }, p -> p.putObject("scheduled_restart").put("schedule", "2026-11-25T10:00:00+00:00"), p -> {
        })) {
            c.p1.on("DELETE /restart", 200, "scheduled restart deleted").on("POST /restart", 202, "Restart scheduled");
            CtlFixture.Run r = c.f.run("", "restart", "batman", "postgresql1", "--scheduled", "2026-11-26T13:00:00Z", "--force");
            assertThat(r.out()).endsWith("Success: restart scheduled on member postgresql1\n");
            assertThat(c.p1.requests).hasSize(2);
            assertThat(c.p1.requests.get(0)).isEqualTo("DELETE /restart");
            assertThat(body(c.p1.requests.get(1)).path("schedule").asText()).isEqualTo("2026-11-26T13:00:00+00:00");
        }
    }

    @Test
    void answers503And409AreFailuresInPatronictlsWords() throws IOException {
        try (StubbedCluster c = new StubbedCluster()) {
            c.p1.on("POST /restart", 503, "restart conditions are not satisfied");
            c.p2.on("POST /restart", 409, "Another restart is already scheduled");
            CtlFixture.Run r = c.f.run("", "restart", "batman", "postgresql1", "postgresql2", "--force");
            assertThat(r.rc()).isEqualTo(1);
            assertThat(r.out()).endsWith("""
                    Failed: restart for member postgresql1, status code=503, (restart conditions are not satisfied)
                    Failed: another restart is already scheduled on member postgresql2
                    """);
        }
    }

    @Test
    void pendingWithoutAScheduleRestartsOnlyTheMembersThatWaitForIt() throws IOException {
        try (StubbedCluster c = new StubbedCluster(p -> {
        }, p -> {
        }, p -> p.put("pending_restart", true))) {
            c.p2.on("POST /restart", 200, "restarted successfully");
            CtlFixture.Run r = c.f.run("", "restart", "batman", "--pending", "--force");
            assertThat(r.out()).endsWith("\nSuccess: restart on member postgresql2\n");
            assertThat(c.p0.requests).isEmpty();
            assertThat(c.p1.requests).isEmpty();
            assertThat(body(c.p2.requests.get(0)).path("restart_pending").asBoolean()).isTrue();
        }
    }

    @Test
    void withoutForceItAsksWhenThenConfirmsThenAsksForAVersion() throws IOException {
        try (StubbedCluster c = new StubbedCluster()) {
            c.p0.on("POST /restart", 200, "restarted successfully");
            CtlFixture.Run r = c.f.run("\ny\n\n", "restart", "batman", "postgresql0");
            assertThat(r.rc()).as(r.err()).isZero();
            assertThat(r.out()).contains("When should the restart take place (e.g. ").contains(")  [now]: ")
                    .contains("Are you sure you want to restart members postgresql0? [y/N]: ")
                    .contains("Restart if the PostgreSQL version is less than provided (e.g. 9.5.2)  []: ")
                    .endsWith("Success: restart on member postgresql0\n");
            assertThat(body(c.p0.requests.get(0))).isEqualTo(Entries.JSON.readTree("{}"));
        }
    }

    @Test
    void aScheduleInMaintenanceModeAndABadVersionAreRefusedBeforeAnyRequest() throws IOException {
        try (StubbedCluster c = new StubbedCluster()) {
            CtlFixture.Run version = c.f.run("", "restart", "batman", "--pg-version", "9.6", "--force");
            assertThat(version.err()).contains("Invalid PostgreSQL version format: X.Y or X.Y.Z is accepted: 9.6");
            c.f.key(ClusterKey.CONFIG, "{\"pause\":true}");
            CtlFixture.Run paused = c.f.run("", "restart", "batman", "--scheduled", "2026-11-26T13:00+00:00", "--force");
            assertThat(paused.err()).contains("Can't schedule restart in the paused state");
            assertThat(c.p0.requests).isEmpty();
            assertThat(c.p1.requests).isEmpty();
        }
    }

    @Test
    void aNameThatIsNoMemberIsRefused() throws IOException {
        try (StubbedCluster c = new StubbedCluster()) {
            CtlFixture.Run r = c.f.run("", "restart", "batman", "postgresql9", "--force");
            assertThat(r.rc()).isEqualTo(1);
            assertThat(r.err()).contains("postgresql9 is not a member of cluster");
        }
    }
}
