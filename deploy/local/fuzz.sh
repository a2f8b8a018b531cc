#!/usr/bin/env bash
# fuzz.sh is `make fuzz`: a long run of every fuzz target (FUZZTIME each,
# default 2m). `make test` runs each briefly.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$ROOT"
status=0
for dir in $(grep -rl --include='*_test.go' '^func Fuzz' . | xargs -n1 dirname | sort -u); do
	for fn in $(grep -h '^func Fuzz' "$dir"/*_test.go | sed 's/func \(Fuzz[A-Za-z0-9_]*\).*/\1/'); do
		echo "fuzz: $dir $fn for ${FUZZTIME:-2m}"
		go test -run '^$' -fuzz "^$fn\$" -fuzztime "${FUZZTIME:-2m}" "$dir" || status=$?
	done
done
exit $status
