package io.pgha.internal.rest;

import static org.assertj.core.api.Assertions.assertThat;

import io.pgha.PghaVersion;
import io.pgha.internal.cluster.ClusterCodec;
import org.junit.jupiter.api.Test;

/** One version everywhere: the build's, read from pgha-core's generated resource. */
class VersionEncodingTest {
    @Test
    void theVersionIsTheBuildsNotAPlaceholder() {
        assertThat(PghaVersion.current()).matches("\\d+\\.\\d+\\.\\d+([-+.].*)?").doesNotContain("${").isNotEqualTo("0.0.0-unknown");
        assertThat(ClusterCodec.VERSION).isEqualTo(PghaVersion.current());
    }

    @Test
    void metricsEncodeTheVersionAsPatroniDoes() {
        assertThat(StatusDocuments.patroniEncoding("0.1.0-SNAPSHOT")).isEqualTo(100);
        assertThat(StatusDocuments.patroniEncoding("0.1.0")).isEqualTo(100);
        assertThat(StatusDocuments.patroniEncoding("1.2.3")).isEqualTo(10203);
        assertThat(StatusDocuments.patroniEncoding("4.0")).isEqualTo(40000);
        assertThat(StatusDocuments.patroniEncoding("0.0.0-unknown")).isZero();
    }
}
