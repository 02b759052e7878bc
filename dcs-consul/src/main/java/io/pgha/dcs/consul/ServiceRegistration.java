package io.pgha.dcs.consul;

import com.ecwid.consul.v1.agent.model.NewService;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;
import io.pgha.spi.DcsException;
import java.net.URI;
import java.net.URISyntaxException;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Registers a member with the agent as an instance of the service named after the scope, tagged
 * with its role, as Patroni does ({@code register_service}): Consul DNS then answers
 * {@code primary.<scope>.service.consul} with the leader and {@code replica.<scope>...} with the
 * replicas. The registration follows the role in the member entry the engine writes; a member whose
 * role is neither is deregistered. When the member publishes an {@code api_url}, the registration
 * carries Patroni's HTTP check on {@code <api_url>/<role>}, so a dead node stops being answered.
 * Best effort: a failure is logged and retried with the next member write, never fails the write.
 */
final class ServiceRegistration {
    private static final Logger LOG = LoggerFactory.getLogger(ServiceRegistration.class);
    private static final Pattern NOT_DNS = Pattern.compile("[^a-z0-9\\-]");

    private record Wanted(String role, Optional<String> address, Optional<Integer> port, Optional<String> apiUrl) {
    }

    private final Agent agent;
    private final String serviceName;
    private final String serviceId;
    private final String member;
    // guarded by this
    private Wanted registered;
    private boolean present;

    ServiceRegistration(Agent agent, String scope, String member) {
        this.agent = agent;
        this.serviceName = serviceName(scope);
        this.serviceId = scope + "/" + member;
        this.member = member;
    }

    /** Patroni's service name for a scope: lower case, '.', '_' and ' ' become '-', other characters uNNNN; at most 230. */
    static String serviceName(String scope) {
        Matcher m = NOT_DNS.matcher(scope.toLowerCase(Locale.ROOT));
        StringBuilder sb = new StringBuilder();
        while (m.find()) {
            char c = m.group().charAt(0);
            m.appendReplacement(sb, c == '.' || c == '_' || c == ' ' ? "-" : String.format("u%04d", (int) c));
        }
        m.appendTail(sb);
        return sb.length() > 230 ? sb.substring(0, 230) : sb.toString();
    }

    synchronized void update(String memberJson) {
        Optional<Wanted> w = wanted(memberJson);
        try {
            if (w.isEmpty()) {
                if (present) {
                    agent.deregisterService(serviceId);
                    present = false;
                    registered = null;
                }
                return;
            }
            if (present && w.get().equals(registered)) {
                return;
            }
            NewService s = new NewService();
            s.setId(serviceId);
            s.setName(serviceName);
            s.setTags(List.of(w.get().role()));
            w.get().address().ifPresent(s::setAddress);
            w.get().port().ifPresent(s::setPort);
            w.get().apiUrl().ifPresent(api -> {
                NewService.Check c = new NewService.Check();
                c.setHttp(api.replaceAll("/+$", "") + "/" + w.get().role());
                c.setInterval("5s");
                c.setTimeout("3s");
                c.setDeregisterCriticalServiceAfter("150s");
                s.setCheck(c);
            });
            agent.registerService(s);
            present = true;
            registered = w.get();
            LOG.info("{}: registered as Consul service {} with tag {}", member, serviceName, w.get().role());
        } catch (io.pgha.spi.DcsUnreachableException e) {
            // the agent cannot be reached: the store's outage line says so; registering is tried again next time
            LOG.debug("{}: Consul service registration failed: {}", member, e.getMessage());
        } catch (DcsException e) {
            LOG.warn("{}: Consul service registration failed: {}", member, e.getMessage());
        }
    }

    synchronized void deregister() {
        if (present) {
            agent.deregisterService(serviceId);
            present = false;
        }
    }

    private static Optional<Wanted> wanted(String json) {
        JsonObject o;
        try {
            JsonElement e = JsonParser.parseString(json);
            if (!e.isJsonObject()) {
                return Optional.empty();
            }
            o = e.getAsJsonObject();
        } catch (JsonParseException e) {
            return Optional.empty();
        }
        String role = string(o, "role").orElse("");
        String tag = switch (role) {
            case "primary", "master" -> "primary";
            case "replica" -> "replica";
            case "standby_leader", "standby-leader" -> "standby-leader";
            default -> null;
        };
        if (tag == null) {
            return Optional.empty();
        }
        Optional<String> address = Optional.empty();
        Optional<Integer> port = Optional.empty();
        Optional<String> conn = string(o, "conn_url");
        if (conn.isPresent()) {
            try {
                URI u = new URI(conn.get());
                address = Optional.ofNullable(u.getHost());
                port = Optional.of(u.getPort() > 0 ? u.getPort() : 5432);
            } catch (URISyntaxException e) {
                // registered without an address: the agent's own
            }
        }
        Optional<String> api = string(o, "api_url").filter(a -> a.startsWith("http://") || a.startsWith("https://"));
        return Optional.of(new Wanted(tag, address, port, api));
    }

    private static Optional<String> string(JsonObject o, String field) {
        JsonElement e = o.get(field);
        return e != null && e.isJsonPrimitive() && e.getAsJsonPrimitive().isString() ? Optional.of(e.getAsString()) : Optional.empty();
    }

    @Override
    public String toString() {
        return "ServiceRegistration[" + serviceId + " in " + Objects.requireNonNull(serviceName) + "]";
    }
}
