#!/usr/bin/env bash
# Starts, stops or checks the local test bed on 127.0.0.1, no Docker: the Kafka broker, moto (S3 and
# DynamoDB), an Apache Iceberg REST catalog whose warehouse is in moto, and, only when named, a schema
# registry with Confluent's API (Apicurio Registry; the tests that need it start it themselves).
#
#   scripts/services.sh install   resolve the Kafka and Iceberg jars, build the schema registry, and
#                                 install moto and pyiceberg (no process is started)
#   scripts/services.sh start [SERVICE...]
#                                 start the named services (kafka, moto, iceberg, registry), or kafka, moto
#                                 and iceberg (each is reused when already running) and print the
#                                 environment that points the puller, the tests and the AWS SDK at them,
#                                 then a line `# started: <services>` naming those this call started
#   scripts/services.sh stop [SERVICE...]
#                                 stop the named services, or all of them (the registry too)
#   scripts/services.sh status [SERVICE...]
#                                 print the environment when they all run (by default kafka, moto and
#                                 iceberg); exit 1 otherwise
#
# `eval "$(scripts/services.sh start)"` leaves a shell ready to run the CLI against the bed.
set -euo pipefail
here="$(dirname "${BASH_SOURCE[0]}")"
SERVICES=(kafka moto iceberg registry)
# What `start` and `status` mean without names: the registry is only for the tests that decode values.
DEFAULT_SERVICES=(kafka moto iceberg)

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
    # After the other Maven runs: they share the local repository, which Maven does not lock.
    bash "$here/registry.sh" install
    ;;
  start | status)
    action=$1
    shift
    wanted=("$@")
    [ ${#wanted[@]} -gt 0 ] || wanted=("${DEFAULT_SERVICES[@]}")
    for service in "${wanted[@]}"; do
      [[ " ${SERVICES[*]} " == *" $service "* ]] || { echo "unknown service '$service' (${SERVICES[*]})" >&2; exit 2; }
    done
    wants() { [[ " ${wanted[*]} " == *" $1 "* ]]; }
    # The catalog's warehouse is in moto.
    if wants iceberg && ! wants moto; then wanted+=(moto); fi
    started=()
    if [ "$action" = start ]; then
      for service in "${SERVICES[@]}"; do
        wants "$service" || continue
        bash "$here/$service.sh" status >/dev/null 2>&1 || started+=("$service")
      done
    fi
    # The JVMs of the broker and the registry warm up while moto starts, then the catalog, whose
    # warehouse is in moto.
    out=$(mktemp -d)
    trap 'rm -rf "$out"' EXIT
    in_background=()
    for service in kafka registry; do
      if wants "$service"; then
        bash "$here/$service.sh" "$action" >"$out/$service" &
        in_background+=($!)
      fi
    done
    rc=0
    if wants moto; then bash "$here/moto.sh" "$action" >"$out/moto" || rc=$?; fi
    if [ "$rc" -eq 0 ] && wants iceberg; then bash "$here/iceberg.sh" "$action" >"$out/iceberg" || rc=$?; fi
    for pid in "${in_background[@]}"; do wait "$pid" || rc=$?; done
    [ "$rc" -eq 0 ] || exit "$rc"
    if wants kafka; then echo "export KAFKA_BROKERS=$(value_of KAFKA_BROKERS <"$out/kafka")"; fi
    if wants moto; then
      echo "export AWS_ENDPOINT_URL=$(value_of AWS_ENDPOINT_URL <"$out/moto")"
      echo "export AWS_REGION=\${AWS_REGION:-us-east-1}"
      echo "export AWS_ACCESS_KEY_ID=\${AWS_ACCESS_KEY_ID:-test}"
      echo "export AWS_SECRET_ACCESS_KEY=\${AWS_SECRET_ACCESS_KEY:-test}"
    fi
    if wants iceberg; then echo "export ICEBERG_CATALOG_URL=$(value_of ICEBERG_CATALOG_URL <"$out/iceberg")"; fi
    if wants registry; then echo "export SCHEMA_REGISTRY_URL=$(value_of SCHEMA_REGISTRY_URL <"$out/registry")"; fi
    [ "$action" = status ] || echo "# started: ${started[*]}"
    ;;
  stop)
    shift
    # The catalog first: it writes to moto.
    for service in iceberg registry kafka moto; do
      if [ $# -eq 0 ] || [[ " $* " == *" $service "* ]]; then bash "$here/$service.sh" stop; fi
    done
    ;;
  *) echo "usage: $0 install|start [SERVICE...]|stop [SERVICE...]|status [SERVICE...]" >&2; exit 2 ;;
esac
