#!/usr/bin/env bash
# Complete maintenance (operations manual 3.2): needs a passed validation; expires the run's silences,
# tells users, documents the results and schedules the follow-up review. A thin wrapper over
# `wk maintenance complete`.
set -euo pipefail
. "$(dirname "$0")/lib/wk.sh"
USAGE="$(basename "$0") RUN [--summary TEXT] [wk options]"
case "${1:-}" in
  "") echo "usage: $USAGE" >&2; exit 2 ;;
  -h|--help) wk_usage "$USAGE" maintenance complete; exit 0 ;;
esac
wk_exec maintenance complete "$@"
