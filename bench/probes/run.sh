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
. "$HERE/../lib.sh"
bench_workdir wkprobes
port_free "$PORT" "$TARGET_PORT"
bench_build

python3 "$HERE/target.py" "$TARGET_PORT" >"$WD/target.log" 2>&1 &
PIDS+=("$!")
wait_http "http://127.0.0.1:$TARGET_PORT/ok" 20

# The shipped config without the demo, host metrics and self-scrape (so the window measures the probes), with the
# shipped checks replaced by N checks of the loopback target.
bench_config
python3 - "$WD/config/watchkeeper.yml" "$N" "$INTERVAL" "$TARGET_PORT" "$CONCURRENCY" <<'PY'
import re, sys
p, n, interval, port, conc = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
s = open(p).read()
start = s.index("  checks:\n", s.index("\nprobes:\n"))
end = s.index("\n\n", start)
checks = "".join(
    f"    - {{name: c{i}, module: http_2xx, target: 'http://127.0.0.1:{port}/ok?c={i}', interval: {interval}, service: s{i % 50}}}\n"
    for i in range(n))
s = s[:start] + f"  max_concurrency: {conc}\n  checks:\n" + checks + s[end:]
# The shipped maintenance windows validate with the shipped checks, which are replaced here: they keep their PromQL checks.
s = re.sub(r"(?m)^        probes: \[[^\]]*\]\n", "", s)
open(p, "w").write(s)
PY

export WATCHKEEPER_ADMIN_PASSWORD=bench-admin-pw
dotnet "$DLL" serve --config "$WD/config/watchkeeper.yml" --data "$WD/data" --listen "127.0.0.1:$PORT" >"$WD/server.log" 2>&1 &
SRV=$!; PIDS+=("$SRV")
URL="http://127.0.0.1:$PORT"
wait_http "$URL/-/ready" 120
TOKEN=$(bench_login "$URL")
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
