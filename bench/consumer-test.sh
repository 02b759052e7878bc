#!/usr/bin/env bash
# bench/consumer-test.sh: pgha as a user of the published artifacts gets it.
#
#  1. Builds this checkout (a copy of it, so the working tree's target/ folders are left alone) and
#     deploys it to a file repository, installing it into a private local repository on the way:
#     never into ~/.m2, which is only read (a chained, read-only tail) so nothing is downloaded twice.
#  2. Checks the deployed set: every published module has its jar, sources jar, javadoc jar and an
#     Automatic-Module-Name; pgha-bom and pgha-parent are there; the examples and pgha-bench are not.
#  3. Makes a user's project of its own from the README's "Embed it" blocks as they are written (the
#     BOM and pgha-core, pgha-dcs-etcd, pgha-pg-driver; bench/consumer/), compiles it with the
#     enforcer's dependencyConvergence, and checks that its runtime libraries are exactly those of
#     pgha's own examples module (what the tests run with; less the examples' logging backend).
#  4. Runs the README's snippet against a real etcd and PostgreSQL until the node is primary, then
#     closes it (skipped with PGHA_CONSUMER_RUN=false, or when etcd or PostgreSQL is missing).
#
# Environment: PGHA_CONSUMER_REPO (the private local repository, default /tmp/pgha-consumer-repo: kept,
# so a second run needs no network), PGHA_CONSUMER_KEEP=true keeps the work folder.
# About a minute here once the private repository is filled. Exits non-zero, naming what failed.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
repo="${PGHA_CONSUMER_REPO:-/tmp/pgha-consumer-repo}"
run_node="${PGHA_CONSUMER_RUN:-true}"
work="$(mktemp -d /tmp/pgha-consumer.XXXXXX)"
etcd_pid=""
cleanup() {
  if [ -n "$etcd_pid" ]; then kill "$etcd_pid" 2>/dev/null || true; wait "$etcd_pid" 2>/dev/null || true; fi
  if [ "${PGHA_CONSUMER_KEEP:-false}" != true ]; then rm -rf "$work"; else echo "consumer-test: kept $work"; fi
}
trap cleanup EXIT
fail() { echo "consumer-test: FAILED: $*" >&2; exit 1; }
step() { echo "consumer-test: $*"; }

# one run at a time per private repository (two checkouts on one machine share it)
exec 9>"$repo.lock"
flock 9
mkdir -p "$repo"
mvn=("$here/mvnw" -B -ntp -Dmaven.repo.local="$repo")
# read what ~/.m2 already holds, never write there
if [ -d "$HOME/.m2/repository" ]; then
  mvn+=(-Daether.chainedLocalRepository.paths="$HOME/.m2/repository")
fi

# 1. build, install (private repository) and deploy (file repository) a copy of this checkout
step "copying the checkout to $work/src"
mkdir -p "$work/src"
tar -C "$here" --exclude=./.git --exclude='./*/target' --exclude='./*/*/target' --exclude=./target --exclude=./.cache -cf - . | tar -C "$work/src" -xf -
version="$(sed -n 's|^  <version>\(.*\)</version>|\1|p' "$work/src/bom/pom.xml" | head -1)"
[ -n "$version" ] || fail "no version in bom/pom.xml"
step "building pgha $version: install into $repo, deploy to $work/remote"
# dependency:list: each module's runtime libraries, to compare the user's with (examples' below)
"${mvn[@]}" -q -T 2 -f "$work/src/pom.xml" deploy dependency:list -DincludeScope=runtime -DoutputFile=target/runtime-deps.txt \
  -Dmaven.test.skip=true -Djapicmp.skip=true -DaltDeploymentRepository="local::file://$work/remote" >"$work/build.log" 2>&1 \
  || { tail -40 "$work/build.log" >&2; fail "the build of pgha (log above)"; }

# 2. what a release would publish
step "checking the deployed artifacts"
published=(pgha-core pgha-testkit pgha-pg-driver pgha-dcs-etcd pgha-dcs-zookeeper pgha-dcs-consul pgha-agent pgha-micrometer
  pgha-spring-boot-starter)
dir="$work/remote/io/pgha"
for pom in pgha-bom pgha-parent; do
  ls "$dir/$pom/$version/"*.pom >/dev/null 2>&1 || fail "$pom's pom was not deployed"
done
for a in "${published[@]}"; do
  d="$dir/$a/$version"
  jar="$(ls "$d"/"$a"-*.jar 2>/dev/null | grep -v -e '-sources.jar$' -e '-javadoc.jar$' | head -1 || true)"
  [ -n "$jar" ] || fail "$a has no jar in the deployed set"
  for kind in sources javadoc; do
    ls "$d"/"$a"-*-"$kind".jar >/dev/null 2>&1 || fail "$a has no $kind jar in the deployed set"
  done
  name="$(unzip -p "$jar" META-INF/MANIFEST.MF | tr -d '\r' | sed -n 's/^Automatic-Module-Name: //p')"
  [[ "$name" =~ ^io\.pgha(\.[a-z][a-z0-9]*)*$ ]] || fail "$a's jar has no valid Automatic-Module-Name (got '$name')"
  unzip -l "$jar" | grep -q ' io/pgha/internal/decision/PlantedBug' && [ "$a" != pgha-core ] && fail "$a carries pgha-core's classes"
  step "  $a: jar, sources, javadoc; module $name"
done
for a in pgha-examples pgha-example-spring-boot-app pgha-bench; do
  [ ! -e "$dir/$a" ] || fail "$a was deployed (it must never be)"
done
extra="$(ls "$dir" | grep -v -x -e pgha-bom -e pgha-parent $(printf -- '-e %s ' "${published[@]}") || true)"
[ -z "$extra" ] || fail "unexpected artifacts deployed: $extra"
unzip -p "$dir/pgha-core/$version/"pgha-core-*[0-9].jar io/pgha/pgha-version.properties 2>/dev/null | grep -q "^version=$version$" \
  || fail "pgha-core's io/pgha/pgha-version.properties does not say version=$version"

# 3. a user's project from the README's blocks
step "making a user's project from the README"
c="$work/consumer"
mkdir -p "$c/src/main/java/consumer"
readme="$here/README.md"
# the first xml and java blocks after "## Embed it"
block() { awk -v lang="$1" '/^## Embed it/{on=1} on && $0=="```"lang {inb=1; next} inb && /^```/{exit} inb{print}' "$readme"; }
deps="$(block xml)"
snippet="$(block java)"
[ -n "$deps" ] && [ -n "$snippet" ] || fail "no xml or java block under '## Embed it' in README.md"
grep -q '<artifactId>pgha-bom</artifactId>' <<<"$deps" || fail "the README's dependencies do not import pgha-bom"
# the README names the release; the user here takes the version just built
deps="$(awk -v v="$version" '/<artifactId>pgha-bom<\/artifactId>/{bom=1} bom && /<version>/{sub(/<version>[^<]*<\/version>/, "<version>" v "</version>"); bom=0} {print}' <<<"$deps")"
grep -c '<artifactId>' <<<"$deps" | grep -qx 4 || fail "the README's dependency block should name the BOM and three artifacts"
awk -v d="$deps" '/<!-- README_DEPENDENCIES -->/{print d; next} {print}' "$here/bench/consumer/pom.xml.template" >"$c/pom.xml"
start="$(sed -n '1,/^\/\/ \.\.\./p' <<<"$snippet" | sed '$d')"
rest="$(sed -n '/^\/\/ \.\.\./,$p' <<<"$snippet")"
[ -n "$start" ] && [ -n "$rest" ] || fail "the README's java block has no '// ...' line between starting the node and using it"
awk -v s="$start" -v r="$rest" '/README_SNIPPET_START/{print s; next} /README_SNIPPET_REST/{print r; next} {print}' \
  "$here/bench/consumer/ReadmeSnippet.java.template" >"$c/src/main/java/consumer/ReadmeSnippet.java"

step "compiling it against the installed artifacts (enforcer: dependencyConvergence)"
"${mvn[@]}" -q -f "$c/pom.xml" package dependency:list dependency:build-classpath -DincludeScope=runtime -DoutputAbsoluteArtifactFilename=false \
  -Dmdep.outputFile="$c/classpath.txt" -DoutputFile="$c/deps.txt" >"$c/build.log" 2>&1 \
  || { tail -40 "$c/build.log" >&2; fail "the user's project did not build (log above)"; }

step "comparing its runtime libraries with pgha's examples module's"
norm() { sed -n 's/^ *\([^ :]*:[^ :]*:[^ :]*:[^ ]*\).*/\1/p' "$1" | sed -E 's/:(compile|runtime)$//' | grep -v -e '^org.slf4j:slf4j-simple:' -e '^ch.qos.logback:' | sort -u; }
norm "$c/deps.txt" >"$work/consumer.set"
norm "$work/src/examples/target/runtime-deps.txt" | grep -v '^io.pgha:pgha-examples:' >"$work/examples.set"
[ "$(wc -l <"$work/consumer.set")" -gt 20 ] || fail "the user's dependency list looks empty: $(cat "$c/deps.txt")"
if ! diff -u "$work/examples.set" "$work/consumer.set" >"$work/deps.diff"; then
  cat "$work/deps.diff" >&2
  fail "the user's runtime libraries differ from pgha's own (- pgha's examples module, + the user's project)"
fi
step "  the same $(wc -l <"$work/consumer.set") libraries"

# 4. the README's snippet, running
if [ "$run_node" != true ]; then step "not running the node (PGHA_CONSUMER_RUN=$run_node)"; echo "consumer-test: OK"; exit 0; fi
etcd_bin="$(command -v etcd || true)"
pg_bin="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)"
if [ -z "$etcd_bin" ] || [ -z "$pg_bin" ]; then
  step "no etcd or PostgreSQL here (bin/install-test-deps installs them): not running the node"; echo "consumer-test: OK"; exit 0
fi
free_port() {
  local p
  for _ in $(seq 1 200); do
    p=$((20000 + RANDOM % 30000))
    (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return; }
  done
  fail "no free port"
}
etcd_port="$(free_port)"; peer_port="$(free_port)"; pg_port="$(free_port)"
chmod 755 "$work"  # PostgreSQL runs as its own user when this runs as root
mkdir -m 755 "$work/node"
"$etcd_bin" --name consumer --data-dir "$work/etcd" \
  --listen-client-urls "http://127.0.0.1:$etcd_port" --advertise-client-urls "http://127.0.0.1:$etcd_port" \
  --listen-peer-urls "http://127.0.0.1:$peer_port" --initial-advertise-peer-urls "http://127.0.0.1:$peer_port" \
  --initial-cluster "consumer=http://127.0.0.1:$peer_port" >"$work/etcd.log" 2>&1 &
etcd_pid=$!
for _ in $(seq 1 100); do
  (exec 3<>"/dev/tcp/127.0.0.1/$etcd_port") 2>/dev/null && break
  kill -0 "$etcd_pid" 2>/dev/null || { cat "$work/etcd.log" >&2; fail "etcd did not start"; }
  sleep 0.1
done
step "running the README's snippet: etcd on $etcd_port, PostgreSQL on $pg_port"
if ! timeout 150 java -cp "$c/target/classes:$(cat "$c/classpath.txt")" consumer.ReadmeSnippet \
    "http://127.0.0.1:$etcd_port" "$work/node/data" "$pg_port" >"$c/run.log" 2>&1; then
  tail -40 "$c/run.log" >&2
  fail "the README's snippet did not bring the node up as primary and close it (log above)"
fi
grep -q '^ROLE PRIMARY$' "$c/run.log" && grep -q '^CLOSED$' "$c/run.log" || { cat "$c/run.log" >&2; fail "the run did not report PRIMARY and CLOSED"; }
grep -q "^pgha $version$" "$c/run.log" || fail "PghaVersion.current() did not say $version"
step "  the node became primary, served, and closed with PostgreSQL stopped"
echo "consumer-test: OK"
