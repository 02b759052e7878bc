package io.pgha.spi.support;

import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.Objects;
import java.util.Optional;

/**
 * Values as the exact UTF-8 text the engine handed over. Decoding is strict: bytes that are not
 * UTF-8 (a key written by some other tool) make the value "not text" rather than being turned into
 * replacement characters that the engine would take for a value.
 */
public final class StrictUtf8 {
    private StrictUtf8() {
    }

    /** The UTF-8 bytes of {@code text}. */
    public static byte[] encode(String text) {
        return Objects.requireNonNull(text, "text").getBytes(StandardCharsets.UTF_8);
    }

    /**
     * The text of {@code bytes}, or empty if they are not valid UTF-8. {@code null} and no bytes are
     * the empty string (ZooKeeper and Consul store an empty value as a node or key without data).
     */
    public static Optional<String> decode(byte[] bytes) {
        return bytes == null ? Optional.of("") : decode(bytes, 0, bytes.length);
    }

    /** The text of {@code length} bytes from {@code offset}, or empty if they are not valid UTF-8. */
    public static Optional<String> decode(byte[] bytes, int offset, int length) {
        Objects.checkFromIndexSize(offset, length, bytes.length);
        if (length == 0) {
            return Optional.of("");
        }
        try {
            return Optional.of(StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(bytes, offset, length))
                    .toString());
        } catch (CharacterCodingException e) {
            return Optional.empty();
        }
    }
}
