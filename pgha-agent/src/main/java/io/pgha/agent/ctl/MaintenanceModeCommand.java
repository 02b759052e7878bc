package io.pgha.agent.ctl;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.pgha.ClusterView;
import io.pgha.ClusterView.Member;
import io.pgha.PghaException;
import io.pgha.spi.DcsSession;
import java.io.PrintWriter;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

/** What pause and resume share: {@code pause} in the dynamic configuration, and {@code --wait} for every member to report it. */
abstract class MaintenanceModeCommand implements Callable<Integer> {
    @ParentCommand
    Ctl ctl;
    @Parameters(arity = "0..1", paramLabel = "CLUSTER")
    String cluster;
    @Option(names = "--wait", description = "wait until every member reports it")
    boolean await;

    abstract boolean pause();

    @Override
    public Integer call() throws InterruptedException {
        PrintWriter out = ctl.out();
        DcsSession s = ctl.session(cluster);
        try {
            ClusterView c = ctl.read(s, cluster).view();
            boolean paused = c.paused();
            if (paused == pause()) {
                out.println("Cluster is " + (pause() ? "already paused" : "not paused"));
                return 1;
            }
            ObjectNode patch = Ctl.JSON.createObjectNode();
            if (pause()) {
                patch.put("pause", true);
            } else {
                patch.putNull("pause");
            }
            DynamicConfigEditing.patch(ctl, s, c, patch);
            out.println(pause() ? "Success: cluster management is paused" : "Success: cluster management is resumed");
            if (await) {
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
                while (System.nanoTime() < deadline) {
                    boolean all = true;
                    for (Member m : ctl.read(s, cluster).view().members().values()) {
                        JsonNode st = Ctl.JSON.readTree(ctl.rest(m, "GET", "/patroni", null).body());
                        all &= st.path("pause").asBoolean(false) == pause();
                    }
                    if (all) {
                        return 0;
                    }
                    Thread.sleep(500);
                }
                out.println("not every member reports it yet");
                return 1;
            }
            return 0;
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new PghaException("a member answered with something that is not JSON");
        } finally {
            s.close();
            ctl.close();
        }
    }
}
