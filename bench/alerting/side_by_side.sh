#!/usr/bin/env bash
# Watchkeeper vs Alertmanager 0.25, side by side in one run with the same load (issue 10 (a)-(c)).
#
#   bench/alerting/side_by_side.sh
#   LAT_GROUPS=50 FILL_TARGETS=10000 BATCHES=100 bench/alerting/side_by_side.sh     # smoke test
#
# The load is the peers' own (../shared/bench/peers, used by path, not copied): am_load.py (latency probe and
# fill) through wk_load.py, am_post.lua through post.lua, webhook_receiver.py. Both systems get the same
# Alertmanager configuration file (the route of am_throughput.sh), each with its own loopback webhook receiver.
# Each phase runs on a fresh Alertmanager and then on a fresh Watchkeeper (never both at once):
#   (b) latency: LAT_GROUPS new groups, one per POST, LAT_SPACING_MS apart, group_wait 0s and then 1s;
#   (c) memory: unique alerts in batches of 1000 (100 aggregation groups) up to each FILL_TARGETS; VmRSS;
#   (a) throughput: wrk 1 thread / WRK_CONNS connections, unique alerts, BATCH per request, bounded by REQS_b and
#       WRK_SECONDS; CPU-seconds of the server per 1k alerts from /proc, over wrk's whole run (which lasts WRK_SECONDS
#       even when the requests are done sooner: it includes the JIT still compiling what the load made hot, and the
#       server's background work) and, in parentheses, up to the last response only ("during the load").
# Watchkeeper: Release build (SKIP_BUILD=1 to reuse it, WK_DLL for another build), SQLite, fresh data dir, the
# shipped config/openpolicy with demo, host metrics, self-scrape and alerts-to-incidents off and
# alertmanager_config_file pointing at the bench route. It serves the API at /alertmanager/api/v2 and posting
# needs a responder (docs/alertmanager.md); the bench logs in as admin and sends that bearer token.
# SYSTEMS may add "floor" (bench/KestrelFloor: ASP.NET Core answering the POST with 200 after reading the body, nothing
# else; built as the server is): phase (a) and its idle RSS only, the least any ASP.NET Core implementation costs here.
# Report with ratios to $RESULTS_DIR/alerting.txt (and alerting_*.json); `uptime` is recorded before each phase.
# Env: LAT_GROUPS (200) LAT_SPACING_MS (25) FILL_TARGETS ("10000 100000") BATCHES ("1 100 1000")
#      REQS_1 (50000) REQS_100 (2000) REQS_1000 (200) WRK_SECONDS (30) WRK_CONNS (4) SYSTEMS ("am wk")
#      AM_PORT (22110) WK_PORT (22111) RECV_AM_PORT (22112) RECV_WK_PORT (22113)
#      RESULTS_DIR (/tmp/wk-bench-alerting) KEEP_WD (0) PEERS (../shared/bench/peers) WK_ARGS (more `serve` flags)
#      PHASES ("b c a": which phases run, in that order; e.g. PHASES=a for the throughput phase alone)
#      PERF_DIR (unset: with it, Watchkeeper runs with DOTNET_PerfMapEnabled=1 DOTNET_EnableWriteXorExecute=0 (so perf
#      resolves JIT-compiled frames) and `perf record -g` samples its CPU
#      during each (a) batch into PERF_DIR/perf-wk-BATCH.data; read it with `perf report -i FILE --no-children`)
# Everything binds 127.0.0.1; state lives in a mktemp dir; the trap kills only the PIDs this script started.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
# ../shared from the main checkout, ../../shared from a worktree under /work/wt
export PEERS=${PEERS:-$(cd "$ROOT/../shared/bench/peers" 2>/dev/null || cd "$ROOT/../../shared/bench/peers" && pwd)}
LAT_GROUPS=${LAT_GROUPS:-200}; LAT_SPACING_MS=${LAT_SPACING_MS:-25}
FILL_TARGETS=${FILL_TARGETS:-"10000 100000"}; BATCHES=${BATCHES:-"1 100 1000"}
WRK_SECONDS=${WRK_SECONDS:-30}; WRK_CONNS=${WRK_CONNS:-4}; SYSTEMS=${SYSTEMS:-"am wk"}; PHASES=${PHASES:-"b c a"}
AM_PORT=${AM_PORT:-22110}; WK_PORT=${WK_PORT:-22111}; RECV_AM_PORT=${RECV_AM_PORT:-22112}; RECV_WK_PORT=${RECV_WK_PORT:-22113}
RESULTS_DIR=${RESULTS_DIR:-/tmp/wk-bench-alerting}
(( WRK_SECONDS >= 1 && WRK_SECONDS <= 300 )) || { echo "WRK_SECONDS must be 1..300" >&2; exit 2; }
(( LAT_GROUPS >= 1 && LAT_GROUPS <= 5000 )) || { echo "LAT_GROUPS must be 1..5000" >&2; exit 2; }
mkdir -p "$RESULTS_DIR"
WD=$(mktemp -d /tmp/wkambench.XXXXXX)
OUT="$RESULTS_DIR/alerting.txt"
PIDS=(); SRV_PID=""

cleanup() {
  local p
  for p in "${PIDS[@]:-}" $SRV_PID; do [[ -n "$p" ]] && kill "$p" 2>/dev/null || true; done
  sleep 0.5
  for p in "${PIDS[@]:-}" $SRV_PID; do [[ -n "$p" ]] && kill -9 "$p" 2>/dev/null || true; done
  [[ "${KEEP_WD:-0}" == 1 ]] || rm -rf "$WD"
}
trap cleanup EXIT; trap "exit 130" INT TERM
fgwait() { "$@" & local p=$! rc=0; PIDS+=("$p"); wait "$p" || rc=$?; unset 'PIDS[-1]'; return $rc; }
wait_http() {  # url timeout_s
  local deadline=$(( $(date +%s) + $2 ))
  until curl -fsS -o /dev/null --max-time 5 "$1" 2>/dev/null; do
    (( $(date +%s) < deadline )) || { echo "timeout waiting for $1" >&2; return 1; }
    sleep 0.2
  done
}
cpu_s() { awk -v t="$(getconf CLK_TCK)" '{sub(/.*\) /,""); print ($12+$13)/t}' "/proc/$1/stat"; }
rss_mib() { awk '/^VmRSS:/{printf "%.1f", $2/1024}' "/proc/$1/status"; }
log() { echo "$*" | tee -a "$OUT"; }
for port in "$AM_PORT" "$WK_PORT" "$RECV_AM_PORT" "$RECV_WK_PORT"; do
  if curl -s -o /dev/null --max-time 1 "http://127.0.0.1:$port/" 2>/dev/null; then echo "port $port busy" >&2; exit 3; fi
done

if [[ "${SKIP_BUILD:-0}" != 1 && " $SYSTEMS " == *" wk "* ]]; then
  dotnet build "$ROOT/src/Watchkeeper.Server" -c Release -v q -nologo >"$WD/build.log" 2>&1 || { tail -20 "$WD/build.log"; exit 4; }
fi
DLL=${WK_DLL:-"$ROOT/src/Watchkeeper.Server/bin/Release/net10.0/watchkeeper.dll"}
if [[ "${SKIP_BUILD:-0}" != 1 && " $SYSTEMS " == *" floor "* ]]; then
  dotnet build "$ROOT/bench/KestrelFloor" -c Release -v q -nologo >"$WD/build-floor.log" 2>&1 || { tail -20 "$WD/build-floor.log"; exit 4; }
fi
FLOOR_DLL="$ROOT/bench/KestrelFloor/bin/Release/net10.0/KestrelFloor.dll"

# --- one route for both (am_throughput.sh's), each with its own receiver ------------------------------------
route() {  # receiver_port
  cat <<EOF
route:
  receiver: webhook
  group_by: [alertname, service]
  group_wait: 1s
  group_interval: 30s
  repeat_interval: 4h
  routes:
  - matchers: ['alertname="LatencyProbe0s"']
    group_by: [group_id]
    group_wait: 0s
    group_interval: 1m
  - matchers: ['alertname="LatencyProbe1s"']
    group_by: [group_id]
    group_wait: 1s
    group_interval: 1m
receivers:
- name: webhook
  webhook_configs:
  - url: http://127.0.0.1:$1/hook
    send_resolved: false
    max_alerts: 50
EOF
}
route "$RECV_AM_PORT" >"$WD/am.yml"; route "$RECV_WK_PORT" >"$WD/wk-am.yml"
amtool check-config "$WD/am.yml" >"$WD/amtool.log" 2>&1 || { cat "$WD/amtool.log"; exit 4; }
cp -r "$ROOT/config/openpolicy" "$WD/wkconfig"
python3 - "$WD/wkconfig/watchkeeper.yml" "$WD/wk-am.yml" <<'EOF'
import re, sys
p, am = sys.argv[1], sys.argv[2]; s = open(p).read()
s = re.sub(r"(?m)^alertmanager_config_file: .*$", "alertmanager_config_file: " + am, s, count=1)
s = re.sub(r"(?m)^(host_metrics:\n(?:#.*\n)*)  enabled: true", r"\1  enabled: false", s)
s = re.sub(r"(?m)^(demo:\n(?:#.*\n)*)  enabled: true", r"\1  enabled: false", s)
s = re.sub(r"(?m)^(  from_alerts:\n(?:    #.*\n)*)    enabled: true", r"\1    enabled: false", s)
s += "\nself_scrape: false\n"
for must in ("alertmanager_config_file: " + am, "host_metrics:\n  enabled: false", "demo:\n  enabled: false", "from_alerts:\n    enabled: false"):
    assert must in s, "config edit failed: " + must
open(p, "w").write(s)
EOF

for sys in am wk; do
  port_var="RECV_${sys^^}_PORT"
  python3 "$PEERS/webhook_receiver.py" --port "${!port_var}" --out "$WD/webhook-$sys.jsonl" --max-seconds 3600 >"$WD/recv-$sys.log" 2>&1 &
  PIDS+=($!)
  wait_http "http://127.0.0.1:${!port_var}/stats" 20
done

# --- per-system start/stop; sets SRV_PID, SRV_URL, AM_PREFIX, AM_TOKEN, RECV_PORT, RECV_LOG ------------------
start() {  # system tag
  local sys=$1 tag=$2
  RECV_LOG="$WD/webhook-$sys.jsonl"
  if [[ $sys == floor ]]; then
    dotnet "$FLOOR_DLL" "http://127.0.0.1:$WK_PORT" >"$WD/floor-$tag.log" 2>&1 &
    SRV_PID=$!; SRV_URL="http://127.0.0.1:$WK_PORT"; AM_PREFIX="/alertmanager"; AM_TOKEN=""; RECV_PORT=$RECV_WK_PORT
    wait_http "$SRV_URL/-/ready" 60
    log "   idle RSS after start: $(rss_mib "$SRV_PID") MiB"
  elif [[ $sys == am ]]; then
    mkdir -p "$WD/am-$tag"
    prometheus-alertmanager --config.file="$WD/am.yml" --storage.path="$WD/am-$tag" --web.listen-address="127.0.0.1:$AM_PORT" \
      --cluster.listen-address= --log.level=warn >"$WD/am-$tag.log" 2>&1 &
    SRV_PID=$!; SRV_URL="http://127.0.0.1:$AM_PORT"; AM_PREFIX=""; AM_TOKEN=""; RECV_PORT=$RECV_AM_PORT
    wait_http "$SRV_URL/-/ready" 60
  else
    WATCHKEEPER_ADMIN_PASSWORD=bench-admin-pw env ${PERF_DIR:+DOTNET_PerfMapEnabled=1 DOTNET_EnableWriteXorExecute=0} dotnet "$DLL" serve --config "$WD/wkconfig/watchkeeper.yml" --data "$WD/wk-$tag" \
      --listen "127.0.0.1:$WK_PORT" ${WK_ARGS:-} >"$WD/wk-$tag.log" 2>&1 &
    SRV_PID=$!; SRV_URL="http://127.0.0.1:$WK_PORT"; AM_PREFIX="/alertmanager"; RECV_PORT=$RECV_WK_PORT
    wait_http "$SRV_URL/-/ready" 600
    AM_TOKEN=$(curl -fsS --max-time 120 -H 'Content-Type: application/json' \
      -d '{"username":"admin","password":"bench-admin-pw"}' "$SRV_URL/api/v1/auth/login" |
      python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')
  fi
  export AM_PREFIX AM_TOKEN
}
stop() {
  [[ -n "$SRV_PID" ]] || return 0
  kill "$SRV_PID" 2>/dev/null || true
  for _ in $(seq 1 75); do kill -0 "$SRV_PID" 2>/dev/null || break; sleep 0.2; done
  kill -9 "$SRV_PID" 2>/dev/null || true; SRV_PID=""
}
held() {  # alerts held; polls (bounded) until two equal reads
  local n=-1 m
  for _ in $(seq 1 20); do
    m=$(curl -s --max-time 30 "$SRV_URL/metrics" | awk '/^alertmanager_alerts\{/{s+=$2} /^watchkeeper_alerts /{s+=$2} END{print s+0}')
    [[ "$m" == "$n" ]] && break; n=$m; sleep 1
  done
  echo "$n"
}
name() { case $1 in am) echo "Alertmanager" ;; floor) echo "Kestrel floor" ;; *) echo "Watchkeeper" ;; esac; }

: >"$OUT"
log "== alerting side by side $(date -u +%FT%TZ)  $(prometheus-alertmanager --version 2>&1 | head -1 | cut -d' ' -f1-3), watchkeeper ${WK_DLL:-$(git -C "$ROOT" rev-parse --short HEAD)}"

phase() { [[ " $PHASES " == *" $1 "* ]]; }

# (b) latency POST -> webhook, one new group per POST
phase b && for sys in $SYSTEMS; do
  [[ $sys == floor ]] && continue
  log "-- (b) $(name $sys); load: $(uptime | sed 's/.*load average: //')"
  start "$sys" latency
  log "   idle RSS after start: $(rss_mib "$SRV_PID") MiB"
  for gw in 0s 1s; do
    fgwait python3 "$HERE/wk_load.py" latency "$SRV_URL" "$RECV_LOG" "LatencyProbe$gw" "$LAT_GROUPS" "$LAT_SPACING_MS" \
      "$RESULTS_DIR/alerting_latency_${sys}_$gw.json" >/dev/null
    log "   (b) $sys group_wait=$gw: $(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print("groups=%(groups)s delivered=%(delivered)s median=%(median_ms)sms p99=%(p99_ms)sms max=%(max_ms)sms post_rtt=%(post_rtt_median_ms)sms" % d)' "$RESULTS_DIR/alerting_latency_${sys}_$gw.json")"
  done
  stop
done

# (c) memory with many active alerts
phase c && for sys in $SYSTEMS; do
  [[ $sys == floor ]] && continue
  log "-- (c) $(name $sys); load: $(uptime | sed 's/.*load average: //')"
  start "$sys" fill
  fgwait python3 "$HERE/wk_load.py" fill "$SRV_URL" "$SRV_PID" "$RESULTS_DIR/alerting_fill_$sys.json" $FILL_TARGETS >/dev/null
  log "   (c) $sys $(python3 -c '
import json,sys; d=json.load(open(sys.argv[1]))
print("baseline RSS %.1f MiB" % (d["baseline"]["rss_bytes"]/2**20))
for k,v in d.items():
    if k!="baseline": print("    stored=%d RSS=%.1f MiB (%s B/alert) groups=%d post_s=%s (%s alerts/s, 1 client)" % (v["stored"], v["rss_bytes"]/2**20, v["rss_bytes_per_alert"], v["aggr_groups"], v["post_seconds_cumulative"], v["alerts_per_s_single_client"]))' "$RESULTS_DIR/alerting_fill_$sys.json")"
  stop
done

# (a) throughput of POST /api/v2/alerts, unique alerts, wrk bounded by count (lua) and time (-d)
phase a && for b in $BATCHES; do
  var="REQS_$b"; reqs=${!var:-$(( 200000 / b ))}; (( b == 1 )) && reqs=${REQS_1:-50000}
  for sys in $SYSTEMS; do
    log "-- (a) batch=$b $(name $sys); load: $(uptime | sed 's/.*load average: //')"
    start "$sys" "tp$b"
    posts0=$(curl -s --max-time 5 "http://127.0.0.1:$RECV_PORT/stats")
    c0=$(cpu_s "$SRV_PID")
    perf_pid=""
    if [[ -n "${PERF_DIR:-}" && $sys == wk ]]; then
      mkdir -p "$PERF_DIR"
      perf record -F 499 -g -p "$SRV_PID" -o "$PERF_DIR/perf-wk-$b.data" >"$WD/perf-$b.log" 2>&1 &
      perf_pid=$!; PIDS+=("$perf_pid"); sleep 0.5
    fi
    # wrk runs to -d even after its last response: the CPU of the load alone is sampled when post.lua says it is done.
    done_file="$WD/load-done-$sys-$b"; rm -f "$done_file"
    BATCH=$b MAX_REQ=$reqs NTHREADS=1 RUN_ID="b$b$sys" LOAD_DONE_FILE="$done_file" \
      wrk -t1 -c"$WRK_CONNS" -d"${WRK_SECONDS}s" --timeout 30s -s "$HERE/post.lua" "$SRV_URL" >"$WD/wrk-$sys-$b.out" 2>&1 &
    wrk_pid=$!; PIDS+=("$wrk_pid"); cl=""
    while kill -0 "$wrk_pid" 2>/dev/null; do
      if [[ -z "$cl" && -e "$done_file" ]]; then cl=$(cpu_s "$SRV_PID"); fi
      sleep 0.05
    done
    wait "$wrk_pid" || true; unset 'PIDS[-1]'
    line=$(grep WRKRESULT "$WD/wrk-$sys-$b.out" || true)
    if [[ -n "$perf_pid" ]]; then kill -INT "$perf_pid" 2>/dev/null || true; wait "$perf_pid" 2>/dev/null || true; fi
    c1=$(cpu_s "$SRV_PID"); [[ -n "$cl" ]] || cl=$c1
    stored=$(held)
    posts1=$(curl -s --max-time 5 "http://127.0.0.1:$RECV_PORT/stats")
    log "   (a) $sys batch=$b $(python3 -c '
import sys,re,json
kv=dict(re.findall(r"(\w+)=(\d+)", sys.argv[1])); b=int(sys.argv[2]); dc=float(sys.argv[4])-float(sys.argv[3])
if not kv: print("wrk produced no result"); sys.exit()
r=int(kv["requests"]); s=int(kv["elapsed_us"])/1e6; p0,p1=json.loads(sys.argv[7]),json.loads(sys.argv[8])
dl=float(sys.argv[9])-float(sys.argv[3])
print("reqs=%d in %.2fs -> %.0f req/s, %.0f alerts/s; non200=%s sockerr=%s p50=%.2fms p99=%.2fms; %.3f cpu-s/1k alerts (%.3f during the load); stored=%s rss=%sMiB webhooks=%d" % (
  r, s, r/s, r*b/s, kv["non200"], kv["sockerr"], int(kv["p50_us"])/1e3, int(kv["p99_us"])/1e3, dc/(r*b)*1e3 if r else 0, dl/(r*b)*1e3 if r else 0,
  sys.argv[5], sys.argv[6], p1["posts"]-p0["posts"]))' \
      "$line" "$b" "$c0" "$c1" "$stored" "$(rss_mib "$SRV_PID")" "$posts0" "$posts1" "$cl")"
    stop
  done
done
grep -hiE 'level=(error|warn)' "$WD"/am-*.log 2>/dev/null | sort | uniq -c | head -5 || true
grep -hiE 'fail|error' "$WD"/wk-*.log 2>/dev/null | sort | uniq -c | head -5 || true
python3 "$HERE/report.py" "$OUT" | tee -a "$OUT"
