#!/usr/bin/env bash
# Runs every Watchkeeper test suite and ends with one line: "N passed, N failed, N skipped".
# Installs the Debian packages the suites need when they are missing and starts the
# servers they use (PostgreSQL) on 127.0.0.1; everything started here is stopped at exit.
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

# Look for the binaries the suites run, not for wrappers that can outlive them (pg_ctlcluster stays with
# postgresql-common when the server package is removed), and install the package of any that is missing.
pg_bin_dir() {
  local d best=""
  for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V); do
    [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ] && best=$d
  done
  echo "$best"
}
missing_peers() {
  local m=()
  [ -n "$(pg_bin_dir)" ] || m+=(postgresql)
  # Backups of a PostgreSQL deployment (pg_dump) and their restore (pg_restore, psql).
  { command -v pg_dump && command -v pg_restore && command -v psql; } >/dev/null 2>&1 || m+=(postgresql-client)
  command -v prometheus >/dev/null 2>&1 || m+=(prometheus)
  command -v promtool >/dev/null 2>&1 || m+=(promtool)
  command -v victoria-metrics >/dev/null 2>&1 || m+=(victoria-metrics)
  command -v prometheus-alertmanager >/dev/null 2>&1 || m+=(prometheus-alertmanager)
  command -v amtool >/dev/null 2>&1 || m+=(amtool)
  command -v chromium >/dev/null 2>&1 || m+=(chromium)
  # The SMTP server of the email notification tests; only Debian's python3 imports Debian's aiosmtpd.
  /usr/bin/python3 -c 'import aiosmtpd' >/dev/null 2>&1 || m+=(python3-aiosmtpd)
  echo "${m[*]}"
}
missing=$(missing_peers)
if [ -n "$missing" ]; then
  echo "test.sh: missing $missing; installing their Debian packages"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null 2>&1 || echo "test.sh: apt-get update failed"
  pkgs=()
  for m in $missing; do
    case $m in
      postgresql)
        # The server package itself (postgresql-NN): the metapackage may still be installed without it.
        pg_pkg=$(apt-cache depends postgresql 2>/dev/null | awk '/Depends: postgresql-[0-9]+$/ {print $2; exit}')
        pkgs+=("${pg_pkg:-postgresql}") ;;
      promtool) pkgs+=(prometheus) ;;
      amtool) pkgs+=(prometheus-alertmanager) ;;
      *) pkgs+=("$m") ;;
    esac
  done
  # shellcheck disable=SC2046
  apt-get install -y -qq --reinstall $(printf '%s\n' "${pkgs[@]}" | sort -u) >/dev/null 2>&1 || echo "test.sh: apt-get install ${pkgs[*]} failed"
  missing=$(missing_peers)
  if [ -n "$missing" ]; then
    if [ -n "${CI:-}" ]; then
      echo "test.sh: still missing after install: $missing; CI is set, so the suites that need them fail"
    else
      echo "test.sh: still missing after install: $missing; the suites that need them are skipped (set CI=1 to fail them)"
    fi
  fi
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
PG_BIN=$(pg_bin_dir)
if [ -n "$PG_BIN" ]; then
  PG_PORT=$(( 20000 + RANDOM % 20000 ))
  mkdir -p "$WORK/pg" "$WORK/pgsock" && chown postgres "$WORK/pg" "$WORK/pgsock"
  if su postgres -c "$PG_BIN/initdb -A trust -U postgres -D $WORK/pg" >"$WORK/initdb.log" 2>&1 &&
     su postgres -c "$PG_BIN/pg_ctl -D $WORK/pg -l $WORK/pgsock/pg.log -w -t 60 -o '-p $PG_PORT -c listen_addresses=127.0.0.1 -k $WORK/pgsock -c fsync=off' start" >/dev/null 2>&1; then
    PG_STARTED=1
    export WATCHKEEPER_TEST_POSTGRES="Host=127.0.0.1;Port=$PG_PORT;Username=postgres;Database=postgres;Pooling=true"
    echo "test.sh: PostgreSQL on 127.0.0.1:$PG_PORT"
  else
    echo "test.sh: PostgreSQL did not start; see below"; tail -5 "$WORK/initdb.log" "$WORK/pgsock/pg.log" 2>/dev/null
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

# The counts, and each failed test named with the first line of its message (CI shows only the end of the output).
read -r passed failed skipped < <(python3 - "$ROOT/TestResults" "$WORK/failures.txt" <<'PY'
import sys, glob, xml.etree.ElementTree as ET
p = f = s = 0
lines = []
for path in glob.glob(sys.argv[1] + "/**/*.xml", recursive=True):
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError:
        f += 1; lines.append(f"unreadable results: {path}"); continue
    for tc in root.iter("testcase"):
        bad = tc.find("failure")
        if bad is None: bad = tc.find("error")
        if bad is not None:
            f += 1
            msg = (bad.get("message") or bad.text or "").strip().splitlines()
            lines.append(f"FAILED {tc.get('name')}: {msg[0][:300] if msg else ''}")
        elif tc.find("skipped") is not None: s += 1
        else: p += 1
open(sys.argv[2], "w").write("".join(l + "\n" for l in lines[:30]))
print(p, f, s)
PY
)
[ -s "$WORK/failures.txt" ] && cat "$WORK/failures.txt"
failed=$((failed + extra_failed))
if [ "$test_rc" -ne 0 ] && [ "$failed" -eq 0 ]; then failed=1; fi
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
