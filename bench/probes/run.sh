#!/usr/bin/env bash
# Probe scheduler CPU: Watchkeeper (Release) running N http checks at INTERVAL against a loopback HTTP target
# (bench/probes/target.py, keep-alive), measured as the server process's CPU time (utime+stime from /proc) over a
# bounded window after a warm-up, as a percentage of one core. The target's own CPU is not counted.
#
#   bench/probes/run.sh                    # 10,000 checks at 30s: warm-up 60 s, window 120 s
#   N=500 WARMUP_S=10 WINDOW_S=20 bench/probes/run.sh     # smoke test
#
# Env: N (10000), INTERVAL (30s), PORT (22410), TARGET_PORT (22411), WARMUP_S (60), WINDOW_S (120), CONCURRENCY (256),
#      SKIP_BUILD (0), WK_DLL (another build), RESULTS_DIR (/tmp/wk-bench-results), KEEP_WD (0).
# Everything binds 127.0.0.1; state lives in a mktemp dir; the trap kills only the PIDs this script started.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
N=${N:-10000}; INTERVAL=${INTERVAL:-30s}; PORT=${PORT:-22410}; TARGET_PORT=${TARGET_PORT:-22411}
WARMUP_S=${WARMUP_S:-60}; WINDOW_S=${WINDOW_S:-120}; CONCURRENCY=${CONCURRENCY:-256}
RESULTS_DIR=${RESULTS_DIR:-/tmp/wk-bench-results}
(( N >= 1 && N <= 20000 )) || { echo "N must be 1..20000" >&2; exit 2; }
(( WINDOW_S >= 5 && WINDOW_S <= 600 && WARMUP_S >= 0 && WARMUP_S <= 600 )) || { echo "WINDOW_S 5..600, WARMUP_S 0..600" >&2; exit 2; }
mkdir -p "$RESULTS_DIR"
WD=$(mktemp -d /tmp/wkprobes.XXXXXX)
PIDS=()

cleanup() {
  local p
  for p in "${PIDS[@]:-}"; do [[ -n "$p" ]] && kill "$p" 2>/dev/null || true; done
  for _ in $(seq 1 50); do
    local alive=0
    for p in "${PIDS[@]:-}"; do [[ -n "$p" ]] && kill -0 "$p" 2>/dev/null && alive=1; done
    (( alive )) || break; sleep 0.2
  done
  for p in "${PIDS[@]:-}"; do [[ -n "$p" ]] && kill -9 "$p" 2>/dev/null || true; done
  [[ "${KEEP_WD:-0}" == 1 ]] || rm -rf "$WD"
}
trap cleanup EXIT; trap "exit 130" INT TERM

wait_http() {  # url timeout_s
  local deadline=$(( $(date +%s) + $2 ))
  until curl -fsS -o /dev/null --max-time 5 "$1" 2>/dev/null; do
    (( $(date +%s) < deadline )) || { echo "timeout waiting for $1" >&2; return 1; }
    sleep 0.5
  done
}
cpu_s() { awk -v hz="$(getconf CLK_TCK)" '{ sub(/.*\) /, ""); split($0, f, " "); printf "%.2f", (f[12] + f[13]) / hz }' "/proc/$1/stat"; }
rss_mib() { awk '/VmRSS/ { printf "%.0f", $2 / 1024 }' "/proc/$1/status"; }
for p in "$PORT" "$TARGET_PORT"; do
  if curl -s -o /dev/null --max-time 1 "http://127.0.0.1:$p/" 2>/dev/null; then echo "port $p busy" >&2; exit 3; fi
done

if [[ "${SKIP_BUILD:-0}" != 1 ]]; then
  dotnet build "$ROOT/src/Watchkeeper.Server" -c Release -v q -nologo >"$WD/build.log" 2>&1 || { tail -20 "$WD/build.log"; exit 4; }
fi
DLL=${WK_DLL:-"$ROOT/src/Watchkeeper.Server/bin/Release/net10.0/watchkeeper.dll"}

python3 "$HERE/target.py" "$TARGET_PORT" >"$WD/target.log" 2>&1 &
PIDS+=("$!")
wait_http "http://127.0.0.1:$TARGET_PORT/ok" 20

# The shipped config without the demo, host metrics and self-scrape (so the window measures the probes), with the
# shipped checks replaced by N checks of the loopback target.
cp -r "$ROOT/config/openpolicy" "$WD/config"
python3 - "$WD/config/watchkeeper.yml" "$N" "$INTERVAL" "$TARGET_PORT" "$CONCURRENCY" <<'PY'
import re, sys
p, n, interval, port, conc = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
s = open(p).read()
s = re.sub(r"(?m)^(host_metrics:\n(?:#.*\n)*)  enabled: true", r"\1  enabled: false", s)
s = re.sub(r"(?m)^(demo:\n(?:#.*\n)*)  enabled: true", r"\1  enabled: false", s)
s += "\nself_scrape: false\n"
start = s.index("  checks:\n", s.index("\nprobes:\n"))
end = s.index("\n\n", start)
checks = "".join(
    f"    - {{name: c{i}, module: http_2xx, target: 'http://127.0.0.1:{port}/ok?c={i}', interval: {interval}, service: s{i % 50}}}\n"
    for i in range(n))
s = s[:start] + f"  max_concurrency: {conc}\n  checks:\n" + checks + s[end:]
# The shipped maintenance windows validate with the shipped checks, which are replaced here: they keep their PromQL checks.
s = re.sub(r"(?m)^        probes: \[[^\]]*\]\n", "", s)
assert "host_metrics:\n  enabled: false" in s and "demo:\n  enabled: false" in s, "config edit failed"
open(p, "w").write(s)
PY

export WATCHKEEPER_ADMIN_PASSWORD=bench-admin-pw
dotnet "$DLL" serve --config "$WD/config/watchkeeper.yml" --data "$WD/data" --listen "127.0.0.1:$PORT" >"$WD/server.log" 2>&1 &
SRV=$!; PIDS+=("$SRV")
URL="http://127.0.0.1:$PORT"
wait_http "$URL/-/ready" 120
TOKEN=$(curl -fsS --max-time 10 -H 'Content-Type: application/json' \
  -d "{\"username\":\"admin\",\"password\":\"$WATCHKEEPER_ADMIN_PASSWORD\"}" "$URL/api/v1/auth/login" |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')
query() { curl -fsS --max-time 30 -H "Authorization: Bearer $TOKEN" --data-urlencode "query=$1" "$URL/prometheus/api/v1/query" |
  python3 -c 'import json,sys; r=json.load(sys.stdin)["data"]["result"]; print(r[0]["value"][1] if r else 0)'; }

echo "[probes] $N checks every $INTERVAL against 127.0.0.1:$TARGET_PORT; warm-up ${WARMUP_S}s"
sleep "$WARMUP_S"
LOAD0=$(cut -d' ' -f1 /proc/loadavg)
C0=$(cpu_s "$SRV"); T0=$(date +%s.%N)
sleep "$WINDOW_S"
C1=$(cpu_s "$SRV"); T1=$(date +%s.%N)
LOAD1=$(cut -d' ' -f1 /proc/loadavg)
RSS=$(rss_mib "$SRV")
SAMPLES=$(query "sum(count_over_time(probe_success[${WINDOW_S}s]))")
OK=$(query "sum(sum_over_time(probe_success[${WINDOW_S}s]))")
SERIES=$(query "count(probe_success)")
REPORT=$(python3 - "$C0" "$C1" "$T0" "$T1" "$N" "$INTERVAL" "$SAMPLES" "$OK" "$SERIES" "$RSS" "$LOAD0" "$LOAD1" <<'PY'
import sys
c0, c1, t0, t1 = map(float, sys.argv[1:5])
n, interval, samples, ok, series, rss, l0, l1 = sys.argv[5:13]
wall = t1 - t0
cpu = c1 - c0
print(f"checks={n} interval={interval} window={wall:.0f}s cpu={cpu:.2f}s core%={100 * cpu / wall:.1f} "
      f"probes/s={float(samples) / wall:.0f} ok={float(ok):.0f}/{float(samples):.0f} series={series} rss_mib={rss} load={l0}->{l1}")
PY
)
echo "[probes] $REPORT"
echo "$(date -u +%FT%TZ) $REPORT" >>"$RESULTS_DIR/probes.txt"
