#!/usr/bin/env bash
# run.sh brings up the whole platform on this machine (what `make run` does):
# installs what is missing, starts the services, migrates and seeds, starts
# the control plane and the tenant app, and prints where to look. Ctrl-C
# stops everything; running it again reuses the data.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$ROOT"
DATA="$ROOT/.data/dev"
TENANT_PORT="${TENANT_PORT:-8080}"
CONTROLPLANE_PORT="${CONTROLPLANE_PORT:-8090}"

log() { printf '\033[1mrun:\033[0m %s\n' "$*" >&2; }

deploy/local/tools.sh servers
deploy/local/services.sh start dev

log "building controlplane, tenantapp and provisioner into bin/"
mkdir -p bin
go build -o bin/ ./controlplane ./tenantapp ./provisioner

# .env: the running platform's settings, read by all three programs.
{
	cat "$DATA/env"
	echo "STOREFLEET_TENANT_ADDR=127.0.0.1:$TENANT_PORT"
	echo "STOREFLEET_CONTROLPLANE_ADDR=127.0.0.1:$CONTROLPLANE_PORT"
	echo "STOREFLEET_TENANT_PUBLIC_URL=http://{host}:$TENANT_PORT"
	echo "STOREFLEET_BASE_DOMAIN=localhost"
	echo "STOREFLEET_LOG_LEVEL=info"
} >.env
chmod 600 .env

bin/provisioner init
bin/provisioner migrate-all   # existing vendors follow the template to the newest schema
bin/provisioner seed-demo --demo-feed internal/feed/testdata/letzshop-sample.tsv

pids=()
stop_all() {
	trap - INT TERM EXIT
	log "stopping"
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	deploy/local/services.sh stop dev
	rm -f "$DATA/apps.pid"
	log "stopped; \`make run\` starts it again with the same data"
}
trap stop_all INT TERM EXIT

bin/controlplane >"$DATA/controlplane.log" 2>&1 &
pids+=($!)
bin/tenantapp >"$DATA/tenantapp.log" 2>&1 &
pids+=($!)
printf '%s\n' "${pids[@]}" >"$DATA/apps.pid"

for url in "http://127.0.0.1:$CONTROLPLANE_PORT/readyz" "http://127.0.0.1:$TENANT_PORT/readyz"; do
	for _ in $(seq 100); do
		curl -sf "$url" >/dev/null 2>&1 && break
		sleep 0.2
	done
	curl -sf "$url" >/dev/null || { log "$url is not ready; see $DATA/*.log"; exit 1; }
done

cat <<MSG

  Storefleet is running.

  Admin console    http://localhost:$CONTROLPLANE_PORT/admin/
                   log in as admin@storefleet.test / storefleet-demo
  Admin API        http://localhost:$CONTROLPLANE_PORT/api/v1/openapi.json
  Storefronts      http://acme-tools.localhost:$TENANT_PORT/
                   http://green-leaf.localhost:$TENANT_PORT/
                   http://letz-market.localhost:$TENANT_PORT/ (its feed waits in staging:
                   /admin/staging, to publish)
                   (or http://localhost:$TENANT_PORT/vendor/acme-tools/ where *.localhost does not resolve)
  Back offices     http://acme-tools.localhost:$TENANT_PORT/admin/
                   log in as owner@acme-tools.test (or owner@green-leaf.test,
                   owner@letz-market.test) / storefleet-demo
  Mail catcher     $(grep STOREFLEET_MAILPIT_URL .env | cut -d= -f2)/
  Operator CLI     go run ./provisioner list      (reads .env; try --help)
  Logs             $DATA/controlplane.log, $DATA/tenantapp.log

  Press Ctrl-C to stop everything.

MSG
wait -n "${pids[@]}" || true
log "a service exited; see $DATA/controlplane.log and $DATA/tenantapp.log"
