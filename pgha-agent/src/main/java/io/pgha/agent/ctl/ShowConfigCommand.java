package io.pgha.agent.ctl;

import io.pgha.spi.DcsSession;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

/** {@code pghactl show-config [CLUSTER]}: the dynamic configuration as YAML. */
@Command(name = "show-config", mixinStandardHelpOptions = true, versionProvider = Ctl.Version.class,
        description = "Show the cluster's dynamic configuration.")
final class ShowConfigCommand implements Callable<Integer> {
    @ParentCommand
    Ctl ctl;
    @Parameters(arity = "0..1", paramLabel = "CLUSTER")
    String cluster;

    @Override
    public Integer call() {
        DcsSession s = ctl.session(cluster);
        try {
            ctl.out().print(DynamicConfigEditing.toYaml(ctl.read(s, cluster).dynamicConfig()));
            return 0;
        } finally {
            s.close();
            ctl.close();
        }
    }
}
