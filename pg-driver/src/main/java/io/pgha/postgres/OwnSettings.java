package io.pgha.postgres;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The member's own server settings, which a re-read configuration may replace while pgha runs:
 * its {@code postgresql.parameters}, {@code pg_hba}, {@code pg_ident} and {@code recovery_conf}
 * (each wins over the cluster's dynamic one).
 */
record OwnSettings(Map<String, String> parameters, Optional<List<String>> hba, Optional<List<String>> ident,
                   Map<String, String> recovery) {
    OwnSettings {
        parameters = Collections.unmodifiableMap(new LinkedHashMap<>(parameters));
        hba = hba.map(List::copyOf);
        ident = ident.map(List::copyOf);
        recovery = Map.copyOf(recovery);
    }

    static OwnSettings of(PgConfig cfg) {
        return new OwnSettings(cfg.parameters(), cfg.ownHba(), cfg.ownIdent(), cfg.ownRecovery());
    }

    /** What differs from {@code before}, by Patroni's key names; empty when nothing does. */
    List<String> changedFrom(OwnSettings before) {
        List<String> out = new java.util.ArrayList<>();
        java.util.Set<String> names = new java.util.TreeSet<>(parameters.keySet());
        names.addAll(before.parameters.keySet());
        for (String n : names) {
            if (!java.util.Objects.equals(parameters.get(n), before.parameters.get(n))) {
                out.add("postgresql.parameters." + n);
            }
        }
        if (!hba.equals(before.hba)) {
            out.add("postgresql.pg_hba");
        }
        if (!ident.equals(before.ident)) {
            out.add("postgresql.pg_ident");
        }
        if (!recovery.equals(before.recovery)) {
            out.add("postgresql.recovery_conf");
        }
        return out;
    }
}
