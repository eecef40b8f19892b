#!/usr/bin/env bash
# Runs every Watchkeeper test suite and ends with one line: "N passed, N failed, N skipped".
# Installs the Debian packages the suites need when they are missing and starts the
# servers they use (PostgreSQL) on 127.0.0.1; everything started here is stopped at exit.
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

need_pkgs=()
command -v pg_ctlcluster >/dev/null 2>&1 || [ -x /usr/lib/postgresql/15/bin/pg_ctl ] || need_pkgs+=(postgresql)
command -v prometheus >/dev/null 2>&1 || need_pkgs+=(prometheus)
command -v promtool >/dev/null 2>&1 || need_pkgs+=(prometheus)
command -v chromium >/dev/null 2>&1 || need_pkgs+=(chromium)
if ((${#need_pkgs[@]})); then
  echo "test.sh: installing ${need_pkgs[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null && apt-get install -y -qq "${need_pkgs[@]}" >/dev/null || echo "test.sh: apt-get install failed; suites that need these will fail"
fi

WORK=$(mktemp -d /tmp/wk-test.XXXXXX)
chmod 711 "$WORK"
cleanup() {
  if [ -n "${PG_STARTED:-}" ]; then
    su postgres -c "$PG_BIN/pg_ctl -D $WORK/pg -m immediate stop" >/dev/null 2>&1 || true
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT INT TERM

# PostgreSQL 15 on loopback for the storage suite.
PG_BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
if [ -n "$PG_BIN" ] && [ -x "$PG_BIN/initdb" ]; then
  PG_PORT=$(( 20000 + RANDOM % 20000 ))
  mkdir -p "$WORK/pg" "$WORK/pgsock" && chown postgres "$WORK/pg" "$WORK/pgsock"
  if su postgres -c "$PG_BIN/initdb -A trust -U postgres -D $WORK/pg" >"$WORK/initdb.log" 2>&1 &&
     su postgres -c "$PG_BIN/pg_ctl -D $WORK/pg -l $WORK/pg/server.log -w -t 60 -o '-p $PG_PORT -c listen_addresses=127.0.0.1 -k $WORK/pgsock -c fsync=off'" start >/dev/null 2>&1; then
    PG_STARTED=1
    export WATCHKEEPER_TEST_POSTGRES="Host=127.0.0.1;Port=$PG_PORT;Username=postgres;Database=postgres;Pooling=true"
    echo "test.sh: PostgreSQL on 127.0.0.1:$PG_PORT"
  else
    echo "test.sh: PostgreSQL did not start; see below"; tail -5 "$WORK/initdb.log" "$WORK/pg/server.log" 2>/dev/null
  fi
fi

rm -rf TestResults
dotnet build Watchkeeper.slnx -c Release -nologo -v q 2>&1 | tail -20
build_rc=${PIPESTATUS[0]}
if [ "$build_rc" -ne 0 ]; then
  echo "test.sh: build failed"
  echo "0 passed, 1 failed, 0 skipped"
  exit 1
fi

dotnet test --solution Watchkeeper.slnx -c Release --no-build --report-xunit-junit --results-directory "$ROOT/TestResults" 2>&1 | grep -vE '^\s*$' | tail -60
test_rc=${PIPESTATUS[0]}

extra_failed=0
if [ -x scripts/conformance.sh ] && [ -d ../shared/testdata/promql ]; then
  echo "test.sh: PromQL conformance"
  scripts/conformance.sh --no-build || extra_failed=1
fi

read -r passed failed skipped < <(python3 - "$ROOT/TestResults" <<'PY'
import sys, glob, xml.etree.ElementTree as ET
p = f = s = 0
for path in glob.glob(sys.argv[1] + "/**/*.xml", recursive=True):
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError:
        f += 1; continue
    for tc in root.iter("testcase"):
        if tc.find("failure") is not None or tc.find("error") is not None: f += 1
        elif tc.find("skipped") is not None: s += 1
        else: p += 1
print(p, f, s)
PY
)
failed=$((failed + extra_failed))
if [ "$test_rc" -ne 0 ] && [ "$failed" -eq 0 ]; then failed=1; fi
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
