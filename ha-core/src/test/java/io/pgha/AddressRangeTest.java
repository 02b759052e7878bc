package io.pgha;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.InetAddress;
import org.junit.jupiter.api.Test;

class AddressRangeTest {
    private static boolean in(String range, String address) throws Exception {
        return AddressRange.parse("restapi.allowlist", range).contains(InetAddress.getByName(address));
    }

    @Test
    void aBlockHoldsTheAddressesUnderItsPrefix() throws Exception {
        assertThat(in("10.0.0.0/8", "10.200.1.2")).isTrue();
        assertThat(in("10.0.0.0/8", "11.0.0.1")).isFalse();
        assertThat(in("192.168.4.0/22", "192.168.7.255")).isTrue();
        assertThat(in("192.168.4.0/22", "192.168.8.0")).isFalse();
        assertThat(in("0.0.0.0/0", "8.8.8.8")).isTrue();
    }

    @Test
    void aSingleAddressHoldsOnlyItselfAndFamiliesDoNotMix() throws Exception {
        assertThat(in("127.0.0.1", "127.0.0.1")).isTrue();
        assertThat(in("127.0.0.1", "127.0.0.2")).isFalse();
        assertThat(in("fd00::/8", "fd12::1")).isTrue();
        assertThat(in("::1", "127.0.0.1")).isFalse();
    }

    @Test
    void anEntryThatIsNoAddressIsNamedWithItsSetting() {
        assertThatThrownBy(() -> AddressRange.parse("restapi.allowlist", "10.0.0.0/33")).isInstanceOf(ConfigurationException.class)
                .hasMessageStartingWith("restapi.allowlist: '10.0.0.0/33'");
        assertThatThrownBy(() -> AddressRange.parse("restapi.allowlist", "no-such-host.invalid"))
                .isInstanceOf(ConfigurationException.class);
    }
}
