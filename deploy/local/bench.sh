#!/usr/bin/env bash
# bench.sh is `make bench`: starts the durable "bench" instance of every
# service, runs every benchmark once (each measures its own baseline in the
# same run), prints one table and writes it to docs/benchmarks.md.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$ROOT"
deploy/local/tools.sh servers
deploy/local/services.sh start bench
OUT="$ROOT/.data/bench/results.jsonl"
rm -f "$OUT"
export STOREFLEET_TEST_ENV_FILE="$ROOT/.data/bench/env" STOREFLEET_BENCH_OUT="$OUT"
PKGS="${BENCH_PKGS:-./internal/provision/ ./tenantapp/internal/app/ ./internal/rollout/ ./internal/backup/ ./internal/marketplace/}"
status=0
# shellcheck disable=SC2086
go test -run '^$' -bench "${BENCH:-.}" -benchtime 1x -timeout 60m $PKGS || status=$?
go run ./internal/benchtable/cmd/benchtable "$OUT" docs/benchmarks.md
[ -n "${KEEP_SERVICES:-}" ] || deploy/local/services.sh stop bench
exit $status
