package io.pgha.internal.postgres;

import javax.net.SocketFactory;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.Socket;
import java.net.SocketAddress;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
import java.nio.file.Path;
import java.util.Properties;

/**
 * Lets pgjdbc reach PostgreSQL over its Unix-domain socket with the JDK's own support (no native
 * library): pgjdbc instantiates it from the {@code socketFactory} connection property and hands it
 * the connection's properties, of which {@value #SOCKET_PATH} names the socket file. The TCP
 * address pgjdbc connects "to" is ignored. Reads honour {@code setSoTimeout} as a TCP socket does
 * (pgjdbc's socketTimeout and its message-pending probe depend on that).
 *
 * <p>Not API: public only because pgjdbc creates it by reflection.
 */
public final class UnixSocketFactory extends SocketFactory {

    /** The connection property naming the socket file, {@code <dir>/.s.PGSQL.<port>}. */
    public static final String SOCKET_PATH = "pgha.unixSocketPath";

    private final Path socket;

    /** Called by pgjdbc with the connection's properties. */
    public UnixSocketFactory(Properties info) {
        String p = info.getProperty(SOCKET_PATH);
        if (p == null || p.isEmpty()) {
            throw new IllegalArgumentException(SOCKET_PATH + " is not set");
        }
        this.socket = Path.of(p);
    }

    @Override
    public Socket createSocket() {
        return new UnixSocket(socket);
    }

    @Override
    public Socket createSocket(String host, int port) throws IOException {
        return connected();
    }

    @Override
    public Socket createSocket(String host, int port, InetAddress localHost, int localPort) throws IOException {
        return connected();
    }

    @Override
    public Socket createSocket(InetAddress host, int port) throws IOException {
        return connected();
    }

    @Override
    public Socket createSocket(InetAddress address, int port, InetAddress localAddress, int localPort) throws IOException {
        return connected();
    }

    private Socket connected() throws IOException {
        UnixSocket s = new UnixSocket(socket);
        s.connect(null, 0);
        return s;
    }

    /** A {@link Socket} over a non-blocking Unix-domain channel; the TCP options pgjdbc sets are accepted and ignored. */
    private static final class UnixSocket extends Socket {
        private final Path path;
        private SocketChannel channel;
        private Selector readable;
        private Selector writable;
        private volatile int timeoutMillis;
        private volatile boolean closed;

        UnixSocket(Path path) {
            this.path = path;
        }

        @Override
        public synchronized void connect(SocketAddress ignored, int timeout) throws IOException {
            if (channel != null) {
                throw new SocketException("already connected");
            }
            SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX);
            try {
                // a local connect either succeeds or fails at once: there is no network to wait for
                ch.connect(UnixDomainSocketAddress.of(path));
                ch.configureBlocking(false);
                readable = Selector.open();
                writable = Selector.open();
                ch.register(readable, SelectionKey.OP_READ);
                ch.register(writable, SelectionKey.OP_WRITE);
            } catch (IOException e) {
                ch.close();
                closeQuietly(readable);
                closeQuietly(writable);
                throw new java.net.ConnectException("cannot connect to " + path + ": " + e.getMessage());
            }
            channel = ch;
        }

        @Override
        public boolean isConnected() {
            return channel != null;
        }

        @Override
        public boolean isBound() {
            return channel != null;
        }

        @Override
        public boolean isClosed() {
            return closed;
        }

        @Override
        public InputStream getInputStream() throws IOException {
            requireOpen();
            return new InputStream() {
                @Override
                public int read() throws IOException {
                    byte[] one = new byte[1];
                    int n = read(one, 0, 1);
                    return n < 0 ? -1 : one[0] & 0xff;
                }

                @Override
                public int read(byte[] b, int off, int len) throws IOException {
                    if (len == 0) {
                        return 0;
                    }
                    ByteBuffer buf = ByteBuffer.wrap(b, off, len);
                    long deadline = timeoutMillis == 0 ? Long.MAX_VALUE : System.nanoTime() + timeoutMillis * 1_000_000L;
                    while (true) {
                        int n = channel.read(buf);
                        if (n != 0) {
                            return n;
                        }
                        long left = deadline == Long.MAX_VALUE ? 0 : (deadline - System.nanoTime()) / 1_000_000L;
                        if (deadline != Long.MAX_VALUE && left <= 0) {
                            throw new SocketTimeoutException("Read timed out");
                        }
                        synchronized (readable) {
                            readable.select(deadline == Long.MAX_VALUE ? 0 : Math.max(1, left));
                            readable.selectedKeys().clear();
                        }
                        if (closed) {
                            throw new SocketException("Socket closed");
                        }
                    }
                }

                @Override
                public int available() throws IOException {
                    return 0;
                }

                @Override
                public void close() throws IOException {
                    UnixSocket.this.close();
                }
            };
        }

        @Override
        public OutputStream getOutputStream() throws IOException {
            requireOpen();
            return new OutputStream() {
                @Override
                public void write(int b) throws IOException {
                    write(new byte[]{(byte) b}, 0, 1);
                }

                @Override
                public void write(byte[] b, int off, int len) throws IOException {
                    ByteBuffer buf = ByteBuffer.wrap(b, off, len);
                    while (buf.hasRemaining()) {
                        if (channel.write(buf) == 0) {
                            synchronized (writable) {
                                writable.select(1000);
                                writable.selectedKeys().clear();
                            }
                            if (closed) {
                                throw new SocketException("Socket closed");
                            }
                        }
                    }
                }

                @Override
                public void close() throws IOException {
                    UnixSocket.this.close();
                }
            };
        }

        private void requireOpen() throws SocketException {
            if (channel == null || closed) {
                throw new SocketException(closed ? "Socket closed" : "Socket not connected");
            }
        }

        @Override
        public void setSoTimeout(int timeout) throws SocketException {
            if (timeout < 0) {
                throw new IllegalArgumentException("timeout < 0");
            }
            timeoutMillis = timeout;
        }

        @Override
        public int getSoTimeout() {
            return timeoutMillis;
        }

        @Override
        public void setTcpNoDelay(boolean on) {
            // no Nagle on a Unix-domain socket
        }

        @Override
        public boolean getTcpNoDelay() {
            return true;
        }

        @Override
        public void setKeepAlive(boolean on) {
            // no keep-alive probes on a Unix-domain socket: the peer's death closes it
        }

        @Override
        public boolean getKeepAlive() {
            return false;
        }

        @Override
        public void setReceiveBufferSize(int size) {
            // the kernel's default serves a local socket
        }

        @Override
        public void setSendBufferSize(int size) {
            // the kernel's default serves a local socket
        }

        @Override
        public void setSoLinger(boolean on, int linger) {
            // nothing is lingering on a local socket
        }

        @Override
        public void shutdownInput() throws IOException {
            requireOpen();
            channel.shutdownInput();
        }

        @Override
        public void shutdownOutput() throws IOException {
            requireOpen();
            channel.shutdownOutput();
        }

        @Override
        public synchronized void close() throws IOException {
            if (closed) {
                return;
            }
            closed = true;
            closeQuietly(readable);
            closeQuietly(writable);
            if (channel != null) {
                channel.close();
            }
        }

        @Override
        public String toString() {
            return "UnixSocket[" + path + "]";
        }

        private static void closeQuietly(Selector s) {
            if (s != null) {
                try {
                    s.close();
                } catch (IOException e) {
                    // nothing to do: it is being thrown away
                }
            }
        }
    }
}
