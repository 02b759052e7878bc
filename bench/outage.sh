#!/usr/bin/env bash
# The store-outage benchmark: bench/outage.sh [runs=20] [kind=etcd-freeze] [ttl=5] [loop_wait=1] [retry_timeout=2]
# kinds: etcd-freeze, etcd-restart. Three agents on real PostgreSQL lose their whole store for
# ttl + 10 s, again and again; prints each repetition's convergence time and a min/median/max row.
set -euo pipefail
cd "$(dirname "$0")/.."
bin/install-test-deps
cp="$(bin/bench-classpath)"
exec java -Xms32m -Xmx512m -XX:+UseSerialGC ${BENCH_JAVA_OPTS:-} -cp "$cp" io.pgha.bench.OutageBench "$@"
