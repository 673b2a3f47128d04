#!/usr/bin/env bash
# Starts, stops or checks moto in server mode (S3, DynamoDB and more on one port) on 127.0.0.1.
# moto comes from PyPI into a virtual environment in the cache folder. No Docker.
#
#   scripts/moto.sh install   create the virtual environment and install moto (needs python3 >= 3.10)
#   scripts/moto.sh start     install if needed, start, and return once an S3 call answers
#   scripts/moto.sh stop      stop the server started from this cache and port (by pid)
#   scripts/moto.sh status    print the endpoint and exit 0 when it runs, 1 when it does not
#
# Settings (environment): MOTO_VERSION (default 5.2.5), MOTO_PORT (14566), KBP_CACHE_DIR.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

MOTO_VERSION="${MOTO_VERSION:-5.2.5}"
MOTO_PORT="${MOTO_PORT:-14566}"
VENV="$KBP_CACHE_DIR/moto-$MOTO_VERSION"
RUN_DIR="$KBP_CACHE_DIR/run/moto-$MOTO_PORT"
PID_FILE="$RUN_DIR/moto.pid"
ENDPOINT="http://127.0.0.1:$MOTO_PORT"

install() {
  install_python_venv "$VENV" "moto[server]==$MOTO_VERSION"
}

# An unsigned ListBuckets: moto routes it to S3 and answers 200 once it serves requests.
answers() {
  curl -fsS -o /dev/null --max-time 2 "$ENDPOINT/" 2>/dev/null
}

start() {
  if already_running "$PID_FILE" "moto" "$ENDPOINT" AWS_ENDPOINT_URL; then return 0; fi
  install
  need curl "install curl (Debian: apt-get install curl)"
  new_run_dir "$RUN_DIR"
  local started=$SECONDS
  # Through a launcher that makes DynamoDB's conditional writes atomic, as they are on AWS.
  nohup "$VENV/bin/python" "$(dirname "${BASH_SOURCE[0]}")/moto-server.py" -H 127.0.0.1 -p "$MOTO_PORT" \
    >"$RUN_DIR/moto.log" 2>&1 </dev/null &
  echo $! >"$PID_FILE"
  await_answer "$PID_FILE" "$RUN_DIR/moto.log" "moto at $ENDPOINT" 30
  echo "moto $MOTO_VERSION ready at $ENDPOINT in $((SECONDS - started))s (pid $(cat "$PID_FILE"), log $RUN_DIR/moto.log)" >&2
  echo "AWS_ENDPOINT_URL=$ENDPOINT"
}

case "${1:-}" in
  install) install ;;
  start) start ;;
  stop) stop_pid_file "$PID_FILE" 10 && echo "moto at $ENDPOINT stopped" >&2 ;;
  status)
    if pid_alive "$PID_FILE"; then echo "AWS_ENDPOINT_URL=$ENDPOINT"; else echo "moto is not running at $ENDPOINT" >&2; exit 1; fi
    ;;
  *) echo "usage: $0 install|start|stop|status" >&2; exit 2 ;;
esac
