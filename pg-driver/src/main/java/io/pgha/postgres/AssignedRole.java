package io.pgha.postgres;

import io.pgha.spi.ServerSettings;
import io.pgha.spi.SynchronousStandbys;
import io.pgha.spi.Upstream;

import java.util.HashMap;
import java.util.Map;
import java.util.Optional;

/**
 * The role pgha gave the server (its upstream, its synchronous standbys) and the files that say it.
 * A change and the rewrite of {@code pgha.conf} and the signal files happen under one lock, so a
 * start running beside a change never writes the files of a role that was just replaced. The role
 * is read back from {@code pgha.conf} on first use, so a restarted JVM keeps what it had set.
 */
final class AssignedRole {
    /** No upstream, no synchronous standbys: {@link ManagedFiles.Role#PRIMARY}'s settings; {@code standby.signal} alone makes it a standby. */
    private static final ManagedFiles.Role UNASSIGNED = new ManagedFiles.Role(Optional.empty(), SynchronousStandbys.NONE);

    private final ManagedFiles files;
    private final DataDirectory dataDir;
    private ManagedFiles.Role role; // guarded by this; null until read from pgha.conf

    AssignedRole(ManagedFiles files, DataDirectory dataDir) {
        this.files = files;
        this.dataDir = dataDir;
    }

    synchronized ManagedFiles.Role get() {
        if (role == null) {
            role = files.readRole();
        }
        return role;
    }

    /** Rewrites {@code pgha.conf} and {@code pg_hba.conf} for the current role (before a start, before crash recovery). */
    synchronized void rewriteServerFiles() {
        write(get());
    }

    /** After bootstrap and promotion: no recovery signal, no upstream. */
    synchronized void becomePrimary() {
        role = ManagedFiles.Role.PRIMARY;
        files.setBootstrapRecovery(Map.of());
        files.removeRecoverySignals();
        write(role);
    }

    /**
     * A restored copy's first start: targeted recovery with {@code settings} (standby.signal, which
     * would keep it a standby, goes), or with what the restore left when {@code settings} is empty.
     * It becomes the primary when the recovery ends; {@link #becomePrimary()} then drops the targets.
     */
    synchronized void beginBootstrapRecovery(Map<String, String> settings) {
        role = ManagedFiles.Role.PRIMARY;
        if (!settings.isEmpty()) {
            files.setBootstrapRecovery(settings);
            files.removeRecoverySignals();
            files.writeRecoverySignal();
        }
        write(role);
    }

    /** After a clone or a rewind: never start a fresh copy as a primary by mistake, it is a standby until told otherwise. */
    synchronized void becomeStandbyOfNobody() {
        role = UNASSIGNED;
        files.writeStandbySignal();
        write(role);
    }

    /** A standby of {@code upstream} (of nobody when empty); returns the role it replaced. */
    synchronized ManagedFiles.Role follow(Optional<Upstream> upstream) {
        ManagedFiles.Role before = get();
        role = new ManagedFiles.Role(upstream, SynchronousStandbys.NONE);
        files.writeStandbySignal();
        write(role);
        return before;
    }

    /** Keeps the upstream; the files are written only where there is a data directory to hold them. */
    synchronized void setSynchronousStandbys(SynchronousStandbys value) {
        role = get().withSync(value);
        if (dataDir.isInitialized()) {
            write(role);
        }
    }

    /**
     * Takes the cluster's dynamic settings; rewrites the files where there is a data directory.
     * Returns whether {@code pgha.conf} changed (a running server then needs a reload).
     */
    synchronized boolean applySettings(ServerSettings settings) {
        files.setDynamicParameters(settings.parameters());
        files.setDynamicAccess(settings.pgHba(), settings.pgIdent());
        files.setDynamicRecovery(settings.recoveryConf());
        return dataDir.isInitialized() && write(get());
    }

    /** Enforces (or stops enforcing) hot_standby_feedback; whether pgha.conf changed (a running server then needs a reload). */
    synchronized boolean enforceHotStandbyFeedback(boolean on) {
        return files.setEnforceHotStandbyFeedback(on) && dataDir.isInitialized() && write(get());
    }

    /** Replaces the member's own settings; whether the files changed (a running server then needs a reload). */
    synchronized boolean applyOwnSettings(OwnSettings settings) {
        files.setOwnSettings(settings);
        return dataDir.isInitialized() && write(get());
    }

    private boolean write(ManagedFiles.Role r) {
        boolean standby = r.upstream().isPresent() || files.hasStandbySignal();
        return files.writeServerFiles(r, standby ? standbyControlData() : Map.of());
    }

    /** pg_control's record of the primary's settings a standby must match at least; empty if unreadable. */
    private Map<String, String> standbyControlData() {
        try {
            ControlData cd = dataDir.controlData();
            Map<String, String> out = new HashMap<>();
            ServerParameters.CONTROL_DATA_LABELS.values().forEach(label -> cd.get(label).ifPresent(v -> out.put(label, v)));
            return out;
        } catch (RuntimeException e) {
            return Map.of(); // no pg_control yet (a copy still arriving): the configured values stand
        }
    }

    /** The data directory was removed: there is nothing to read back, and nothing to follow. */
    synchronized void forget() {
        role = UNASSIGNED;
    }
}
