#!/usr/bin/env bash
# Runs Prometheus's PromQL test files (../shared/testdata/promql) against the Watchkeeper engine.
# Prints "tier1 PASSED/TOTAL", "tier2 PASSED/TOTAL" and one line per file; exits non-zero when
# fewer than 98% of Tier 1 evals pass. --no-build: use the Release build the caller already made
# (dotnet build Watchkeeper.slnx -c Release). --verbose: also list every failing Tier 1 eval.
set -uo pipefail
cd "$(dirname "$0")/.."

build=1
extra=()
for arg in "$@"; do
  case "$arg" in
    --no-build) build=0 ;;
    *) extra+=("$arg") ;;
  esac
done

DATA=../shared/testdata/promql
if [ ! -d "$DATA" ]; then
  echo "conformance: $DATA not found; skipping PromQL conformance"
  exit 0
fi

PROJ=tests/Watchkeeper.Metrics.Conformance
if [ "$build" -eq 1 ]; then
  if ! dotnet build "$PROJ" -c Release -nologo -v q >/tmp/wk-conformance-build.$$ 2>&1; then
    tail -30 /tmp/wk-conformance-build.$$
    rm -f /tmp/wk-conformance-build.$$
    echo "conformance: build failed"
    exit 1
  fi
  rm -f /tmp/wk-conformance-build.$$
fi

DLL="$PROJ/bin/Release/net10.0/Watchkeeper.Metrics.Conformance.dll"
if [ ! -f "$DLL" ]; then
  echo "conformance: $DLL missing (build with: dotnet build Watchkeeper.slnx -c Release)"
  exit 1
fi
exec dotnet "$DLL" "$DATA" "${extra[@]+"${extra[@]}"}"
