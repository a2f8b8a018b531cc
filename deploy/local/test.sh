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
# The isolation attack suites append one line per suite here (attempts,
# categories, leaks); the total is printed after the tests.
ATTACKS="$ROOT/.data/test/attacks.jsonl"
rm -f "$ATTACKS"
STOREFLEET_ATTACK_OUT="$ATTACKS" STOREFLEET_TEST_ENV_FILE="$ROOT/.data/test/env" go test -race -count=1 -timeout 20m "${@:-./...}" || status=$?
if [ -s "$ATTACKS" ]; then
	awk -F'"attempts":' '{split($2, a, ","); n += a[1]; s++} /"leaks":[1-9]/ {l++} END {printf "isolation attack suites: %d attempts in %d suites, %d suites with leaks\n", n, s, l}' "$ATTACKS"
fi
# Short fuzz runs of every fuzz target (deploy/local/fuzzall.sh): a time
# budget per target keeps the whole at about a minute and a half however
# fast each target is: FUZZ_SHORT (default 8s), or FUZZ_EXECS executions
# per target if that is set. `make fuzz` is the long run.
if [ $status -eq 0 ] && [ -z "${SKIP_FUZZ:-}" ]; then
	budget="${FUZZ_SHORT:-8s}"
	[ -z "${FUZZ_EXECS:-}" ] || budget="${FUZZ_EXECS}x"
	deploy/local/fuzzall.sh "$budget" || status=$?
fi
[ -n "${KEEP_SERVICES:-}" ] || deploy/local/services.sh stop test
exit $status
