# Shared helpers for the local test-bed scripts (sourced, not run).
# Everything downloaded or started lives under KBP_CACHE_DIR, outside the repository.

KBP_CACHE_DIR="${KBP_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/kafka-batch-puller}"
SCRIPTS_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

die() {
  echo "error: $*" >&2
  exit 1
}

need() {
  command -v "$1" >/dev/null 2>&1 || die "'$1' was not found on PATH: $2"
}

# True when the pid in file $1 belongs to a live process.
pid_alive() {
  local pid
  [ -f "$1" ] || return 1
  pid=$(cat "$1" 2>/dev/null) || return 1
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null
}

# Stops the process whose pid is in file $1 (TERM, then KILL after $2 seconds) and removes the file.
stop_pid_file() {
  local file="$1" grace="${2:-20}" pid i
  if ! pid_alive "$file"; then
    rm -f "$file"
    return 0
  fi
  pid=$(cat "$file")
  kill "$pid" 2>/dev/null || true
  for ((i = 0; i < grace * 10; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then
    echo "process $pid did not stop in ${grace}s; killing it" >&2
    kill -9 "$pid" 2>/dev/null || true
  fi
  rm -f "$file"
}
