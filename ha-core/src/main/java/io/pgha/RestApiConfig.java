package io.pgha;

import io.pgha.spi.support.PemTls;
import io.pgha.spi.support.ReadableFiles;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import javax.net.ssl.SSLContext;

/**
 * Settings of a node's REST API (Patroni-compatible health checks, status and actions). Immutable;
 * built with {@link #builder()}. The password is never printed.
 */
public final class RestApiConfig {
    /** Whether TLS clients must present a certificate. */
    public enum ClientAuth {
        NONE, OPTIONAL, REQUIRED
    }

    private final InetSocketAddress listen;
    private final Optional<String> connectHost;
    private final int connectPort;
    private final Optional<String> username;
    private final Optional<char[]> password;
    private final Optional<SSLContext> tls;
    private final ClientAuth clientAuth;
    private final int threads;
    private final int maxBodyBytes;
    private final List<AddressRange> allowlist;
    private final boolean allowlistIncludeMembers;

    private RestApiConfig(Builder b, SSLContext tls) {
        this.listen = b.listen;
        this.connectHost = Optional.ofNullable(b.connectHost);
        this.connectPort = b.connectPort > 0 ? b.connectPort : b.listen.getPort();
        this.username = Optional.ofNullable(b.username);
        this.password = Optional.ofNullable(b.password).map(char[]::clone);
        this.tls = Optional.ofNullable(tls);
        this.clientAuth = b.clientAuth == null ? ClientAuth.NONE : b.clientAuth;
        this.threads = b.threads == null ? 4 : b.threads;
        this.maxBodyBytes = b.maxBodyBytes == null ? 64 * 1024 : b.maxBodyBytes;
        this.allowlist = b.allowlist == null ? List.of() : b.allowlist;
        this.allowlistIncludeMembers = Boolean.TRUE.equals(b.allowlistIncludeMembers);
    }

    public static Builder builder() {
        return new Builder();
    }

    public InetSocketAddress listen() {
        return listen;
    }

    /** The address peers and tools use to reach this API (Patroni's {@code restapi.connect_address}). */
    public String connectHost() {
        return connectHost.orElse(listen.getHostString());
    }

    public int connectPort() {
        return connectPort;
    }

    /** This API's {@code api_url}: {@code http(s)://connect_host:port/patroni}. */
    public String apiUrl() {
        return apiUrl(connectPort);
    }

    /** The {@code api_url} for the port actually bound (when listening on port 0). */
    public String apiUrl(int boundPort) {
        int port = connectPort > 0 ? connectPort : boundPort;
        String host = connectHost();
        if (host.contains(":") && !host.startsWith("[")) {
            host = "[" + host + "]";
        }
        return (tls.isPresent() ? "https" : "http") + "://" + host + ":" + port + "/patroni";
    }

    public Optional<String> username() {
        return username;
    }

    /** The basic-auth password (a copy). */
    public Optional<char[]> password() {
        return password.map(char[]::clone);
    }

    /** The TLS context HTTPS is served with (and this node's calls to its peers use), if any. */
    public Optional<SSLContext> sslContext() {
        return tls;
    }

    public ClientAuth clientAuth() {
        return clientAuth;
    }

    public int threads() {
        return threads;
    }

    /** Who may call the unsafe endpoints (empty: anyone who passes authentication). */
    public List<AddressRange> allowlist() {
        return allowlist;
    }

    /** Whether the cluster's members may call the unsafe endpoints besides {@link #allowlist()}. */
    public boolean allowlistIncludeMembers() {
        return allowlistIncludeMembers;
    }

    public int maxBodyBytes() {
        return maxBodyBytes;
    }

    @Override
    public String toString() {
        return "RestApiConfig[listen=" + listen + ", api_url=" + apiUrl() + ", auth=" + (username.isPresent() ? username.get() + ":****" : "none")
                + ", tls=" + tls.isPresent() + ", clientAuth=" + clientAuth + "]";
    }

    /**
     * Builds a {@link RestApiConfig}. Each setter checks its own argument and may be called once;
     * {@link #build()} checks the combination and loads PEM files. Errors are
     * {@link ConfigurationException}s naming the setting by its Patroni key ({@code restapi.*}), and
     * never contain the password.
     */
    public static final class Builder {
        private InetSocketAddress listen;
        private String connectHost;
        private int connectPort;
        private String username;
        private char[] password;
        private Path certificate;
        private Path privateKey;
        private String keyPassword;
        private Path trustedCa;
        private SSLContext sslContext;
        private ClientAuth clientAuth;
        private Integer threads;
        private Integer maxBodyBytes;
        private List<AddressRange> allowlist;
        private Boolean allowlistIncludeMembers;

        private Builder() {
        }

        /**
         * Only these addresses, CIDR blocks or hosts may call the unsafe endpoints (POST, PUT, PATCH,
         * DELETE); others get 403 (Patroni's {@code restapi.allowlist}). Host names are resolved here.
         *
         * @throws ConfigurationException if already set, empty, or an entry is not an address, block or known host
         * @throws NullPointerException   if the list or an entry is null
         */
        public Builder allowlist(List<String> entries) {
            requireUnset("restapi.allowlist", allowlist);
            Objects.requireNonNull(entries, "restapi.allowlist");
            if (entries.isEmpty()) {
                throw new ConfigurationException("restapi.allowlist", "must name at least one address");
            }
            this.allowlist = entries.stream().map(e -> AddressRange.parse("restapi.allowlist", e)).toList();
            return this;
        }

        /**
         * Also allows the cluster's members (the hosts of their {@code api_url} and {@code conn_url}),
         * as Patroni's {@code restapi.allowlist_include_members}.
         *
         * @throws ConfigurationException if already set
         */
        public Builder allowlistIncludeMembers(boolean include) {
            requireUnset("restapi.allowlist_include_members", allowlistIncludeMembers);
            this.allowlistIncludeMembers = include;
            return this;
        }

        /**
         * Where to listen, e.g. {@code listen("127.0.0.1", 8008)}; port 0 picks a free one
         * (Patroni's {@code restapi.listen}).
         *
         * @throws ConfigurationException if already set, the port is out of range or the host does not resolve
         * @throws NullPointerException   if {@code host} is null
         */
        public Builder listen(String host, int port) {
            requireUnset("restapi.listen", listen);
            Objects.requireNonNull(host, "restapi.listen");
            if (port < 0 || port > 65535) {
                throw new ConfigurationException("restapi.listen", "port must be 0..65535, got " + port);
            }
            InetSocketAddress address = new InetSocketAddress(host, port);
            if (address.isUnresolved()) {
                throw new ConfigurationException("restapi.listen", "cannot resolve host '" + host + "'");
            }
            this.listen = address;
            return this;
        }

        /**
         * The address others use to reach this API, when it differs from the listen address
         * (Patroni's {@code restapi.connect_address}).
         *
         * @throws ConfigurationException if already set or the port is not 1..65535
         * @throws NullPointerException   if {@code host} is null
         */
        public Builder connectAddress(String host, int port) {
            requireUnset("restapi.connect_address", connectHost);
            Objects.requireNonNull(host, "restapi.connect_address");
            if (port <= 0 || port > 65535) {
                throw new ConfigurationException("restapi.connect_address", "port must be 1..65535, got " + port);
            }
            this.connectHost = host;
            this.connectPort = port;
            return this;
        }

        /**
         * Requires HTTP basic auth with these credentials for unsafe methods (POST, PUT, PATCH,
         * DELETE), as Patroni's {@code restapi.authentication}. The password is never printed.
         *
         * @throws ConfigurationException if already set, or the user name is empty or contains ':'
         * @throws NullPointerException   if either argument is null
         */
        public Builder credentials(String username, String password) {
            requireUnset("restapi.authentication", this.username);
            Objects.requireNonNull(username, "restapi.authentication.username");
            Objects.requireNonNull(password, "restapi.authentication.password");
            if (username.isEmpty() || username.contains(":")) {
                throw new ConfigurationException("restapi.authentication.username", "must be non-empty and contain no ':'");
            }
            this.username = username;
            this.password = password.toCharArray();
            return this;
        }

        /**
         * Serves HTTPS with this certificate (chain) and its key, both PEM (Patroni's
         * {@code restapi.certfile} and {@code restapi.keyfile}; give the same file twice when it holds
         * both). The files are read at {@link #build()}.
         *
         * @throws ConfigurationException if already set or a file cannot be read
         * @throws NullPointerException   if either argument is null
         */
        public Builder certificate(Path certificatePem, Path privateKeyPem) {
            requireUnset("restapi.certfile", certificate);
            this.certificate = ReadableFiles.require("restapi.certfile", certificatePem);
            this.privateKey = ReadableFiles.require("restapi.keyfile", privateKeyPem);
            return this;
        }

        /**
         * Like {@link #certificate(Path, Path)} for an encrypted key (PEM {@code ENCRYPTED PRIVATE
         * KEY}) and its passphrase (Patroni's {@code restapi.keyfile_password}). A wrong passphrase
         * fails {@link #build()} with a {@link io.pgha.spi.support.PemException} naming
         * {@code restapi.keyfile}.
         *
         * @throws ConfigurationException if already set, a file cannot be read or the passphrase is empty
         * @throws NullPointerException   if an argument is null
         */
        public Builder certificate(Path certificatePem, Path privateKeyPem, String keyPassword) {
            Objects.requireNonNull(keyPassword, "restapi.keyfile_password");
            if (keyPassword.isEmpty()) {
                throw new ConfigurationException("restapi.keyfile_password", "cannot be empty");
            }
            certificate(certificatePem, privateKeyPem);
            this.keyPassword = keyPassword;
            return this;
        }

        /**
         * The CA(s), PEM, that sign client certificates (Patroni's {@code restapi.cafile}); used with
         * {@link #clientAuth}, and by this node's own calls to its peers' APIs.
         *
         * @throws ConfigurationException if already set or the file cannot be read
         * @throws NullPointerException   if {@code caPem} is null
         */
        public Builder trustedCa(Path caPem) {
            requireUnset("restapi.cafile", trustedCa);
            this.trustedCa = ReadableFiles.require("restapi.cafile", caPem);
            return this;
        }

        /**
         * Serves HTTPS with a ready TLS context, instead of {@link #certificate} and {@link #trustedCa}.
         * The context also serves this node's calls to its peers' APIs.
         *
         * @throws ConfigurationException if already set
         * @throws NullPointerException   if {@code context} is null
         */
        public Builder sslContext(SSLContext context) {
            requireUnset("restapi.ssl_context", sslContext);
            this.sslContext = Objects.requireNonNull(context, "restapi.ssl_context");
            return this;
        }

        /**
         * Whether clients must present a certificate (Patroni's {@code restapi.verify_client}; default
         * {@link ClientAuth#NONE}); needs TLS.
         *
         * @throws ConfigurationException if already set
         * @throws NullPointerException   if {@code mode} is null
         */
        public Builder clientAuth(ClientAuth mode) {
            requireUnset("restapi.verify_client", clientAuth);
            this.clientAuth = Objects.requireNonNull(mode, "restapi.verify_client");
            return this;
        }

        /**
         * Request-handling threads (default 4; Patroni's {@code thread_pool_size} minimum is 5 with its
         * own threads included).
         *
         * @throws ConfigurationException if already set or not 1..64
         */
        public Builder threads(int n) {
            requireUnset("restapi.thread_pool_size", threads);
            if (n < 1 || n > 64) {
                throw new ConfigurationException("restapi.thread_pool_size", "must be 1..64, got " + n);
            }
            this.threads = n;
            return this;
        }

        /**
         * Largest accepted request body (default 64 KiB); larger ones get 400.
         *
         * @throws ConfigurationException if already set or below 1024
         */
        public Builder maxBodyBytes(int n) {
            requireUnset("restapi.max_body_bytes", maxBodyBytes);
            if (n < 1024) {
                throw new ConfigurationException("restapi.max_body_bytes", "must be at least 1024, got " + n);
            }
            this.maxBodyBytes = n;
            return this;
        }

        /**
         * @throws ConfigurationException if no listen address was given; PEM files and an SSLContext
         *                                were both given; a CA or client verification was given without
         *                                TLS, or client verification from PEM files without a CA; a
         *                                PEM file holds no certificate or usable key; or the
         *                                listen address is a wildcard and no connect address was given
         */
        public RestApiConfig build() {
            if (listen == null) {
                throw new ConfigurationException("restapi.listen", "is required");
            }
            if (sslContext != null && (certificate != null || trustedCa != null)) {
                throw new ConfigurationException("restapi.ssl_context", "give either PEM files (restapi.certfile, restapi.cafile) or"
                        + " an SSLContext, not both");
            }
            if (trustedCa != null && certificate == null) {
                throw new ConfigurationException("restapi.cafile", "needs restapi.certfile: client certificates are checked only over TLS");
            }
            if (clientAuth != null && clientAuth != ClientAuth.NONE && certificate == null && sslContext == null) {
                throw new ConfigurationException("restapi.verify_client", "client certificates need TLS (restapi.certfile)");
            }
            if (clientAuth != null && clientAuth != ClientAuth.NONE && certificate != null && trustedCa == null) {
                // without a CA the JVM's public CAs would vouch for any client: any certificate bought anywhere
                throw new ConfigurationException("restapi.verify_client", "needs restapi.cafile: the CA that signs the clients'"
                        + " certificates");
            }
            if (connectHost == null && listen.getAddress().isAnyLocalAddress()) {
                throw new ConfigurationException("restapi.connect_address",
                        "is required when listening on a wildcard address (" + listen.getHostString() + ")");
            }
            SSLContext tls = sslContext;
            if (certificate != null) {
                tls = PemTls.sslContext(Optional.ofNullable(trustedCa).map(p -> new PemTls.PemFile("restapi.cafile", p)),
                        Optional.of(new PemTls.PemFile("restapi.certfile", certificate)),
                        Optional.of(new PemTls.PemFile("restapi.keyfile", privateKey)), Optional.ofNullable(keyPassword));
            }
            return new RestApiConfig(this, tls);
        }

        private static void requireUnset(String setting, Object current) {
            if (current != null) {
                throw new ConfigurationException(setting, "was already set");
            }
        }
    }
}
