package io.pgha.examples.boot;

import io.pgha.HaEvent;
import io.pgha.HaNode;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.boot.SpringApplication;
import org.springframework.boot.autoconfigure.SpringBootApplication;
import org.springframework.context.event.EventListener;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.RestController;

/**
 * A service that runs high availability for its own PostgreSQL: {@code pgha-spring-boot-starter}
 * builds and runs the node from {@code pgha.*} (see {@code application.properties}), serves
 * HAProxy's checks on this service's port under {@code /pgha}, reports to actuator and Micrometer;
 * the service only reacts to role changes.
 */
@SpringBootApplication
public class OrdersApplication {
    public static void main(String[] args) {
        SpringApplication.run(OrdersApplication.class, args);
    }

    /** The service's own endpoint: which member and role this instance is. */
    @RestController
    static class WhoAmI {
        private final HaNode node;

        WhoAmI(HaNode node) {
            this.node = node;
        }

        @GetMapping("/whoami")
        Map<String, String> whoami() {
            return Map.of("member", node.name(), "role", node.status().role().name().toLowerCase(java.util.Locale.ROOT),
                    "leader", node.status().leader().orElse(""));
        }
    }

    /** Role changes arrive as Spring events: a real service would open or close its write paths here. */
    @org.springframework.stereotype.Component
    static class RoleLog {
        private static final Logger LOG = LoggerFactory.getLogger(RoleLog.class);

        @EventListener
        void on(HaEvent.RoleChanged e) {
            LOG.info("{} is now {} (was {})", e.member(), e.to(), e.from());
        }
    }
}
