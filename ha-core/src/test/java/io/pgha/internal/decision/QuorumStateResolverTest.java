package io.pgha.internal.decision;

import static org.assertj.core.api.Assertions.assertThat;

import io.pgha.internal.decision.QuorumStateResolver.Kind;
import io.pgha.internal.decision.QuorumStateResolver.Transition;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/**
 * The port of Patroni's {@code QuorumStateResolver} against Patroni's own: {@code quorum-cases.txt}
 * holds what Patroni's resolver answers for every state its {@code tests/test_quorum.py} hands it
 * and for a fixed sample of random states (written by {@code patroni_quorum_cases.py}, beside it).
 */
class QuorumStateResolverTest {

    @Test
    void everyStateResolvesToTheTransitionsPatronisResolverOrders() throws Exception {
        List<String> mismatches = new ArrayList<>();
        int cases = 0;
        int withTransitions = 0;
        try (BufferedReader r = new BufferedReader(new InputStreamReader(
                QuorumStateResolverTest.class.getResourceAsStream("quorum-cases.txt"), StandardCharsets.UTF_8))) {
            for (String line; (line = r.readLine()) != null; ) {
                if (line.isBlank()) {
                    continue;
                }
                cases++;
                String[] parts = line.split(" => ", -1);
                String[] in = parts[0].split("\\|", -1);
                String expected = parts[1];
                String actual;
                try {
                    actual = new QuorumStateResolver(in[0], Integer.parseInt(in[1]), names(in[2]), Integer.parseInt(in[3]), names(in[4]),
                            Integer.parseInt(in[5]), names(in[6]), Integer.parseInt(in[7]), in[8]).transitions().stream()
                            .map(t -> t.kind().name().toLowerCase(Locale.ROOT) + ":" + t.leader() + ":" + t.num() + ":" + String.join(",", t.names()))
                            .collect(Collectors.joining(";"));
                } catch (QuorumStateResolver.QuorumError e) {
                    actual = "ERROR";
                }
                if (!expected.isEmpty() && !expected.equals("ERROR")) {
                    withTransitions++;
                }
                if (!actual.equals(expected)) {
                    mismatches.add(parts[0] + "\n    patroni: " + expected + "\n    pgha:    " + actual);
                }
            }
        }
        assertThat(cases).as("cases read").isGreaterThan(4000);
        assertThat(withTransitions).as("cases with transitions").isGreaterThan(1000);
        assertThat(mismatches).as(mismatches.size() + " of " + cases + " differ").isEmpty();
    }

    @Test
    void addingTwoStandbysToAnEmptySettingNamesThemFirstThenPublishesThemWithQuorumOne() {
        // Patroni's test_1111 shape for three members: the leader alone, two standbys streaming
        List<Transition> first = new QuorumStateResolver("a", 0, Set.of(), 0, Set.of(), 0, Set.of("b", "c"), 1, "a").transitions();
        assertThat(first).containsExactly(new Transition(Kind.SYNC, "a", 1, Set.of("b", "c")),
                new Transition(Kind.RESTART, "a", 0, Set.of()));
        List<Transition> second = new QuorumStateResolver("a", 0, Set.of(), 1, Set.of("b", "c"), 1, Set.of("b", "c"), 1, "a").transitions();
        assertThat(second).containsExactly(new Transition(Kind.QUORUM, "a", 1, Set.of("b", "c")));
    }

    @Test
    void everyIntermediateStateKeepsAcknowledgingAndPromotingSetsIntersecting() {
        // from the steady state of five members (ANY 1 of 4, quorum 3) to synchronous_node_count 3 and back
        String[] voters = {"b", "c", "d", "e"};
        int quorum = 3;
        int numsync = 1;
        Set<String> v = new TreeSet<>(Arrays.asList(voters));
        for (int wanted : new int[] {3, 1}) {
            for (int step = 0; step < 10; step++) {
                List<Transition> ts = new QuorumStateResolver("a", quorum, v, numsync, v, numsync, v, wanted, "a").transitions();
                if (ts.isEmpty()) {
                    break;
                }
                Transition t = ts.get(0);
                if (t.kind() == Kind.SYNC) {
                    numsync = t.num();
                } else {
                    quorum = t.num();
                }
                // N = voters + leader: an acknowledging set has numsync + 1 members, a promoting set quorum + 1
                assertThat(v.size() + 1).as("after " + t).isLessThanOrEqualTo(quorum + numsync + 1);
            }
            assertThat(numsync).isEqualTo(wanted);
            assertThat(quorum).isEqualTo(v.size() - wanted);
        }
    }

    private static Set<String> names(String csv) {
        return csv.isEmpty() ? Set.of() : new TreeSet<>(Arrays.asList(csv.split(",")));
    }
}
