#!/usr/bin/env bash
# Many HA nodes in one JVM: bench/many-nodes.sh [nodes=1000] [clusterSize=1|3] [store=etcd|zookeeper|consul] [scheduling=own|shared] [ttl=30 (consul 45)] [retry_timeout=10]
# Starts nodes x HaNode on the fake PostgreSQL controller, in clusters of clusterSize, all on one real
# store server (started on free loopback ports in a temp folder, always stopped) through one shared
# Dcs; prints the time until every cluster has a leader, heap and threads per node, idle CPU and store
# requests per node, and (clusterSize > 1) one cluster's failover time while the others run.
# scheduling=own: every node has its own threads (the default); shared: all on one NodeScheduling.
set -euo pipefail
cd "$(dirname "$0")/.."
bin/install-test-deps
cp="$(bin/bench-classpath)"
exec java -Xms256m -Xmx3g -XX:+UseSerialGC ${BENCH_JAVA_OPTS:-} -cp "$cp" io.pgha.bench.ManyNodes "$@"
