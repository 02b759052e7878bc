package io.pgha.spring;

import io.pgha.ConfigurationException;
import io.pgha.postgres.PgController;

/** Builds pg-driver's controller from {@code pgha.postgresql.*}. */
final class PostgresFactory {
    private PostgresFactory() {
    }

    static PgController create(PghaProperties p) {
        PghaProperties.Postgresql pg = p.postgresql();
        if (pg.dataDir() == null) {
            throw new ConfigurationException("pgha.postgresql.data-dir", "required: PostgreSQL's data directory, or define a "
                    + io.pgha.spi.PostgresController.class.getName() + " bean");
        }
        PgController.Builder b = PgController.builder()
                .name(p.name())
                .scope(p.scope())
                .dataDirectory(pg.dataDir())
                .listenAddresses(pg.listenAddresses())
                .port(pg.port());
        if (pg.binDir() != null) {
            b.binDirectory(pg.binDir());
        }
        if (pg.connectHost() != null) {
            b.connectHost(pg.connectHost());
        }
        String superuser = orDefault(pg.superuser().username(), "postgres");
        pg.superuser().passwordIfSet().ifPresentOrElse(pw -> b.superuser(superuser, pw), () -> b.superuser(superuser));
        String replicator = orDefault(pg.replication().username(), "replicator");
        b.replicationUser(replicator, pg.replication().passwordIfSet().orElseThrow(() -> new ConfigurationException(
                "pgha.postgresql.replication.password", "required: replicas authenticate with it")));
        if (!pg.hba().isEmpty()) {
            b.hba(pg.hba());
        }
        pg.parameters().forEach(b::parameter);
        return b.build();
    }

    private static String orDefault(String v, String d) {
        return v == null || v.isEmpty() ? d : v;
    }
}
