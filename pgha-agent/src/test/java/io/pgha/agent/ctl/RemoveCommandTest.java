package io.pgha.agent.ctl;

import static org.assertj.core.api.Assertions.assertThat;

import io.pgha.spi.ClusterKey;
import java.io.IOException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** pghactl remove asks patronictl's three questions on standard input before it deletes anything. */
class RemoveCommandTest {
    private CtlFixture f;

    @BeforeEach
    void cluster() throws IOException {
        f = new CtlFixture("batman")
                .key(ClusterKey.INITIALIZE, "7277694203142172922")
                .key(ClusterKey.CONFIG, "{\"ttl\":30}")
                .member("postgresql0", Entries.primary(5432, 8008).toString(), true)
                .member("postgresql1", Entries.replica(5433, 8009).toString(), false);
    }

    @AfterEach
    void close() throws IOException {
        f.close();
    }

    @Test
    void theClusterNameThenTheSentenceThenTheLeadersNameRemoveEveryKey() {
        CtlFixture.Run r = f.run("batman\nYes I am aware\npostgresql0\n", "remove", "batman");
        assertThat(r.rc()).as(r.err()).isZero();
        assertThat(r.out()).startsWith("+ Cluster: batman (7277694203142172922) ")
                .contains("Please confirm the cluster name to remove: \n")
                .contains("You are about to remove all information in DCS for batman, please type: \"Yes I am aware\": \n")
                .contains("This cluster currently is healthy. Please specify the leader name to continue: \n");
        assertThat(f.snapshot().isEmpty()).isTrue();
    }

    @Test
    void anotherClusterNameRemovesNothing() {
        CtlFixture.Run r = f.run("robin\nYes I am aware\npostgresql0\n", "remove", "batman");
        assertThat(r.rc()).isEqualTo(1);
        assertThat(r.err()).contains("Cluster names specified do not match");
        assertThat(f.value(ClusterKey.INITIALIZE)).contains("7277694203142172922");
    }

    @Test
    void theSentenceMustBeTypedExactly() {
        CtlFixture.Run r = f.run("batman\nyes i am aware\npostgresql0\n", "remove", "batman");
        assertThat(r.rc()).isEqualTo(1);
        assertThat(r.err()).contains("You did not exactly type \"Yes I am aware\"");
        assertThat(f.snapshot().members()).hasSize(2);
    }

    @Test
    void anotherMembersNameThanTheLeadersRemovesNothing() {
        CtlFixture.Run r = f.run("batman\nYes I am aware\npostgresql1\n", "remove", "batman");
        assertThat(r.rc()).isEqualTo(1);
        assertThat(r.err()).contains("You did not specify the current leader of the cluster");
        assertThat(f.value(ClusterKey.LEADER)).contains("postgresql0");
    }

    @Test
    void anEmptyAnswerIsAskedAgainAndAnInputThatEndsAborts() {
        CtlFixture.Run r = f.run("\nbatman\n", "remove", "batman");
        assertThat(r.rc()).isEqualTo(1);
        assertThat(r.out().split("Please confirm the cluster name to remove: ", -1)).hasSize(3);
        assertThat(r.err()).contains("Aborted!");
        assertThat(f.snapshot().isEmpty()).isFalse();
    }

    @Test
    void aClusterWithoutALeaderIsRemovedAfterTwoAnswers() throws IOException {
        try (CtlFixture g = new CtlFixture("robin").key(ClusterKey.INITIALIZE, "1").key(ClusterKey.CONFIG, "{}")) {
            CtlFixture.Run r = g.run("robin\nYes I am aware\n", "remove", "robin");
            assertThat(r.rc()).as(r.err()).isZero();
            assertThat(r.out()).doesNotContain("leader name");
            assertThat(g.snapshot().isEmpty()).isTrue();
        }
    }
}
