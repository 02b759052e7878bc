package io.pgha.agent.ctl;

import io.pgha.agent.ctl.Output.Format;
import io.pgha.spi.DcsSession;
import java.io.PrintWriter;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

/** {@code pghactl list [CLUSTER ...] [-e] [-t] [-f FORMAT] [-W | -w SECONDS]}: the members table. */
@Command(name = "list", mixinStandardHelpOptions = true, versionProvider = Ctl.Version.class,
        description = "List the members of the cluster.")
final class ListCommand implements Callable<Integer> {
    @ParentCommand
    Ctl ctl;
    @Parameters(arity = "0..*", paramLabel = "CLUSTER", description = "clusters to list (default: the configuration's scope)")
    List<String> clusters = new ArrayList<>();
    @Option(names = {"-e", "--extended"}, description = "show the Pending restart, Scheduled restart and Tags columns always")
    boolean extended;
    @Option(names = {"-t", "--timestamp"}, description = "print a timestamp first")
    boolean timestamp;
    @Option(names = {"-f", "--format"}, paramLabel = "FORMAT", defaultValue = "pretty", description = "pretty, tsv, json or yaml")
    String format;
    @Option(names = "-W", description = "refresh every 2 seconds until interrupted")
    boolean watchForever;
    @Option(names = {"-w", "--watch"}, paramLabel = "SECONDS", description = "refresh every SECONDS until interrupted")
    Double watchInterval;
    @Option(names = "--count", hidden = true, defaultValue = "0", description = "stop after this many refreshes (tests)")
    int count;

    @Override
    public Integer call() throws InterruptedException {
        return show(ctl, clusters, Output.Format.parse(format), extended, timestamp, watchForever, watchInterval, count);
    }

    /** list and topology: every cluster, once or every interval. */
    static int show(Ctl ctl, List<String> clusters, Format fmt, boolean extended, boolean timestamp, boolean watchForever,
                    Double watchInterval, int count) throws InterruptedException {
        PrintWriter out = ctl.out();
        List<String> names = clusters.isEmpty() ? java.util.Collections.singletonList(null) : clusters;
        try {
            double interval = watchInterval != null ? watchInterval : watchForever ? 2 : 0;
            int shown = 0;
            do {
                if (shown > 0) {
                    Thread.sleep((long) (interval * 1000));
                    out.println();
                }
                if (timestamp) {
                    out.println(timestamp());
                }
                for (String cluster : names) {
                    DcsSession s = ctl.session(cluster);
                    try {
                        out.print(MemberTable.render(ctl.read(s, cluster), extended, fmt));
                    } finally {
                        s.close();
                    }
                }
                out.flush();
                shown++;
            } while (interval > 0 && (count == 0 || shown < count));
            return 0;
        } finally {
            ctl.close();
        }
    }

    /** patronictl's {@code timestamp(0)}: local time to the second. */
    static String timestamp() {
        return LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss"));
    }
}
