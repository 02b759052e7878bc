package io.pgha.bench;

import java.math.BigDecimal;
import java.time.Duration;
import java.util.Locale;

/**
 * The cluster's timings for a store-outage run, and what follows from them: the convergence bound
 * {@code 2 × ttl + loop_wait} and the outage length {@code ttl + 10 s}.
 *
 * @param ttl          seconds
 * @param loopWait     seconds
 * @param retryTimeout seconds
 */
record OutageTimings(int ttl, double loopWait, double retryTimeout) {
    /**
     * The least ttl on Consul: the agents' {@code session_ttl_min} is 10 s (Consul's default, which
     * pgha's ConsulDcs assumes) and pgha's Consul session TTL is ttl / 2, as Patroni's; the same
     * ttl AgentOnOtherStoresTest runs Consul with.
     */
    static final int CONSUL_MIN_TTL = 20;

    /** How long past the ttl the store stays away: long enough that every lease and session has lapsed. */
    static final Duration OUTAGE_PAST_TTL = Duration.ofSeconds(10);

    /** These timings, with the ttl raised to what {@code store} accepts (only Consul has a floor). */
    OutageTimings on(OutageKind.Store store) {
        return store == OutageKind.Store.CONSUL && ttl < CONSUL_MIN_TTL ? new OutageTimings(CONSUL_MIN_TTL, loopWait, retryTimeout) : this;
    }

    /** The bound: one primary with every replica streaming from it within 2 × ttl + loop_wait of the store being back. */
    Duration bound() {
        return Duration.ofSeconds(2L * ttl).plus(Duration.ofMillis(Math.round(loopWait * 1000)));
    }

    /** ttl + 10 s. */
    Duration outageLength() {
        return Duration.ofSeconds(ttl).plus(OUTAGE_PAST_TTL);
    }

    /** The {@code bootstrap.dcs} lines for {@link LocalCluster}. */
    String dcsSection() {
        return "    ttl: " + ttl + "\n    loop_wait: " + plain(loopWait) + "\n    retry_timeout: " + plain(retryTimeout);
    }

    @Override
    public String toString() {
        return String.format(Locale.ROOT, "ttl %d s, loop_wait %s s, retry_timeout %s s", ttl, plain(loopWait), plain(retryTimeout));
    }

    private static String plain(double seconds) {
        return BigDecimal.valueOf(seconds).stripTrailingZeros().toPlainString();
    }
}
