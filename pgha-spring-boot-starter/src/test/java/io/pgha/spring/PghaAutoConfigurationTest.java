package io.pgha.spring;

import static org.assertj.core.api.Assertions.assertThat;

import io.micrometer.core.instrument.binder.MeterBinder;
import io.pgha.ConfigurationException;
import io.pgha.HaNode;
import io.pgha.dcs.etcd.EtcdDcs;
import io.pgha.micrometer.PghaMetrics;
import io.pgha.spi.Dcs;
import org.junit.jupiter.api.Test;
import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.test.context.FilteredClassLoader;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.boot.test.context.runner.WebApplicationContextRunner;
import org.springframework.web.servlet.function.RouterFunction;

/** The starter's conditions: what it builds, when it backs off, and how a bad configuration fails. */
class PghaAutoConfigurationTest {
    private final ApplicationContextRunner runner = new ApplicationContextRunner()
            .withConfiguration(AutoConfigurations.of(PghaAutoConfiguration.class))
            .withPropertyValues("pgha.scope=boot-conditions", "pgha.ttl=3s", "pgha.loop-wait=1s", "pgha.retry-timeout=1s");

    @Test
    void withTheApplicationsStoreAndPostgresItBuildsANodeItsLifecycleMetricsAndAHealthIndicator() {
        runner.withUserConfiguration(FakeParts.class).withPropertyValues("pgha.name=n1").run(ctx -> {
            assertThat(ctx).hasNotFailed().hasSingleBean(HaNode.class).hasSingleBean(HaNodeLifecycle.class)
                    .hasSingleBean(PghaMetrics.class).hasSingleBean(PghaHealthIndicator.class).doesNotHaveBean(RouterFunction.class);
            assertThat(ctx.getBean(HaNode.class).name()).isEqualTo("n1");
            assertThat(ctx.getBean(HaNode.class).scope()).isEqualTo("boot-conditions");
            assertThat(ctx.getBean(HaNode.class).settings().loopWait()).isEqualTo(java.time.Duration.ofSeconds(1));
            assertThat(ctx.getBean(HaNodeLifecycle.class).isRunning()).isTrue();
        });
    }

    @Test
    void anApplicationsOwnHaNodeReplacesTheAutoConfiguredOne() {
        runner.withUserConfiguration(FakeParts.class).withPropertyValues("pgha.name=n1")
                .withBean("myNode", HaNode.class, () -> HaNode.builder().name("mine").scope("own")
                        .dcs(io.pgha.testkit.InMemoryDcs.create()).postgres(new io.pgha.testkit.FakePostgres("own",
                                new io.pgha.testkit.FakePostgres.Network(1), io.pgha.Ticker.system(),
                                new io.pgha.internal.engine.ThreadTaskScheduler("own-pg"), new io.pgha.testkit.FakePostgres.Timings()))
                        .build())
                .run(ctx -> {
                    assertThat(ctx).hasNotFailed().hasSingleBean(HaNode.class);
                    assertThat(ctx.getBean(HaNode.class).name()).isEqualTo("mine");
                });
    }

    @Test
    void withPghaEnabledFalseThereIsNoNode() {
        runner.withUserConfiguration(FakeParts.class).withPropertyValues("pgha.enabled=false").run(ctx ->
                assertThat(ctx).hasNotFailed().doesNotHaveBean(HaNode.class).doesNotHaveBean(HaNodeLifecycle.class));
    }

    @Test
    void withoutANameTheContextFailsWithAnErrorNamingPghaName() {
        runner.withUserConfiguration(FakeParts.class).run(ctx -> {
            assertThat(ctx).hasFailed();
            assertThat(ctx.getStartupFailure()).rootCause().isInstanceOf(ConfigurationException.class).hasMessageContaining("pgha.name");
        });
    }

    @Test
    void withoutAStoreTypeOrAStoreBeanTheContextFailsNamingPghaDcsType() {
        runner.withPropertyValues("pgha.name=n1").run(ctx -> {
            assertThat(ctx).hasFailed();
            assertThat(ctx.getStartupFailure()).rootCause().isInstanceOf(ConfigurationException.class)
                    .hasMessageContaining("pgha.dcs.type");
        });
    }

    @Test
    void aStoreWhoseModuleIsNotOnTheClasspathIsATypedErrorNamingTheModule() {
        runner.withClassLoader(new FilteredClassLoader(EtcdDcs.class))
                .withPropertyValues("pgha.name=n1", "pgha.dcs.type=etcd", "pgha.dcs.endpoints=http://127.0.0.1:1").run(ctx -> {
                    assertThat(ctx).hasFailed();
                    assertThat(ctx.getStartupFailure()).rootCause().isInstanceOf(ConfigurationException.class)
                            .hasMessageContaining("pgha.dcs.type").hasMessageContaining("io.pgha:dcs-etcd");
                });
    }

    @Test
    void withoutADataDirectoryThePgDriverControllerIsATypedErrorNamingTheProperty() {
        runner.withBean(Dcs.class, io.pgha.testkit.InMemoryDcs::create).withPropertyValues("pgha.name=n1").run(ctx -> {
            assertThat(ctx).hasFailed();
            assertThat(ctx.getStartupFailure()).rootCause().isInstanceOf(ConfigurationException.class)
                    .hasMessageContaining("pgha.postgresql.data-dir");
        });
    }

    @org.springframework.boot.context.properties.EnableConfigurationProperties(PghaProperties.class)
    static class PropertiesOnly {
    }

    @Test
    void etcdPropertiesBindAndBuildAnEtcdStoreAndThePasswordIsNeverPrinted() {
        new ApplicationContextRunner().withUserConfiguration(PropertiesOnly.class)
                .withPropertyValues("pgha.dcs.type=etcd", "pgha.dcs.endpoints=http://127.0.0.1:1,http://127.0.0.1:2",
                        "pgha.dcs.username=root", "pgha.dcs.password=hunter2-secret", "pgha.postgresql.superuser.password=pg-secret")
                .run(ctx -> {
                    PghaProperties p = ctx.getBean(PghaProperties.class);
                    assertThat(p.dcs().endpoints()).hasSize(2);
                    assertThat(p.ttl()).isEqualTo(java.time.Duration.ofSeconds(30));
                    assertThat(p.healthChecks().basePath()).isEqualTo("/pgha");
                    assertThat(p.toString()).doesNotContain("hunter2-secret").doesNotContain("pg-secret").contains("***");
                    try (Dcs dcs = StoreFactory.create(p.dcs())) {
                        assertThat(dcs).isInstanceOf(EtcdDcs.class);
                    }
                });
    }

    @Test
    void aTimingTheBuilderRefusesIsReportedUnderItsSpringPropertyName() {
        runner.withUserConfiguration(FakeParts.class).withPropertyValues("pgha.name=n1", "pgha.loop-wait=20s").run(ctx -> {
            assertThat(ctx).hasFailed();
            Throwable reported = ctx.getStartupFailure();
            while (!(reported instanceof ConfigurationException) && reported.getCause() != null) {
                reported = reported.getCause();
            }
            // loop_wait (20s) + 2 * retry_timeout (1s) exceeds the ttl (3s): the builder names Patroni's key, the context the property
            assertThat(reported).isInstanceOf(ConfigurationException.class);
            assertThat(((ConfigurationException) reported).setting()).isIn("pgha.ttl", "pgha.loop-wait");
            assertThat(reported.getCause()).isInstanceOf(ConfigurationException.class);
        });
    }

    @Test
    void pghaRestapiEnabledStartsTheBuiltInRestServer() {
        runner.withUserConfiguration(FakeParts.class)
                .withPropertyValues("pgha.name=n1", "pgha.restapi.enabled=true", "pgha.restapi.port=0").run(ctx -> {
                    assertThat(ctx).hasNotFailed();
                    assertThat(ctx.getBean(HaNode.class).restAddress()).isPresent();
                });
    }

    @Test
    void withoutMicrometerTheNodeIsBuiltWithoutMetrics() {
        runner.withUserConfiguration(FakeParts.class).withClassLoader(new FilteredClassLoader(MeterBinder.class))
                .withPropertyValues("pgha.name=n1").run(ctx ->
                        assertThat(ctx).hasNotFailed().hasSingleBean(HaNode.class).doesNotHaveBean(PghaMetrics.class));
    }

    @Test
    void inAServletApplicationTheHealthChecksAreRoutedUnlessSwitchedOff() {
        WebApplicationContextRunner web = new WebApplicationContextRunner()
                .withConfiguration(AutoConfigurations.of(PghaAutoConfiguration.class)).withUserConfiguration(FakeParts.class)
                .withPropertyValues("pgha.name=n1", "pgha.scope=boot-web", "pgha.ttl=3s", "pgha.loop-wait=1s", "pgha.retry-timeout=1s");
        web.run(ctx -> assertThat(ctx).hasNotFailed().hasBean("pghaHealthCheckRoutes"));
        web.withPropertyValues("pgha.health-checks.enabled=false").run(ctx ->
                assertThat(ctx).hasNotFailed().doesNotHaveBean("pghaHealthCheckRoutes"));
    }
}
