#!/usr/bin/env bash
# /metrics scrape cost with many incidents (issue 9, defect 11): Watchkeeper (Release, SQLite, fresh data dir) on
# loopback, N incidents inserted directly into the database (a realistic mix of open, acknowledged, resolved and
# breached ones over 90 days), then SCRAPES scrapes of /metrics by CONC concurrent clients.
#
#   bench/incidents/metrics_scrape.sh                          # 36000 incidents, 200 scrapes, 8 clients
#   N=500 SCRAPES=20 bench/incidents/metrics_scrape.sh         # smoke test
#   WK_DLL=/tmp/before/watchkeeper.dll SKIP_BUILD=1 bench/incidents/metrics_scrape.sh   # another build
#
# Prints one line: incidents, scrapes, concurrency, req/s, mean / p50 / p99 latency, server CPU s, RSS MiB.
# Everything binds 127.0.0.1; state lives in a mktemp dir; the trap kills only the PID this script started;
# the scrape loop is bounded by SCRAPES requests and 300 s.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
PORT=${PORT:-18490}; N=${N:-36000}; SCRAPES=${SCRAPES:-200}; CONC=${CONC:-8}
(( N >= 1 && N <= 1000000 )) || { echo "N must be 1..1000000" >&2; exit 2; }
(( SCRAPES >= 1 && SCRAPES <= 10000 )) || { echo "SCRAPES must be 1..10000" >&2; exit 2; }
. "$HERE/../lib.sh"
bench_workdir wkscrape
SRV=""
port_free "$PORT"
bench_build
bench_config
export WATCHKEEPER_ADMIN_PASSWORD=bench-admin-pw
URL="http://127.0.0.1:$PORT"
start() { dotnet "$DLL" serve --config "$WD/config/watchkeeper.yml" --data "$WD/data" --listen "127.0.0.1:$PORT" >>"$WD/server.log" 2>&1 & SRV=$!; PIDS=("$SRV"); wait_http "$URL/-/ready" 300; }
stop() { kill "$SRV"; wait "$SRV" 2>/dev/null || true; SRV=""; PIDS=(); }

start; stop   # creates the schema
NOW_MS=$(( $(date +%s) * 1000 ))
sqlite3 "$WD/data/watchkeeper.db" >/dev/null <<SQL
PRAGMA journal_mode=WAL;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $N),
t(i, det) AS (SELECT i, $NOW_MS - (i * 7919 % 7776000) * 1000 FROM n)
INSERT INTO incidents (title, kind, severity, status, detection_source, detected_at, acknowledged_at, mitigated_at, resolved_at,
  response_due_at, resolution_due_at, created_at, created_by, updated_at, version)
SELECT 'bench incident ' || i, 'operational', 'SEV' || (1 + i % 4),
  CASE WHEN i % 20 = 0 THEN 'investigating' ELSE 'resolved' END, 'automated', det,
  CASE WHEN i % 40 = 0 THEN NULL ELSE det + (i % 3600) * 1000 END, NULL,
  CASE WHEN i % 20 = 0 THEN NULL ELSE det + (3600 + i % 86400) * 1000 END,
  det + 900000, det + 14400000, det, 'bench', det, 3 FROM t;
INSERT INTO sla_breaches (incident_id, kind, severity, due_at, breached_at)
SELECT id, 'resolution', severity, resolution_due_at, resolution_due_at + 1 FROM incidents WHERE id % 7 = 0;
SQL
start
for _ in $(seq 1 10); do curl -fsS -o /dev/null --max-time 30 "$URL/metrics"; done   # warm-up
C0=$(cpu_s "$SRV")
python3 - "$URL/metrics" "$SCRAPES" "$CONC" "$N" >"$WD/result.txt" <<'PY'
import sys, time, threading, urllib.request
url, total, conc, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
lat, lock, left = [], threading.Lock(), [total]
deadline = time.monotonic() + 300
def worker():
    while time.monotonic() < deadline:
        with lock:
            if left[0] == 0: return
            left[0] -= 1
        t = time.perf_counter()
        with urllib.request.urlopen(url, timeout=60) as r:
            body = r.read()
        assert b"watchkeeper_incidents_open" in body
        with lock: lat.append(time.perf_counter() - t)
t0 = time.perf_counter()
ts = [threading.Thread(target=worker) for _ in range(conc)]
for t in ts: t.start()
for t in ts: t.join()
wall = time.perf_counter() - t0
lat.sort()
q = lambda p: lat[min(len(lat) - 1, int(p * len(lat)))] * 1000
print(f"incidents={n} scrapes={len(lat)} conc={conc} req_s={len(lat) / wall:.1f} mean_ms={sum(lat) / len(lat) * 1000:.1f} p50_ms={q(0.5):.1f} p99_ms={q(0.99):.1f}")
PY
C1=$(cpu_s "$SRV")
echo "$(cat "$WD/result.txt") server_cpu_s=$(awk -v a="$C0" -v b="$C1" 'BEGIN { printf "%.2f", b - a }') rss_mib=$(rss_mib "$SRV")"
