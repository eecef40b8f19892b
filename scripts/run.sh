#!/usr/bin/env bash
# Builds Watchkeeper and starts it on its embedded defaults:
#   config config/openpolicy/watchkeeper.yml, data ./data, listening on http://127.0.0.1:9700
# The first start prints the one-time password of user 'admin' (or set WATCHKEEPER_ADMIN_PASSWORD).
# Extra arguments are passed to 'watchkeeper serve' (e.g. --listen 127.0.0.1:9800 --data /var/lib/wk).
set -euo pipefail
cd "$(dirname "$0")/.."
dotnet build src/Watchkeeper.Server -c Release -nologo -v q >/dev/null
dotnet build src/Watchkeeper.Cli -c Release -nologo -v q >/dev/null 2>&1 || true
listen=127.0.0.1:9700
args=("$@")
for ((i = 0; i < ${#args[@]}; i++)); do
  [ "${args[$i]}" = "--listen" ] && listen=${args[$((i + 1))]:-$listen}
done
echo "Watchkeeper: http://$listen  (log in as 'admin'; Ctrl+C stops it)"
exec dotnet src/Watchkeeper.Server/bin/Release/net10.0/watchkeeper.dll serve "$@"
