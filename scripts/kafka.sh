#!/usr/bin/env bash
# Starts, stops or checks a single-node Apache Kafka broker (KRaft, combined broker + controller)
# on 127.0.0.1, run with Java from its Maven Central jars. No Docker.
#
#   scripts/kafka.sh install   resolve the broker's jars into the cache (needs mvn)
#   scripts/kafka.sh start     install if needed, start, and return once a metadata request answers
#   scripts/kafka.sh stop      stop the broker started from this cache and port (by pid)
#   scripts/kafka.sh status    print the endpoint and exit 0 when it runs, 1 when it does not
#
# Settings (environment): KAFKA_VERSION (default 4.1.1), KAFKA_PORT (19092),
# KAFKA_CONTROLLER_PORT (KAFKA_PORT + 1), KAFKA_HEAP (-Xms256m -Xmx768m), KBP_CACHE_DIR.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

KAFKA_VERSION="${KAFKA_VERSION:-4.1.1}"
KAFKA_PORT="${KAFKA_PORT:-19092}"
KAFKA_CONTROLLER_PORT="${KAFKA_CONTROLLER_PORT:-$((KAFKA_PORT + 1))}"
KAFKA_HEAP="${KAFKA_HEAP:--Xms256m -Xmx768m}"
LIBS="$KBP_CACHE_DIR/kafka-$KAFKA_VERSION/libs"
RUN_DIR="$KBP_CACHE_DIR/run/kafka-$KAFKA_PORT"
PID_FILE="$RUN_DIR/kafka.pid"
ENDPOINT="127.0.0.1:$KAFKA_PORT"

install() {
  resolve_jars "$LIBS" kafka/pom.xml "kafka.version=$KAFKA_VERSION" "Apache Kafka $KAFKA_VERSION (org.apache.kafka:kafka_2.13)"
}

write_config() {
  cat >"$RUN_DIR/server.properties" <<PROPS
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$KAFKA_CONTROLLER_PORT
listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT,CONTROLLER://127.0.0.1:$KAFKA_CONTROLLER_PORT
advertised.listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$RUN_DIR/data
num.partitions=1
auto.create.topics.enable=false
offsets.topic.replication.factor=1
offsets.topic.num.partitions=3
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
message.max.bytes=10485760
replica.fetch.max.bytes=10485760
PROPS
}

# shellcheck disable=SC2206
JAVA=(java $KAFKA_HEAP -XX:+UseG1GC -Djava.awt.headless=true
  -Dkafka.logs.dir="$RUN_DIR/logs" -Dlog4j2.configurationFile="$SCRIPTS_DIR/kafka/log4j2.properties"
  -cp "$LIBS/*")

start() {
  if already_running "$PID_FILE" "Kafka" "$ENDPOINT" KAFKA_BROKERS; then return 0; fi
  install
  need node "install Node.js 20+"
  new_run_dir "$RUN_DIR"
  mkdir -p "$RUN_DIR/logs" "$RUN_DIR/data"
  write_config
  local started=$SECONDS
  "${JAVA[@]}" kafka.tools.StorageTool format -t "$("${JAVA[@]}" kafka.tools.StorageTool random-uuid)" \
    -c "$RUN_DIR/server.properties" >"$RUN_DIR/logs/format.log" 2>&1 \
    || die "formatting Kafka storage failed: see $RUN_DIR/logs/format.log"
  nohup "${JAVA[@]}" kafka.Kafka "$RUN_DIR/server.properties" >"$RUN_DIR/logs/stdout.log" 2>&1 </dev/null &
  echo $! >"$PID_FILE"
  if ! node "$SCRIPTS_DIR/wait-for-kafka.mjs" "$ENDPOINT" 60 "$PID_FILE"; then
    tail -n 30 "$RUN_DIR/logs/stdout.log" "$RUN_DIR/logs/server.log" >&2 2>/dev/null || true
    stop_pid_file "$PID_FILE" 5
    die "Kafka did not become ready at $ENDPOINT"
  fi
  echo "Apache Kafka $KAFKA_VERSION ready at $ENDPOINT in $((SECONDS - started))s (pid $(cat "$PID_FILE"), logs $RUN_DIR/logs)" >&2
  echo "KAFKA_BROKERS=$ENDPOINT"
}

case "${1:-}" in
  install) install ;;
  start) start ;;
  stop) stop_pid_file "$PID_FILE" 30 && echo "Kafka at $ENDPOINT stopped" >&2 ;;
  status)
    if pid_alive "$PID_FILE"; then echo "KAFKA_BROKERS=$ENDPOINT"; else echo "Kafka is not running at $ENDPOINT" >&2; exit 1; fi
    ;;
  *) echo "usage: $0 install|start|stop|status" >&2; exit 2 ;;
esac
