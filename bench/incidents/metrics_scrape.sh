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
WD=$(mktemp -d /tmp/wkscrape.XXXXXX)
SRV=""
cleanup() {
  if [[ -n "$SRV" ]]; then kill "$SRV" 2>/dev/null || true; for _ in $(seq 1 50); do kill -0 "$SRV" 2>/dev/null || break; sleep 0.2; done; kill -9 "$SRV" 2>/dev/null || true; fi
  [[ "${KEEP_WD:-0}" == 1 ]] || rm -rf "$WD"
}
trap cleanup EXIT; trap "exit 130" INT TERM
wait_http() { local deadline=$(( $(date +%s) + $2 )); until curl -fsS -o /dev/null --max-time 5 "$1" 2>/dev/null; do (( $(date +%s) < deadline )) || { echo "timeout waiting for $1" >&2; return 1; }; sleep 0.5; done; }
cpu_s() { awk -v hz="$(getconf CLK_TCK)" '{ sub(/.*\) /, ""); split($0, f, " "); printf "%.2f", (f[12] + f[13]) / hz }' "/proc/$1/stat"; }
rss_mib() { awk '/VmRSS/ { printf "%.0f", $2 / 1024 }' "/proc/$1/status"; }
if curl -s -o /dev/null --max-time 1 "http://127.0.0.1:$PORT/" 2>/dev/null; then echo "port $PORT busy" >&2; exit 3; fi

if [[ "${SKIP_BUILD:-0}" != 1 ]]; then
  dotnet build "$ROOT/src/Watchkeeper.Server" -c Release -v q -nologo >"$WD/build.log" 2>&1 || { tail -20 "$WD/build.log"; exit 4; }
fi
DLL=${WK_DLL:-"$ROOT/src/Watchkeeper.Server/bin/Release/net10.0/watchkeeper.dll"}
cp -r "$ROOT/config/openpolicy" "$WD/config"
python3 - "$WD/config/watchkeeper.yml" <<'PY'
import re, sys
p = sys.argv[1]; s = open(p).read()
s = re.sub(r"(?m)^(host_metrics:\n(?:#.*\n)*)  enabled: true", r"\1  enabled: false", s)
s = re.sub(r"(?m)^(demo:\n(?:#.*\n)*)  enabled: true", r"\1  enabled: false", s)
s += "\nself_scrape: false\n"
open(p, "w").write(s)
PY
export WATCHKEEPER_ADMIN_PASSWORD=bench-admin-pw
URL="http://127.0.0.1:$PORT"
start() { dotnet "$DLL" serve --config "$WD/config/watchkeeper.yml" --data "$WD/data" --listen "127.0.0.1:$PORT" >>"$WD/server.log" 2>&1 & SRV=$!; wait_http "$URL/-/ready" 300; }
stop() { kill "$SRV"; wait "$SRV" 2>/dev/null || true; SRV=""; }

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
