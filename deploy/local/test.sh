#!/usr/bin/env bash
# test.sh is `make test`: a fresh, isolated copy of every service (own
# ports, throwaway data) and the whole test suite against it with -race.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$ROOT"
deploy/local/tools.sh servers
deploy/local/tools.sh chromium # the browser journey test
deploy/local/services.sh wipe test
deploy/local/services.sh start test
status=0
STOREFLEET_TEST_ENV_FILE="$ROOT/.data/test/env" go test -race -count=1 -timeout 20m "${@:-./...}" || status=$?
# short fuzz runs of every fuzz target
if [ $status -eq 0 ] && [ -z "${SKIP_FUZZ:-}" ]; then
	for target in $(grep -rl --include='*_test.go' '^func Fuzz' . | xargs -n1 dirname | sort -u); do
		for fn in $(grep -h '^func Fuzz' "$target"/*_test.go | sed 's/func \(Fuzz[A-Za-z0-9_]*\).*/\1/'); do
			go test -run '^$' -fuzz "^$fn\$" -fuzztime "${FUZZ_EXECS:-200000}x" "$target" || status=$?
		done
	done
fi
[ -n "${KEEP_SERVICES:-}" ] || deploy/local/services.sh stop test
exit $status
