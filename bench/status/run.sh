#!/usr/bin/env bash
# The public status page under load: Watchkeeper (Release, SQLite, fresh data dir, shipped config with demo targets,
# host metrics and self-scrape off) on loopback, one public incident with three public updates and one internal one,
# then wrk (closed loop, keep-alive) against GET /status and GET /status/api/v2/summary.json.
#
#   bench/status/run.sh                                   # 2 threads, 64 connections, 20 s per endpoint
#   DURATION=5 CONNS=16 bench/status/run.sh               # smoke test
#   WK_DLL=/path/watchkeeper.dll SKIP_BUILD=1 bench/status/run.sh
#   ENCODING=br bench/status/run.sh                       # clients that accept Brotli (the precompressed variant)
#
# Prints one line per endpoint: req/s, p50, p90, p99, max latency, bytes per response, the server's CPU time per request
# (utime + stime from /proc over the wrk run), errors, and the 1-minute load average before and after. Binds 127.0.0.1 only; state in a mktemp dir; the trap kills only the PID it started; each
# wrk run is bounded by DURATION seconds (at most 120).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
PORT=${PORT:-22550}; DURATION=${DURATION:-20}; CONNS=${CONNS:-64}; THREADS=${THREADS:-2}
(( DURATION >= 1 && DURATION <= 120 )) || { echo "DURATION must be 1..120" >&2; exit 2; }
command -v wrk >/dev/null || { echo "wrk is not installed (apt-get install wrk)" >&2; exit 2; }
. "$HERE/../lib.sh"
bench_workdir wkstatus
port_free "$PORT"
bench_build
bench_config
export WATCHKEEPER_ADMIN_PASSWORD=bench-admin-pw
URL="http://127.0.0.1:$PORT"
dotnet "$DLL" serve --config "$WD/config/watchkeeper.yml" --data "$WD/data" --listen "127.0.0.1:$PORT" >>"$WD/server.log" 2>&1 & SRV=$!; PIDS+=("$SRV")
wait_http "$URL/-/ready" 300
TOKEN=$(bench_login "$URL")
api() { curl -fsS -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' "$@"; }
ID=$(api -d '{"title":"Elevated API errors","severity":"SEV2","services_affected":["api-service","database"]}' "$URL/api/v1/incidents" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
for text in "We are investigating elevated error rates on the API." "The cause is a saturated database connection pool." "A fix is deployed; we are monitoring."; do
  api -d "{\"current_status\":\"$text\",\"visibility\":\"public\"}" "$URL/api/v1/incidents/$ID/status-updates" >/dev/null
done
api -d '{"current_status":"internal only","visibility":"internal"}' "$URL/api/v1/incidents/$ID/status-updates" >/dev/null
sleep 6   # one refresh_interval: the snapshot picks the incident up
curl -fsS "$URL/status/api/v2/summary.json" | grep -q "connection pool" || { echo "the incident is not on the page" >&2; exit 5; }
for _ in $(seq 1 200); do curl -fsS -o /dev/null "$URL/status"; done   # warm-up

run() {
  local path=$1 load0 load1 out cpu0 cpu1 hdr=()
  [[ -n "${ENCODING:-}" ]] && hdr=(-H "Accept-Encoding: $ENCODING")
  load0=$(cut -d' ' -f1 /proc/loadavg)
  cpu0=$(cpu_s "$SRV")
  out=$(wrk -t"$THREADS" -c"$CONNS" -d"${DURATION}s" --timeout 10s --latency "${hdr[@]}" "$URL$path")
  cpu1=$(cpu_s "$SRV")
  load1=$(cut -d' ' -f1 /proc/loadavg)
  echo "$out" >"$WD/wrk$(echo "$path" | tr '/' '_').txt"
  local rps p50 p90 p99 max errs size
  rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
  p50=$(awk '$1=="50%" {print $2}' <<<"$out"); p90=$(awk '$1=="90%" {print $2}' <<<"$out"); p99=$(awk '$1=="99%" {print $2}' <<<"$out")
  max=$(awk '/Latency/ {print $4; exit}' <<<"$out")
  errs=$(awk '/Non-2xx|Socket errors/ {print}' <<<"$out" | tr '\n' ' ')
  size=$(curl -fsS -o /dev/null -w '%{size_download}' "${hdr[@]}" "$URL$path")
  local reqs cpu_us
  reqs=$(awk '/requests in/ {print $1}' <<<"$out")
  cpu_us=$(python3 -c "print(round(($cpu1 - $cpu0) * 1e6 / max($reqs, 1), 1))")
  printf '%-30s %10s req/s  p50 %-8s p90 %-8s p99 %-8s max %-8s %6s B  server CPU %s us/req  load %s -> %s  %s\n' "$path" "$rps" "$p50" "$p90" "$p99" "$max" "$size" "$cpu_us" "$load0" "$load1" "${errs:-no errors}"
}
echo "wrk -t$THREADS -c$CONNS -d${DURATION}s, $(date -u +%FT%TZ), $(nproc) cores"
run /status
run /status/api/v2/summary.json
