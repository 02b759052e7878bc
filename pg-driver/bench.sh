#!/usr/bin/env bash
# Measures bootstrap, clone, promote, follow-reload and rewind on this machine's PostgreSQL.
# Usage (from the repository root or anywhere): pg-driver/bench.sh [N]   (default N=5)
set -euo pipefail
cd "$(dirname "$0")/.."
./mvnw -q -pl pg-driver -am test-compile dependency:build-classpath \
  -Dmdep.outputFile=target/bench.classpath -Dmdep.includeScope=test
CP="pg-driver/target/test-classes:pg-driver/target/classes:ha-core/target/classes:$(cat pg-driver/target/bench.classpath)"
exec java -Dorg.slf4j.simpleLogger.logFile=System.err -Dorg.slf4j.simpleLogger.defaultLogLevel=warn -Dorg.slf4j.simpleLogger.log.io.pgha=warn \
  -cp "$CP" io.pgha.postgres.bench.PgBench "${1:-5}"
