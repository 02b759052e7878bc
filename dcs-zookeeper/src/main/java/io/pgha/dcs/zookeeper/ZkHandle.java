package io.pgha.dcs.zookeeper;

import java.io.IOException;
import org.apache.curator.utils.ZookeeperFactory;
import org.apache.zookeeper.Watcher;
import org.apache.zookeeper.ZooKeeper;
import org.apache.zookeeper.client.ZKClientConfig;

/**
 * The ZooKeeper handle of the clients this module creates: closed while it is not connected, it
 * lets go of its connection without sending {@code closeSession}.
 *
 * <p>{@link ZooKeeper#close()} sends {@code closeSession} and waits for the answer up to the request
 * timeout; with no server to answer, ZooKeeper's {@code ClientCnxn} then logs an ERROR ("Timeout error
 * occurred for the packet ...") although nothing went wrong but the outage that is already logged.
 * That happens when a lease ends during an outage ({@code ZkConnection.endSession}), when the store
 * is closed during one, and when Curator replaces a handle that could not connect in time. Closed
 * while not connected, this handle stops its threads and closes its socket, sending nothing: the
 * server expires the session one session timeout after it last heard from it, as it would anyway.
 */
final class ZkHandle extends ZooKeeper {
    ZkHandle(String connectString, int sessionTimeout, Watcher watcher, boolean canBeReadOnly, ZKClientConfig config)
            throws IOException {
        super(connectString, sessionTimeout, watcher, canBeReadOnly, config);
    }

    /** As {@link ZooKeeper#close()} while connected; otherwise stops the client's threads and closes its socket, sending nothing. */
    @Override
    public synchronized void close() throws InterruptedException {
        States s = getState();
        if (s.isAlive() && !s.isConnected()) {
            cnxn.disconnect();
            return;
        }
        super.close();
    }

    /** Curator's factory for these handles, all with {@code config}. */
    static ZookeeperFactory factory(ZKClientConfig config) {
        return new ZookeeperFactory() {
            @Override
            public ZooKeeper newZooKeeper(String connectString, int sessionTimeout, Watcher watcher, boolean canBeReadOnly)
                    throws IOException {
                return new ZkHandle(connectString, sessionTimeout, watcher, canBeReadOnly, config);
            }

            @Override
            public ZooKeeper newZooKeeper(String connectString, int sessionTimeout, Watcher watcher, boolean canBeReadOnly,
                                          ZKClientConfig ignored) throws IOException {
                return new ZkHandle(connectString, sessionTimeout, watcher, canBeReadOnly, config);
            }
        };
    }
}
