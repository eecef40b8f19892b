#!/usr/bin/env bash
# Start maintenance (operations manual 3.2): records the backup and the rollback plan, shows the affected
# components under maintenance on the status page, silences their alerts until the window ends and tells
# subscribers. A thin wrapper over `wk maintenance start`.
set -euo pipefail
. "$(dirname "$0")/lib/wk.sh"
USAGE="$(basename "$0") WINDOW|--run RUN --rollback-plan TEXT [--backup-confirmation TEXT] [--team NAMES] [--occurrence TIME] [wk options]"
case "${1:-}" in
  "") echo "usage: $USAGE" >&2; exit 2 ;;
  -h|--help) wk_usage "$USAGE" maintenance start; exit 0 ;;
esac
wk_exec maintenance start "$@"
