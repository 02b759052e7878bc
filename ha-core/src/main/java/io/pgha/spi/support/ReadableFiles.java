package io.pgha.spi.support;

import io.pgha.ConfigurationException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Objects;

/** The store builders' check of a file setting (a CA certificate, a client certificate or key, a key store). */
public final class ReadableFiles {
    private ReadableFiles() {
    }

    /**
     * Returns {@code file} if it is a file this process can read.
     *
     * @param setting the setting's name, in Patroni's spelling where one exists ({@code cacert})
     * @throws NullPointerException   naming the setting, for {@code null}
     * @throws ConfigurationException naming the setting, if the file cannot be read or is a directory
     */
    public static Path require(String setting, Path file) {
        Objects.requireNonNull(file, setting);
        if (!Files.isReadable(file) || Files.isDirectory(file)) {
            throw new ConfigurationException(setting, "cannot read the file " + file);
        }
        return file;
    }
}
