package io.pgha.spi.support;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.pgha.ConfigurationException;
import io.pgha.spi.ClusterKey;
import io.pgha.spi.ClusterSnapshot;
import io.pgha.spi.DcsEntry;
import io.pgha.spi.DcsListener;
import io.pgha.spi.SessionSpec;
import io.pgha.spi.support.SnapshotBuilder.Placement;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.LoggerFactory;

/** The store implementers' toolkit, on its own (the store modules' tests use it against real stores). */
class StoreSupportTest {
    @Test
    void aRootedLayoutNormalizesTheNamespaceLikePatroni() {
        assertThat(KeyLayout.normalizeNamespace("service")).isEqualTo("/service");
        assertThat(KeyLayout.normalizeNamespace("/service/")).isEqualTo("/service");
        assertThat(KeyLayout.normalizeNamespace("//a//b/")).isEqualTo("/a/b");
        assertThat(KeyLayout.normalizeNamespace("/")).isEqualTo("");
        KeyLayout l = KeyLayout.rooted("service", "main");
        assertThat(l.prefix()).isEqualTo("/service/main/");
        assertThat(l.clusterNode()).isEqualTo("/service/main");
        assertThat(l.membersNode()).isEqualTo("/service/main/members");
        assertThat(l.key(ClusterKey.LEADER)).isEqualTo("/service/main/leader");
        assertThat(l.member("n1")).isEqualTo("/service/main/members/n1");
        assertThat(KeyLayout.rooted("/", "main").prefix()).isEqualTo("/main/");
    }

    @Test
    void anUnrootedLayoutHasNoLeadingSlash() {
        assertThat(KeyLayout.unrooted("service", "main").prefix()).isEqualTo("service/main/");
        assertThat(KeyLayout.unrooted("/a/b/", "main").key("config")).isEqualTo("a/b/main/config");
        assertThat(KeyLayout.unrooted("/", "main").prefix()).isEqualTo("main/");
    }

    @Test
    void relativePathsStayInsideTheClusterAndItsScope() {
        KeyLayout l = KeyLayout.rooted("/service", "a");
        assertThat(l.relative("/service/a/members/n1")).contains("members/n1");
        assertThat(l.relative("/service/a/")).isEmpty();
        assertThat(l.relative("/service/a")).isEmpty();
        assertThat(l.relative("/service/a-other/leader")).isEmpty();
        assertThat(l.relative(null)).isEmpty();
        assertThatThrownBy(() -> KeyLayout.rooted("/service", "a/b")).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void utf8IsStrict() {
        assertThat(StrictUtf8.decode("{\"x\":\"é\"}".getBytes(StandardCharsets.UTF_8))).contains("{\"x\":\"é\"}");
        assertThat(StrictUtf8.decode(new byte[] {(byte) 0xFE, (byte) 0xFF})).isEmpty();
        assertThat(StrictUtf8.decode(null)).contains("");
        assertThat(StrictUtf8.decode(new byte[0])).contains("");
        byte[] withPrefix = "ab\u00e9".getBytes(StandardCharsets.UTF_8);
        assertThat(StrictUtf8.decode(withPrefix, 2, withPrefix.length - 2)).contains("é");
        assertThat(StrictUtf8.encode("é")).containsExactly((byte) 0xC3, (byte) 0xA9);
    }

    @Test
    void aSnapshotTakesTheLayoutsKeysAndMembersAndSaysWhatItLeftOut() {
        SnapshotBuilder b = new SnapshotBuilder();
        assertThat(b.add("leader", "n1".getBytes(StandardCharsets.UTF_8), 7)).isEqualTo(Placement.KEY);
        assertThat(b.add("members/n1", "{}", 5)).isEqualTo(Placement.MEMBER);
        assertThat(b.add("config", new byte[] {(byte) 0xFF}, 3)).isEqualTo(Placement.NOT_TEXT);
        assertThat(b.add("optime/leader", "1", 3)).isEqualTo(Placement.NOT_IN_LAYOUT);
        assertThat(b.add("members/", "{}", 3)).isEqualTo(Placement.NOT_IN_LAYOUT);
        assertThat(b.add("members/a/b", "{}", 3)).isEqualTo(Placement.NOT_IN_LAYOUT);
        assertThat(b.add("sync_standby", new byte[] {(byte) 0xFF}, 3)).as("the layout decides first").isEqualTo(Placement.NOT_IN_LAYOUT);
        assertThat(b.add("initialize", (byte[]) null, 2)).isEqualTo(Placement.KEY);
        ClusterSnapshot s = b.build(42);
        assertThat(s.revision()).isEqualTo(42);
        assertThat(s.leaderName()).contains("n1");
        assertThat(s.get(ClusterKey.LEADER)).contains(new DcsEntry("n1", 7));
        assertThat(s.get(ClusterKey.INITIALIZE)).contains(new DcsEntry("", 2));
        assertThat(s.get(ClusterKey.CONFIG)).isEmpty();
        assertThat(s.members()).containsOnlyKeys("n1");
        assertThat(SnapshotBuilder.memberName("members/n1")).contains("n1");
        assertThat(SnapshotBuilder.memberName("leader")).isEmpty();
    }

    @Test
    void aGuardedListenerKeepsFailuresOutAndHearsNothingOnceClosed() {
        List<String> heard = new CopyOnWriteArrayList<>();
        DcsListeners listeners = new DcsListeners();
        GuardedListener throwing = listeners.add(new DcsListener() {
            @Override
            public void clusterChanged(Optional<String> path) {
                throw new IllegalStateException("listener bug");
            }

            @Override
            public void leaseLost(String reason) {
                throw new IllegalStateException("listener bug");
            }
        });
        GuardedListener recording = listeners.add(new DcsListener() {
            @Override
            public void clusterChanged(Optional<String> path) {
                heard.add("changed " + path.orElse("?"));
            }

            @Override
            public void leaseLost(String reason) {
                heard.add("lost " + reason);
            }
        });
        listeners.leaseLost("expired");
        listeners.clusterChanged(Optional.empty());
        recording.clusterChanged(Optional.of("leader"));
        assertThat(heard).containsExactly("lost expired", "changed ?", "changed leader");
        assertThat(throwing.isClosed()).isFalse();

        recording.close();
        recording.close();
        assertThat(listeners.size()).isEqualTo(1);
        listeners.leaseLost("again");
        recording.leaseLost("directly");
        assertThat(heard).hasSize(3);
        listeners.closeAll();
        assertThat(listeners.size()).isZero();
        assertThat(throwing.isClosed()).isTrue();
    }

    @Test
    void warningsAreLoggedOncePerSubjectUpToTheCap() {
        WarnOnce w = new WarnOnce(LoggerFactory.getLogger(StoreSupportTest.class), 2);
        assertThat(w.warn("a", "first {}", "a")).isTrue();
        assertThat(w.warn("a", "again {}", "a")).isFalse();
        assertThat(w.warn("b", "first b")).isTrue();
        assertThat(w.warn("c", "past the cap")).isFalse();
    }

    @Test
    void sessionChecksNameTheRule() {
        SessionSpec observer = SessionSpec.observer("s", Duration.ofSeconds(1));
        assertThatThrownBy(() -> SessionChecks.requireMember(observer)).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("observer");
        assertThat(SessionChecks.requireMember(SessionSpec.member("s", "m", Duration.ofSeconds(3), Duration.ofSeconds(1))))
                .isEqualTo("m");
        for (ClusterKey k : List.of(ClusterKey.LEADER, ClusterKey.STATUS)) {
            assertThatThrownBy(() -> SessionChecks.requireVersioned(k)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining(k.path());
        }
        assertThat(SessionChecks.requireVersioned(ClusterKey.CONFIG)).isEqualTo(ClusterKey.CONFIG);
        assertThatThrownBy(() -> SessionChecks.requireVersioned(null)).isInstanceOf(NullPointerException.class);
    }

    @Test
    void theWriteRevisionNeverMovesBack() {
        WriteRevision r = new WriteRevision();
        assertThat(r.get()).isZero();
        r.wrote(9);
        r.wrote(4);
        assertThat(r.get()).isEqualTo(9);
    }

    @Test
    void aFileSettingMustBeAReadableFile(@TempDir Path dir) throws Exception {
        Path f = Files.writeString(dir.resolve("ca.pem"), "x");
        assertThat(ReadableFiles.require("cacert", f)).isEqualTo(f);
        assertThatThrownBy(() -> ReadableFiles.require("cacert", dir.resolve("missing.pem")))
                .isInstanceOf(ConfigurationException.class).hasMessageStartingWith("cacert: cannot read");
        assertThatThrownBy(() -> ReadableFiles.require("cacert", dir)).isInstanceOf(ConfigurationException.class);
        assertThatThrownBy(() -> ReadableFiles.require("cacert", null)).isInstanceOf(NullPointerException.class)
                .hasMessage("cacert");
    }

    @Test
    void threadsAreNamedDaemons() throws Exception {
        Thread a = DaemonThreads.factory("pgha-x").newThread(() -> { });
        Thread b = DaemonThreads.factory("pgha-x").newThread(() -> { });
        assertThat(a.isDaemon()).isTrue();
        assertThat(a.getName()).isEqualTo("pgha-x-1");
        assertThat(b.getName()).isEqualTo("pgha-x-1");
        List<String> ran = new ArrayList<>();
        Thread t = DaemonThreads.thread("pgha-watch", () -> ran.add(Thread.currentThread().getName()));
        assertThat(t.isDaemon()).isTrue();
        t.start();
        t.join();
        assertThat(ran).containsExactly("pgha-watch");
    }
}
