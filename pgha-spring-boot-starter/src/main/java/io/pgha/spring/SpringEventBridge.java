package io.pgha.spring;

import io.pgha.HaEvent;
import io.pgha.HaListener;
import io.pgha.Role;
import org.springframework.boot.availability.AvailabilityChangeEvent;
import org.springframework.boot.availability.LivenessState;
import org.springframework.boot.availability.ReadinessState;
import org.springframework.context.ApplicationEventPublisher;

/**
 * Publishes every {@link HaEvent} as a Spring application event (listen with
 * {@code @EventListener void on(HaEvent.RoleChanged e)}), and the node's role as Spring Boot's
 * availability: ready ({@link ReadinessState#ACCEPTING_TRAFFIC}) while it serves as a primary, a
 * standby leader or a replica, refusing otherwise; broken ({@link LivenessState#BROKEN}) once the
 * node stopped for good on a fatal error.
 */
public class SpringEventBridge implements HaListener {
    private final ApplicationEventPublisher publisher;
    private final boolean availability;

    /**
     * @param availability whether to publish readiness and liveness changes (off when the application
     *                     decides its availability itself)
     */
    public SpringEventBridge(ApplicationEventPublisher publisher, boolean availability) {
        this.publisher = publisher;
        this.availability = availability;
    }

    @Override
    public void onEvent(HaEvent event) {
        publisher.publishEvent(event);
        if (!availability) {
            return;
        }
        if (event instanceof HaEvent.RoleChanged r) {
            boolean serving = r.to() == Role.PRIMARY || r.to() == Role.REPLICA || r.to() == Role.STANDBY_LEADER;
            AvailabilityChangeEvent.publish(publisher, event, serving ? ReadinessState.ACCEPTING_TRAFFIC : ReadinessState.REFUSING_TRAFFIC);
            if (r.to() == Role.FAILED) {
                AvailabilityChangeEvent.publish(publisher, event, LivenessState.BROKEN);
            }
        } else if (event instanceof HaEvent.NodeFailed) {
            AvailabilityChangeEvent.publish(publisher, event, LivenessState.BROKEN);
        }
    }
}
