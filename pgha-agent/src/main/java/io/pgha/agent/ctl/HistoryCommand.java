package io.pgha.agent.ctl;

import io.pgha.ClusterView.HistoryEntry;
import io.pgha.spi.DcsSession;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

/** {@code pghactl history [CLUSTER] [-f FORMAT]}: the timelines that ended, and why. */
@Command(name = "history", mixinStandardHelpOptions = true, versionProvider = Ctl.Version.class,
        description = "Show the timeline history.")
final class HistoryCommand implements Callable<Integer> {
    @ParentCommand
    Ctl ctl;
    @Parameters(arity = "0..1", paramLabel = "CLUSTER")
    String cluster;
    @Option(names = {"-f", "--format"}, paramLabel = "FORMAT", defaultValue = "pretty", description = "pretty, tsv, json or yaml")
    String format;

    @Override
    public Integer call() {
        Output.Format fmt = Output.Format.parse(format);
        DcsSession s = ctl.session(cluster);
        try {
            List<List<Object>> rows = new ArrayList<>();
            for (HistoryEntry h : ctl.read(s, cluster).view().history()) {
                rows.add(List.of(h.timeline(), h.lsn().value(), h.reason(), h.timestamp().orElse(""), h.newLeader().orElse("")));
            }
            ctl.out().print(Output.format(List.of("TL", "LSN", "Reason", "Timestamp", "New Leader"), rows, Set.of("TL", "LSN"), fmt,
                    "", "\t"));
            return 0;
        } finally {
            s.close();
            ctl.close();
        }
    }
}
