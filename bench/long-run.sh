#!/usr/bin/env bash
# The long run: bench/long-run.sh [minutes=60]
# Three agents on real PostgreSQL and etcd under a light write load (synchronous mode), a switchover every
# 30 s and a kill -9 of n3 (agent and postmaster) every 5 minutes; samples every agent's heap after GC,
# RSS, threads, open descriptors and store connections every 30 s and prints the first and last ten
# minutes side by side, with etcd's keys, database size, watchers and writes. Exits 1 if an
# acknowledged write was lost. Leaves nothing running.
set -euo pipefail
cd "$(dirname "$0")/.."
bin/install-test-deps
cp="$(bin/bench-classpath)"
exec java -Xms32m -Xmx512m -XX:+UseSerialGC -cp "$cp" io.pgha.bench.LongRun "$@"
