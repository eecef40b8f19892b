#!/usr/bin/env bash
# A dashboard of 8 panels (2 stats, a gauge, a bar gauge, 2 time series, a table, a heatmap) over SERIES series:
# how long /dashboards/{uid} takes to be ready, server-side evaluation and the whole page.
#
#   bench/dashboards/run.sh [SERIES=100000] [EXPORTERS=4] [INTERVAL_S=5] [HISTORY_S=180] [N=10]
#   bench/dashboards/run.sh 3000 1 5 30 3        # smoke test
#
# 1. Starts EXPORTERS synthetic exporters (../shared/bench/peers/synth_exporter.py, run from there) with SERIES series
#    in total (jobs api-service / web-interface), scraped every INTERVAL_S by Watchkeeper (Release build, SQLite, fresh
#    data dir, demo and host metrics off, WK_PORT) with bench-8-panels.json provisioned.
# 2. Waits until the head holds >= 98% of SERIES, then HISTORY_S more seconds of samples (the panels' rate windows).
# 3. Fetches /dashboards/bench-8-panels (last 15 minutes) N times, one at a time: prints the server's
#    "evaluated in X ms", curl's total time and the server's CPU time for each, then min / median / max.
# 4. With BROWSER=1 (default when chromium is on PATH), loads the page N times in headless Chromium (bench/PageTiming):
#    navigation timings and the moment every chart is drawn ("ready"), from the start of the navigation.
# 5. With PROM=1 (default), Prometheus 2.42 scrapes the same exporters with the same configuration from the start, and
#    queries.py runs the panels' queries against both, alternating: each heavy range query N times (wall and server
#    CPU per call, WK/Prom ratios), and the 8 queries at once as Grafana loads the dashboard.
# Env: PORT_BASE (22220), WK_PORT (22219), PROM (1), PROM_PORT (22218), SKIP_BUILD (0), WK_DLL, RESULTS_DIR (/tmp/wk-bench-results), KEEP_WD (0), PEERS.
# Everything binds 127.0.0.1; state lives in a mktemp dir; the trap kills only the PIDs this script started.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
PEERS=${PEERS:-$(cd "$ROOT/../shared/bench/peers" && pwd)}
SERIES=${1:-100000}; EXPORTERS=${2:-4}; INTERVAL=${3:-5}; HISTORY=${4:-180}; N=${5:-10}
PORT_BASE=${PORT_BASE:-22220}; WK_PORT=${WK_PORT:-22219}; PROM_PORT=${PROM_PORT:-22218}; RESULTS_DIR=${RESULTS_DIR:-/tmp/wk-bench-results}
(( HISTORY >= 10 && HISTORY <= 1800 )) || { echo "HISTORY_S must be 10..1800" >&2; exit 2; }
(( N >= 1 && N <= 100 )) || { echo "N must be 1..100" >&2; exit 2; }
(( EXPORTERS >= 1 && EXPORTERS <= 16 )) || { echo "EXPORTERS must be 1..16" >&2; exit 2; }
mkdir -p "$RESULTS_DIR"
WD=$(mktemp -d /tmp/wkdash.XXXXXX)
PIDS=()
cleanup() {
  local p
  for p in "${PIDS[@]:-}"; do [[ -n "$p" ]] && kill "$p" 2>/dev/null || true; done
  sleep 1
  for p in "${PIDS[@]:-}"; do [[ -n "$p" ]] && kill -9 "$p" 2>/dev/null || true; done
  [[ "${KEEP_WD:-0}" == 1 ]] || rm -rf "$WD"
}
trap cleanup EXIT; trap "exit 130" INT TERM
. "$HERE/../lib.sh"   # wait_http
if [[ "${SKIP_BUILD:-0}" != 1 ]]; then
  dotnet build "$ROOT/src/Watchkeeper.Server" -c Release -v q -nologo >"$WD/build.log" 2>&1 || { tail -20 "$WD/build.log"; exit 4; }
fi
DLL=${WK_DLL:-"$ROOT/src/Watchkeeper.Server/bin/Release/net10.0/watchkeeper.dll"}

PER=$(( SERIES / EXPORTERS )); API_T=(); WEB_T=()
for i in $(seq 0 $((EXPORTERS - 1))); do
  port=$((PORT_BASE + i)); n=$PER
  (( i == EXPORTERS - 1 )) && n=$(( SERIES - PER * (EXPORTERS - 1) ))
  if (( i % 2 == 0 )); then job=api-service; API_T+=("'127.0.0.1:$port'"); else job=web-interface; WEB_T+=("'127.0.0.1:$port'"); fi
  python3 "$PEERS/synth_exporter.py" --series "$n" --port "$port" --job "$job" --prefix "p$i" --seed "$i" \
    --max-seconds $(( HISTORY + 900 )) >"$WD/exp$i.log" 2>&1 &
  PIDS+=($!)
done
for i in $(seq 0 $((EXPORTERS - 1))); do wait_http "http://127.0.0.1:$((PORT_BASE + i))/metrics" 120; done
(( ${#WEB_T[@]} > 0 )) || WEB_T+=("'127.0.0.1:$((PORT_BASE + EXPORTERS))'")

join() { local IFS=,; echo "$*"; }
cp -r "$ROOT/config/openpolicy" "$WD/wkconfig"
mkdir -p "$WD/wkconfig/bench-dashboards"
cp "$HERE/bench-8-panels.json" "$WD/wkconfig/bench-dashboards/"
export GLOBAL="global: {scrape_interval: ${INTERVAL}s, scrape_timeout: ${INTERVAL}s, evaluation_interval: 15s}"
export SCRAPE="scrape_configs:
- {job_name: api-service, honor_labels: true, static_configs: [{targets: [$(join "${API_T[@]}")]}]}
- {job_name: web-interface, honor_labels: true, static_configs: [{targets: [$(join "${WEB_T[@]}")]}]}"
python3 - "$WD/wkconfig/watchkeeper.yml" <<'PY'
import os, re, sys
p = sys.argv[1]; s = open(p).read()
s = re.sub(r"(?ms)^global:\n(  .*?\n)+", os.environ["GLOBAL"] + "\n", s, count=1)
s = re.sub(r"(?m)^scrape_configs: \[\]\n", os.environ["SCRAPE"] + "\n", s, count=1)
s = re.sub(r"(?m)^(host_metrics:\n(?:#.*\n)*)  enabled: true", r"\1  enabled: false", s)
s = re.sub(r"(?m)^(demo:\n(?:#.*\n)*)  enabled: true", r"\1  enabled: false", s)
s = re.sub(r"(?m)^  provisioning: \[dashboards\]", "  provisioning: [bench-dashboards]", s)
s += "\nself_scrape: false\n"
for must in ("host_metrics:\n  enabled: false", "demo:\n  enabled: false", "provisioning: [bench-dashboards]"):
    assert must in s, "config edit failed: " + must
open(p, "w").write(s)
PY

if [[ "${PROM:-1}" == 1 ]]; then
  # The peer: Prometheus 2.42 with the same scrape configuration, no rules, its own temp dir.
  printf '%s\n%s\n' "$GLOBAL" "$SCRAPE" >"$WD/prometheus.yml"
  prometheus --config.file="$WD/prometheus.yml" --storage.tsdb.path="$WD/prom" \
    --web.listen-address="127.0.0.1:$PROM_PORT" --query.timeout=5m --log.level=warn >"$WD/prom.log" 2>&1 &
  PROM_PID=$!; PIDS+=("$PROM_PID")
  wait_http "http://127.0.0.1:$PROM_PORT/-/ready" 300
fi
export WATCHKEEPER_ADMIN_PASSWORD=bench-admin-pw
dotnet "$DLL" serve --config "$WD/wkconfig/watchkeeper.yml" --data "$WD/wk" --listen "127.0.0.1:$WK_PORT" >"$WD/wk.log" 2>&1 &
WK_PID=$!; PIDS+=("$WK_PID")
URL="http://127.0.0.1:$WK_PORT"
wait_http "$URL/-/ready" 300
TOKEN=$(curl -fsS --max-time 120 -H 'Content-Type: application/json' \
  -d "{\"username\":\"admin\",\"password\":\"$WATCHKEEPER_ADMIN_PASSWORD\"}" "$URL/api/v1/auth/login" |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')
want=$(( SERIES * 98 / 100 )); deadline=$(( $(date +%s) + 300 ))
while :; do
  head=$(curl -fsS --max-time 10 "$URL/metrics" | awk '/^watchkeeper_tsdb_head_series /{print int($2)}')
  phead=$want
  [[ "${PROM:-1}" == 1 ]] && phead=$(curl -fsS --max-time 10 "http://127.0.0.1:$PROM_PORT/metrics" | awk '/^prometheus_tsdb_head_series /{print int($2)}')
  (( ${head:-0} >= want && ${phead:-0} >= want )) && break
  (( $(date +%s) < deadline )) || { echo "head has ${head:-0} series, wanted $want" >&2; exit 5; }
  sleep 2
done
echo "head: $head series; collecting ${HISTORY}s of samples"
sleep "$HISTORY"
OUT="$RESULTS_DIR/dashboard_S${SERIES}.txt"
{
  echo "== dashboard of 8 panels over $head series, last 15 minutes, $(date -u +%FT%TZ), watchkeeper ${WK_DLL:-$(git -C "$ROOT" rev-parse --short HEAD)}, load $(cut -d' ' -f1 /proc/loadavg)"
  for i in $(seq 1 "$N"); do
    cpu0=$(awk '{print $14 + $15}' "/proc/$WK_PID/stat")
    total=$(curl -fsS --max-time 300 -o "$WD/page.html" -w '%{time_total}' -H "Authorization: Bearer $TOKEN" "$URL/dashboards/bench-8-panels") || { echo "run $i: failed or longer than 300 s"; continue; }
    cpu1=$(awk '{print $14 + $15}' "/proc/$WK_PID/stat")
    eval_ms=$(grep -o 'class="wk-eval">[0-9]*<' "$WD/page.html" | grep -o '[0-9]*')
    nodata=$(grep -c 'wk-nodata' "$WD/page.html" || true)
    echo "run $i: evaluated ${eval_ms} ms, page $(python3 -c "print(round($total * 1000))") ms, server CPU $(( (cpu1 - cpu0) * 1000 / $(getconf CLK_TCK) )) ms (scrapes included), $(wc -c <"$WD/page.html") bytes, panels without data: $nodata, load $(cut -d' ' -f1 /proc/loadavg)"
  done
} | tee "$OUT"
python3 - "$OUT" <<'PY'
import re, sys, statistics
ev = [int(m) for m in re.findall(r"evaluated (\d+) ms", open(sys.argv[1]).read())]
pg = [int(m) for m in re.findall(r"page (\d+) ms", open(sys.argv[1]).read())]
for name, xs in (("evaluation", ev), ("whole page", pg)):
    if not xs: print(f"{name}: no successful run"); continue
    print(f"{name}: min {min(xs)} ms, median {statistics.median(xs):.0f} ms, max {max(xs)} ms")
PY
# In a real browser (BROWSER=1, default when chromium is on PATH): from the start of the navigation until the charts are
# drawn (bench/PageTiming, headless Chromium), N loads.
if [[ "${BROWSER:-1}" == 1 ]] && command -v chromium >/dev/null; then
  echo "== in headless Chromium (bench/PageTiming), load $(cut -d' ' -f1 /proc/loadavg)" | tee -a "$OUT"
  dotnet build "$ROOT/bench/PageTiming" -c Release -v q -nologo >"$WD/pagetiming-build.log" 2>&1 || { tail -20 "$WD/pagetiming-build.log"; exit 4; }
  dotnet "$ROOT/bench/PageTiming/bin/Release/net10.0/PageTiming.dll" "$URL/dashboards/bench-8-panels" "$TOKEN" "$N" | tee -a "$OUT"
fi
if [[ "${PROM:-1}" == 1 ]]; then
  echo "== the same queries against Prometheus $(prometheus --version 2>&1 | head -1 | cut -d' ' -f3) and Watchkeeper's Prometheus API, same run" | tee -a "$OUT"
  python3 "$HERE/queries.py" "$N" "http://127.0.0.1:$PROM_PORT" "$URL" "$TOKEN" "$PROM_PID" "$WK_PID" | tee -a "$OUT"
fi
