#!/usr/bin/env bash
# services.sh runs a private copy of every service Storefleet needs, with its
# data under .data/<instance>/: PostgreSQL, Redis, MinIO, mailpit and
# stripe-mock. Instances "dev" (make run), "test" (make test) and "bench"
# (make bench) use their own ports, so they can run side by side.
#
#   deploy/local/services.sh start INSTANCE   start (reusing data) and write .data/INSTANCE/env
#   deploy/local/services.sh stop INSTANCE    stop what is running
#   deploy/local/services.sh wipe INSTANCE    stop and delete the data
#   deploy/local/services.sh status INSTANCE  say what runs
#
# Ports can be moved with STOREFLEET_PORT_BASE (every service port is the base
# plus a fixed offset).
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
CMD="${1:-}"
INSTANCE="${2:-dev}"
DATA="$ROOT/.data/$INSTANCE"
BIN="$ROOT/.tools/bin"

case "$INSTANCE" in
dev) DEFAULT_BASE=15400 ;;
test) DEFAULT_BASE=25400 ;;
bench) DEFAULT_BASE=35400 ;;
*) DEFAULT_BASE=45400 ;;
esac
BASE="${STOREFLEET_PORT_BASE:-$DEFAULT_BASE}"
PG_PORT=$((BASE + 32))     # 15432 for dev
PG2_PORT=$((BASE + 33))    # a second PostgreSQL server (moves between servers)
REDIS_PORT=$((BASE + 79))
MINIO_PORT=$((BASE + 90))
MINIO_CONSOLE_PORT=$((BASE + 91))
SMTP_PORT=$((BASE + 25))
MAILPIT_PORT=$((BASE + 26))
STRIPE_PORT=$((BASE + 11))
STRIPE_TLS_PORT=$((BASE + 12))

log() { printf '\033[1mservices[%s]:\033[0m %s\n' "$INSTANCE" "$*" >&2; }
die() { log "$*"; exit 1; }

PGBIN="$("$ROOT/deploy/local/tools.sh" pgbin)" || die "PostgreSQL server binaries not found; run deploy/local/tools.sh servers"

# as_pg runs a command as the owner of the PostgreSQL data: the server
# refuses to run as root.
as_pg() {
	if [ "$(id -u)" -eq 0 ]; then
		runuser -u postgres -- "$@"
	else
		"$@"
	fi
}

secret() { head -c 24 /dev/urandom | base64 | tr -d '/+=' | head -c 24; }

load_secrets() {
	mkdir -p "$DATA"
	if [ ! -f "$DATA/secrets" ]; then
		umask 077
		cat >"$DATA/secrets" <<SECRETS
PG_SUPER_PASSWORD=$(secret)
PG_PLATFORM_PASSWORD=$(secret)
PG_ROUTER_PASSWORD=$(secret)
MINIO_PASSWORD=$(secret)
MASTER_KEY=$(head -c 32 /dev/urandom | base64)
SECRETS
	fi
	if ! grep -q '^STRIPE_WEBHOOK_SECRET=' "$DATA/secrets"; then
		echo "STRIPE_WEBHOOK_SECRET=whsec_$(secret)" >>"$DATA/secrets"
	fi
	# shellcheck disable=SC1091
	. "$DATA/secrets"
}

# pg_start DIR PORT: one PostgreSQL cluster, created on first use.
pg_start() {
	local dir="$1" port="$2" sock="$1/sock"
	if [ ! -f "$dir/data/PG_VERSION" ]; then
		log "creating PostgreSQL cluster in $dir"
		mkdir -p "$dir/data" "$sock"
		[ "$(id -u)" -eq 0 ] && chown -R postgres:postgres "$dir"
		local pw="$dir/pwfile"
		echo "$PG_SUPER_PASSWORD" >"$pw"
		[ "$(id -u)" -eq 0 ] && chown postgres "$pw"
		as_pg "$PGBIN/initdb" -D "$dir/data" -U postgres --pwfile="$pw" \
			--auth-local=scram-sha-256 --auth-host=scram-sha-256 -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log"
		rm -f "$pw"
		{
			echo "listen_addresses = '127.0.0.1'"
			echo "unix_socket_directories = '$sock'"
			echo "max_connections = 600"
			echo "shared_buffers = 256MB"
			echo "password_encryption = 'scram-sha-256'"
			echo "log_min_messages = warning"
			echo "log_min_duration_statement = -1"
			if [ "$INSTANCE" = test ]; then
				# throwaway data: trade durability for speed
				echo "fsync = off"
				echo "synchronous_commit = off"
				echo "full_page_writes = off"
			fi
		} >>"$dir/data/postgresql.conf"
	fi
	if ! as_pg "$PGBIN/pg_ctl" -D "$dir/data" status >/dev/null 2>&1; then
		as_pg "$PGBIN/pg_ctl" -D "$dir/data" -o "-p $port" -l "$dir/server.log" -w -t 60 start >/dev/null ||
			die "PostgreSQL did not start; see $dir/server.log"
	fi
	# roles and the control-plane database (idempotent)
	PGPASSWORD="$PG_SUPER_PASSWORD" psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$port" -U postgres -d postgres >/dev/null <<SQL
SELECT 'CREATE ROLE storefleet LOGIN CREATEDB CREATEROLE'
WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'storefleet') \gexec
ALTER ROLE storefleet PASSWORD '$PG_PLATFORM_PASSWORD';
SELECT 'CREATE DATABASE storefleet OWNER storefleet'
WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'storefleet') \gexec
REVOKE CONNECT ON DATABASE postgres FROM PUBLIC;
REVOKE CONNECT ON DATABASE storefleet FROM PUBLIC;
GRANT CONNECT ON DATABASE postgres TO storefleet;
SQL
}

pg_stop() {
	local dir="$1"
	[ -f "$dir/data/PG_VERSION" ] || return 0
	as_pg "$PGBIN/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
}

# daemon NAME CMD...: runs a program in the background with a pid file.
daemon() {
	local name="$1"
	shift
	if [ -f "$DATA/$name.pid" ] && kill -0 "$(cat "$DATA/$name.pid")" 2>/dev/null; then
		return 0
	fi
	nohup "$@" >"$DATA/$name.log" 2>&1 &
	echo $! >"$DATA/$name.pid"
}

stop_daemon() {
	local name="$1" pid
	[ -f "$DATA/$name.pid" ] || return 0
	pid="$(cat "$DATA/$name.pid")"
	if kill -0 "$pid" 2>/dev/null; then
		kill "$pid" 2>/dev/null || true
		for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
		kill -9 "$pid" 2>/dev/null || true
	fi
	rm -f "$DATA/$name.pid"
}

wait_for() {
	local what="$1" check="$2" log="$3"
	for _ in $(seq 300); do
		if eval "$check" >/dev/null 2>&1; then return 0; fi
		sleep 0.1
	done
	die "$what did not become ready in 30s; see $log"
}

start() {
	"$ROOT/deploy/local/tools.sh" servers
	load_secrets
	pg_start "$DATA/pg" "$PG_PORT"
	if [ "$INSTANCE" != dev ]; then
		pg_start "$DATA/pg2" "$PG2_PORT"
	fi

	mkdir -p "$DATA/redis" "$DATA/minio"
	local persist=(--save "" --appendonly no)
	[ "$INSTANCE" = dev ] && persist=(--save "60 1" --appendonly no)
	daemon redis redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --dir "$DATA/redis" "${persist[@]}"
	MINIO_ROOT_USER=storefleet MINIO_ROOT_PASSWORD="$MINIO_PASSWORD" MINIO_BROWSER=off \
		daemon minio "$BIN/minio" server "$DATA/minio" --quiet \
		--address "127.0.0.1:$MINIO_PORT" --console-address "127.0.0.1:$MINIO_CONSOLE_PORT"
	daemon mailpit "$BIN/mailpit" --smtp "127.0.0.1:$SMTP_PORT" --listen "127.0.0.1:$MAILPIT_PORT" \
		--database "$DATA/mailpit.db" --smtp-auth-accept-any --smtp-auth-allow-insecure
	daemon stripe-mock "$BIN/stripe-mock" -http-port "$STRIPE_PORT" -https-port "$STRIPE_TLS_PORT"

	wait_for Redis "redis-cli -p $REDIS_PORT ping | grep -q PONG" "$DATA/redis.log"
	wait_for MinIO "curl -sf http://127.0.0.1:$MINIO_PORT/minio/health/ready" "$DATA/minio.log"
	wait_for mailpit "curl -sf http://127.0.0.1:$MAILPIT_PORT/livez" "$DATA/mailpit.log"
	wait_for stripe-mock "curl -s -o /dev/null http://127.0.0.1:$STRIPE_PORT/" "$DATA/stripe-mock.log"

	local pg="127.0.0.1:$PG_PORT"
	umask 077
	cat >"$DATA/env" <<ENV
# Written by deploy/local/services.sh for instance "$INSTANCE"; regenerated on every start.
STOREFLEET_CONTROLPLANE_DATABASE_URL=postgres://storefleet:$PG_PLATFORM_PASSWORD@$pg/storefleet?sslmode=disable
STOREFLEET_ROUTER_DATABASE_URL=postgres://storefleet_router:$PG_ROUTER_PASSWORD@$pg/storefleet?sslmode=disable
STOREFLEET_DB_SERVER_URL=postgres://storefleet:$PG_PLATFORM_PASSWORD@$pg/postgres?sslmode=disable
STOREFLEET_DB_SERVER2_URL=postgres://storefleet:$PG_PLATFORM_PASSWORD@127.0.0.1:$PG2_PORT/postgres?sslmode=disable
STOREFLEET_PG_SUPERUSER_URL=postgres://postgres:$PG_SUPER_PASSWORD@$pg/postgres?sslmode=disable
STOREFLEET_MASTER_KEY=$MASTER_KEY
STOREFLEET_DB_SSLMODE=disable
STOREFLEET_REDIS_URL=redis://127.0.0.1:$REDIS_PORT/0
STOREFLEET_S3_ENDPOINT=127.0.0.1:$MINIO_PORT
STOREFLEET_S3_ACCESS_KEY=storefleet
STOREFLEET_S3_SECRET_KEY=$MINIO_PASSWORD
STOREFLEET_SMTP_URL=smtp://127.0.0.1:$SMTP_PORT
STOREFLEET_MAILPIT_URL=http://127.0.0.1:$MAILPIT_PORT
STOREFLEET_STRIPE_URL=http://127.0.0.1:$STRIPE_PORT
STOREFLEET_STRIPE_SECRET_KEY=sk_test_storefleet$INSTANCE
STOREFLEET_STRIPE_WEBHOOK_SECRET=$STRIPE_WEBHOOK_SECRET
STOREFLEET_STRIPE_TEST_PAYMENTS=true
STOREFLEET_FETCH_PRIVATE_URLS=true
ENV
	log "ready: PostgreSQL $pg, Redis :$REDIS_PORT, MinIO :$MINIO_PORT, mailpit :$MAILPIT_PORT (SMTP :$SMTP_PORT), stripe-mock :$STRIPE_PORT"
}

stop() {
	for d in stripe-mock mailpit minio redis; do stop_daemon "$d"; done
	pg_stop "$DATA/pg2"
	pg_stop "$DATA/pg"
}

status() {
	for d in redis minio mailpit stripe-mock; do
		if [ -f "$DATA/$d.pid" ] && kill -0 "$(cat "$DATA/$d.pid")" 2>/dev/null; then
			echo "$d: running (pid $(cat "$DATA/$d.pid"))"
		else
			echo "$d: stopped"
		fi
	done
	for c in pg pg2; do
		[ -f "$DATA/$c/data/PG_VERSION" ] || continue
		if as_pg "$PGBIN/pg_ctl" -D "$DATA/$c/data" status >/dev/null 2>&1; then echo "$c: running"; else echo "$c: stopped"; fi
	done
}

case "$CMD" in
start) start ;;
stop) stop ;;
wipe) stop; rm -rf "$DATA" ;;
status) status ;;
*) echo "usage: $0 start|stop|wipe|status [dev|test|bench]" >&2; exit 2 ;;
esac
