#!/usr/bin/env bash
# Watchkeeper vs Prometheus 2.42, side by side in one run: the same synthetic exporters, scraped by both at once.
#
#   bench/prometheus/side_by_side.sh [SERIES=100000] [EXPORTERS=4] [INTERVAL_S=1] [DURATION_S=90]
#   bench/prometheus/side_by_side.sh 2000 2 1 15        # smoke test
#
# 1. Starts EXPORTERS synthetic exporters (../shared/bench/peers/synth_exporter.py, run from there) with SERIES
#    series in total, jobs alternating api-service / web-interface, plus one web-interface target on a closed port
#    (so `up == 0` has an answer). Both systems scrape the same targets with honor_labels: true, scrape_interval =
#    scrape_timeout = INTERVAL, and no rules.
# 2. Prometheus (own temp dir, PROM_PORT) and Watchkeeper (Release build, SQLite, fresh data dir, shipped rules, demo, host
#    metrics and self-scrape off, WK_PORT) start together.
# 3. Waits until both heads hold >= 98% of SERIES, then 3 intervals; measures both over DURATION seconds
#    (probe.py measure), then runs the query benchmark (QUERY_N calls per expression and kind, alternating).
# 4. Report with ratios Watchkeeper/Prometheus to $RESULTS_DIR/side_by_side.txt. Bytes per sample in blocks come
#    from the offline measurement (blocks.sh), merged into the report when $RESULTS_DIR/blocks.json exists.
# Env: QUERY_N (20; 0 skips), QUERY_ONLY (run only the queries whose label contains it, e.g. "up == 0"), WK_ARGS (more `serve` flags),
#      PORT_BASE (19200), PROM_PORT (19390), WK_PORT (19391), SKIP_BUILD (0), WK_DLL (another build),
#      RESULTS_DIR (/tmp/wk-bench-results), KEEP_WD (0), PEERS (../shared/bench/peers relative to the repo),
#      HOLD_S (0; keeps everything running that many seconds after the report, at most 1800, and writes
#      $RESULTS_DIR/hold.env with the URLs, PIDs, token and work directory, for experiments against the same exporters).
# Everything binds 127.0.0.1; state lives in a mktemp dir; the trap kills only the PIDs this script started.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
PEERS=${PEERS:-$(cd "$ROOT/../shared/bench/peers" && pwd)}
SERIES=${1:-100000}; EXPORTERS=${2:-4}; INTERVAL=${3:-1}; DURATION=${4:-90}
QUERY_N=${QUERY_N:-20}; PORT_BASE=${PORT_BASE:-19200}; PROM_PORT=${PROM_PORT:-19390}; WK_PORT=${WK_PORT:-19391}
RESULTS_DIR=${RESULTS_DIR:-/tmp/wk-bench-results}
(( DURATION >= 10 && DURATION <= 600 )) || { echo "DURATION must be 10..600 s" >&2; exit 2; }
(( EXPORTERS >= 1 && EXPORTERS <= 16 )) || { echo "EXPORTERS must be 1..16" >&2; exit 2; }
mkdir -p "$RESULTS_DIR"
. "$HERE/../lib.sh"
bench_workdir wksbs
EXP_PIDS=()
fgwait() { "$@" & local p=$! rc=0; PIDS+=("$p"); wait "$p" || rc=$?; unset 'PIDS[-1]'; return $rc; }
port_free $(seq "$PORT_BASE" $((PORT_BASE + EXPORTERS))) "$PROM_PORT" "$WK_PORT"
bench_build

# --- exporters ---------------------------------------------------------------------------------
PER=$(( SERIES / EXPORTERS )); API_T=(); WEB_T=()
for i in $(seq 0 $((EXPORTERS - 1))); do
  port=$((PORT_BASE + i)); n=$PER
  (( i == EXPORTERS - 1 )) && n=$(( SERIES - PER * (EXPORTERS - 1) ))
  if (( i % 2 == 0 )); then job=api-service; API_T+=("'127.0.0.1:$port'"); else job=web-interface; WEB_T+=("'127.0.0.1:$port'"); fi
  python3 "$PEERS/synth_exporter.py" --series "$n" --port "$port" --job "$job" --prefix "p$i" --seed "$i" \
    --max-seconds $(( DURATION + 1200 )) >"$WD/exp$i.log" 2>&1 &
  PIDS+=($!); EXP_PIDS+=($!)
done
WEB_T+=("'127.0.0.1:$((PORT_BASE + EXPORTERS))'")  # nothing listens there
for i in $(seq 0 $((EXPORTERS - 1))); do wait_http "http://127.0.0.1:$((PORT_BASE + i))/metrics" 120; done

# --- configs -----------------------------------------------------------------------------------
join() { local IFS=,; echo "$*"; }
SCRAPE="scrape_configs:
- {job_name: api-service, honor_labels: true, static_configs: [{targets: [$(join "${API_T[@]}")]}]}
- {job_name: web-interface, honor_labels: true, static_configs: [{targets: [$(join "${WEB_T[@]}")]}]}"
GLOBAL="global: {scrape_interval: ${INTERVAL}s, scrape_timeout: ${INTERVAL}s, evaluation_interval: 15s}"
printf '%s\n%s\n' "$GLOBAL" "$SCRAPE" >"$WD/prometheus.yml"
promtool check config "$WD/prometheus.yml" >"$WD/promtool.log" 2>&1 || { cat "$WD/promtool.log"; exit 4; }

cp -r "$ROOT/config/openpolicy" "$WD/wkconfig"
GLOBAL="$GLOBAL" SCRAPE="$SCRAPE" python3 - "$WD/wkconfig/watchkeeper.yml" <<'EOF'
import os, re, sys
p = sys.argv[1]; s = open(p).read()
s = re.sub(r"(?ms)^global:\n(  .*?\n)+", os.environ["GLOBAL"] + "\n", s, count=1)
s = re.sub(r"(?m)^scrape_configs: \[\]\n", os.environ["SCRAPE"] + "\n", s, count=1)
s = re.sub(r"(?m)^(host_metrics:\n(?:#.*\n)*)  enabled: true", r"\1  enabled: false", s)
s = re.sub(r"(?m)^(demo:\n(?:#.*\n)*)  enabled: true", r"\1  enabled: false", s)
s = re.sub(r"(?m)^rule_files:\n(  - .*\n)+", "rule_files: []\n", s, count=1)  # Prometheus runs no rules either
s += "\nself_scrape: false\n"
for must in ("host_metrics:\n  enabled: false", "demo:\n  enabled: false", "honor_labels: true", "scrape_interval: ", "rule_files: []\n"):
    assert must in s, "config edit failed: " + must
open(p, "w").write(s)
EOF

# --- the two systems ---------------------------------------------------------------------------
prometheus --config.file="$WD/prometheus.yml" --storage.tsdb.path="$WD/prom" \
  --web.listen-address="127.0.0.1:$PROM_PORT" --log.level=warn >"$WD/prom.log" 2>&1 &
PROM_PID=$!; PIDS+=("$PROM_PID")
export WATCHKEEPER_ADMIN_PASSWORD=bench-admin-pw
dotnet "$DLL" serve --config "$WD/wkconfig/watchkeeper.yml" --data "$WD/wk" --listen "127.0.0.1:$WK_PORT" ${WK_ARGS:-} >"$WD/wk.log" 2>&1 &
WK_PID=$!; PIDS+=("$WK_PID")
PROM_URL="http://127.0.0.1:$PROM_PORT"; WK_URL="http://127.0.0.1:$WK_PORT"
wait_http "$PROM_URL/-/ready" 300
wait_http "$WK_URL/-/ready" 300
TOKEN=$(bench_login "$WK_URL" 120)
TAG="S${SERIES}_K${EXPORTERS}_i${INTERVAL}s"
echo "[$TAG] prometheus pid $PROM_PID, watchkeeper pid $WK_PID; waiting for both heads >= 98% of $SERIES"
fgwait python3 "$HERE/probe.py" wait-series "$PROM_URL" prometheus_tsdb_head_series "$(( SERIES * 98 / 100 ))" 180
fgwait python3 "$HERE/probe.py" wait-series "$WK_URL" watchkeeper_tsdb_head_series "$(( SERIES * 98 / 100 ))" 180
sleep $(( INTERVAL * 3 ))
echo "[$TAG] measuring both for ${DURATION}s"
fgwait python3 "$HERE/probe.py" measure "$DURATION" "$RESULTS_DIR/$TAG.measure.json" \
  "$PROM_URL" "$PROM_PID" "$WD/prom" "$WK_URL" "$WK_PID" "$WD/wk/tsdb" "${EXP_PIDS[@]}"
rm -f "$RESULTS_DIR/$TAG.query.json"
if (( QUERY_N > 0 )); then
  echo "[$TAG] query latency ($QUERY_N calls each, alternating)"
  fgwait python3 "$HERE/probe.py" query "$QUERY_N" "$RESULTS_DIR/$TAG.query.json" "$PROM_URL" "$WK_URL" "$TOKEN"
fi
for u in "$PROM_URL/api/v1/query" "$WK_URL/prometheus/api/v1/query"; do
  curl -fsS --max-time 30 -H "Authorization: Bearer $TOKEN" --data-urlencode 'query=count by (job) (up == 1)' "$u" >>"$WD/up.json" 2>&1 || true
  echo >>"$WD/up.json"
done
{
  echo "== $TAG  ($(date -u +%FT%TZ), $(prometheus --version 2>&1 | head -1 | cut -d' ' -f1-3), watchkeeper ${WK_DLL:-$(git -C "$ROOT" rev-parse --short HEAD)})"
  python3 -c 'import json,sys
for name, line in zip(("Prometheus", "Watchkeeper"), open(sys.argv[1])):
    try: print("targets up (%s): %s" % (name, ", ".join("%s=%s" % (r["metric"]["job"], r["value"][1]) for r in json.loads(line)["data"]["result"])))
    except Exception as e: print("targets up (%s): %s" % (name, line.strip()[:200]))' "$WD/up.json"
  python3 "$HERE/probe.py" report "$RESULTS_DIR/$TAG.measure.json" "$RESULTS_DIR/$TAG.query.json" "$RESULTS_DIR/blocks.json"
} | tee "$RESULTS_DIR/$TAG.txt"
grep -iE 'level=(error|warn)' "$WD/prom.log" | head -5 || true
grep -iE 'fail|error|warn' "$WD/wk.log" | head -5 || true
HOLD_S=${HOLD_S:-0}
if (( HOLD_S > 0 )); then
  (( HOLD_S > 1800 )) && HOLD_S=1800
  printf 'WD=%s\nPROM_URL=%s\nPROM_PID=%s\nWK_URL=%s\nWK_PID=%s\nTOKEN=%s\nWK_CONFIG=%s\n' \
    "$WD" "$PROM_URL" "$PROM_PID" "$WK_URL" "$WK_PID" "$TOKEN" "$WD/wkconfig/watchkeeper.yml" >"$RESULTS_DIR/hold.env"
  echo "[$TAG] holding for ${HOLD_S}s: $RESULTS_DIR/hold.env"
  fgwait sleep "$HOLD_S" || true
fi
