#!/usr/bin/env bash
# Check performance metrics (operations manual, quick reference): request rate, error rate and p95
# latency per service, from PromQL. A thin wrapper over `wk perf`.
set -euo pipefail
. "$(dirname "$0")/lib/wk.sh"
USAGE="$(basename "$0") [--service SERVICE] [--window 5m] [wk options]"
case "${1:-}" in
  -h|--help) wk_usage "$USAGE" perf; exit 0 ;;
esac
wk_exec perf "$@"
