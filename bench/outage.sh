#!/usr/bin/env bash
# The store-outage benchmark: bench/outage.sh [runs=20] [kind=etcd-freeze] [ttl=5] [loop_wait=1] [retry_timeout=2]
# kinds: etcd-freeze, etcd-restart, zookeeper-stop, consul-restart, consul-freeze, or all (every kind,
# each on a fresh cluster, one summary table at the end). Three agents on real PostgreSQL lose their
# whole store for ttl + 10 s, again and again; prints each repetition's convergence time and, per
# kind, min / median / max, the runs over 2 x ttl + loop_wait and the acknowledged writes lost.
# Consul runs with ttl >= 20 (its session_ttl_min is 10 s and pgha's session TTL is ttl / 2).
# BENCH_JAVA_OPTS=-Dpgha.bench.keepLogs=true keeps the agents' logs; exits 1 if a run did not
# converge or lost an acknowledged write.
set -euo pipefail
cd "$(dirname "$0")/.."
bin/install-test-deps
cp="$(bin/bench-classpath)"
exec java -Xms32m -Xmx512m -XX:+UseSerialGC ${BENCH_JAVA_OPTS:-} -cp "$cp" io.pgha.bench.OutageBench "$@"
