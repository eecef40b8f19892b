# Sourced by the quick-reference scripts: defines wk_exec, which runs the Watchkeeper CLI with
# the given arguments, replacing the shell. It uses, in order:
#   $WK (a wk executable, or a wk.dll run with dotnet), an installed `wk` on PATH,
#   the newest build of src/Watchkeeper.Cli in this repository, else `dotnet run --project`.
# Server and token come from wk itself: --url/--token, WATCHKEEPER_URL/WATCHKEEPER_TOKEN, or `wk login`.

WK_REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"

wk_exec() {
  if [ -n "${WK:-}" ]; then
    case "$WK" in
      *.dll) exec dotnet "$WK" "$@" ;;
      *) exec "$WK" "$@" ;;
    esac
  fi
  if command -v wk >/dev/null 2>&1; then
    exec wk "$@"
  fi
  local dll
  dll=$(ls -t "$WK_REPO_ROOT"/src/Watchkeeper.Cli/bin/*/net*/wk.dll 2>/dev/null | head -1)
  if [ -n "$dll" ]; then
    exec dotnet "$dll" "$@"
  fi
  if [ -f "$WK_REPO_ROOT/src/Watchkeeper.Cli/Watchkeeper.Cli.csproj" ] && command -v dotnet >/dev/null 2>&1; then
    exec dotnet run --project "$WK_REPO_ROOT/src/Watchkeeper.Cli" -v q -- "$@"
  fi
  echo "$(basename "$0"): wk not found: install it (dotnet tool install) or build src/Watchkeeper.Cli" >&2
  exit 127
}

# wk_usage USAGE_LINE WK_SUBCOMMAND...: prints the usage line and wk's own help for the subcommand.
wk_usage() {
  local line=$1
  shift
  echo "usage: $line"
  echo
  echo "Options are those of 'wk $*' (below); server and token come from --url/--token,"
  echo "WATCHKEEPER_URL/WATCHKEEPER_TOKEN, or a previous 'wk login'."
  echo
  ( wk_exec "$@" --help )
}
