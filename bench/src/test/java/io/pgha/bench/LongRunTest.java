package io.pgha.bench;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The long run's short version (bench/long-run.sh runs the hour): switchovers, a kill -9 and a
 * restart under a write load, while the agents that live through it all keep their threads, open
 * descriptors and store connections where they were, and no acknowledged write is lost. A leak of
 * one thread, descriptor or connection per switchover or failover shows here within minutes; the
 * slow ones need the hour.
 */
class LongRunTest {
    /** The largest pool of one name an agent has: the REST server's and HttpClient's four workers, with one to spare. */
    private static final int MAX_THREADS_OF_ONE_NAME = 6;
    /** An idle agent has about 42 threads and a leader about 53 (measured): a ceiling, not a target. */
    private static final int MAX_THREADS = 64;

    @Test
    void agentsThatLiveThroughSwitchoversAndAFailoverKeepTheirThreadsDescriptorsAndStoreConnectionsAndNoWriteIsLost()
            throws Exception {
        // the baseline starts after two switchovers and a failover: the pools every role fills are full by then
        LongRun.Report r = LongRun.run(new LongRun.Plan(Duration.ofSeconds(110), Duration.ofSeconds(8), Duration.ofSeconds(35),
                Duration.ofSeconds(10), Duration.ofSeconds(40), Duration.ofSeconds(20)), System.out);
        LongRun.print(r, System.out);

        assertThat(r.lost()).as("acknowledged writes missing on the final primary").isEmpty();
        assertThat(r.acknowledged()).isPositive();
        assertThat(r.switchovers()).isGreaterThanOrEqualTo(3);
        assertThat(r.kills()).isGreaterThanOrEqualTo(1);
        assertThat(r.storeLast().watchers()).as("etcd's watchers (a killed agent's are gone with its connection)")
                .isEqualTo(r.storeFirst().watchers());
        assertThat(r.storeLast().watchStreams()).as("etcd's watch streams").isEqualTo(r.storeFirst().watchStreams());
        for (String member : LongRun.LIVE_THROUGHOUT) {
            List<LongRun.Sample> all = r.of(member, 0, Long.MAX_VALUE);
            LongRun.Sample last = all.get(all.size() - 1);
            // the baseline: every sample from 40 s on but the last (events delay samples, so no fixed window)
            List<LongRun.Sample> first = all.stream().filter(s -> s.atSeconds() >= 40 && s != last).toList();
            assertThat(first).as(member + " sampled in the baseline window").isNotEmpty();
            assertThat(all).as(member + " lived the whole run").allSatisfy(s -> assertThat(s.pid()).isEqualTo(all.get(0).pid()));
            long fds = first.stream().mapToLong(s -> s.resources().fds()).max().orElseThrow();
            long connections = first.stream().mapToLong(s -> s.resources().storeConnections()).max().orElseThrow();
            long heap = first.stream().mapToLong(s -> s.resources().heapAfterGcKib()).max().orElseThrow();
            // threads: the JDK's and the libraries' cached pools (process reaper, gRPC executor, HttpClient workers) come
            // and go, and a member starts its lease, guard and fence threads when it first leads; a thread leaked per
            // switchover or failover still piles up under one name (digits removed) within the run's events
            assertThat(all).as(member + " threads by name").allSatisfy(s -> {
                assertThat(s.resources().threadNames()).as("at %d s", s.atSeconds()).allSatisfy((name, count) ->
                        assertThat(count).as("threads named %s at %d s", name, s.atSeconds()).isLessThanOrEqualTo(MAX_THREADS_OF_ONE_NAME));
                assertThat(s.resources().threads()).as("threads at %d s", s.atSeconds()).isLessThanOrEqualTo(MAX_THREADS);
            });
            assertThat(last.resources().fds()).as(member + " open descriptors (first %s, last %s)", fds, last).isLessThanOrEqualTo((int) fds + 2);
            assertThat(last.resources().storeConnections()).as(member + " store connections").isPositive()
                    .isLessThanOrEqualTo((int) connections);
            assertThat(last.resources().heapAfterGcKib()).as(member + " heap after GC, KiB").isPositive()
                    .isLessThanOrEqualTo(heap + 8 * 1024);
        }
    }
}
