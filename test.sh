#!/usr/bin/env bash
# Runs the whole test suite (dotnet test Analytics.sln) after installing what is missing, and ends with one line:
#   N passed, N failed[, N skipped]
#
#   ./test.sh            every test but the fault tests (about 9 minutes on 2 cores)
#   ./test.sh --faults   the fault tests only (Category=Faults: real processes killed and restarted, bad input; about 7 minutes)
#
# CI runs both (.ci/run). Exit code is non-zero on any failure. Extra arguments go to dotnet test (e.g.
# --filter "FullyQualifiedName~Producer", which then replaces the category filter).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=scripts/common.sh
source "$ROOT/scripts/common.sh"
cd "$ROOT"

# The fault tests (Category=Faults) have a command of their own: together with the rest they would take the suite
# past 15 minutes on this 2-core machine.
category="Category!=Faults"
RESULTS=$ROOT/TestResults
if [ "${1:-}" = "--faults" ]; then
  category="Category=Faults"
  RESULTS=$ROOT/TestResults/faults   # its own results: CI runs it right after the suite
  shift
fi
filter=(--filter "$category")
for arg in "$@"; do case "$arg" in --filter|--filter=*|--filter:*) filter=() ;; esac; done

ensure_prerequisites
ensure_browser
ensure_compose

rm -rf "$RESULTS"

log "building"
if ! dotnet build Analytics.sln -nologo -v:q -clp:ErrorsOnly; then
  echo "the build failed; no test ran" >&2
  echo "0 passed, 1 failed"
  exit 1
fi

log "running the tests"
status=0
dotnet test Analytics.sln --no-build -nologo -v:q --results-directory "$RESULTS" --logger "trx" \
  --logger "console;verbosity=normal" "${filter[@]}" "$@" || status=$?

passed=0 failed=0 skipped=0 files=0
shopt -s nullglob
for trx in "$RESULTS"/*.trx; do
  files=$((files + 1))
  counters=$(grep -o '<Counters [^>]*>' "$trx" | head -n 1 || true)
  attr() { local v; v=$(sed -n "s/.* $1=\"\([0-9]*\)\".*/\1/p" <<<"$counters"); echo "${v:-0}"; }
  total=$(attr total); executed=$(attr executed); p=$(attr passed); f=$(attr failed); e=$(attr error); t=$(attr timeout); a=$(attr aborted)
  passed=$((passed + p))
  failed=$((failed + f + e + t + a))
  skipped=$((skipped + total - executed))
done

if [ "$files" -eq 0 ]; then
  echo "no test results were written" >&2
  [ "$status" -ne 0 ] || status=1
fi
# A crashed test host can leave counts short; dotnet test's exit code still tells.
if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then failed=1; fi

# The console log of a long run is too long to scroll; name what failed right above the summary.
for trx in "$RESULTS"/*.trx; do
  grep -o '<UnitTestResult [^>]*outcome="\(Failed\|Error\|Timeout\|Aborted\)"[^>]*>' "$trx" \
    | sed -n 's/.* testName="\([^"]*\)".*/FAILED: \1/p' || true
done

summary="$passed passed, $failed failed"
[ "$skipped" -gt 0 ] && summary="$summary, $skipped skipped"
echo "$summary"
[ "$failed" -eq 0 ] && [ "$status" -eq 0 ]
