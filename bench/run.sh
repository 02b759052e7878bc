#!/usr/bin/env bash
# The failover benchmark: bench/run.sh [runs=5] [ttl=3] [loop_wait=1] [retry_timeout=1]  (runs=0: the idle footprint only)
# Starts a three-node cluster on real PostgreSQL and etcd, runs every scenario N times, prints a
# table (min / median / max) with the settings. Leaves nothing running. Best on a quiet machine.
set -euo pipefail
cd "$(dirname "$0")/.."
bin/install-test-deps
cp="$(bin/bench-classpath)"
# the agents are started with bin/pgha, as an operator starts them (its JVM options, its class-data archive, the shaded jar)
exec java -Xms32m -Xmx512m -XX:+UseSerialGC -Dpgha.bench.agentLauncher="$PWD/bin/pgha" ${BENCH_JAVA_OPTS:-} -cp "$cp" io.pgha.bench.Bench "$@"
