#!/usr/bin/env bash
# Starts, stops or checks an Apache Iceberg REST catalog on 127.0.0.1: Iceberg's own test server
# (org.apache.iceberg.rest.RESTCatalogServer) run with Java from its Maven Central jars, backed by a
# SQLite JDBC catalog, with its warehouse in the moto S3 server. No Docker. The server itself listens on
# every interface; iceberg/LocalRestCatalog.java starts the same server on 127.0.0.1 only, and is used
# whenever a JDK's javac can compile it (with a Java runtime alone, the server runs as it is, and says so).
#
#   scripts/iceberg.sh install   resolve the server's jars into the cache (needs mvn), compile the
#                                launcher, and install the reader, pyiceberg from PyPI, into a virtual
#                                environment there (python3)
#   scripts/iceberg.sh start     install if needed, start, and return once GET /v1/config answers
#   scripts/iceberg.sh stop      stop the server started from this cache and port (by pid)
#   scripts/iceberg.sh status    print the endpoint and exit 0 when it runs, 1 when it does not
#   scripts/iceberg.sh read NAMESPACE TABLE
#                                print the table's snapshots and rows as JSON, read by pyiceberg
#                                through the catalog (an independent reader: see read-iceberg.py)
#
# moto must already run (scripts/moto.sh start): the warehouse bucket is created in it on start.
# Settings (environment): ICEBERG_VERSION (default 1.10.1), PYICEBERG_VERSION (0.12.0), ICEBERG_PORT (18181),
# ICEBERG_WAREHOUSE_BUCKET (iceberg-warehouse), ICEBERG_HEAP (-Xms64m -Xmx384m),
# AWS_ENDPOINT_URL (http://127.0.0.1:14566), AWS_REGION (us-east-1),
# AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (test / test), KBP_CACHE_DIR.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ICEBERG_VERSION="${ICEBERG_VERSION:-1.10.1}"
ICEBERG_PORT="${ICEBERG_PORT:-18181}"
ICEBERG_WAREHOUSE_BUCKET="${ICEBERG_WAREHOUSE_BUCKET:-iceberg-warehouse}"
ICEBERG_HEAP="${ICEBERG_HEAP:--Xms64m -Xmx384m}"
S3_ENDPOINT="${AWS_ENDPOINT_URL:-http://127.0.0.1:14566}"
PYICEBERG_VERSION="${PYICEBERG_VERSION:-0.12.0}"
LIBS="$KBP_CACHE_DIR/iceberg-rest-$ICEBERG_VERSION/libs"
LAUNCHER_SOURCE="$SCRIPTS_DIR/iceberg/LocalRestCatalog.java"
LAUNCHER="$KBP_CACHE_DIR/iceberg-rest-$ICEBERG_VERSION/launcher-$(cksum <"$LAUNCHER_SOURCE" | cut -d' ' -f1)"
READER_VENV="$KBP_CACHE_DIR/pyiceberg-$PYICEBERG_VERSION"
RUN_DIR="$KBP_CACHE_DIR/run/iceberg-$ICEBERG_PORT"
PID_FILE="$RUN_DIR/iceberg.pid"
ENDPOINT="http://127.0.0.1:$ICEBERG_PORT"

install_server() {
  resolve_jars "$LIBS" iceberg/pom.xml "iceberg.version=$ICEBERG_VERSION" \
    "the Apache Iceberg $ICEBERG_VERSION REST catalog (org.apache.iceberg:iceberg-open-api:test-fixtures)"
}

# The launcher that binds the server to 127.0.0.1, compiled once per version of its source.
install_launcher() {
  if [ -f "$LAUNCHER/LocalRestCatalog.class" ]; then return 0; fi
  if ! command -v javac >/dev/null 2>&1; then
    echo "warning: no javac (a JDK, e.g. apt-get install openjdk-17-jdk-headless): the Iceberg REST catalog will listen on every interface, not only 127.0.0.1" >&2
    return 0
  fi
  mkdir -p "$LAUNCHER"
  javac -nowarn -d "$LAUNCHER" -cp "$LIBS/*" "$LAUNCHER_SOURCE" >&2 || die "javac could not compile $LAUNCHER_SOURCE"
}

install_reader() {
  install_python_venv "$READER_VENV" "pyiceberg[pyarrow]==$PYICEBERG_VERSION"
}

# Both at once: Maven's downloads and pip's overlap.
install() {
  (install_server && install_launcher) &
  local server=$!
  install_reader
  wait "$server"
}

answers() {
  curl -fsS -o /dev/null --max-time 2 "$ENDPOINT/v1/config" 2>/dev/null
}

# The warehouse bucket, created unsigned in moto (which accepts any credentials); 409 means it exists.
create_warehouse_bucket() {
  local code
  code=$(curl -sS -o /dev/null -w '%{http_code}' --max-time 5 -X PUT "$S3_ENDPOINT/$ICEBERG_WAREHOUSE_BUCKET") \
    || die "moto does not answer at $S3_ENDPOINT: start it first (scripts/moto.sh start)"
  case "$code" in
    200 | 409) ;;
    *) die "creating bucket $ICEBERG_WAREHOUSE_BUCKET at $S3_ENDPOINT answered HTTP $code" ;;
  esac
}

start() {
  if already_running "$PID_FILE" "Iceberg REST catalog" "$ENDPOINT" ICEBERG_CATALOG_URL; then return 0; fi
  install_server
  install_launcher
  need curl "install curl (Debian: apt-get install curl)"
  create_warehouse_bucket
  new_run_dir "$RUN_DIR"
  local started=$SECONDS
  # The server maps CATALOG_* variables to catalog properties: one _ becomes '.', two become '-'.
  # Its port is the catalog property rest.port; the launcher binds it to 127.0.0.1 (see the top).
  local main=org.apache.iceberg.rest.RESTCatalogServer classpath="$LIBS/*"
  if [ -f "$LAUNCHER/LocalRestCatalog.class" ]; then
    main=LocalRestCatalog classpath="$LAUNCHER:$LIBS/*"
  fi
  # shellcheck disable=SC2086
  CATALOG_CATALOG__IMPL=org.apache.iceberg.jdbc.JdbcCatalog \
    CATALOG_URI="jdbc:sqlite:$RUN_DIR/catalog.db" \
    CATALOG_JDBC_SCHEMA__VERSION=V1 \
    CATALOG_WAREHOUSE="s3://$ICEBERG_WAREHOUSE_BUCKET/" \
    CATALOG_IO__IMPL=org.apache.iceberg.aws.s3.S3FileIO \
    CATALOG_S3_ENDPOINT="$S3_ENDPOINT" \
    CATALOG_S3_PATH__STYLE__ACCESS=true \
    CATALOG_S3_ACCESS__KEY__ID="${AWS_ACCESS_KEY_ID:-test}" \
    CATALOG_S3_SECRET__ACCESS__KEY="${AWS_SECRET_ACCESS_KEY:-test}" \
    CATALOG_CLIENT_REGION="${AWS_REGION:-us-east-1}" \
    AWS_REGION="${AWS_REGION:-us-east-1}" \
    CATALOG_REST_PORT="$ICEBERG_PORT" \
    nohup java $ICEBERG_HEAP -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Djava.awt.headless=true \
    -Dorg.slf4j.simpleLogger.defaultLogLevel=warn -Drest.host=127.0.0.1 -cp "$classpath" "$main" \
    >"$RUN_DIR/iceberg.log" 2>&1 </dev/null &
  echo $! >"$PID_FILE"
  await_answer "$PID_FILE" "$RUN_DIR/iceberg.log" "the Iceberg REST catalog at $ENDPOINT" 60
  echo "Apache Iceberg $ICEBERG_VERSION REST catalog ready at $ENDPOINT in $((SECONDS - started))s (pid $(cat "$PID_FILE"), warehouse s3://$ICEBERG_WAREHOUSE_BUCKET in $S3_ENDPOINT, log $RUN_DIR/iceberg.log)" >&2
  echo "ICEBERG_CATALOG_URL=$ENDPOINT"
}

read_table() {
  [ $# -eq 2 ] || die "usage: $0 read NAMESPACE TABLE"
  install_reader
  ICEBERG_CATALOG_URL="${ICEBERG_CATALOG_URL:-$ENDPOINT}" AWS_ENDPOINT_URL="$S3_ENDPOINT" \
    "$READER_VENV/bin/python" "$SCRIPTS_DIR/read-iceberg.py" "$1" "$2"
}

case "${1:-}" in
  install) install ;;
  read) shift && read_table "$@" ;;
  start) start ;;
  stop) stop_pid_file "$PID_FILE" 10 && echo "Iceberg REST catalog at $ENDPOINT stopped" >&2 ;;
  status)
    if pid_alive "$PID_FILE"; then echo "ICEBERG_CATALOG_URL=$ENDPOINT"; else echo "the Iceberg REST catalog is not running at $ENDPOINT" >&2; exit 1; fi
    ;;
  *) echo "usage: $0 install|start|stop|status|read NAMESPACE TABLE" >&2; exit 2 ;;
esac
