package io.pgha.spi;

import java.util.Locale;
import java.util.Objects;

/** Replication slot names as Patroni derives them, so a cluster migrated from Patroni keeps its slots. */
public final class SlotNames {
    private SlotNames() {
    }

    /**
     * The physical slot a member streams through (Patroni's {@code slot_name_from_member_name}):
     * lower case, {@code -} and {@code .} as {@code _}, any other character outside {@code [a-z0-9_]}
     * as {@code u} and its four-digit code, at most 63 characters. Two member names can map to one
     * slot ({@code pg-1} and {@code pg_1}); the engine refuses the second member that would.
     */
    public static String forMember(String member) {
        Objects.requireNonNull(member, "member");
        StringBuilder sb = new StringBuilder();
        for (char c : member.toLowerCase(Locale.ROOT).toCharArray()) {
            if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_') {
                sb.append(c);
            } else if (c == '-' || c == '.') {
                sb.append('_');
            } else {
                sb.append('u').append(String.format("%04d", (int) c));
            }
        }
        return sb.length() > 63 ? sb.substring(0, 63) : sb.toString();
    }
}
