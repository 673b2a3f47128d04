#!/usr/bin/env bash
# npm run demo: the puller end to end on this machine, in about a minute.
#   1. starts a Kafka broker (docker compose when a Docker engine answers, else the Docker-free bed
#      of scripts/services.sh), unless one already runs;
#   2. creates a topic and writes 2,000 sample orders whose timestamps span the last 3 minutes;
#   3. runs the puller once (60 s windows) into a temp folder with a local state file;
#   4. shows what was written and where: the files, a few lines of a batch, a manifest, the status;
#   5. stops what step 1 started (and nothing it found running).
# The temp folder is kept so you can look around; its path is printed at the end.
#
#   npm run demo                      NDJSON batches (gzip), values as strings
#   npm run demo -- --format parquet  Parquet batches: JSON values, typed order columns, read back with DuckDB
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

format=ndjson
while [ $# -gt 0 ]; do
  case "$1" in
    --format) format="${2:-}"; shift 2 ;;
    --format=*) format="${1#--format=}"; shift ;;
    *) echo "usage: npm run demo [-- --format ndjson|parquet]" >&2; exit 2 ;;
  esac
done
case "$format" in
  ndjson) format_flags=() ;;
  parquet)
    # The sample orders are JSON: land them as JSON values with four typed columns beside the envelope.
    format_flags=(--format parquet --value-format json
      --column order_id:string:orderId --column amount:double:amount
      --column currency:string:currency --column created_at:timestamp:createdAt) ;;
  *) echo "--format must be ndjson or parquet (got '$format')" >&2; exit 2 ;;
esac

work="$(mktemp -d "${TMPDIR:-/tmp}/kafka-batch-puller-demo.XXXXXX")"
started=""
bed_services=""

step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }

cli() { node --import tsx bin/kafka-batch-puller.ts "$@"; }

stop_started() {
  case "$started" in
    compose)
      step "stopping the Redpanda container this demo started"
      docker compose rm --stop --force redpanda >/dev/null 2>&1 || true
      ;;
    bed)
      # Only the services this demo started: others were running before it, for someone else.
      if [ -n "$bed_services" ]; then
        step "stopping the services of the local test bed this demo started ($bed_services)"
        # shellcheck disable=SC2086
        bash scripts/services.sh stop $bed_services >/dev/null 2>&1 || true
      fi
      ;;
  esac
}
trap stop_started EXIT

step "starting Kafka"
if docker info >/dev/null 2>&1; then
  if [ -n "$(docker compose ps --status running --quiet redpanda 2>/dev/null)" ]; then
    echo "Redpanda (docker compose) is already running; using it and leaving it running"
  else
    docker compose up --detach --wait redpanda
    started=compose
  fi
  export KAFKA_BROKERS=localhost:19092
else
  if env_lines="$(bash scripts/services.sh status kafka 2>/dev/null)"; then
    echo "the local test bed is already running; using it and leaving it running"
  else
    echo "no Docker engine: starting the Docker-free test bed (scripts/services.sh; the first start downloads Kafka)"
    started=bed
    env_lines="$(bash scripts/services.sh start kafka)"
    bed_services="$(sed -n 's/^# started: //p' <<<"$env_lines")"
  fi
  eval "$env_lines"
fi
echo "KAFKA_BROKERS=$KAFKA_BROKERS"

topic="demo-orders-$(date +%Y%m%d-%H%M%S)"
group="demo-group-${topic#demo-orders-}"
output="$work/batches"
state="$work/state.json"

step "producing 2,000 sample orders over the last 3 minutes to a new 3-partition topic '$topic'"
cli produce-sample --topic "$topic" --partitions 3 --count 2000 --keys 200 --time-spread-seconds 180

step "running the puller once: 60 s windows, polls of 5 s, from the earliest record, $format"
cli run --topic "$topic" --group-id "$group" \
  --batch-interval-seconds 60 --poll-interval-seconds 5 --start earliest \
  --output "$output" --state "$state" ${format_flags[@]+"${format_flags[@]}"} --once

step "what was written, under $output"
(cd "$output" && find . -type f | sort)

first_part="$(find "$output" -name 'part-*.ndjson.gz' | sort | head -n 1)"
if [ -n "$first_part" ]; then
  step "the first 3 lines of ${first_part#"$output"/}"
  # head stops reading early; the SIGPIPE gzip then gets is expected, not a failure.
  gzip -dc "$first_part" | head -n 3 || true
fi

if [ "$format" = parquet ]; then
  step "the first 3 rows of the Parquet parts, and the records per window, read with DuckDB (@duckdb/node-api)"
  node scripts/read-parquet.mjs "$output/topic=$topic"
fi

first_manifest="$(find "$output" -name '_manifest.json' | sort | head -n 1)"
if [ -n "$first_manifest" ]; then
  step "its window's manifest, ${first_manifest#"$output"/}"
  node -e 'console.log(JSON.stringify(JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")), null, 2))' \
    "$first_manifest"
fi

step "the pipeline's status (the open window's records show as lag until it ends and a run closes it)"
cli status --topic "$topic" --group-id "$group" --state "$state"

step "done"
echo "batches and state are in $work (remove it with: rm -rf '$work')"
