package io.pgha.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * What one agent process holds, read from outside it as an operator would: {@code /proc} for RSS,
 * threads, open descriptors and TCP connections to the store, and {@code jcmd} for the heap after a
 * full collection (which a leak survives and garbage does not).
 *
 * @param rssKib             resident set size
 * @param rssAnonKib         of it, anonymous memory (heap, stacks, malloc, code cache): what a leak grows
 * @param rssFileKib         of it, file pages (the jar, the class-data archive, libjvm.so): page cache that grows as more
 *                           of a mapped file is touched, shared with other processes, not a leak
 * @param nativeCommittedKib what the JVM's native memory tracking shows committed per category ("Java Heap", "Class",
 *                           "Thread", "Code", ...), when the agent runs with {@code -XX:NativeMemoryTracking=summary}
 *                           ({@code PGHA_JAVA_OPTS}); empty otherwise
 * @param heapAfterGcKib     heap in use right after {@code GC.run}, or -1 if jcmd could not say
 * @param threads            the process's threads
 * @param fds                open file descriptors
 * @param storeConnections   established TCP connections to the store's port
 * @param threadNames        how many threads bear each name, digits removed ({@code pgha-n1-rest-3} counts as
 *                           {@code pgha-n-rest-}; the kernel keeps 15 characters of a name): what grew, when threads grow
 */
record AgentResources(long rssKib, long rssAnonKib, long rssFileKib, long heapAfterGcKib, int threads, int fds, int storeConnections,
                      java.util.SortedMap<String, Integer> threadNames, java.util.SortedMap<String, Long> nativeCommittedKib) {
    /** One category of {@code VM.native_memory summary}: "-  Java Heap (reserved=65536KB, committed=16384KB)". */
    private static final Pattern NMT = Pattern.compile("(?m)^-\\s+([A-Za-z][A-Za-z ]*?)\\s+\\(reserved=\\d+KB, committed=(\\d+)KB\\)");
    private static final Pattern USED = Pattern.compile("(?:def new generation|tenured generation)\\s+total \\d+K, used (\\d+)K");

    /** Samples process {@code pid}; {@code storePort} is the port its store connections go to. Empty if it exited. */
    static Optional<AgentResources> of(long pid, int storePort) {
        try {
            Path proc = Path.of("/proc", Long.toString(pid));
            String status = Files.readString(proc.resolve("status"));
            long rss = field(status, "VmRSS:");
            int threads = (int) field(status, "Threads:");
            Set<Long> sockets = new HashSet<>();
            int fds = 0;
            try (Stream<Path> s = Files.list(proc.resolve("fd"))) {
                for (Path fd : (Iterable<Path>) s::iterator) {
                    fds++;
                    try {
                        String target = Files.readSymbolicLink(fd).toString();
                        if (target.startsWith("socket:[")) {
                            sockets.add(Long.parseLong(target.substring(8, target.length() - 1)));
                        }
                    } catch (IOException e) {
                        // closed while listing
                    }
                }
            }
            int store = connectionsTo(storePort, sockets, proc.resolve("net/tcp")) + connectionsTo(storePort, sockets, proc.resolve("net/tcp6"));
            java.util.SortedMap<String, Integer> names = new java.util.TreeMap<>();
            try (Stream<Path> tasks = Files.list(proc.resolve("task"))) {
                for (Path task : (Iterable<Path>) tasks::iterator) {
                    try {
                        names.merge(Files.readString(task.resolve("comm")).strip().replaceAll("[0-9]+", ""), 1, Integer::sum);
                    } catch (IOException e) {
                        // the thread ended while listing
                    }
                }
            }
            return Optional.of(new AgentResources(rss, field(status, "RssAnon:"), field(status, "RssFile:"), heapAfterGc(pid), threads, fds,
                    store, names, nativeMemory(pid)));
        } catch (IOException | RuntimeException e) {
            return Optional.empty();
        }
    }

    private static long field(String status, String name) {
        for (String line : status.split("\n")) {
            if (line.startsWith(name)) {
                return Long.parseLong(line.substring(name.length()).trim().split("\\s+")[0]);
            }
        }
        throw new IllegalStateException("no " + name + " in /proc/<pid>/status");
    }

    /** Established connections among {@code sockets} whose remote port is {@code port}. */
    private static int connectionsTo(int port, Set<Long> sockets, Path table) throws IOException {
        if (!Files.exists(table)) {
            return 0;
        }
        String hexPort = String.format(Locale.ROOT, ":%04X", port);
        int n = 0;
        List<String> lines = Files.readAllLines(table);
        for (String line : lines.subList(1, lines.size())) {
            String[] f = line.trim().split("\\s+");
            // sl local rem st tx:rx tr:when retrnsmt uid timeout inode
            if (f.length > 9 && f[2].endsWith(hexPort) && f[3].equals("01") && sockets.contains(Long.parseLong(f[9]))) {
                n++;
            }
        }
        return n;
    }

    /** Committed KiB per native-memory-tracking category; empty when the JVM does not track. */
    static java.util.SortedMap<String, Long> nativeMemory(long pid) {
        java.util.SortedMap<String, Long> out = new java.util.TreeMap<>();
        String jcmd = Path.of(System.getProperty("java.home"), "bin", "jcmd").toString();
        run(jcmd, Long.toString(pid), "VM.native_memory", "summary").ifPresent(text -> {
            Matcher m = NMT.matcher(text);
            while (m.find()) {
                out.put(m.group(1).strip(), Long.parseLong(m.group(2)));
            }
        });
        return out;
    }

    /** Heap in use after a full collection (young plus old generation of the serial collector), by jcmd. */
    private static long heapAfterGc(long pid) {
        String jcmd = Path.of(System.getProperty("java.home"), "bin", "jcmd").toString();
        if (run(jcmd, Long.toString(pid), "GC.run").isEmpty()) {
            return -1;
        }
        Optional<String> info = run(jcmd, Long.toString(pid), "GC.heap_info");
        if (info.isEmpty()) {
            return -1;
        }
        Matcher m = USED.matcher(info.get());
        long used = 0;
        boolean any = false;
        while (m.find()) {
            used += Long.parseLong(m.group(1));
            any = true;
        }
        return any ? used : -1;
    }

    private static Optional<String> run(String... cmd) {
        try {
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
            if (!p.waitFor(30, TimeUnit.SECONDS) || p.exitValue() != 0) {
                p.destroyForcibly();
                return Optional.empty();
            }
            return Optional.of(out);
        } catch (IOException e) {
            return Optional.empty();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return Optional.empty();
        }
    }
}
