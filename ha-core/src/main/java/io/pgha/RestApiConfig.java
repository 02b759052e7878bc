package io.pgha;

import java.net.InetSocketAddress;
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

    private RestApiConfig(Builder b) {
        this.listen = b.listen;
        this.connectHost = Optional.ofNullable(b.connectHost);
        this.connectPort = b.connectPort > 0 ? b.connectPort : b.listen.getPort();
        this.username = Optional.ofNullable(b.username);
        this.password = Optional.ofNullable(b.password).map(char[]::clone);
        this.tls = Optional.ofNullable(b.tls);
        this.clientAuth = b.clientAuth;
        this.threads = b.threads;
        this.maxBodyBytes = b.maxBodyBytes;
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

    public Optional<SSLContext> tls() {
        return tls;
    }

    public ClientAuth clientAuth() {
        return clientAuth;
    }

    public int threads() {
        return threads;
    }

    public int maxBodyBytes() {
        return maxBodyBytes;
    }

    @Override
    public String toString() {
        return "RestApiConfig[listen=" + listen + ", api_url=" + apiUrl() + ", auth=" + (username.isPresent() ? username.get() + ":****" : "none")
                + ", tls=" + tls.isPresent() + ", clientAuth=" + clientAuth + "]";
    }

    /** Builds a {@link RestApiConfig}; every setter checks its argument. */
    public static final class Builder {
        private InetSocketAddress listen;
        private String connectHost;
        private int connectPort;
        private String username;
        private char[] password;
        private SSLContext tls;
        private ClientAuth clientAuth = ClientAuth.NONE;
        private int threads = 4;
        private int maxBodyBytes = 64 * 1024;

        private Builder() {
        }

        /** Where to listen, e.g. {@code listen("127.0.0.1", 8008)}; port 0 picks a free one. */
        public Builder listen(String host, int port) {
            Objects.requireNonNull(host, "restapi.listen");
            if (port < 0 || port > 65535) {
                throw new ConfigurationException("restapi.listen", "port must be 0..65535, got " + port);
            }
            this.listen = new InetSocketAddress(host, port);
            if (listen.isUnresolved()) {
                throw new ConfigurationException("restapi.listen", "cannot resolve host '" + host + "'");
            }
            return this;
        }

        /** The address others use to reach this API, when it differs from the listen address. */
        public Builder connectAddress(String host, int port) {
            this.connectHost = Objects.requireNonNull(host, "restapi.connect_address");
            if (port <= 0 || port > 65535) {
                throw new ConfigurationException("restapi.connect_address", "port must be 1..65535, got " + port);
            }
            this.connectPort = port;
            return this;
        }

        /** Require HTTP basic auth for unsafe methods (POST, PUT, PATCH, DELETE). */
        public Builder basicAuth(String username, char[] password) {
            Objects.requireNonNull(username, "restapi.authentication.username");
            Objects.requireNonNull(password, "restapi.authentication.password");
            if (username.isEmpty() || username.contains(":")) {
                throw new ConfigurationException("restapi.authentication.username", "must be non-empty and contain no ':'");
            }
            this.username = username;
            this.password = password.clone();
            return this;
        }

        /** Serve HTTPS with this context. */
        public Builder tls(SSLContext context) {
            this.tls = Objects.requireNonNull(context, "restapi.tls");
            return this;
        }

        /** Verify client certificates (needs {@link #tls}). */
        public Builder clientAuth(ClientAuth mode) {
            this.clientAuth = Objects.requireNonNull(mode, "restapi.verify_client");
            return this;
        }

        /** Request-handling threads (default 4; Patroni's thread_pool_size minimum is 5 with its own threads included). */
        public Builder threads(int n) {
            if (n < 1 || n > 64) {
                throw new ConfigurationException("restapi.thread_pool_size", "must be 1..64, got " + n);
            }
            this.threads = n;
            return this;
        }

        /** Largest accepted request body (default 64 KiB); larger ones get 400. */
        public Builder maxBodyBytes(int n) {
            if (n < 1024) {
                throw new ConfigurationException("restapi.max_body_bytes", "must be at least 1024, got " + n);
            }
            this.maxBodyBytes = n;
            return this;
        }

        public RestApiConfig build() {
            if (listen == null) {
                throw new ConfigurationException("restapi.listen", "is required");
            }
            if (clientAuth != ClientAuth.NONE && tls == null) {
                throw new ConfigurationException("restapi.verify_client", "client certificates need TLS (restapi.certfile)");
            }
            if (connectHost == null && listen.getAddress().isAnyLocalAddress()) {
                throw new ConfigurationException("restapi.connect_address",
                        "is required when listening on a wildcard address (" + listen.getHostString() + ")");
            }
            return new RestApiConfig(this);
        }
    }
}
