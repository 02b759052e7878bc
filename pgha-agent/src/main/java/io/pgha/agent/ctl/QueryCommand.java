package io.pgha.agent.ctl;

import io.pgha.ClusterView.Member;
import io.pgha.PghaException;
import io.pgha.agent.config.AgentConfig;
import io.pgha.agent.config.Secret;
import io.pgha.spi.DcsSession;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.ResultSetMetaData;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

/**
 * {@code pghactl query [CLUSTER] (-c SQL | -f FILE)}: runs SQL on the leader, on a member with a role
 * ({@code -r}; a replica or primary is checked with {@code pg_is_in_recovery()}), or on a named member
 * ({@code -m}), through pgjdbc to the member's {@code conn_url}, and prints the last result as
 * patronictl does (tsv by default). It logs in as {@code -U} (the password from {@code --password}'s
 * prompt, else from the configuration when {@code -U} is its superuser, else {@code PGPASSWORD}), or
 * else as the configuration's {@code postgresql.authentication.superuser}.
 */
@Command(name = "query", mixinStandardHelpOptions = true, versionProvider = Ctl.Version.class,
        description = "Run SQL on the leader, or on a member.")
final class QueryCommand implements Callable<Integer> {
    @ParentCommand
    Ctl ctl;
    @Parameters(arity = "0..1", paramLabel = "CLUSTER")
    String cluster;
    @Option(names = {"-c", "--command"}, paramLabel = "SQL", description = "the SQL to run")
    String command;
    @Option(names = {"-f", "--file"}, paramLabel = "FILE", description = "run the SQL in FILE")
    Path file;
    @Option(names = {"-r", "--role"}, paramLabel = "ROLE",
            description = "on a member with this role: leader, primary, standby-leader, replica, standby, any")
    String role;
    @Option(names = {"-m", "--member"}, paramLabel = "MEMBER", description = "on this member")
    String member;
    @Option(names = {"-U", "--username"}, paramLabel = "USER", description = "log in as USER")
    String username;
    @Option(names = "--password", description = "ask for the password")
    boolean askPassword;
    @Option(names = {"-d", "--dbname"}, paramLabel = "DB", description = "the database (default: the user's name, as libpq)")
    String dbname;
    @Option(names = "--format", paramLabel = "FORMAT", defaultValue = "tsv", description = "pretty, tsv, json or yaml (default: tsv)")
    String format;
    @Option(names = "--delimiter", defaultValue = "\t", description = "between tsv columns (default: a tab)")
    String delimiter;
    @Option(names = "-W", description = "run again every 2 seconds until interrupted")
    boolean watchForever;
    @Option(names = {"-w", "--watch"}, paramLabel = "SECONDS", description = "run again every SECONDS until interrupted")
    Double watchInterval;
    @Option(names = "--count", hidden = true, defaultValue = "0", description = "stop after this many runs (tests)")
    int count;

    private Connection connection;

    @Override
    public Integer call() throws InterruptedException {
        String sql;
        if (file != null) {
            if (command != null) {
                throw new PghaException("--file and --command are mutually exclusive options");
            }
            try {
                sql = Files.readString(file, StandardCharsets.UTF_8);
            } catch (IOException e) {
                throw new PghaException("cannot read " + file + ": " + e.getMessage());
            }
        } else if (command == null) {
            throw new PghaException("You need to specify either --command or --file");
        } else {
            sql = command;
        }
        Output.Format fmt = Output.Format.parse(format);
        MemberRole r = role == null ? null : MemberRole.parse(role);
        Properties login = login();
        ClusterState c;
        DcsSession s = ctl.session(cluster);
        try {
            c = ctl.read(s, cluster);
        } finally {
            s.close();
            ctl.close();
        }
        double interval = watchInterval != null ? watchInterval : watchForever ? 2 : 0;
        int shown = 0;
        int rc = 0;
        try {
            do {
                if (shown > 0) {
                    Thread.sleep((long) (interval * 1000));
                }
                Result result = run(c, r, sql, login);
                rc = result.failed() ? 1 : 0;
                ctl.out().print(Output.format(result.columns(), result.rows(), Set.of(), fmt, "", delimiter));
                ctl.out().flush();
                shown++;
            } while (interval > 0 && (count == 0 || shown < count));
        } finally {
            closeConnection();
        }
        return rc;
    }

    /** The columns (null when the SQL returned none) and rows of the last result; a failure is one row: time, error. */
    record Result(List<String> columns, List<List<Object>> rows, boolean failed) {
    }

    private Result run(ClusterState c, MemberRole r, String sql, Properties login) {
        try {
            if (connection == null) {
                connection = connect(c, r, login).orElse(null);
            }
            if (connection == null) {
                String message = member != null ? "No connection to member " + member + " is available"
                        : r != null ? "No connection to role " + r + " is available" : "No connection is available";
                return failure(message);
            }
        } catch (SQLException e) {
            return failure("ERROR, SQLSTATE: " + message(e, true));
        }
        try (Statement st = connection.createStatement()) {
            List<String> columns = null;
            List<List<Object>> rows = new ArrayList<>();
            boolean isResult = st.execute(sql);
            while (true) {
                if (isResult) {
                    try (ResultSet rs = st.getResultSet()) {
                        ResultSetMetaData md = rs.getMetaData();
                        columns = new ArrayList<>();
                        rows = new ArrayList<>();
                        for (int i = 1; i <= md.getColumnCount(); i++) {
                            columns.add(md.getColumnLabel(i));
                        }
                        while (rs.next()) {
                            List<Object> row = new ArrayList<>();
                            for (int i = 1; i <= md.getColumnCount(); i++) {
                                row.add(value(rs, i));
                            }
                            rows.add(row);
                        }
                    }
                } else if (st.getUpdateCount() == -1) {
                    break;
                }
                isResult = st.getMoreResults();
            }
            return new Result(columns, rows, false);
        } catch (SQLException e) {
            closeConnection();
            return failure("ERROR, SQLSTATE: " + message(e, false));
        }
    }

    private static Result failure(String message) {
        List<List<Object>> rows = new ArrayList<>();
        rows.add(List.of(ListCommand.timestamp(), message.replace('\n', ' ')));
        return new Result(null, rows, true);
    }

    /** psycopg's {@code diag.sqlstate or str(error)}: a server's error code; the message for a failed connection. */
    private static String message(SQLException e, boolean connecting) {
        if (!connecting && e.getSQLState() != null && !e.getSQLState().startsWith("08")) {
            return e.getSQLState();
        }
        return e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
    }

    private static Object value(ResultSet rs, int i) throws SQLException {
        Object o = rs.getObject(i);
        if (o == null || o instanceof Boolean || o instanceof Number) {
            return o;
        }
        return rs.getString(i);
    }

    /** patronictl's {@code get_cursor}: the member, a connection to it, and for a replica or primary role a look at pg_is_in_recovery(). */
    private Optional<Connection> connect(ClusterState c, MemberRole r, Properties login) throws SQLException {
        Optional<Member> m = DsnCommand.anyMember(c, r, member);
        if (m.isEmpty()) {
            return Optional.empty();
        }
        MemberTable.HostPort hp = MemberTable.hostAndPort(m.get().connUrl())
                .orElseThrow(() -> new PghaException("member " + m.get().name() + " publishes no PostgreSQL address (conn_url)"));
        String host = hp.host().contains(":") ? "[" + hp.host() + "]" : hp.host();
        String url = "jdbc:postgresql://" + host + ":" + hp.port() + "/" + (dbname != null ? dbname : "");
        Connection conn = DriverManager.getConnection(url, login);
        if (r == null || r == MemberRole.ANY || r == MemberRole.LEADER) {
            return Optional.of(conn);
        }
        boolean inRecovery;
        try (Statement st = conn.createStatement(); ResultSet rs = st.executeQuery("SELECT pg_catalog.pg_is_in_recovery()")) {
            inRecovery = !rs.next() || rs.getBoolean(1);
        }
        if (inRecovery && (r == MemberRole.REPLICA || r == MemberRole.STANDBY || r == MemberRole.STANDBY_LEADER)
                || !inRecovery && r == MemberRole.PRIMARY) {
            return Optional.of(conn);
        }
        conn.close();
        return Optional.empty();
    }

    /** User and password: {@code -U} and the prompt, else the configuration's superuser. */
    private Properties login() {
        Optional<AgentConfig.Credentials> superuser = ctl.superuser();
        String user = username != null ? username : superuser.map(AgentConfig.Credentials::username)
                .orElse(System.getProperty("user.name"));
        String password = null;
        if (askPassword) {
            password = new String(ctl.prompt().password("Password"));
        } else if (superuser.isPresent() && superuser.get().username().equals(user)) {
            password = superuser.get().password().map(Secret::revealString).orElse(null);
        }
        if (password == null) {
            password = ctl.environment.get("PGPASSWORD");
        }
        Properties p = new Properties();
        p.setProperty("user", user);
        if (password != null) {
            p.setProperty("password", password);
        }
        p.setProperty("ApplicationName", "pghactl");
        p.setProperty("connectTimeout", "5");
        return p;
    }

    private void closeConnection() {
        if (connection != null) {
            try {
                connection.close();
            } catch (SQLException e) {
                // gone already
            }
            connection = null;
        }
    }
}
