#!/usr/bin/env bash
# Check system health (operations manual, quick reference): failing probes, targets down, firing
# alerts and open incidents per service. Exits 0 when healthy, 5 when not. A thin wrapper over `wk health`.
set -euo pipefail
. "$(dirname "$0")/lib/wk.sh"
USAGE="$(basename "$0") [--service SERVICE] [wk options]"
case "${1:-}" in
  -h|--help) wk_usage "$USAGE" health; exit 0 ;;
esac
wk_exec health "$@"
