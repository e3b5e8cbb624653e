#!/usr/bin/env bash
# Container health check for the .NET images, which ship no curl or wget (bash's /dev/tcp is enough).
#
#   healthcheck.sh http PORT PATH   healthy when GET http://127.0.0.1:PORT/PATH answers 200
#   healthcheck.sh kafka            healthy when the first broker of $KAFKA_BOOTSTRAP accepts a TCP connection
#
# docker-compose.yml runs it as the services' healthcheck; the Dockerfiles copy it to /usr/local/bin/healthcheck.sh.
set -u

fail() { echo "unhealthy: $*" >&2; exit 1; }

case "${1:-}" in
  http)
    port=${2:?usage: healthcheck.sh http PORT PATH}
    path=${3:?usage: healthcheck.sh http PORT PATH}
    exec 3<>"/dev/tcp/127.0.0.1/$port" || fail "nothing listens on port $port"
    printf 'GET %s HTTP/1.0\r\nHost: localhost\r\nConnection: close\r\n\r\n' "$path" >&3
    status_line=""
    IFS= read -r -t 5 status_line <&3 || true
    exec 3<&-
    case "$status_line" in
      "HTTP/"*" 200"*) exit 0 ;;
      *) fail "GET $path on port $port answered '${status_line%$'\r'}'" ;;
    esac
    ;;
  kafka)
    first=${KAFKA_BOOTSTRAP:?KAFKA_BOOTSTRAP is not set}
    first=${first%%,*}
    host=${first%:*}
    port=${first##*:}
    (exec 3<>"/dev/tcp/$host/$port") 2>/dev/null || fail "broker $first does not accept connections"
    exit 0
    ;;
  *)
    fail "usage: healthcheck.sh http PORT PATH | healthcheck.sh kafka"
    ;;
esac
