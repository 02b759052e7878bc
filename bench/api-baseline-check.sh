#!/usr/bin/env bash
# bench/api-baseline-check.sh: shows that the API baseline (japicmp, configured in the root pom.xml)
# fails the build on a breaking change to pgha-core's public API once a baseline release exists, and
# only then. Nothing goes to ~/.m2 (only read, as a chained read-only tail) nor to Central:
#
#  1. "releases" this checkout as pgha 0.1.0 (a copy with every 0.1.0-SNAPSHOT replaced) and installs
#     pgha-bom, pgha-parent and pgha-core 0.1.0 into a private local repository;
#  2. a copy of this checkout as it is: the check compares pgha-core with that 0.1.0 and passes;
#  3. the same with a change inside io.pgha.internal (a method added to an internal interface): passes,
#     internal packages are not API;
#  4. the same with a deliberate breaking change (HaNode.restAddress() removed): the build fails and
#     names the method;
#  5. against a release that does not exist: the check says so and passes (what every build does
#     until 0.1.0 is on Central).
#
# PGHA_API_REPO: the private repository (default /tmp/pgha-publish-repo, created afresh each run).
# About a minute. Exits non-zero, naming the step, if any of them does not behave so.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
repo="${PGHA_API_REPO:-/tmp/pgha-publish-repo}"
work="$(mktemp -d /tmp/pgha-api.XXXXXX)"
trap 'rm -rf "$work"' EXIT
fail() { echo "api-baseline-check: FAILED: $*" >&2; exit 1; }
step() { echo "api-baseline-check: $*"; }

# one run at a time per private repository (two checkouts on one machine share it)
exec 9>"$repo.lock"
flock 9
rm -rf "$repo/io/pgha"  # the rest (plugins) stays: a second run needs no network
mkdir -p "$repo"
chain=()
[ -d "$HOME/.m2/repository" ] && chain=(-Daether.chainedLocalRepository.paths="$HOME/.m2/repository")
build() { # build <tree> <repository> <log> [maven args...]: pgha-core and what it needs, no tests, no javadoc
  local tree="$1" r="$2" log="$3"; shift 3
  "$here/mvnw" -B -ntp -Dmaven.repo.local="$r" "${chain[@]}" -f "$tree/pom.xml" -pl ha-core -am \
    -Dmaven.test.skip=true -Dmaven.javadoc.skip=true -Dmaven.source.skip=true "$@" >"$log" 2>&1
}
copy() {
  mkdir -p "$1"
  tar -C "$here" --exclude=./.git --exclude='./*/target' --exclude='./*/*/target' --exclude=./target --exclude=./.cache -cf - . | tar -C "$1" -xf -
}
compared() { grep -q "pgha-core-0.1.0.jar" "$1/ha-core/target/japicmp/api-baseline.diff" 2>/dev/null; }

version="$(sed -n 's|^  <version>\(.*\)</version>|\1|p' "$here/bom/pom.xml" | head -1)"
[ "$version" != 0.1.0 ] || fail "this checkout is 0.1.0 itself: nothing to compare with"

step "1. installing this checkout as release 0.1.0 into $repo"
copy "$work/base"
find "$work/base" -name pom.xml -exec sed -i "s|<version>$version</version>|<version>0.1.0</version>|" {} +
build "$work/base" "$repo" "$work/base.log" install -Djapicmp.skip=true || { tail -30 "$work/base.log" >&2; fail "step 1"; }
[ -f "$repo/io/pgha/pgha-core/0.1.0/pgha-core-0.1.0.jar" ] || fail "step 1: no pgha-core-0.1.0.jar in $repo"

step "2. $version unchanged against 0.1.0: passes"
copy "$work/same"
build "$work/same" "$repo" "$work/same.log" verify || { tail -30 "$work/same.log" >&2; fail "step 2: the unchanged API failed the check"; }
compared "$work/same" || { grep -i japicmp -A5 "$work/same.log" >&2; fail "step 2: japicmp did not compare with pgha-core-0.1.0.jar"; }

step "3. a change inside io.pgha.internal: passes"
copy "$work/internal"
perl -0pi -e 's/(void plantBug\(HaNode\.Builder builder, PlantedBug bug\);)/$1\n\n        void anInternalChange();/' \
  "$work/internal/ha-core/src/main/java/io/pgha/internal/InternalAccess.java"
perl -0pi -e 's/(builder\.bugs\.add\(bug\);\n            \})/$1\n\n            \@Override\n            public void anInternalChange() {\n            }/' \
  "$work/internal/ha-core/src/main/java/io/pgha/HaNode.java"
grep -q anInternalChange "$work/internal/ha-core/src/main/java/io/pgha/HaNode.java" || fail "step 3: could not make the internal change"
build "$work/internal" "$repo" "$work/internal.log" verify || { tail -30 "$work/internal.log" >&2; fail "step 3: an internal change failed the check"; }
compared "$work/internal" || fail "step 3: japicmp did not compare"

step "4. HaNode.restAddress() removed: fails"
copy "$work/broken"
perl -0pi -e 's/\n    \/\*\* Where the REST API listens[^\n]*\n    public Optional<InetSocketAddress> restAddress\(\) \{\n[^}]*\}\n//' \
  "$work/broken/ha-core/src/main/java/io/pgha/HaNode.java"
! grep -q "restAddress()" "$work/broken/ha-core/src/main/java/io/pgha/HaNode.java" || fail "step 4: could not remove restAddress()"
if build "$work/broken" "$repo" "$work/broken.log" verify; then
  fail "step 4: the build passed with HaNode.restAddress() removed"
fi
grep -q "japicmp" "$work/broken.log" && grep -q "restAddress" "$work/broken.log" \
  || { tail -30 "$work/broken.log" >&2; fail "step 4: the build failed, but not for the removed method"; }
grep -m3 -e "ERROR.*japicmp" -e "restAddress" "$work/broken.log" | sed 's/^/    /'

step "5. a baseline release that does not exist (offline, as before 0.1.0 is on Central): passes"
build "$work/same" "$repo" "$work/none.log" verify -o -Dpgha.api.baseline=0.0.1 \
  || { tail -30 "$work/none.log" >&2; fail "step 5: a missing baseline failed the build"; }
grep -q "Could not resolve dependency with descriptor 'io.pgha:pgha-core:0.0.1'" "$work/none.log" \
  || { grep -i -A4 japicmp "$work/none.log" >&2; fail "step 5: japicmp did not report the missing baseline"; }
echo "api-baseline-check: OK"
