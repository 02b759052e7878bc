#!/usr/bin/env bash
# The soak: bench/soak.sh [seconds=600] [ttl=3] [loop_wait=1] [retry_timeout=1]
# A cluster at a small ttl under pgbench, two CPU burners and an fsync loop; counts false failovers.
set -euo pipefail
cd "$(dirname "$0")/.."
bin/install-test-deps
cp="$(bin/bench-classpath)"
exec java -Xms32m -Xmx512m -XX:+UseSerialGC -cp "$cp" io.pgha.bench.Soak "$@"
