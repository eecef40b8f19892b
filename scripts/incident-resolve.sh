#!/usr/bin/env bash
# Resolve an incident (operations manual 2.2): stops the resolution SLA clock; the postmortem
# follows. A thin wrapper over `wk incident resolve`.
set -euo pipefail
. "$(dirname "$0")/lib/wk.sh"
USAGE="$(basename "$0") INCIDENT_ID [--message TEXT] [--public] [wk options]"
case "${1:-}" in
  "") echo "usage: $USAGE" >&2; exit 2 ;;
  -h|--help) wk_usage "$USAGE" incident resolve; exit 0 ;;
esac
wk_exec incident resolve "$@"
