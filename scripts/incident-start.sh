#!/usr/bin/env bash
# Start incident response (operations manual 2.2): declares the incident, starting its SLA clocks
# and the response checklist. A thin wrapper over `wk incident start`.
set -euo pipefail
. "$(dirname "$0")/lib/wk.sh"
USAGE="$(basename "$0") --title TITLE --severity SEV1|SEV2|SEV3|SEV4 [--summary TEXT] [--services A,B] [--commander NAME] [--kind operational|security] [--detection-source automated|manual|external] [wk options]"
case "${1:-}" in
  "") echo "usage: $USAGE" >&2; exit 2 ;;
  -h|--help) wk_usage "$USAGE" incident start; exit 0 ;;
esac
wk_exec incident start "$@"
