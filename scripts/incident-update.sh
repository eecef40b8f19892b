#!/usr/bin/env bash
# Update incident status (operations manual 2.2-2.3): move the status and/or post a status update
# from the manual's template. A thin wrapper over `wk incident update`.
set -euo pipefail
. "$(dirname "$0")/lib/wk.sh"
USAGE="$(basename "$0") INCIDENT_ID [--status investigating|identified|monitoring|resolved] [--message TEXT [--public] [--next-update 30m]] [--severity SEV] [--summary TEXT] [wk options]"
case "${1:-}" in
  "") echo "usage: $USAGE" >&2; exit 2 ;;
  -h|--help) wk_usage "$USAGE" incident update; exit 0 ;;
esac
wk_exec incident update "$@"
