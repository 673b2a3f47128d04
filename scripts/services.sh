#!/usr/bin/env bash
# Starts, stops or checks the whole local test bed on 127.0.0.1, no Docker: the Kafka broker, moto (S3
# and DynamoDB) and an Apache Iceberg REST catalog whose warehouse is in moto.
#
#   scripts/services.sh install   resolve the Kafka and Iceberg jars and install moto and pyiceberg
#                                 (no process is started)
#   scripts/services.sh start     start them (each is reused when already running) and print the
#                                 environment that points the puller, the tests and the AWS SDK at them,
#                                 then a line `# started: <services>` naming those this call started
#   scripts/services.sh stop [SERVICE...]
#                                 stop the named services (kafka, moto, iceberg), or all of them
#   scripts/services.sh status    print the environment when all run; exit 1 otherwise
#
# `eval "$(scripts/services.sh start)"` leaves a shell ready to run the CLI against the bed.
set -euo pipefail
here="$(dirname "${BASH_SOURCE[0]}")"
SERVICES=(kafka moto iceberg)

print_env() {
  echo "export KAFKA_BROKERS=$1"
  echo "export AWS_ENDPOINT_URL=$2"
  echo "export AWS_REGION=\${AWS_REGION:-us-east-1}"
  echo "export AWS_ACCESS_KEY_ID=\${AWS_ACCESS_KEY_ID:-test}"
  echo "export AWS_SECRET_ACCESS_KEY=\${AWS_SECRET_ACCESS_KEY:-test}"
  echo "export ICEBERG_CATALOG_URL=$3"
}

value_of() { sed -n "s/^$1=//p"; }

case "${1:-}" in
  install)
    bash "$here/kafka.sh" install &
    kafka=$!
    bash "$here/iceberg.sh" install &
    iceberg=$!
    bash "$here/moto.sh" install
    wait "$kafka"
    wait "$iceberg"
    ;;
  start | status)
    started=()
    if [ "$1" = start ]; then
      for service in "${SERVICES[@]}"; do
        bash "$here/$service.sh" status >/dev/null 2>&1 || started+=("$service")
      done
    fi
    # The broker's JVM warms up while moto starts, then the catalog, whose warehouse is in moto.
    out=$(mktemp -d)
    trap 'rm -rf "$out"' EXIT
    bash "$here/kafka.sh" "$1" >"$out/kafka" &
    kafka=$!
    rc=0
    bash "$here/moto.sh" "$1" >"$out/moto" || rc=$?
    if [ "$rc" -eq 0 ]; then bash "$here/iceberg.sh" "$1" >"$out/iceberg" || rc=$?; fi
    wait "$kafka" || rc=$?
    [ "$rc" -eq 0 ] || exit "$rc"
    print_env "$(value_of KAFKA_BROKERS <"$out/kafka")" "$(value_of AWS_ENDPOINT_URL <"$out/moto")" \
      "$(value_of ICEBERG_CATALOG_URL <"$out/iceberg")"
    [ "$1" = status ] || echo "# started: ${started[*]}"
    ;;
  stop)
    shift
    # The catalog first: it writes to moto.
    for service in iceberg kafka moto; do
      if [ $# -eq 0 ] || [[ " $* " == *" $service "* ]]; then bash "$here/$service.sh" stop; fi
    done
    ;;
  *) echo "usage: $0 install|start|stop [SERVICE...]|status" >&2; exit 2 ;;
esac
