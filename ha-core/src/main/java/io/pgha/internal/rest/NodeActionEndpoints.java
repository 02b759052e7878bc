package io.pgha.internal.rest;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.pgha.ConfigurationException;
import io.pgha.internal.decision.AdminRequest;
import io.pgha.internal.decision.RestartRequest;
import io.pgha.internal.engine.FailsafeAnswer;
import io.pgha.internal.engine.HaEngine;
import io.pgha.spi.FailsafeRequest;
import io.pgha.spi.PostgresState;
import java.time.Duration;
import java.time.OffsetDateTime;
import java.time.format.DateTimeParseException;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * The operator actions on this member alone: {@code /restart} (now or scheduled, and
 * {@code DELETE} to cancel), {@code /reinitialize} and {@code /reload}. Restart and
 * reinitialization are carried out by the HA loop: the request waits until it has done the
 * restart, or started the reinitialization, or refused.
 */
final class NodeActionEndpoints {
    private final HaEngine engine;
    private final Runnable reload;

    /**
     * @param reload what {@code POST /reload} runs: the node's configuration reloader, then a reload
     *               of PostgreSQL
     */
    NodeActionEndpoints(HaEngine engine, Runnable reload) {
        this.engine = engine;
        this.reload = reload;
    }

    /**
     * Patroni's {@code POST /restart}: filters {@code role}, {@code postgres_version},
     * {@code restart_pending}; {@code timeout}; {@code schedule} for later (202), one at a time (409),
     * not in the past (400), not while paused (500); an unknown key is a 400 naming it.
     */
    Reply restart(String body) {
        ObjectNode json = JsonBody.object(body, false);
        for (var f : json.properties()) {
            if (!Set.of("schedule", "role", "postgres_version", "timeout", "restart_pending").contains(f.getKey())) {
                throw new HttpError(400, "Unknown filter for the scheduled restart: " + f.getKey());
            }
        }
        Optional<String> role = JsonBody.text(json, "role").map(r -> r.equals("master") ? "primary" : r);
        if (role.isPresent() && !Set.of("primary", "replica", "any").contains(role.get())) {
            throw new HttpError(400, "PostgreSQL role should be either primary or replica");
        }
        OptionalInt version = OptionalInt.empty();
        if (json.hasNonNull("postgres_version")) {
            try {
                version = OptionalInt.of(RestartRequest.versionNumber(json.get("postgres_version").asText()));
            } catch (IllegalArgumentException e) {
                throw new HttpError(400, e.getMessage());
            }
        }
        boolean pendingOnly = false;
        if (json.hasNonNull("restart_pending")) {
            if (!json.get("restart_pending").isBoolean()) {
                throw new HttpError(400, "restart_pending must be true or false");
            }
            pendingOnly = json.get("restart_pending").booleanValue();
        }
        Duration timeout = Duration.ofSeconds(60);
        if (json.hasNonNull("timeout")) {
            try {
                timeout = Duration.ofMillis((long) (Double.parseDouble(json.get("timeout").asText()) * 1000));
            } catch (NumberFormatException e) {
                throw new HttpError(400, "timeout must be a number of seconds");
            }
            if (timeout.isNegative() || timeout.isZero()) {
                throw new HttpError(400, "timeout must be positive");
            }
        }
        Optional<OffsetDateTime> schedule = Optional.empty();
        if (json.hasNonNull("schedule")) {
            try {
                schedule = Optional.of(OffsetDateTime.parse(json.get("schedule").asText()));
            } catch (DateTimeParseException e) {
                throw new HttpError(400, "Unable to parse scheduled timestamp. It should be in an unambiguous format, e.g. ISO 8601");
            }
        }
        RestartRequest request = new RestartRequest(schedule, role, version, pendingOnly, timeout);
        NodeFacts f = NodeFacts.of(engine);
        if (schedule.isPresent()) {
            if (f.paused()) {
                return Reply.text(500, "Can't schedule restart in the paused state");
            }
            if (schedule.get().toInstant().isBefore(engine.config().wallClock().instant())) {
                throw new HttpError(400, "Cannot schedule restart in the past");
            }
            return engine.scheduleRestart(request) ? Reply.text(202, "Restart scheduled")
                    : Reply.text(409, "Another restart is already scheduled");
        }
        Optional<String> mismatch = request.mismatch(StatusDocuments.role(f), f.view().postgres().map(PostgresState::serverVersion)
                .orElse(0), f.view().postgres().map(p -> !p.pendingRestart().isEmpty()).orElse(false));
        if (mismatch.isPresent()) {
            return Reply.text(503, "restart conditions are not satisfied: " + mismatch.get());
        }
        AdminRequest.Outcome o = await(engine.submit(new AdminRequest.Restart(timeout)), timeout.plusSeconds(10));
        return Reply.text(o.ok() ? 200 : 503, o.ok() ? "restarted successfully" : "restart failed: " + o.message());
    }

    /** {@code DELETE /restart}. */
    Reply cancelScheduledRestart() {
        return engine.cancelScheduledRestart() ? Reply.text(200, "scheduled restart deleted")
                : Reply.text(404, "no restarts are scheduled");
    }

    /** {@code POST /reinitialize}; with {@code force}, an action in progress is cancelled for it rather than refusing. */
    Reply reinitialize(String body) {
        ObjectNode json = JsonBody.object(body, false);
        AdminRequest.Outcome o = await(engine.submit(new AdminRequest.Reinitialize(json.path("force").asBoolean(false))),
                Duration.ofSeconds(30));
        return Reply.text(o.ok() ? 200 : 503, o.message());
    }

    /**
     * {@code POST /failsafe}, as Patroni answers it: 200 {@code Accepted} with this member's
     * received/replayed position in the {@code lsn} header; 500 when this member runs as a primary
     * itself; 502 when failsafe mode is off here.
     */
    Reply failsafe(String body) {
        ObjectNode json = JsonBody.object(body, true);
        String name = JsonBody.text(json, "name").orElseThrow(() -> new HttpError(400, "name: required"));
        String connUrl = JsonBody.text(json, "conn_url").orElse("");
        Optional<String> apiUrl = JsonBody.text(json, "api_url");
        Map<String, Long> slots = new java.util.TreeMap<>();
        json.path("slots").fields().forEachRemaining(f -> {
            if (f.getValue().canConvertToLong()) {
                slots.put(f.getKey(), f.getValue().asLong());
            }
        });
        FailsafeAnswer answer = engine.acceptFailsafe(new FailsafeRequest(name, connUrl, apiUrl, slots));
        if (answer instanceof FailsafeAnswer.Accepted a) {
            return Reply.text(200, "Accepted").withHeader("lsn", Long.toString(a.position().value()));
        }
        if (answer instanceof FailsafeAnswer.RunningAsLeader) {
            return Reply.text(500, "Running as a leader");
        }
        return Reply.text(502, "failsafe_mode is not enabled");
    }

    /** {@code POST /reload}. */
    Reply reload() {
        try {
            reload.run();
        } catch (ConfigurationException e) {
            // the node runs on with the configuration it had
            throw new HttpError(400, "reload refused: " + e.getMessage());
        }
        return Reply.text(202, "reload scheduled");
    }

    private static <T> T await(CompletableFuture<T> f, Duration max) {
        try {
            return f.get(max.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new HttpError(503, "interrupted");
        } catch (TimeoutException e) {
            throw new HttpError(503, "no outcome within " + max.toSeconds() + " s");
        } catch (ExecutionException e) {
            throw new HttpError(503, HttpError.describe(e));
        }
    }
}
