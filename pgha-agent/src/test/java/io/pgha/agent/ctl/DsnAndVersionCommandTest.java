package io.pgha.agent.ctl;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import org.junit.jupiter.api.Test;

/** pghactl dsn names a member's PostgreSQL as patronictl does; version asks each member's GET /patroni (stubs). */
class DsnAndVersionCommandTest {

    @Test
    void theDsnIsTheLeadersByDefaultAndAReplicasOrANamedMembersOnRequest() throws IOException {
        try (StubbedCluster c = new StubbedCluster()) {
            assertThat(c.f.run("", "dsn").out()).isEqualTo("host=127.0.0.1 port=5432\n");
            assertThat(c.f.run("", "dsn", "batman", "-r", "primary").out()).isEqualTo("host=127.0.0.1 port=5432\n");
            assertThat(c.f.run("", "dsn", "-r", "replica").out()).isEqualTo("host=127.0.0.1 port=5433\n");
            assertThat(c.f.run("", "dsn", "--member", "postgresql2").out()).isEqualTo("host=127.0.0.1 port=5434\n");
        }
    }

    @Test
    void roleAndMemberTogetherOrNoSuchMemberAreErrors() throws IOException {
        try (StubbedCluster c = new StubbedCluster()) {
            assertThat(c.f.run("", "dsn", "-r", "replica", "-m", "postgresql1").err())
                    .contains("--role and --member are mutually exclusive options");
            assertThat(c.f.run("", "dsn", "-m", "postgresql9").err()).contains("Can not find a suitable member");
            assertThat(c.f.run("", "dsn", "-r", "standby-leader").err()).contains("Can not find a suitable member");
        }
    }

    @Test
    void versionWithoutAClusterIsPghactlsOwnOnly() throws IOException {
        try (CtlFixture f = new CtlFixture("batman")) {
            assertThat(f.run("", "version").out()).isEqualTo("pghactl version " + Ctl.VERSION + "\n");
        }
    }

    @Test
    void versionShowsEachMembersAgentAndPostgresqlVersions() throws IOException {
        try (StubbedCluster c = new StubbedCluster()) {
            c.p0.on("GET /patroni", 200, "{\"state\":\"running\",\"server_version\":150004,\"write_fence\":{\"in_process\":true},"
                    + "\"patroni\":{\"version\":\"0.1.0\",\"scope\":\"batman\",\"name\":\"postgresql0\"}}");
            c.p1.on("GET /patroni", 200, "{\"state\":\"running\",\"server_version\":90624,\"patroni\":{\"version\":\"4.0.4\"}}");
            c.p2.close();
            CtlFixture.Run r = c.f.run("", "version", "batman");
            assertThat(r.out()).startsWith("pghactl version " + Ctl.VERSION + "\n\n"
                    + "postgresql0: pgha 0.1.0 PostgreSQL 15.4\n"
                    + "postgresql1: Patroni 4.0.4 PostgreSQL 9.6.24\n"
                    + "postgresql2: failed to get version: ");
            assertThat(c.f.run("", "version", "batman", "postgresql1").out())
                    .isEqualTo("pghactl version " + Ctl.VERSION + "\n\npostgresql1: Patroni 4.0.4 PostgreSQL 9.6.24\n");
        }
    }

    @Test
    void listTakesItsFormatAndTimestampOptions() throws IOException {
        try (StubbedCluster c = new StubbedCluster()) {
            CtlFixture.Run r = c.f.run("", "list", "-f", "json", "-t");
            assertThat(r.rc()).as(r.err()).isZero();
            assertThat(r.out().lines().toList()).hasSize(2);
            assertThat(r.out().lines().findFirst().orElseThrow()).matches("\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d");
            assertThat(r.out()).contains("{\"Cluster\": \"batman\", \"Member\": \"postgresql0\", ");
            assertThat(c.f.run("", "list", "-f", "xml").err()).contains("--format must be one of pretty, tsv, json, yaml");
        }
    }
}
