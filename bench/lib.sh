# Shared by the bench scripts (sourced, not run): the working folder and its cleanup, waiting for a server, the
# Release build, a copy of the shipped configuration with the demo, host metrics and self-scrape off, logging in,
# and a process's CPU time and resident memory from /proc. Expects HERE and ROOT set by the caller.

# bench_workdir PREFIX: a fresh mktemp folder in WD and a trap that stops every PID in PIDS (TERM, then KILL after
# 10 s) and removes WD unless KEEP_WD=1.
bench_workdir() {
  WD=$(mktemp -d "/tmp/$1.XXXXXX")
  PIDS=()
  trap bench_cleanup EXIT
  trap "exit 130" INT TERM
}
bench_cleanup() {
  local p alive
  for p in "${PIDS[@]:-}"; do [[ -n "$p" ]] && kill "$p" 2>/dev/null || true; done
  for _ in $(seq 1 50); do
    alive=0
    for p in "${PIDS[@]:-}"; do [[ -n "$p" ]] && kill -0 "$p" 2>/dev/null && alive=1; done
    (( alive )) || break
    sleep 0.2
  done
  for p in "${PIDS[@]:-}"; do [[ -n "$p" ]] && kill -9 "$p" 2>/dev/null || true; done
  [[ "${KEEP_WD:-0}" == 1 ]] || rm -rf "$WD"
}

# wait_http URL SECONDS: until URL answers 2xx, or fail after SECONDS.
wait_http() {
  local deadline=$(( $(date +%s) + $2 ))
  until curl -fsS -o /dev/null --max-time 5 "$1" 2>/dev/null; do
    (( $(date +%s) < deadline )) || { echo "timeout waiting for $1" >&2; return 1; }
    sleep 0.5
  done
}

# port_free PORT...: exit 3 if something already answers on one of them.
port_free() {
  local p
  for p in "$@"; do
    if curl -s -o /dev/null --max-time 1 "http://127.0.0.1:$p/" 2>/dev/null; then echo "port $p busy" >&2; exit 3; fi
  done
}

# bench_build: the Release server (unless SKIP_BUILD=1); sets DLL (WK_DLL overrides).
bench_build() {
  if [[ "${SKIP_BUILD:-0}" != 1 ]]; then
    dotnet build "$ROOT/src/Watchkeeper.Server" -c Release -v q -nologo >"$WD/build.log" 2>&1 || { tail -20 "$WD/build.log"; exit 4; }
  fi
  DLL=${WK_DLL:-"$ROOT/src/Watchkeeper.Server/bin/Release/net10.0/watchkeeper.dll"}
}

# bench_config: config/openpolicy copied to $WD/config with the demo, host metrics and self-scrape off.
bench_config() {
  cp -r "$ROOT/config/openpolicy" "$WD/config"
  python3 - "$WD/config/watchkeeper.yml" <<'PY'
import re, sys
p = sys.argv[1]; s = open(p).read()
s = re.sub(r"(?m)^(host_metrics:\n(?:#.*\n)*)  enabled: true", r"\1  enabled: false", s)
s = re.sub(r"(?m)^(demo:\n(?:#.*\n)*)  enabled: true", r"\1  enabled: false", s)
s += "\nself_scrape: false\n"
assert "host_metrics:\n  enabled: false" in s and "demo:\n  enabled: false" in s, "config edit failed"
open(p, "w").write(s)
PY
}

# bench_login URL [MAX_S=10]: the admin's API token (password from WATCHKEEPER_ADMIN_PASSWORD).
bench_login() {
  curl -fsS --max-time "${2:-10}" -H 'Content-Type: application/json' \
    -d "{\"username\":\"admin\",\"password\":\"$WATCHKEEPER_ADMIN_PASSWORD\"}" "$1/api/v1/auth/login" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])'
}

# cpu_s PID: user+system CPU seconds; rss_mib PID: resident memory in MiB.
cpu_s() { awk -v hz="$(getconf CLK_TCK)" '{ sub(/.*\) /, ""); split($0, f, " "); printf "%.2f", (f[12] + f[13]) / hz }' "/proc/$1/stat"; }
rss_mib() { awk '/VmRSS/ { printf "%.0f", $2 / 1024 }' "/proc/$1/status"; }
