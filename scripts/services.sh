#!/usr/bin/env bash
# Starts, stops or checks the whole local test bed: the Kafka broker and moto, on 127.0.0.1, no Docker.
#
#   scripts/services.sh install   resolve the Kafka jars and install moto (no process is started)
#   scripts/services.sh start     start both (each is reused when already running) and print the
#                                 environment that points the puller, the tests and the AWS SDK at them
#   scripts/services.sh stop      stop both
#   scripts/services.sh status    print the environment when both run; exit 1 otherwise
#
# `eval "$(scripts/services.sh start)"` leaves a shell ready to run the CLI against the bed.
set -euo pipefail
here="$(dirname "${BASH_SOURCE[0]}")"

print_env() {
  echo "export KAFKA_BROKERS=$1"
  echo "export AWS_ENDPOINT_URL=$2"
  echo "export AWS_REGION=\${AWS_REGION:-us-east-1}"
  echo "export AWS_ACCESS_KEY_ID=\${AWS_ACCESS_KEY_ID:-test}"
  echo "export AWS_SECRET_ACCESS_KEY=\${AWS_SECRET_ACCESS_KEY:-test}"
}

value_of() { sed -n "s/^$1=//p"; }

case "${1:-}" in
  install)
    bash "$here/kafka.sh" install &
    kafka=$!
    bash "$here/moto.sh" install
    wait "$kafka"
    ;;
  start | status)
    # Both start at once: the broker's JVM and moto's Python warm up in parallel.
    out=$(mktemp -d)
    trap 'rm -rf "$out"' EXIT
    bash "$here/kafka.sh" "$1" >"$out/kafka" &
    kafka=$!
    rc=0
    bash "$here/moto.sh" "$1" >"$out/moto" || rc=$?
    wait "$kafka" || rc=$?
    [ "$rc" -eq 0 ] || exit "$rc"
    print_env "$(value_of KAFKA_BROKERS <"$out/kafka")" "$(value_of AWS_ENDPOINT_URL <"$out/moto")"
    ;;
  stop)
    bash "$here/kafka.sh" stop
    bash "$here/moto.sh" stop
    ;;
  *) echo "usage: $0 install|start|stop|status" >&2; exit 2 ;;
esac
