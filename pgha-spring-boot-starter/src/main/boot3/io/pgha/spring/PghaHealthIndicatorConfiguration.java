package io.pgha.spring;

import io.pgha.HaNode;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/** {@code /actuator/health}'s {@code pgha} component (Spring Boot 3: {@code spring-boot-actuator}). */
@Configuration(proxyBeanMethods = false)
@ConditionalOnClass(name = "org.springframework.boot.actuate.health.HealthIndicator")
class PghaHealthIndicatorConfiguration {
    @Bean
    @ConditionalOnMissingBean(name = "pghaHealthIndicator")
    PghaHealthIndicator pghaHealthIndicator(HaNode node) {
        return new PghaHealthIndicator(node);
    }
}
