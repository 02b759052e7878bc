package io.pgha.spring;

import io.micrometer.core.instrument.binder.MeterBinder;
import io.pgha.ConfigurationException;
import io.pgha.HaNode;
import io.pgha.RestApiConfig;
import io.pgha.micrometer.PghaMetrics;
import io.pgha.spi.Dcs;
import io.pgha.spi.PostgresController;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnProperty;
import org.springframework.boot.autoconfigure.condition.ConditionalOnWebApplication;
import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.context.ApplicationEventPublisher;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.web.servlet.function.RouterFunction;
import org.springframework.web.servlet.function.ServerResponse;

/**
 * Auto-configures one {@link HaNode} from {@code pgha.*} ({@link PghaProperties}): its store and
 * its PostgreSQL (unless the application defines a {@link Dcs} or {@link PostgresController} bean),
 * the node itself (unless it defines an {@link HaNode} bean), the {@link HaNodeLifecycle} that runs
 * it with the context, its events as Spring events and availability, and — when their libraries are
 * present — a {@code pgha} health indicator, {@link PghaMetrics} for Micrometer, and Patroni's
 * health checks in the application's Spring MVC server under {@code pgha.health-checks.base-path}.
 * Every bean backs off when the application defines its own. {@code pgha.enabled=false} turns it all off.
 */
@AutoConfiguration
@ConditionalOnProperty(prefix = "pgha", name = "enabled", havingValue = "true", matchIfMissing = true)
@EnableConfigurationProperties(PghaProperties.class)
@org.springframework.context.annotation.Import(PghaHealthIndicatorConfiguration.class)
public class PghaAutoConfiguration {

    @Bean
    @ConditionalOnMissingBean
    public Dcs pghaDcs(PghaProperties properties) {
        return StoreFactory.create(properties.dcs());
    }

    @Bean
    @ConditionalOnMissingBean
    public PostgresController pghaPostgres(PghaProperties properties) {
        requireNames(properties);
        try {
            return PostgresFactory.create(properties);
        } catch (ConfigurationException e) {
            throw PropertyNames.renamed(e);
        }
    }

    /** Built here, started by {@link HaNodeLifecycle}; the lifecycle, not a destroy method, stops it. */
    @Bean(destroyMethod = "")
    @ConditionalOnMissingBean
    public HaNode pghaNode(PghaProperties properties, Dcs dcs, PostgresController postgres,
                           ObjectProvider<HaNodeCustomizer> customizers, ObjectProvider<NodeInstrumentation> instrumentations,
                           ApplicationEventPublisher publisher) {
        requireNames(properties);
        try {
            return buildNode(properties, dcs, postgres, customizers, instrumentations, publisher);
        } catch (ConfigurationException e) {
            throw PropertyNames.renamed(e);
        }
    }

    private static HaNode buildNode(PghaProperties properties, Dcs dcs, PostgresController postgres,
                                    ObjectProvider<HaNodeCustomizer> customizers, ObjectProvider<NodeInstrumentation> instrumentations,
                                    ApplicationEventPublisher publisher) {
        java.util.List<NodeInstrumentation> instruments = instrumentations.orderedStream().toList();
        Dcs store = dcs;
        for (NodeInstrumentation i : instruments) {
            store = i.instrument(store);
        }
        HaNode.Builder b = HaNode.builder()
                .name(properties.name())
                .scope(properties.scope())
                .dcs(store)
                .postgres(postgres)
                .ttl(properties.ttl())
                .loopWait(properties.loopWait())
                .retryTimeout(properties.retryTimeout())
                .listener(new SpringEventBridge(publisher, true));
        if (properties.maximumLagOnFailover() != null) {
            b.maximumLagOnFailover(properties.maximumLagOnFailover());
        }
        if (properties.restapi().enabled()) {
            b.restApi(RestApiConfig.builder().listen(properties.restapi().listen(), properties.restapi().port()).build());
        }
        instruments.forEach(i -> b.listener(i.listener()));
        customizers.orderedStream().forEach(c -> c.customize(b));
        HaNode node = b.build();
        instruments.forEach(i -> i.built(node));
        return node;
    }

    @Bean
    @ConditionalOnMissingBean
    public HaNodeLifecycle pghaLifecycle(HaNode node) {
        return new HaNodeLifecycle(node);
    }

    private static void requireNames(PghaProperties p) {
        if (p.name() == null || p.name().isBlank()) {
            throw new ConfigurationException("pgha.name", "required: this member's name, unique in the cluster");
        }
        if (p.scope() == null || p.scope().isBlank()) {
            throw new ConfigurationException("pgha.scope", "required: the cluster's name");
        }
    }

    /** Micrometer meters, bound by Spring Boot to every registry (as any {@link MeterBinder} bean). */
    @Configuration(proxyBeanMethods = false)
    @ConditionalOnClass({PghaMetrics.class, MeterBinder.class})
    static class MetricsConfiguration {
        @Bean
        @ConditionalOnMissingBean
        PghaMetrics pghaMetrics() {
            return new PghaMetrics();
        }

        @Bean
        NodeInstrumentation pghaMetricsInstrumentation(PghaMetrics metrics) {
            return new NodeInstrumentation() {
                @Override
                public Dcs instrument(Dcs dcs) {
                    return metrics.instrument(dcs);
                }

                @Override
                public io.pgha.HaListener listener() {
                    return metrics.listener();
                }

                @Override
                public void built(HaNode node) {
                    metrics.add(node);
                }
            };
        }
    }

    /** HAProxy's checks in the application's Spring MVC server. */
    @Configuration(proxyBeanMethods = false)
    @ConditionalOnWebApplication(type = ConditionalOnWebApplication.Type.SERVLET)
    @ConditionalOnClass(RouterFunction.class)
    @ConditionalOnProperty(prefix = "pgha.health-checks", name = "enabled", havingValue = "true", matchIfMissing = true)
    static class HealthCheckRoutesConfiguration {
        @Bean
        @ConditionalOnMissingBean(name = "pghaHealthCheckRoutes")
        RouterFunction<ServerResponse> pghaHealthCheckRoutes(HaNode node, PghaProperties properties) {
            return HealthCheckRoutes.routes(node, properties.healthChecks().basePath());
        }
    }
}
