#!/usr/bin/env bash
# Puts a real Consul binary (Debian bullseye's consul 1.8.7) at DEST/consul for the tests, without
# changing the system: Debian's current release has no Consul package, the previous one (bullseye)
# still has it. First the ordinary way: `apt-get download consul` against a private sources list
# (the machine's own Debian mirror and keyring, suite changed to bullseye) in a private apt state
# folder, then `dpkg-deb -x`. Only when that fails, a kept copy of the .deb:
#   $PGHA_CONSUL_DEB, else ../shared/debs/consul_*.deb next to the repository.
# ($PGHA_CONSUL_APT_MIRROR replaces the mirror taken from the machine's apt sources.)
# Idempotent: does nothing when DEST/consul already runs.
#   dcs-consul/fetch-consul.sh [DEST]     (default $PGHA_CONSUL_HOME, else ~/.cache/pgha/consul: where the tests look)
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/.." && pwd)"
dest="${1:-${PGHA_CONSUL_HOME:-${HOME:-/tmp}/.cache/pgha/consul}}"
mkdir -p "$dest"
dest="$(cd "$dest" && pwd)"

if [ -x "$dest/consul" ] && "$dest/consul" version >/dev/null 2>&1; then
  exit 0
fi

work="$(mktemp -d "$dest/.fetch.XXXXXX")"
trap 'rm -rf "$work"' EXIT

# The machine's own Debian mirror and keyring: from a deb822 .sources file or a one-line sources.list.
mirror=""
keyring=""
for f in /etc/apt/sources.list.d/*.sources; do
  [ -f "$f" ] || continue
  # the first stanza whose Suites name a Debian release (not -security: that host has no bullseye main)
  stanza="$(awk -v RS= '/Suites:[^\n]*(bookworm|trixie|bullseye|forky|stable)/ && !/Suites:[^\n]*-security/ {print; exit}' "$f")"
  if [ -n "$stanza" ]; then
    mirror="$(printf '%s\n' "$stanza" | sed -n 's/^URIs:[[:space:]]*\([^[:space:]]*\).*/\1/p' | head -n1)"
    keyring="$(printf '%s\n' "$stanza" | sed -n 's/^Signed-By:[[:space:]]*\([^[:space:]]*\).*/\1/p' | head -n1)"
    [ -n "$mirror" ] && break
  fi
done
if [ -z "$mirror" ] && [ -f /etc/apt/sources.list ]; then
  line="$(grep -E '^deb[[:space:]]' /etc/apt/sources.list | grep -v -- '-security' | head -n1 || true)"
  mirror="$(printf '%s\n' "$line" | grep -oE '(https?|ftp)://[^[:space:]]+' | head -n1 || true)"
  keyring="$(printf '%s\n' "$line" | grep -oE 'signed-by=[^] ]+' | head -n1 | cut -d= -f2 || true)"
fi
[ -n "$keyring" ] || keyring=/usr/share/keyrings/debian-archive-keyring.gpg
mirror="${PGHA_CONSUL_APT_MIRROR:-$mirror}"   # for a test of the fallback, or a local mirror

deb=""
origin=""
if [ -n "$mirror" ] && command -v apt-get >/dev/null; then
  apt="$work/apt"
  mkdir -p "$apt"/lists/partial "$apt"/archives/partial "$apt"/cache "$apt"/dl
  echo "deb [signed-by=$keyring] $mirror bullseye main" >"$apt/sources.list"
  opts=(-o Dir::Etc::sourcelist="$apt/sources.list" -o Dir::Etc::sourceparts=- -o Dir::State::lists="$apt/lists"
        -o Dir::Cache="$apt/cache" -o Dir::Cache::archives="$apt/archives" -o Dir::State::status=/dev/null
        -o APT::Sandbox::User=root -qq)
  if apt-get "${opts[@]}" update >"$apt/log" 2>&1 && (cd "$apt/dl" && apt-get "${opts[@]}" download consul) >>"$apt/log" 2>&1; then
    deb="$(ls "$apt"/dl/consul_*.deb 2>/dev/null | head -n1 || true)"
    [ -z "$deb" ] || origin="apt-get download from $mirror bullseye"
  fi
  if [ -z "$deb" ]; then
    echo "fetch-consul: apt-get download consul from $mirror bullseye failed; trying the kept copy" >&2
    sed 's/^/  apt: /' "$apt/log" >&2 || true
  fi
fi

if [ -z "$deb" ]; then
  for candidate in "${PGHA_CONSUL_DEB:-}" "$repo"/../shared/debs/consul_*.deb; do
    if [ -n "$candidate" ] && [ -f "$candidate" ]; then
      deb="$candidate"
      origin="the kept copy $candidate"
      break
    fi
  done
fi
if [ -z "$deb" ]; then
  echo "fetch-consul: no consul package: apt-get download failed, and neither \$PGHA_CONSUL_DEB nor $repo/../shared/debs/consul_*.deb exists" >&2
  exit 1
fi

dpkg-deb -x "$deb" "$work/x"
install -m 755 "$work/x/usr/bin/consul" "$dest/consul.tmp"
mv -f "$dest/consul.tmp" "$dest/consul"   # atomic: a concurrent run never sees half a binary
version="$("$dest/consul" version)"
echo "${version%%$'\n'*}" >&2
echo "fetch-consul: $dest/consul from $origin" >&2
