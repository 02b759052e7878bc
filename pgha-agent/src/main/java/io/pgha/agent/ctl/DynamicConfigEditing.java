package io.pgha.agent.ctl;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.pgha.ClusterView;
import io.pgha.ClusterView.Member;
import io.pgha.ConfigurationException;
import io.pgha.DynamicConfigCheck;
import io.pgha.PghaException;
import io.pgha.spi.ClusterKey;
import io.pgha.spi.ClusterSnapshot;
import io.pgha.spi.DcsEntry;
import io.pgha.spi.DcsSession;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.snakeyaml.engine.v2.api.Dump;
import org.snakeyaml.engine.v2.api.DumpSettings;
import org.snakeyaml.engine.v2.api.Load;
import org.snakeyaml.engine.v2.api.LoadSettings;
import org.snakeyaml.engine.v2.common.FlowStyle;
import org.snakeyaml.engine.v2.exceptions.YamlEngineException;

/**
 * The dynamic configuration ({@code config} key) as edit-config, pause and resume change it: the
 * {@code -s}/{@code -p} changes, YAML documents to merge or to replace with, the one check every
 * result passes ({@link DynamicConfigCheck#problems}), the diff shown before asking, and the writes.
 */
final class DynamicConfigEditing {
    private DynamicConfigEditing() {
    }

    // ------------------------------------------------------------------ building the new document

    /**
     * The patch that {@code -s KEY=VALUE} and {@code -p NAME=VALUE} describe, as patronictl reads them:
     * dotted keys nest (except below {@code postgresql.parameters}, where a name may hold dots), the
     * value is YAML ({@code 10}, {@code true}, {@code 'text'}), and {@code null} deletes the key.
     */
    static ObjectNode setsPatch(List<String> sets, List<String> pgSets) {
        ObjectNode patch = Ctl.JSON.createObjectNode();
        for (String kv : sets) {
            put(patch, kv, "");
        }
        for (String kv : pgSets) {
            put(patch, kv.stripLeading(), "postgresql.parameters.");
        }
        return patch;
    }

    private static void put(ObjectNode patch, String kv, String prefix) {
        int eq = kv.indexOf('=');
        if (eq <= 0) {
            throw new PghaException("Invalid parameter setting " + kv);
        }
        List<String> path = new ArrayList<>(Arrays.asList((prefix + kv.substring(0, eq).strip()).split("\\.", -1)));
        if (path.size() > 3 && path.get(0).equals("postgresql") && path.get(1).equals("parameters")) {
            // PostgreSQL settings do not nest, but their names may hold dots (auto_explain.log_min_duration)
            String name = String.join(".", path.subList(2, path.size()));
            path = new ArrayList<>(List.of("postgresql", "parameters", name));
        }
        Object value = new Load(LoadSettings.builder().build()).loadFromString(kv.substring(eq + 1));
        ObjectNode node = patch;
        for (int i = 0; i < path.size() - 1; i++) {
            String k = path.get(i);
            node = node.has(k) && node.get(k).isObject() ? (ObjectNode) node.get(k) : node.putObject(k);
        }
        node.set(path.get(path.size() - 1), Ctl.JSON.valueToTree(value));
    }

    /**
     * A YAML document that must be a mapping (a configuration or a patch), as JSON.
     *
     * @param source what to name in an error: a file name, or standard input
     */
    static ObjectNode fromYaml(String text, String source) {
        Object doc;
        try {
            doc = new Load(LoadSettings.builder().setLabel(source).build()).loadFromString(text);
        } catch (YamlEngineException e) {
            throw new PghaException(source + " is not valid YAML: " + e.getMessage());
        }
        if (doc == null) {
            return Ctl.JSON.createObjectNode();
        }
        JsonNode n = Ctl.JSON.valueToTree(doc);
        if (!n.isObject()) {
            throw new PghaException(source + " must hold a YAML mapping of configuration keys");
        }
        return (ObjectNode) n;
    }

    /** {@code base} with {@code patch} applied, by ha-core's one patch operation (what the REST API does). */
    static ObjectNode patched(ObjectNode base, JsonNode patch) {
        try {
            return (ObjectNode) Ctl.JSON.readTree(DynamicConfigCheck.patched(base.toString(), patch.toString()));
        } catch (com.fasterxml.jackson.core.JsonProcessingException | ConfigurationException e) {
            throw new PghaException("cannot apply the change: " + e.getMessage());
        }
    }

    /**
     * Refuses a configuration a node would not read (a key of the wrong type), naming each key, as
     * {@code PATCH} and {@code PUT /config} refuse it.
     */
    static void validate(ObjectNode config) {
        List<String> problems = DynamicConfigCheck.problems(config.toString());
        if (!problems.isEmpty()) {
            throw new PghaException("invalid configuration: " + String.join("; ", problems));
        }
    }

    /** The configuration as YAML, in the order of its keys (what show-config prints and the editor shows). */
    static String toYaml(JsonNode json) {
        Object plain = Ctl.JSON.convertValue(json, Object.class);
        return new Dump(DumpSettings.builder().setDefaultFlowStyle(FlowStyle.BLOCK).build()).dumpToString(plain);
    }

    // ------------------------------------------------------------------ the diff

    /**
     * {@code before} → {@code after} as Python's {@code difflib.unified_diff} writes it (what
     * patronictl shows): {@code --- }, {@code +++ }, then hunks with three lines of context; empty
     * when they are equal.
     */
    static String unifiedDiff(String before, String after) {
        List<String> a = lines(before);
        List<String> b = lines(after);
        List<int[]> codes = opcodes(a, b);
        StringBuilder sb = new StringBuilder();
        boolean started = false;
        for (List<int[]> group : groups(codes, 3)) {
            if (!started) {
                started = true;
                sb.append("--- \n+++ \n");
            }
            int[] first = group.get(0);
            int[] last = group.get(group.size() - 1);
            sb.append("@@ -").append(range(first[1], last[2])).append(" +").append(range(first[3], last[4])).append(" @@\n");
            for (int[] c : group) {
                if (c[0] == EQUAL) {
                    a.subList(c[1], c[2]).forEach(l -> sb.append(' ').append(l).append('\n'));
                    continue;
                }
                if (c[0] == REPLACE || c[0] == DELETE) {
                    a.subList(c[1], c[2]).forEach(l -> sb.append('-').append(l).append('\n'));
                }
                if (c[0] == REPLACE || c[0] == INSERT) {
                    b.subList(c[3], c[4]).forEach(l -> sb.append('+').append(l).append('\n'));
                }
            }
        }
        return sb.toString();
    }

    private static final int EQUAL = 0;
    private static final int REPLACE = 1;
    private static final int DELETE = 2;
    private static final int INSERT = 3;

    private static List<String> lines(String s) {
        String t = s;
        while (t.endsWith("\n")) {
            t = t.substring(0, t.length() - 1);
        }
        return List.of(t.split("\n", -1));
    }

    /** {tag, i1, i2, j1, j2} over a longest common subsequence of lines. */
    private static List<int[]> opcodes(List<String> a, List<String> b) {
        int n = a.size();
        int m = b.size();
        int[][] lcs = new int[n + 1][m + 1];
        for (int i = n - 1; i >= 0; i--) {
            for (int j = m - 1; j >= 0; j--) {
                lcs[i][j] = a.get(i).equals(b.get(j)) ? lcs[i + 1][j + 1] + 1 : Math.max(lcs[i + 1][j], lcs[i][j + 1]);
            }
        }
        List<int[]> codes = new ArrayList<>();
        int i = 0;
        int j = 0;
        int ci = 0;
        int cj = 0;
        while (i <= n && j <= m) {
            boolean match = i < n && j < m && a.get(i).equals(b.get(j));
            if (match || i == n && j == m) {
                if (ci < i || cj < j) {
                    codes.add(new int[] {ci < i && cj < j ? REPLACE : ci < i ? DELETE : INSERT, ci, i, cj, j});
                }
                if (!match) {
                    break;
                }
                int si = i;
                int sj = j;
                while (i < n && j < m && a.get(i).equals(b.get(j))) {
                    i++;
                    j++;
                }
                codes.add(new int[] {EQUAL, si, i, sj, j});
                ci = i;
                cj = j;
            } else if (j == m || i < n && lcs[i + 1][j] >= lcs[i][j + 1]) {
                i++;
            } else {
                j++;
            }
        }
        return codes;
    }

    /** difflib's {@code get_grouped_opcodes}. */
    private static List<List<int[]>> groups(List<int[]> codes, int n) {
        List<int[]> c = new ArrayList<>();
        codes.forEach(x -> c.add(x.clone()));
        if (c.isEmpty()) {
            c.add(new int[] {EQUAL, 0, 1, 0, 1});
        }
        int[] f = c.get(0);
        if (f[0] == EQUAL) {
            f[1] = Math.max(f[1], f[2] - n);
            f[3] = Math.max(f[3], f[4] - n);
        }
        int[] l = c.get(c.size() - 1);
        if (l[0] == EQUAL) {
            l[2] = Math.min(l[2], l[1] + n);
            l[4] = Math.min(l[4], l[3] + n);
        }
        List<List<int[]>> out = new ArrayList<>();
        List<int[]> group = new ArrayList<>();
        for (int[] x : c) {
            int i1 = x[1];
            int j1 = x[3];
            if (x[0] == EQUAL && x[2] - x[1] > 2 * n) {
                group.add(new int[] {EQUAL, i1, Math.min(x[2], i1 + n), j1, Math.min(x[4], j1 + n)});
                out.add(group);
                group = new ArrayList<>();
                i1 = Math.max(i1, x[2] - n);
                j1 = Math.max(j1, x[4] - n);
            }
            group.add(new int[] {x[0], i1, x[2], j1, x[4]});
        }
        if (!group.isEmpty() && !(group.size() == 1 && group.get(0)[0] == EQUAL)) {
            out.add(group);
        }
        return out;
    }

    private static String range(int start, int stop) {
        int beginning = start + 1;
        int length = stop - start;
        if (length == 1) {
            return String.valueOf(beginning);
        }
        if (length == 0) {
            beginning -= 1;
        }
        return beginning + "," + length;
    }

    // ------------------------------------------------------------------ writing

    /** PATCH /config through the leader's REST API, or a compare-and-set in the store when no API answers. */
    static void patch(Ctl ctl, DcsSession s, ClusterView c, ObjectNode patch) {
        Optional<Member> leader = c.leaderMember().filter(m -> m.apiUrl().isPresent());
        if (leader.isPresent()) {
            HttpResponse<String> r = ctl.rest(leader.get(), "PATCH", "/config", patch.toString());
            if (r.statusCode() != 200) {
                throw new PghaException("the leader refused the change (" + r.statusCode() + "): " + r.body());
            }
            return;
        }
        ClusterSnapshot snap = ctl.snapshot(s);
        DcsEntry current = snap.get(ClusterKey.CONFIG).orElseThrow(() -> new PghaException("the cluster has no dynamic configuration"));
        ObjectNode merged;
        try {
            merged = (ObjectNode) Ctl.JSON.readTree(current.value());
        } catch (Exception e) {
            throw new PghaException("the stored configuration is not JSON");
        }
        merged = patched(merged, patch);
        validate(merged);
        if (!compareAndSet(s, merged, current.version())) {
            throw new PghaException("the configuration changed meanwhile; try again");
        }
    }

    /**
     * Writes {@code config} over the {@code config} key if it still has {@code version} (what
     * patronictl's {@code set_config_value} does); false when someone changed it meanwhile.
     */
    static boolean compareAndSet(DcsSession s, ObjectNode config, long version) {
        try {
            return s.compareAndSet(ClusterKey.CONFIG, config.toString(), version).toCompletableFuture().get(10, TimeUnit.SECONDS);
        } catch (Exception e) {
            throw new PghaException("cannot write the configuration: " + Ctl.cause(e));
        }
    }
}
