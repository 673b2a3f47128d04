#!/usr/bin/env bash
# Starts, stops or checks a schema registry with Confluent's REST API on 127.0.0.1: Apicurio Registry,
# built by Maven from its Maven Central artifacts into a Quarkus application (registry/pom.xml), keeping
# its schemas in memory (they are gone when it stops). No Docker. Its Confluent-compatible API is at
# /apis/ccompat/v7, which is what SCHEMA_REGISTRY_URL names.
#
#   scripts/registry.sh install   build the registry into the cache (needs mvn and a JDK), once for each
#                                 version of registry/ (a cold Maven repository: a few minutes)
#   scripts/registry.sh start     install if needed, start, set the global compatibility to BACKWARD
#                                 (Confluent's default; Apicurio's is NONE), and return once it answers
#   scripts/registry.sh stop      stop the registry started from this cache and port (by pid)
#   scripts/registry.sh status    print the endpoint and exit 0 when it runs, 1 when it does not
#
# Concurrent calls (test workers) wait for each other: the registry is built and started once.
# Settings (environment): REGISTRY_PORT (default 18081), REGISTRY_HEAP (-Xms32m -Xmx128m), KBP_CACHE_DIR.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

REGISTRY_PORT="${REGISTRY_PORT:-18081}"
REGISTRY_HEAP="${REGISTRY_HEAP:--Xms32m -Xmx128m}"
# Keyed by what is built: a changed pom or bean source builds anew.
BUILD="$KBP_CACHE_DIR/apicurio-registry/build-$(cat "$SCRIPTS_DIR/registry/pom.xml" "$SCRIPTS_DIR"/registry/src/*.java | cksum | cut -d' ' -f1)"
RUNNER="$BUILD/local-schema-registry-1-runner.jar"
RUN_DIR="$KBP_CACHE_DIR/run/registry-$REGISTRY_PORT"
PID_FILE="$RUN_DIR/registry.pid"
LOCK="$KBP_CACHE_DIR/run/registry.lock"
ENDPOINT="http://127.0.0.1:$REGISTRY_PORT/apis/ccompat/v7"

install() {
  if [ -f "$BUILD/.complete" ]; then return 0; fi
  need javac "install a Java 17+ JDK (Debian: apt-get install openjdk-17-jdk-headless)"
  need mvn "install Apache Maven (Debian: apt-get install maven)"
  echo "building Apicurio Registry from Maven Central into $BUILD" >&2
  local started=$SECONDS
  rm -rf "$BUILD"
  mvn -q -B -Dstyle.color=never -f "$SCRIPTS_DIR/registry/pom.xml" package -DskipTests -Dregistry.build.directory="$BUILD" >&2 \
    || die "mvn could not build Apicurio Registry (see the output above)"
  [ -f "$RUNNER" ] || die "the build made no $RUNNER"
  touch "$BUILD/.complete"
  echo "Apicurio Registry built in $((SECONDS - started))s" >&2
}

answers() {
  curl -fsS -o /dev/null --max-time 2 "$ENDPOINT/config" 2>/dev/null
}

# Confluent's registry checks new versions BACKWARD by default; the tests expect what users will meet.
set_backward_compatibility() {
  curl -fsS -o /dev/null --max-time 10 -X PUT -H 'Content-Type: application/json' \
    -d '{"compatibility":"BACKWARD"}' "$ENDPOINT/config" \
    || die "setting the registry's global compatibility to BACKWARD at $ENDPOINT/config failed"
}

start() {
  if already_running "$PID_FILE" "schema registry" "$ENDPOINT" SCHEMA_REGISTRY_URL; then return 0; fi
  install
  need curl "install curl (Debian: apt-get install curl)"
  new_run_dir "$RUN_DIR"
  local started=$SECONDS
  # TieredStopAtLevel=1: the bed's registry answers a few requests, so a fast start beats peak speed.
  # LOCK_TIMEOUT: H2's default (1 s) fails concurrent registrations from parallel tests on a busy machine.
  # shellcheck disable=SC2086
  nohup java $REGISTRY_HEAP -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Djava.awt.headless=true \
    -Dquarkus.http.host=127.0.0.1 -Dquarkus.http.port="$REGISTRY_PORT" \
    -Dquarkus.datasource.jdbc.url="jdbc:h2:mem:registry_db;LOCK_TIMEOUT=30000" -jar "$RUNNER" \
    >"$RUN_DIR/registry.log" 2>&1 </dev/null &
  echo $! >"$PID_FILE"
  await_answer "$PID_FILE" "$RUN_DIR/registry.log" "the schema registry at $ENDPOINT" 120
  set_backward_compatibility
  echo "Apicurio Registry ready at $ENDPOINT in $((SECONDS - started))s (pid $(cat "$PID_FILE"), schemas in memory, log $RUN_DIR/registry.log)" >&2
  echo "SCHEMA_REGISTRY_URL=$ENDPOINT"
}

case "${1:-}" in
  install)
    take_lock "$LOCK" 1200
    install
    ;;
  start)
    take_lock "$LOCK" 1200
    start
    ;;
  stop) stop_pid_file "$PID_FILE" 20 && echo "schema registry at $ENDPOINT stopped" >&2 ;;
  status)
    if pid_alive "$PID_FILE"; then echo "SCHEMA_REGISTRY_URL=$ENDPOINT"; else echo "the schema registry is not running at $ENDPOINT" >&2; exit 1; fi
    ;;
  *) echo "usage: $0 install|start|stop|status" >&2; exit 2 ;;
esac
