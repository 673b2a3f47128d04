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

# Succeeds when the process whose pid is in file $1 lives, after saying that $2 already runs at $3 and
# printing `$4=$3`, the line a start prints; fails otherwise.
already_running() {
  local pid_file="$1" what="$2" endpoint="$3" variable="$4"
  pid_alive "$pid_file" || return 1
  echo "$what already running at $endpoint (pid $(cat "$pid_file"))" >&2
  echo "$variable=$endpoint"
}

# Empties the run folder $1 for a start: what the previous run left there (logs, data) is not reused.
new_run_dir() {
  rm -rf "$1"
  mkdir -p "$1"
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

# Resolves the runtime jars of the Maven project $2 (a pom.xml under scripts/) into folder $1, once;
# $3 is passed to Maven (-Dname=version), $4 names what is resolved in messages.
resolve_jars() {
  local libs="$1" pom="$2" version_property="$3" what="$4"
  if [ -f "$libs/.complete" ]; then return 0; fi
  need java "install a Java 17+ runtime (Debian: apt-get install openjdk-17-jre-headless)"
  need mvn "install Apache Maven (Debian: apt-get install maven)"
  echo "resolving $what jars from Maven Central into $libs" >&2
  rm -rf "$libs"
  mkdir -p "$libs"
  mvn -q -B -f "$SCRIPTS_DIR/$pom" "-D$version_property" \
    dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$libs" >&2 \
    || die "mvn could not resolve $what (see the output above)"
  touch "$libs/.complete"
}

# Installs the pip requirement $2 into a new Python virtual environment $1, once.
install_python_venv() {
  local venv="$1" requirement="$2"
  if [ -f "$venv/.complete" ]; then return 0; fi
  need python3 "install Python 3.10+ with venv (Debian: apt-get install python3 python3-venv)"
  python3 -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else 1)' \
    || die "$requirement needs Python 3.10 or newer; python3 is $(python3 --version 2>&1)"
  echo "installing $requirement into $venv" >&2
  rm -rf "$venv"
  python3 -m venv "$venv" || die "python3 -m venv failed (Debian: apt-get install python3-venv)"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "$requirement" >&2 \
    || die "pip could not install $requirement"
  touch "$venv/.complete"
}

# Waits up to $4 seconds for the caller's `answers` function to succeed while the process whose pid is
# in file $1 lives. When it exits first, or never answers, prints the end of its log $2, stops it and
# dies with a message naming $3 (what it is and where).
await_answer() {
  local pid_file="$1" log="$2" what="$3" seconds="$4" i
  for ((i = 0; i < seconds * 10; i++)); do
    answers && return 0
    if ! pid_alive "$pid_file"; then
      tail -n 30 "$log" >&2
      rm -f "$pid_file"
      die "$what exited before it answered (is its port in use?)"
    fi
    sleep 0.1
  done
  answers && return 0
  tail -n 30 "$log" >&2
  stop_pid_file "$pid_file" 5
  die "$what did not answer within ${seconds}s"
}

# Holds lock folder $1 until the calling script exits, waiting up to $2 seconds while another live
# process holds it: concurrent callers (test workers starting the same service) then build and start it
# once. A folder left by a process that died is taken over.
HELD_LOCK=""
take_lock() {
  local lock="$1" seconds="$2" i
  mkdir -p "$(dirname "$lock")"
  for ((i = 0; i < seconds * 10; i++)); do
    if mkdir "$lock" 2>/dev/null; then
      echo $$ >"$lock/pid"
      HELD_LOCK="$lock"
      trap 'rm -rf "$HELD_LOCK"' EXIT
      return 0
    fi
    if [ -f "$lock/pid" ] && ! pid_alive "$lock/pid"; then
      rm -rf "$lock"
      continue
    fi
    sleep 0.1
  done
  die "$lock is still held by process $(cat "$lock/pid" 2>/dev/null || echo '?') after ${seconds}s"
}
