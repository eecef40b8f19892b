#!/usr/bin/env bash
# Rule evaluation, Watchkeeper vs Prometheus 2.42 (+ Alertmanager 0.25), side by side in one run over the same
# synthetic exporters (issue 10 (d) and (e)).
#
#   bench/rules/side_by_side.sh [SERIES=100000] [EXPORTERS=4] [INTERVAL_S=1] [DURATION_S=90]
#   EVAL_S=5 FAULT=0 bench/rules/side_by_side.sh 4000 2 1 20        # smoke test
#
# 1. Starts EXPORTERS synthetic exporters (../shared/bench/peers/synth_exporter.py, by path) with SERIES series, jobs
#    alternating api-service / web-interface, one web-interface target on a closed port, and one small
#    api-service exporter (300 series) that is killed later for the fault test.
# 2. The rules are the seed's three (config/openpolicy/rules/alerts.yml: ServiceDown, HighErrorRate,
#    HighResponseTime; the same expressions as the peers' prom_ingest.sh), verbatim, one group each (as
#    prom_ingest.sh splits them, so each has its own duration), interval EVAL_S. Both systems load that one file.
# 3. Prometheus (scrape INTERVAL, rules, alerting to an Alertmanager 0.25) and Watchkeeper (Release build, SQLite,
#    fresh data dir, config/openpolicy with demo, host metrics, self-scrape and alerts-to-incidents off, the
#    shipped rule files replaced by this one) start together. Both Alertmanager and Watchkeeper route with
#    group_by [alertname, instance], group_wait 0s to their own loopback webhook receiver.
# 4. (d) After both heads hold 98% of SERIES and one [5m]-window warm-up of WARMUP_S, samples both rule-group
#    duration gauges every EVAL_S for DURATION_S (probe.py rules).
# 5. (e) Kills the fault exporter and measures, for both, the time to the first webhook naming its instance
#    (ServiceDown, for: 1m). FAULT=0 skips it.
# Report to $RESULTS_DIR/rules.txt. Env: EVAL_S (5), WARMUP_S (30), FAULT (1), PORT_BASE (22120), PROM_PORT (22150),
#   WK_PORT (22151), AM_PORT (22152), RECV_AM_PORT (22153), RECV_WK_PORT (22154), SKIP_BUILD (0), WK_DLL,
#   RESULTS_DIR (/tmp/wk-bench-rules), KEEP_WD (0), PEERS (../shared/bench/peers), WK_ARGS.
# Everything binds 127.0.0.1; state lives in a mktemp dir; the trap kills only the PIDs this script started.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
# ../shared from the main checkout, ../../shared from a worktree under /work/wt
PEERS=${PEERS:-$(cd "$ROOT/../shared/bench/peers" 2>/dev/null || cd "$ROOT/../../shared/bench/peers" && pwd)}
SERIES=${1:-100000}; EXPORTERS=${2:-4}; INTERVAL=${3:-1}; DURATION=${4:-90}
EVAL_S=${EVAL_S:-5}; WARMUP_S=${WARMUP_S:-30}; FAULT=${FAULT:-1}
PORT_BASE=${PORT_BASE:-22120}; PROM_PORT=${PROM_PORT:-22150}; WK_PORT=${WK_PORT:-22151}; AM_PORT=${AM_PORT:-22152}
RECV_AM_PORT=${RECV_AM_PORT:-22153}; RECV_WK_PORT=${RECV_WK_PORT:-22154}
RESULTS_DIR=${RESULTS_DIR:-/tmp/wk-bench-rules}
(( DURATION >= 10 && DURATION <= 600 )) || { echo "DURATION must be 10..600 s" >&2; exit 2; }
(( EXPORTERS >= 1 && EXPORTERS <= 16 )) || { echo "EXPORTERS must be 1..16" >&2; exit 2; }
(( EVAL_S >= 1 && EVAL_S <= 60 && WARMUP_S >= 0 && WARMUP_S <= 600 )) || { echo "EVAL_S 1..60, WARMUP_S 0..600" >&2; exit 2; }
mkdir -p "$RESULTS_DIR"
WD=$(mktemp -d /tmp/wkrules.XXXXXX)
PIDS=(); FAULT_PID=""

cleanup() {
  local p
  for p in "${PIDS[@]:-}" $FAULT_PID; do [[ -n "$p" ]] && kill "$p" 2>/dev/null || true; done
  for _ in $(seq 1 50); do
    local alive=0
    for p in "${PIDS[@]:-}"; do [[ -n "$p" ]] && kill -0 "$p" 2>/dev/null && alive=1; done
    (( alive )) || break; sleep 0.2
  done
  for p in "${PIDS[@]:-}" $FAULT_PID; do [[ -n "$p" ]] && kill -9 "$p" 2>/dev/null || true; done
  [[ "${KEEP_WD:-0}" == 1 ]] || rm -rf "$WD"
}
trap cleanup EXIT; trap "exit 130" INT TERM
fgwait() { "$@" & local p=$! rc=0; PIDS+=("$p"); wait "$p" || rc=$?; unset 'PIDS[-1]'; return $rc; }
. "$HERE/../lib.sh"   # wait_http
FAULT_PORT=$((PORT_BASE + EXPORTERS + 1))
for port in $(seq "$PORT_BASE" "$FAULT_PORT") "$PROM_PORT" "$WK_PORT" "$AM_PORT" "$RECV_AM_PORT" "$RECV_WK_PORT"; do
  if curl -s -o /dev/null --max-time 1 "http://127.0.0.1:$port/" 2>/dev/null; then echo "port $port busy" >&2; exit 3; fi
done

if [[ "${SKIP_BUILD:-0}" != 1 ]]; then
  dotnet build "$ROOT/src/Watchkeeper.Server" -c Release -v q -nologo >"$WD/build.log" 2>&1 || { tail -20 "$WD/build.log"; exit 4; }
fi
DLL=${WK_DLL:-"$ROOT/src/Watchkeeper.Server/bin/Release/net10.0/watchkeeper.dll"}

# --- exporters -------------------------------------------------------------------------------------------------
PER=$(( SERIES / EXPORTERS )); API_T=(); WEB_T=(); MAXS=$(( WARMUP_S + DURATION + 1500 ))
for i in $(seq 0 $((EXPORTERS - 1))); do
  port=$((PORT_BASE + i)); n=$PER
  (( i == EXPORTERS - 1 )) && n=$(( SERIES - PER * (EXPORTERS - 1) ))
  if (( i % 2 == 0 )); then job=api-service; API_T+=("'127.0.0.1:$port'"); else job=web-interface; WEB_T+=("'127.0.0.1:$port'"); fi
  python3 "$PEERS/synth_exporter.py" --series "$n" --port "$port" --job "$job" --prefix "p$i" --seed "$i" \
    --max-seconds "$MAXS" >"$WD/exp$i.log" 2>&1 &
  PIDS+=($!)
done
WEB_T+=("'127.0.0.1:$((PORT_BASE + EXPORTERS))'")  # nothing listens there
FAULT_INSTANCE="127.0.0.1:$FAULT_PORT"
python3 "$PEERS/synth_exporter.py" --series 300 --port "$FAULT_PORT" --job api-service --prefix fault --seed 99 \
  --max-seconds "$MAXS" >"$WD/fault.log" 2>&1 &
FAULT_PID=$!
API_T+=("'$FAULT_INSTANCE'")
for i in $(seq 0 $((EXPORTERS - 1))); do wait_http "http://127.0.0.1:$((PORT_BASE + i))/metrics" 120; done
wait_http "http://$FAULT_INSTANCE/metrics" 60

# --- the seed's three rules, one group each --------------------------------------------------------------------
python3 - "$ROOT/config/openpolicy/rules/alerts.yml" "$EVAL_S" >"$WD/rules.yml" <<'EOF'
import re, sys
text, interval = open(sys.argv[1]).read(), sys.argv[2]
rules_at = text.index("    rules:\n") + len("    rules:\n")
blocks = re.split(r"(?m)^(?=      - alert: )", text[rules_at:])
print("# The seed's rules (config/openpolicy/rules/alerts.yml) verbatim, one group per rule.\ngroups:")
for b in blocks:
    m = re.match(r"      - alert: (\w+)", b)
    if not m: continue
    print("  - name: %s\n    interval: %ss\n    rules:\n%s" % (m.group(1), interval, b.rstrip()))
EOF
promtool check rules "$WD/rules.yml" >"$WD/promtool-rules.log" 2>&1 || { cat "$WD/promtool-rules.log"; exit 4; }
[[ $(grep -c -- '- alert:' "$WD/rules.yml") == 3 ]] || { echo "expected 3 rules in $WD/rules.yml" >&2; exit 4; }

route() {  # receiver_port
  cat <<EOF
route:
  receiver: webhook
  group_by: [alertname, instance]
  group_wait: 0s
  group_interval: 1m
  repeat_interval: 4h
receivers:
- name: webhook
  webhook_configs:
  - url: http://127.0.0.1:$1/hook
    send_resolved: false
    max_alerts: 50
EOF
}
route "$RECV_AM_PORT" >"$WD/am.yml"; route "$RECV_WK_PORT" >"$WD/wk-am.yml"
join() { local IFS=,; echo "$*"; }
SCRAPE="scrape_configs:
- {job_name: api-service, honor_labels: true, static_configs: [{targets: [$(join "${API_T[@]}")]}]}
- {job_name: web-interface, honor_labels: true, static_configs: [{targets: [$(join "${WEB_T[@]}")]}]}"
GLOBAL="global: {scrape_interval: ${INTERVAL}s, scrape_timeout: ${INTERVAL}s, evaluation_interval: ${EVAL_S}s}"
printf '%s\nrule_files: [%s]\nalerting: {alertmanagers: [{static_configs: [{targets: [127.0.0.1:%s]}]}]}\n%s\n' \
  "$GLOBAL" "'$WD/rules.yml'" "$AM_PORT" "$SCRAPE" >"$WD/prometheus.yml"
promtool check config "$WD/prometheus.yml" >"$WD/promtool.log" 2>&1 || { cat "$WD/promtool.log"; exit 4; }
amtool check-config "$WD/am.yml" >"$WD/amtool.log" 2>&1 || { cat "$WD/amtool.log"; exit 4; }

cp -r "$ROOT/config/openpolicy" "$WD/wkconfig"
GLOBAL="$GLOBAL" SCRAPE="$SCRAPE" python3 - "$WD/wkconfig/watchkeeper.yml" "$WD/wk-am.yml" "$WD/rules.yml" <<'EOF'
import os, re, sys
p, am, rules = sys.argv[1:4]; s = open(p).read()
s = re.sub(r"(?ms)^global:\n(  .*?\n)+", os.environ["GLOBAL"] + "\n", s, count=1)
s = re.sub(r"(?m)^scrape_configs: \[\]\n", os.environ["SCRAPE"] + "\n", s, count=1)
s = re.sub(r"(?m)^rule_files:\n(  - .*\n)+", "rule_files: ['%s']\n" % rules, s, count=1)
s = re.sub(r"(?m)^alertmanager_config_file: .*$", "alertmanager_config_file: " + am, s, count=1)
s = re.sub(r"(?m)^(host_metrics:\n(?:#.*\n)*)  enabled: true", r"\1  enabled: false", s)
s = re.sub(r"(?m)^(demo:\n(?:#.*\n)*)  enabled: true", r"\1  enabled: false", s)
s = re.sub(r"(?m)^(  from_alerts:\n(?:    #.*\n)*)    enabled: true", r"\1    enabled: false", s)
s += "\nself_scrape: false\n"
for must in ("host_metrics:\n  enabled: false", "demo:\n  enabled: false", "from_alerts:\n    enabled: false", "honor_labels: true",
             "rule_files: ['%s']" % rules, "alertmanager_config_file: " + am):
    assert must in s, "config edit failed: " + must
open(p, "w").write(s)
EOF

# --- receivers, Alertmanager, Prometheus, Watchkeeper ----------------------------------------------------------
for sys in am wk; do
  port_var="RECV_${sys^^}_PORT"
  python3 "$PEERS/webhook_receiver.py" --port "${!port_var}" --out "$WD/webhook-$sys.jsonl" --max-seconds "$MAXS" >"$WD/recv-$sys.log" 2>&1 &
  PIDS+=($!)
  wait_http "http://127.0.0.1:${!port_var}/stats" 20
done
prometheus-alertmanager --config.file="$WD/am.yml" --storage.path="$WD/am" --web.listen-address="127.0.0.1:$AM_PORT" \
  --cluster.listen-address= --log.level=warn >"$WD/am.log" 2>&1 &
PIDS+=($!)
prometheus --config.file="$WD/prometheus.yml" --storage.tsdb.path="$WD/prom" \
  --web.listen-address="127.0.0.1:$PROM_PORT" --log.level=warn >"$WD/prom.log" 2>&1 &
PROM_PID=$!; PIDS+=("$PROM_PID")
export WATCHKEEPER_ADMIN_PASSWORD=bench-admin-pw
dotnet "$DLL" serve --config "$WD/wkconfig/watchkeeper.yml" --data "$WD/wk" --listen "127.0.0.1:$WK_PORT" ${WK_ARGS:-} >"$WD/wk.log" 2>&1 &
WK_PID=$!; PIDS+=("$WK_PID")
PROM_URL="http://127.0.0.1:$PROM_PORT"; WK_URL="http://127.0.0.1:$WK_PORT"
wait_http "http://127.0.0.1:$AM_PORT/-/ready" 60
wait_http "$PROM_URL/-/ready" 300
wait_http "$WK_URL/-/ready" 300
TOKEN=$(curl -fsS --max-time 120 -H 'Content-Type: application/json' \
  -d "{\"username\":\"admin\",\"password\":\"$WATCHKEEPER_ADMIN_PASSWORD\"}" "$WK_URL/api/v1/auth/login" |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')
TAG="S${SERIES}_K${EXPORTERS}_i${INTERVAL}s_e${EVAL_S}s"
OUT="$RESULTS_DIR/$TAG.txt"
echo "[$TAG] prometheus pid $PROM_PID, watchkeeper pid $WK_PID; waiting for both heads >= 98% of $SERIES"
fgwait python3 "$ROOT/bench/prometheus/probe.py" wait-series "$PROM_URL" prometheus_tsdb_head_series "$(( SERIES * 98 / 100 ))" 240
fgwait python3 "$ROOT/bench/prometheus/probe.py" wait-series "$WK_URL" watchkeeper_tsdb_head_series "$(( SERIES * 98 / 100 ))" 240
echo "[$TAG] warm-up ${WARMUP_S}s; load: $(uptime | sed 's/.*load average: //')"
fgwait sleep "$WARMUP_S"
LOAD_D=$(uptime | sed 's/.*load average: //')
echo "[$TAG] (d) sampling rule-group durations for ${DURATION}s; load: $LOAD_D"
fgwait python3 "$HERE/probe.py" rules "$DURATION" "$EVAL_S" "$RESULTS_DIR/$TAG.rules.json" "$PROM_URL" "$PROM_PID" "$WK_URL" "$WK_PID" >/dev/null
rm -f "$RESULTS_DIR/$TAG.fault.json"
LOAD_E=""
if [[ "$FAULT" == 1 ]]; then
  LOAD_E=$(uptime | sed 's/.*load average: //')
  echo "[$TAG] (e) killing the exporter at $FAULT_INSTANCE (ServiceDown, for: 1m); load: $LOAD_E"
  FAULT_T=$(date +%s.%N); kill "$FAULT_PID"; wait "$FAULT_PID" 2>/dev/null || true; FAULT_PID=""
  fgwait python3 "$HERE/probe.py" fault "$RESULTS_DIR/$TAG.fault.json" "$FAULT_T" "$FAULT_INSTANCE" \
    "$WD/webhook-am.jsonl" "$WD/webhook-wk.jsonl" $(( 60 + 4 * EVAL_S + 60 )) >/dev/null
fi
{
  echo "== rules $TAG  ($(date -u +%FT%TZ), $(prometheus --version 2>&1 | head -1 | cut -d' ' -f1-3), watchkeeper ${WK_DLL:-$(git -C "$ROOT" rev-parse --short HEAD)})"
  echo "load during (d): $LOAD_D; during (e): ${LOAD_E:-skipped}"
  for u in "$PROM_URL" "$WK_URL/prometheus"; do
    printf '%s ALERTS: ' "$u"; python3 -c '
import json,sys,urllib.request,urllib.parse
q=urllib.parse.urlencode({"query":"count by (alertname, alertstate) (ALERTS)"}); r=urllib.request.Request(sys.argv[1]+"/api/v1/query?"+q)
r.add_header("Authorization","Bearer "+sys.argv[2])
d=json.load(urllib.request.urlopen(r,timeout=60)); print(", ".join("%s/%s=%s"%(x["metric"].get("alertname"),x["metric"].get("alertstate"),x["value"][1]) for x in d["data"]["result"]))' "$u" "$TOKEN" || echo "?"
  done
  python3 "$HERE/probe.py" report "$RESULTS_DIR/$TAG.rules.json" "$RESULTS_DIR/$TAG.fault.json" "$EVAL_S" 60
} | tee "$OUT"
grep -iE 'level=(error|warn)' "$WD/prom.log" "$WD/am.log" | head -5 || true
grep -iE 'fail|error' "$WD/wk.log" | head -5 || true
