#!/usr/bin/env bash
# Validate maintenance (operations manual 3.2): runs the window's checks (probes green since the run
# started, PromQL expressions true) and records each result. Exits 0 when all pass, 5 when one fails.
# A thin wrapper over `wk maintenance validate`.
set -euo pipefail
. "$(dirname "$0")/lib/wk.sh"
USAGE="$(basename "$0") RUN [wk options]"
case "${1:-}" in
  "") echo "usage: $USAGE" >&2; exit 2 ;;
  -h|--help) wk_usage "$USAGE" maintenance validate; exit 0 ;;
esac
wk_exec maintenance validate "$@"
