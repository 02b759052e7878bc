package io.pgha.spring;

import io.pgha.Ticker;
import io.pgha.internal.engine.ThreadTaskScheduler;
import io.pgha.spi.Dcs;
import io.pgha.spi.PostgresController;
import io.pgha.testkit.FakePostgres;
import io.pgha.testkit.InMemoryDcs;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/**
 * A store and a PostgreSQL of ha-testkit as the application's own beans: the starter backs off from
 * building etcd and pg-driver ones, and the node runs for real on threads, without servers.
 */
@Configuration(proxyBeanMethods = false)
class FakeParts {
    @Bean(destroyMethod = "")
    Dcs dcs() {
        return InMemoryDcs.create();
    }

    @Bean(destroyMethod = "close")
    ThreadTaskScheduler fakePostgresThread() {
        return new ThreadTaskScheduler("fake-postgres");
    }

    @Bean
    PostgresController postgres(ThreadTaskScheduler fakePostgresThread) {
        return new FakePostgres("pg", new FakePostgres.Network(11), Ticker.system(), fakePostgresThread, new FakePostgres.Timings());
    }
}
