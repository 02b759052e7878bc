package io.pgha;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.Objects;

/**
 * An address or a CIDR block ({@code 10.0.0.5}, {@code 10.0.0.0/8}, {@code ::1}, {@code fd00::/8}),
 * as Patroni's {@code restapi.allowlist} entries; a host name is resolved once, when parsed.
 *
 * @param network the first address of the block
 * @param bits    the prefix length (32 or 128 for a single address)
 */
public record AddressRange(InetAddress network, int bits) {
    public AddressRange {
        Objects.requireNonNull(network, "network");
        int max = network.getAddress().length * 8;
        if (bits < 0 || bits > max) {
            throw new IllegalArgumentException("prefix length must be 0.." + max + ", got " + bits);
        }
    }

    /**
     * Parses an entry.
     *
     * @param setting the setting it came from, for the error
     * @throws ConfigurationException naming the setting when the entry is neither an address, a block nor a known host
     */
    public static AddressRange parse(String setting, String entry) {
        Objects.requireNonNull(entry, setting);
        String e = entry.trim();
        int slash = e.indexOf('/');
        try {
            if (slash < 0) {
                InetAddress a = InetAddress.getByName(e);
                return new AddressRange(a, a.getAddress().length * 8);
            }
            InetAddress a = InetAddress.getByName(e.substring(0, slash));
            return new AddressRange(a, Integer.parseInt(e.substring(slash + 1)));
        } catch (UnknownHostException | IllegalArgumentException ex) {
            throw new ConfigurationException(setting, "'" + entry + "' is not an address, a CIDR block or a known host name");
        }
    }

    /** Whether {@code address} lies in this range. */
    public boolean contains(InetAddress address) {
        byte[] a = address.getAddress();
        byte[] n = network.getAddress();
        if (a.length != n.length) {
            return false;
        }
        int full = bits / 8;
        for (int i = 0; i < full; i++) {
            if (a[i] != n[i]) {
                return false;
            }
        }
        int rest = bits % 8;
        if (rest == 0) {
            return true;
        }
        int mask = 0xFF << (8 - rest) & 0xFF;
        return (a[full] & mask) == (n[full] & mask);
    }

    @Override
    public String toString() {
        return network.getHostAddress() + "/" + bits;
    }
}
