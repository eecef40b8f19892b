#!/usr/bin/env bash
# Incident API load benchmark: Watchkeeper (Release, SQLite, fresh data dir) on loopback, driven by wrk.
#
#   bench/api/run.sh                          # full run (defaults below)
#   SEED_N=20 READ_S=3 WRITE_S=3 PACED_S=3 bench/api/run.sh     # smoke test
#
# Phases:
#   1. seed SEED_N incidents (POST /api/v1/incidents, one at a time with curl)
#   2. reads:  GET /api/v1/incidents?limit=50, closed loop, wrk -t THREADS -c CONNS, READ_REQ requests or READ_S seconds
#   3. writes: POST /api/v1/incidents/{id}/status-updates spread over the seeded incidents, WRITE_REQ or WRITE_S
#   4. latency at half of each measured maximum: paced wrk (api.lua RATE=...), PACED_CONNS connections, one per
#      thread, fixed schedule, latency counted from the scheduled send time (coordinated omission corrected)
# Env: PORT (18480), SEED_N (200), THREADS (1), CONNS (32), READ_REQ (300000), READ_S (30), WRITE_REQ (60000),
#      WRITE_S (30), PACED_CONNS (16), PACED_S (30), WARMUP_S (5), SKIP_BUILD (0), WK_DLL (another build), RESULTS_DIR (/tmp/wk-bench-results),
#      KEEP_WD (0).
# Everything binds 127.0.0.1; state lives in a mktemp dir; the trap kills only the PIDs this script started.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
PORT=${PORT:-18480}; SEED_N=${SEED_N:-200}; THREADS=${THREADS:-1}; CONNS=${CONNS:-32}
READ_REQ=${READ_REQ:-300000}; READ_S=${READ_S:-30}; WRITE_REQ=${WRITE_REQ:-60000}; WRITE_S=${WRITE_S:-30}
PACED_CONNS=${PACED_CONNS:-16}; PACED_S=${PACED_S:-30}; WARMUP_S=${WARMUP_S:-5}
RESULTS_DIR=${RESULTS_DIR:-/tmp/wk-bench-results}
(( SEED_N >= 1 && SEED_N <= 5000 )) || { echo "SEED_N must be 1..5000" >&2; exit 2; }
for d in READ_S WRITE_S PACED_S; do (( ${!d} >= 1 && ${!d} <= 300 )) || { echo "$d must be 1..300 s" >&2; exit 2; }; done
mkdir -p "$RESULTS_DIR"
. "$HERE/../lib.sh"
bench_workdir wkapi
port_free "$PORT"

# --- build and config ---------------------------------------------------------------------------
bench_build
bench_config

# --- server -------------------------------------------------------------------------------------
export WATCHKEEPER_ADMIN_PASSWORD=bench-admin-pw
dotnet "$DLL" serve --config "$WD/config/watchkeeper.yml" --data "$WD/data" --listen "127.0.0.1:$PORT" >"$WD/server.log" 2>&1 &
SRV=$!; PIDS+=("$SRV")
URL="http://127.0.0.1:$PORT"
wait_http "$URL/-/ready" 90
TOKEN=$(bench_login "$URL")
echo "[api] server pid $SRV on $URL; seeding $SEED_N incidents"

SEVS=(SEV1 SEV2 SEV3 SEV4)
FIRST=""; LAST=""
for i in $(seq 1 "$SEED_N"); do
  id=$(curl -fsS --max-time 10 -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
    -d "{\"title\":\"Bench incident $i: elevated error rate on api-service\",\"severity\":\"${SEVS[$((i % 4))]}\",\"summary\":\"Synthetic incident $i for the API benchmark.\",\"services_affected\":[\"api-service\",\"web-interface\"],\"commander\":\"alice\"}" \
    "$URL/api/v1/incidents" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
  [[ -n "$FIRST" ]] || FIRST=$id
  LAST=$id
done
echo "[api] incidents $FIRST..$LAST"

run_wrk() {  # tag mode threads conns seconds max_req rate
  local tag=$1 mode=$2 t=$3 c=$4 s=$5 n=$6 rate=$7 c0 c1 out
  c0=$(cpu_s "$SRV")
  out=$(MODE=$mode TOKEN=$TOKEN ID_FIRST=$FIRST ID_LAST=$LAST MAX_REQ=$n NTHREADS=$t RATE=$rate \
    timeout $(( s + 30 )) wrk -t"$t" -c"$c" -d"${s}s" --timeout 10s -s "$HERE/api.lua" "$URL" 2>"$WD/wrk_$tag.err")
  c1=$(cpu_s "$SRV")
  echo "$out" >"$WD/wrk_$tag.out"
  local line; line=$(grep '^RESULT ' <<<"$out" | sed 's/^RESULT //')
  [[ -n "$line" ]] || { echo "wrk produced no result for $tag" >&2; cat "$WD/wrk_$tag.err" >&2; return 1; }
  python3 -c 'import json,sys; d=json.loads(sys.argv[1]); d["tag"]=sys.argv[2]; d["threads"]=int(sys.argv[3]); d["conns"]=int(sys.argv[4]); d["server_cpu_s"]=round(float(sys.argv[6])-float(sys.argv[5]),2); d["server_cpu_ms_per_req"]=round(d["server_cpu_s"]*1000/max(1,d["requests"]),3); d["server_rss_mib"]=int(sys.argv[7]); print(json.dumps(d))' \
    "$line" "$tag" "$t" "$c" "$c0" "$c1" "$(rss_mib "$SRV")" | tee -a "$RESULTS_DIR/api.jsonl"
  head -3 "$WD/wrk_$tag.err" >&2 || true
}

: >"$RESULTS_DIR/api.jsonl"
echo "[api] warm-up ${WARMUP_S}s"
run_wrk warmup_list list 1 8 "$WARMUP_S" 20000 0 >/dev/null
run_wrk warmup_status status 1 8 "$WARMUP_S" 2000 0 >/dev/null
: >"$RESULTS_DIR/api.jsonl"

echo "[api] reads: closed loop, $THREADS thread(s), $CONNS connections, ${READ_S}s or $READ_REQ requests"
READ_MAX=$(run_wrk reads_max list "$THREADS" "$CONNS" "$READ_S" "$READ_REQ" 0 | python3 -c 'import json,sys; print(int(json.load(sys.stdin)["rate"]))')
echo "[api] writes: closed loop, $THREADS thread(s), $CONNS connections, ${WRITE_S}s or $WRITE_REQ requests"
WRITE_MAX=$(run_wrk writes_max status "$THREADS" "$CONNS" "$WRITE_S" "$WRITE_REQ" 0 | python3 -c 'import json,sys; print(int(json.load(sys.stdin)["rate"]))')

RR=$(( READ_MAX / 2 )); WR=$(( WRITE_MAX / 2 ))
(( RR >= 1 && WR >= 1 )) || { echo "measured rate is zero" >&2; exit 5; }
echo "[api] paced reads at $RR req/s (half of $READ_MAX), $PACED_CONNS connections, ${PACED_S}s"
run_wrk reads_paced list "$PACED_CONNS" "$PACED_CONNS" "$PACED_S" $(( RR * PACED_S )) "$RR" >/dev/null
echo "[api] paced writes at $WR req/s (half of $WRITE_MAX), $PACED_CONNS connections, ${PACED_S}s"
run_wrk writes_paced status "$PACED_CONNS" "$PACED_CONNS" "$PACED_S" $(( WR * PACED_S )) "$WR" >/dev/null

STATUS_ROWS=$(curl -fsS --max-time 10 -H "Authorization: Bearer $TOKEN" "$URL/metrics" >/dev/null && echo ok || echo fail)
{
  echo "== api bench $(date -u +%FT%TZ)  load: $(cut -d' ' -f1-3 /proc/loadavg)  seed=$SEED_N  metrics=$STATUS_ROWS"
  python3 - "$RESULTS_DIR/api.jsonl" <<'EOF'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
print("| phase | threads/conns | target req/s | requests | non-2xx | req/s | p50 ms | p90 ms | p99 ms | max ms | server CPU ms/req | RSS MiB |")
print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
for d in rows:
    tgt = d["target_rate"] or "max"
    print(f'| {d["tag"]} | {d["threads"]}/{d["conns"]} | {tgt} | {d["requests"]} | {d["non2xx"]} | {d["rate"]:.0f} | {d["p50_ms"]:.2f} | {d["p90_ms"]:.2f} | {d["p99_ms"]:.2f} | {d["max_ms"]:.1f} | {d["server_cpu_ms_per_req"]:.3f} | {d["server_rss_mib"]} |')
EOF
} | tee "$RESULTS_DIR/api.txt"
grep -iE '\b(fail|error|crit)' "$WD/server.log" | head -5 || true
