#!/usr/bin/env bash
# tools.sh installs what the local platform needs and is missing:
# system packages through apt-get, and Go-built servers at pinned versions
# into the git-ignored .tools/bin folder (kept between runs).
# Usage: deploy/local/tools.sh [all|servers|chromium|lint]
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
TOOLS="$ROOT/.tools"
BIN="$TOOLS/bin"
mkdir -p "$BIN"

MINIO_VERSION="v0.0.0-20260212201848-7aac2a2c5b7c"
MAILPIT_VERSION="v1.33.1"
STRIPE_MOCK_VERSION="v0.203.0"
STATICCHECK_VERSION="v0.8.2"

log() { printf '\033[1mtools:\033[0m %s\n' "$*" >&2; }

apt_install() {
	local missing=()
	for pkg in "$@"; do
		dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	if [ "$(id -u)" -ne 0 ]; then
		log "missing system packages: ${missing[*]}; install them with: sudo apt-get install -y ${missing[*]}"
		exit 1
	fi
	log "apt-get install ${missing[*]}"
	DEBIAN_FRONTEND=noninteractive apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# go_tool NAME MODULE@VERSION: builds a Go program once per version.
go_tool() {
	local name="$1" pkg="$2" stamp="$TOOLS/.$1.version"
	if [ -x "$BIN/$name" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$pkg" ]; then
		return 0
	fi
	log "go install $pkg (first time only; MinIO takes several minutes)"
	GOBIN="$BIN" CGO_ENABLED=0 go install "$pkg"
	echo "$pkg" >"$stamp"
}

postgres_bin() {
	# PostgreSQL server binaries (initdb, pg_ctl) live outside PATH on Debian.
	local d
	for d in /usr/lib/postgresql/*/bin; do
		[ -x "$d/initdb" ] && { echo "$d"; return 0; }
	done
	return 1
}

servers() {
	command -v redis-server >/dev/null 2>&1 || apt_install redis-server
	if ! postgres_bin >/dev/null; then apt_install postgresql; fi
	command -v pg_dump >/dev/null 2>&1 || apt_install postgresql-client
	go_tool minio "github.com/minio/minio@$MINIO_VERSION" &
	local p1=$!
	go_tool mailpit "github.com/axllent/mailpit@$MAILPIT_VERSION" &
	local p2=$!
	go_tool stripe-mock "github.com/stripe/stripe-mock@$STRIPE_MOCK_VERSION" &
	local p3=$!
	wait $p1 && wait $p2 && wait $p3
}

chromium() {
	command -v chromium >/dev/null 2>&1 || apt_install chromium
}

lint() {
	go_tool staticcheck "honnef.co/go/tools/cmd/staticcheck@$STATICCHECK_VERSION"
}

case "${1:-all}" in
servers) servers ;;
chromium) chromium ;;
lint) lint ;;
pgbin) postgres_bin ;;
all) servers; chromium; lint ;;
*) log "unknown target $1 (want all, servers, chromium, lint or pgbin)"; exit 2 ;;
esac
