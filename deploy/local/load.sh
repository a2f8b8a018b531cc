#!/usr/bin/env bash
# load.sh is `make load`: a throwaway "load" instance of every service
# (its own ports and data under .data/load/), LOAD_VENDORS vendors with
# a catalog and a Stripe test account each, the control plane and the
# tenant app as `make run` starts them, then the load driver
# (deploy/load) as a separate process for LOAD_DURATION with LOAD_CLIENTS
# virtual shoppers, its report, and the consistency check. Everything is
# stopped at the end unless KEEP=1. See docs/load.md.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$ROOT"
INSTANCE=load
DATA="$ROOT/.data/$INSTANCE"
export STOREFLEET_PORT_BASE="${LOAD_PORT_BASE:-47400}"
TENANT_PORT=$((STOREFLEET_PORT_BASE + 80))
CONTROLPLANE_PORT=$((STOREFLEET_PORT_BASE + 85))
LOAD_DURATION="${LOAD_DURATION:-60s}"
LOAD_CLIENTS="${LOAD_CLIENTS:-32}"
LOAD_VENDORS="${LOAD_VENDORS:-200}"
LOAD_PRODUCTS="${LOAD_PRODUCTS:-300}"
case "$LOAD_DURATION" in *[0-9]) LOAD_DURATION="${LOAD_DURATION}s" ;; esac

log() { printf '\033[1mload:\033[0m %s\n' "$*" >&2; }

deploy/local/tools.sh servers
# throwaway data: every run starts from nothing, so the initial stock is known
deploy/local/services.sh wipe "$INSTANCE" >/dev/null 2>&1 || true
deploy/local/services.sh start "$INSTANCE"

pids=()
stop_all() {
	local status=$?
	trap - INT TERM EXIT
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	if [ -n "${KEEP:-}" ]; then
		log "KEEP is set: the services of the load instance keep running (stop them with deploy/local/services.sh stop load)"
	else
		deploy/local/services.sh stop "$INSTANCE"
	fi
	exit "$status"
}
trap stop_all INT TERM EXIT

log "building controlplane, tenantapp, provisioner and the load driver into $DATA/bin/"
mkdir -p "$DATA/bin"
go build -o "$DATA/bin/" ./controlplane ./tenantapp ./provisioner ./deploy/load

# the platform's settings, as run.sh writes them to .env, in a file of the
# load instance's own (the dev platform's .env is left alone)
export STOREFLEET_ENV_FILE="$DATA/app.env"
{
	cat "$DATA/env"
	echo "STOREFLEET_TENANT_ADDR=127.0.0.1:$TENANT_PORT"
	echo "STOREFLEET_CONTROLPLANE_ADDR=127.0.0.1:$CONTROLPLANE_PORT"
	echo "STOREFLEET_TENANT_PUBLIC_URL=http://{host}:$TENANT_PORT"
	echo "STOREFLEET_BASE_DOMAIN=localhost"
	echo "STOREFLEET_LOG_LEVEL=${LOAD_LOG_LEVEL:-info}"
} >"$STOREFLEET_ENV_FILE"
chmod 600 "$STOREFLEET_ENV_FILE"

"$DATA/bin/provisioner" init >/dev/null
log "provisioning $LOAD_VENDORS vendors with $LOAD_PRODUCTS products each"
"$DATA/bin/load" seed -vendors "$LOAD_VENDORS" -products "$LOAD_PRODUCTS" -state "$DATA/state.json"

"$DATA/bin/controlplane" >"$DATA/controlplane.log" 2>&1 &
pids+=($!)
"$DATA/bin/tenantapp" >"$DATA/tenantapp.log" 2>&1 &
pids+=($!)
for url in "http://127.0.0.1:$CONTROLPLANE_PORT/readyz" "http://127.0.0.1:$TENANT_PORT/readyz"; do
	for _ in $(seq 100); do
		curl -sf "$url" >/dev/null 2>&1 && break
		sleep 0.2
	done
	curl -sf "$url" >/dev/null || { log "$url is not ready; see $DATA/*.log"; exit 1; }
done

log "driving load: $LOAD_CLIENTS shoppers for $LOAD_DURATION against http://<slug>.localhost:$TENANT_PORT/"
status=0
"$DATA/bin/load" run -base "http://127.0.0.1:$TENANT_PORT" -state "$DATA/state.json" \
	-duration "$LOAD_DURATION" -clients "$LOAD_CLIENTS" -out "$DATA/results.json" || status=$?

# the tenant app's connection pools after the run (slots in use, idle
# connections of other vendors closed to free one, waits)
curl -sf "http://127.0.0.1:$TENANT_PORT/metrics/pools" >"$DATA/pools.json" &&
	log "tenant app pools: $(tr -d ' \n' <"$DATA/pools.json")"
# what the apps said went wrong while they were under load
for app in tenantapp controlplane; do
	n="$(grep -c 'level=ERROR' "$DATA/$app.log" || true)"
	s="$(grep -c ' status=5[0-9][0-9] ' "$DATA/$app.log" || true)"
	log "$app logged ${n:-0} errors and ${s:-0} 5xx answers ($DATA/$app.log)"
done
log "results in $DATA/results.json"
if [ -n "${KEEP:-}" ]; then
	log "KEEP is set: the platform keeps running at http://load-0001.localhost:$TENANT_PORT/ (Ctrl-C stops the apps)"
	wait -n "${pids[@]}" || true
fi
exit $status
