#!/usr/bin/env bash
# Offline bytes per sample in blocks: the same samples into Prometheus 2.42 blocks and Watchkeeper blocks.
#
#   bench/prometheus/blocks.sh [SERIES=1500] [HOURS=8] [STEP_S=15] [JITTER_MS=2]
#
# 1. gen_openmetrics.py renders the shared synthetic exporter (../shared/bench/peers/synth_exporter.py, imported from
#    there) at simulated scrape times over HOURS, ending 3 h ago, into one OpenMetrics file with timestamps.
# 2. Prometheus: `promtool tsdb create-blocks-from openmetrics` writes 2 h blocks; then Prometheus itself is started
#    on that directory (no scrape targets, loopback) for up to COMPACT_WAIT_S (100) so its compactor merges 2 h
#    blocks into a 6 h block, as it would live; bytes and samples are read from each block's meta.json and files.
# 3. Watchkeeper: `Watchkeeper.Bench tsdb-import` replays the same file through the TSDB library on a simulated
#    clock (maintenance every simulated 15 min: head cut into 2 h blocks, 3x compaction).
# Writes $RESULTS_DIR/blocks.json (read by side_by_side.sh's report) and prints a table.
# Env: RESULTS_DIR (/tmp/wk-bench-results), PROM_PORT (19392), SKIP_BUILD (0), KEEP_WD (0), COMPACT_WAIT_S (100).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
PEERS=${PEERS:-$(cd "$ROOT/../shared/bench/peers" && pwd)}
SERIES=${1:-1500}; HOURS=${2:-8}; STEP=${3:-15}; JITTER=${4:-2}
RESULTS_DIR=${RESULTS_DIR:-/tmp/wk-bench-results}; PROM_PORT=${PROM_PORT:-19392}; COMPACT_WAIT_S=${COMPACT_WAIT_S:-100}
(( SERIES >= 300 && SERIES <= 20000 )) || { echo "SERIES must be 300..20000" >&2; exit 2; }
mkdir -p "$RESULTS_DIR"
WD=$(mktemp -d /tmp/wkblocks.XXXXXX)
PIDS=()
cleanup() {
  local p
  for p in "${PIDS[@]:-}"; do [[ -n "$p" ]] && kill "$p" 2>/dev/null || true; done
  sleep 1
  for p in "${PIDS[@]:-}"; do [[ -n "$p" ]] && kill -9 "$p" 2>/dev/null || true; done
  [[ "${KEEP_WD:-0}" == 1 ]] || rm -rf "$WD"
}
trap cleanup EXIT; trap "exit 130" INT TERM

if [[ "${SKIP_BUILD:-0}" != 1 ]]; then
  dotnet build "$ROOT/bench/Watchkeeper.Bench" -c Release -v q -nologo >"$WD/build.log" 2>&1 || { tail -20 "$WD/build.log"; exit 4; }
fi
END=$(( $(date +%s) - 3 * 3600 ))
END=$(( END - END % 7200 ))  # end on a 2 h boundary so every block is whole
timeout 900 python3 "$HERE/gen_openmetrics.py" "$PEERS" "$WD/samples.om" "$SERIES" "$HOURS" "$STEP" "$JITTER" "$END"

# --- Prometheus ---------------------------------------------------------------------------------
timeout 900 promtool tsdb create-blocks-from openmetrics "$WD/samples.om" "$WD/prom" >"$WD/promtool.log" 2>&1 || { tail "$WD/promtool.log"; exit 5; }
prom_blocks() {  # prints {"level": {"samples": n, "bytes": b, "blocks": k}} over block dirs
  python3 - "$WD/prom" <<'EOF'
import json, os, sys
root = sys.argv[1]; out = {}
for d in sorted(os.listdir(root)):
    meta = os.path.join(root, d, "meta.json")
    if not os.path.exists(meta):
        continue
    m = json.load(open(meta))
    size = sum(os.path.getsize(os.path.join(r, f)) for r, _, fs in os.walk(os.path.join(root, d)) for f in fs)
    lv = str(m["compaction"]["level"])
    e = out.setdefault(lv, {"samples": 0, "bytes": 0, "blocks": 0, "hours": 0})
    e["samples"] += m["stats"]["numSamples"]; e["bytes"] += size; e["blocks"] += 1
    e["hours"] += (m["maxTime"] - m["minTime"]) / 3.6e6
print(json.dumps(out))
EOF
}
PROM_2H=$(prom_blocks)
echo "global: {scrape_interval: 1m}" >"$WD/prom.yml"
prometheus --config.file="$WD/prom.yml" --storage.tsdb.path="$WD/prom" --storage.tsdb.retention.time=30d \
  --web.listen-address="127.0.0.1:$PROM_PORT" --log.level=info >"$WD/prom.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 1 "$COMPACT_WAIT_S"); do
  sleep 1
  grep -q '"level":[2-9]' "$WD"/prom/*/meta.json 2>/dev/null && sleep 3 && break
  grep -q 'compaction.*level' "$WD/prom.log" 2>/dev/null || true
done
PROM_AFTER=$(prom_blocks)
kill "${PIDS[0]}" 2>/dev/null || true

# --- Watchkeeper ----------------------------------------------------------------------------------
timeout 900 dotnet "$ROOT/bench/Watchkeeper.Bench/bin/Release/net10.0/Watchkeeper.Bench.dll" tsdb-import "$WD/samples.om" "$WD/wk.json" >/dev/null

PROM_2H="$PROM_2H" PROM_AFTER="$PROM_AFTER" python3 - "$WD/wk.json" "$RESULTS_DIR/blocks.json" "$SERIES" "$HOURS" "$STEP" "$JITTER" <<'EOF'
import json, os, sys
wk = json.load(open(sys.argv[1]))
p2, pa = json.loads(os.environ["PROM_2H"]), json.loads(os.environ["PROM_AFTER"])
def bps(d, pred):
    s = sum(v["samples"] for k, v in d.items() if pred(int(k))); b = sum(v["bytes"] for k, v in d.items() if pred(int(k)))
    return b / s if s else None
wk["prom_blocks_2h"] = bps(p2, lambda l: l == 1)
wk["prom_compacted"] = bps(pa, lambda l: l > 1)
wk["prom_levels_before"], wk["prom_levels_after"] = p2, pa
wk["input"] = {"series": int(sys.argv[3]), "hours": float(sys.argv[4]), "step_s": int(sys.argv[5]), "jitter_ms": int(sys.argv[6])}
json.dump(wk, open(sys.argv[2], "w"), indent=1)
print("input: %d series, %s h at %s s, +-%s ms jitter: %d samples" % (wk["series"], sys.argv[4], sys.argv[5], sys.argv[6], wk["samples"]))
print("| blocks | Prometheus 2.42 B/sample | Watchkeeper B/sample | WK/Prom | target |")
print("|---|---:|---:|---:|---|")
f = lambda x: "%.3f" % x if x else "-"
r = lambda a, b: "%.2f" % (a / b) if a and b else "-"
print("| 2 h blocks (level 1) | %s | %s | %s | <= 1.3x |" % (f(wk["prom_blocks_2h"]), f(wk["blocks_2h"]), r(wk["blocks_2h"], wk["prom_blocks_2h"])))
print("| compacted (level >= 2) | %s | %s | %s | <= 1.3x |" % (f(wk["prom_compacted"]), f(wk["compacted"]), r(wk["compacted"], wk["prom_compacted"])))
print("prometheus levels before/after its compactor:", json.dumps(p2), json.dumps(pa))
print("watchkeeper levels:", json.dumps(wk["levels"]))
EOF
