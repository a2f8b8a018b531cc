#!/usr/bin/env bash
# fuzz.sh is `make fuzz`: a long run of every fuzz target (FUZZTIME each,
# default 2m). `make test` runs each briefly.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
exec "$ROOT/deploy/local/fuzzall.sh" "${FUZZTIME:-2m}"
