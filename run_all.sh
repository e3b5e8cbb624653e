#!/usr/bin/env bash
# Starts the whole pipeline on this machine with embedded defaults, in the background:
# local Kafka-protocol broker, local PostgreSQL, silo, web API + dashboard, and the shop simulator.
#
#   ./run_all.sh                 start everything (returns once every service answers its health check)
#   ./run_all.sh --no-producer   start the pipeline without the simulator
#   ./run_all.sh --silos 3       start a cluster of 3 silo processes (membership in PostgreSQL), 1–9; 1 is the default
#   ./run_all.sh stop            stop everything it started
#   ./run_all.sh status          show what runs
#
# Addresses go to .run/env (source it: psql then works), logs to .run/logs/.
# Settings (environment): API_PORT=8000 DASHBOARD_PORT=8501 SILO_HTTP_PORT=8081 BROKER_CONTROL_PORT=9644
#   SILO_PORT=11111 GATEWAY_PORT=30000 POSTGRES_PORT=5432 KAFKA_PARTITIONS=8 CONFIGURATION=Release NO_BUILD=0
#   ANALYTICS_HOME=<checkout> (where .run and .data live) PRODUCER_ARGS="…" (replaces the simulator's arguments)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=scripts/common.sh
source "$ROOT/scripts/common.sh"

# Where state lives: .run (addresses, pids, logs) and .data (PostgreSQL) under ANALYTICS_HOME, the checkout by default.
HOME_DIR=${ANALYTICS_HOME:-$ROOT}
RUN=$HOME_DIR/.run
PIDS=$RUN/pids
LOGS=$RUN/logs
HOME_HASH=$(printf '%s' "$HOME_DIR" | md5sum | cut -c1-10)
PG_BASE=$HOME_DIR/.data
# As root, the server runs as the postgres user, who must be able to reach its data: a checkout under /root (mode 700)
# is out of its reach, so the data then lives under /var/lib/analytics instead.
if [ "$(id -u)" -eq 0 ] && id postgres >/dev/null 2>&1 && ! runuser -u postgres -- test -x "$HOME_DIR" 2>/dev/null; then
  PG_BASE=/var/lib/analytics/$HOME_HASH
fi
PGDATA_DIR=$PG_BASE/postgres
# The churn model (written by the Trainer or the web API's training, read by the silo and the web API).
MODELS=$HOME_DIR/models
PGLOG=$PG_BASE/postgres.log
PGSOCKET=/tmp/analytics-pg-$HOME_HASH
CONFIGURATION=${CONFIGURATION:-Release}

API_PORT=${API_PORT:-8000}
DASHBOARD_PORT=${DASHBOARD_PORT:-8501}
SILO_HTTP_PORT=${SILO_HTTP_PORT:-8081}
BROKER_CONTROL_PORT=${BROKER_CONTROL_PORT:-9644}
SILO_PORT=${SILO_PORT:-11111}
GATEWAY_PORT=${GATEWAY_PORT:-30000}
POSTGRES_PORT=${POSTGRES_PORT:-5432}
KAFKA_PARTITIONS=${KAFKA_PARTITIONS:-8}
# The simulator: 5,000 shoppers with a few late, duplicate and malformed events on purpose, and churn spread over two
# weeks. On the first start it back-fills 14 days of history (about 1.5 million events; at 3,600x about 6 minutes),
# then runs live; later starts continue live only, since the stored history is already there. The web API trains the
# first churn model as soon as that history is in (Retraining:TrainWhenMissing). PRODUCER_ARGS replaces all of this.
SIMULATION_ARGS="--users 5000 --churn-horizon 14d --late-fraction 0.01 --duplicate-fraction 0.005 --malformed-fraction 0.001 --truth $RUN/truth.jsonl"
HISTORY_ARGS="--start -14d --speed 3600 --rate 20000"
SERVICES=(producer webapi silo localbroker)   # stop order (silo2… of a cluster stop with silo)
MAX_SILOS=9

usage() { sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; }

# The silo services of a cluster: silo, silo2, … siloN (the first keeps the single silo's name, ports and pid file).
silo_name() { [ "$1" -eq 1 ] && echo silo || echo "silo$1"; }

# Every silo with a pid file, first to last.
started_silos() {
  local i
  for i in $(seq 1 "$MAX_SILOS"); do [ -f "$PIDS/$(silo_name "$i").pid" ] && silo_name "$i"; done
  return 0
}

running() { local f=$PIDS/$1.pid; [ -f "$f" ] && kill -0 "$(cat "$f")" 2>/dev/null; }

output_of() { echo "$ROOT/$1/bin/$CONFIGURATION/net10.0/Analytics.$1.dll"; }

# start_service NAME PROJECT [ENV=VALUE…] -- [ARGS…]: in its own session, detached from this terminal, with no
# descriptor of ours left open (a caller reading our output must see it end), recording the service's own pid.
start_service() {
  local name=$1 project=$2; shift 2
  local envs=()
  while [ $# -gt 0 ] && [ "$1" != "--" ]; do envs+=("$1"); shift; done
  [ "${1:-}" = "--" ] && shift
  rm -f "$PIDS/$name.pid"
  (cd "$ROOT/$project" && close_inherited_fds && exec setsid bash -c 'echo $$ >"$0"; exec "$@"' "$PIDS/$name.pid" \
    env "${envs[@]}" dotnet "$(output_of "$project")" "$@" >"$LOGS/$name.log" 2>&1 </dev/null) &
  for _ in $(seq 1 50); do [ -s "$PIDS/$name.pid" ] && return 0; sleep 0.1; done
  die "$name did not start; see $LOGS/$name.log"
}

stop_service() {
  local name=$1 f=$PIDS/$1.pid pid
  [ -f "$f" ] || return 0
  pid=$(cat "$f")
  if kill -0 "$pid" 2>/dev/null; then
    log "stopping $name (pid $pid)"
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    if kill -0 "$pid" 2>/dev/null; then
      log "$name did not stop within 30 s; killing it"
      kill -KILL "$pid" 2>/dev/null || true
    fi
  fi
  rm -f "$f"
}

pg_port() { cat "$PG_BASE/postgres.port" 2>/dev/null; }

start_postgres() {
  local bin port
  bin=$(pg_bindir)
  mkdir -p "$PG_BASE" "$PGSOCKET"
  if [ ! -f "$PGDATA_DIR/PG_VERSION" ]; then
    log "creating the local PostgreSQL cluster in $PGDATA_DIR"
    mkdir -p "$PGDATA_DIR"
    [ "$(id -u)" -eq 0 ] && chown postgres:postgres "$PGDATA_DIR"
    as_pg "$bin/initdb" -D "$PGDATA_DIR" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >"$LOGS/initdb.log" 2>&1 \
      || die "initdb failed; see $LOGS/initdb.log"
  fi
  if [ -z "$(pg_port)" ]; then
    port=$POSTGRES_PORT
    port_in_use "$port" && port=$(free_port)
    echo "$port" >"$PG_BASE/postgres.port"
  fi
  touch "$PGLOG"
  ln -sfn "$PGLOG" "$LOGS/postgres.log"
  if [ "$(id -u)" -eq 0 ]; then
    # The server runs as the postgres user: it must be able to write its socket and its log.
    chown postgres:postgres "$PGSOCKET" "$PGLOG"
  fi
  port=$(pg_port)
  if as_pg "$bin/pg_ctl" -D "$PGDATA_DIR" status >/dev/null 2>&1; then
    log "PostgreSQL already running on port $port"
  else
    port_in_use "$port" && die "port $port (local PostgreSQL) is taken by another program; free it, or delete $PG_BASE/postgres.port to pick another"
    log "starting PostgreSQL on 127.0.0.1:$port"
    (close_inherited_fds && as_pg "$bin/pg_ctl" -D "$PGDATA_DIR" -l "$PGLOG" -w -t 60 \
      -o "-c listen_addresses=127.0.0.1 -p $port -k $PGSOCKET" start >/dev/null </dev/null) \
      || die "PostgreSQL did not start; see $LOGS/postgres.log"
  fi
  "$bin/psql" -h 127.0.0.1 -p "$port" -U postgres -d postgres -tAc "select 1 from pg_database where datname='analytics'" | grep -q 1 \
    || "$bin/psql" -h 127.0.0.1 -p "$port" -U postgres -d postgres -qc "create database analytics" \
    || die "could not create database analytics"
}

stored_events() {
  "$(pg_bindir)/psql" -h 127.0.0.1 -p "$1" -U postgres -d analytics -tAc "select exists (select 1 from raw_events)" 2>/dev/null \
    | grep -q t && echo 1 || echo 0
}

stop_postgres() {
  local bin
  bin=$(pg_bindir)
  [ -n "$bin" ] && [ -f "$PGDATA_DIR/PG_VERSION" ] || return 0
  if as_pg "$bin/pg_ctl" -D "$PGDATA_DIR" status >/dev/null 2>&1; then
    log "stopping PostgreSQL"
    as_pg "$bin/pg_ctl" -D "$PGDATA_DIR" -m fast -w stop >/dev/null
  fi
}

cmd_stop() {
  local s
  for s in "${SERVICES[@]}"; do
    if [ "$s" = silo ]; then
      # The others first, one at a time: each leaves the cluster gracefully (SIGTERM: it stops pulling, hands its
      # partitions and grains to the rest, commits its offsets), and the last one stops the whole work.
      local silos; silos=$(started_silos | tac)
      for s in $silos; do stop_service "$s"; done
    else
      stop_service "$s"
    fi
  done
  stop_postgres
  rm -f "$RUN/kafka-bootstrap" "$RUN/env"
  rm -rf "$PGSOCKET"
  log "stopped"
}

cmd_status() {
  local s
  local silos; silos=$(started_silos)
  for s in producer webapi ${silos:-silo} localbroker; do
    if running "$s"; then echo "$s: running (pid $(cat "$PIDS/$s.pid"))"; else echo "$s: stopped"; fi
  done
  if as_pg "$(pg_bindir)/pg_ctl" -D "$PGDATA_DIR" status >/dev/null 2>&1; then echo "postgres: running (port $(pg_port))"; else echo "postgres: stopped"; fi
}

on_start_exit() {
  local status=$?
  trap - EXIT
  if [ "$status" -ne 0 ]; then
    echo "Start-up failed; stopping what was started." >&2
    cmd_stop
  fi
  exit "$status"
}

# fail_start MESSAGE [LOG]: says why and shows the log's tail; the EXIT trap then stops what was started.
fail_start() {
  echo "error: $1" >&2
  [ -n "${2:-}" ] && { echo "--- last lines of $2 ---" >&2; tail -n 30 "$2" >&2 || true; }
  exit 1
}

cmd_start() {
  local with_producer=1 silos=1
  while [ $# -gt 0 ]; do
    case "$1" in
      --no-producer) with_producer=0 ;;
      --silos)
        [[ "${2:-}" =~ ^[1-9]$ ]] || die "--silos wants a number of silos from 1 to $MAX_SILOS (was '${2:-}')"
        silos=$2; shift ;;
      --silos=*)
        [[ "${1#--silos=}" =~ ^[1-9]$ ]] || die "--silos wants a number of silos from 1 to $MAX_SILOS (was '${1#--silos=}')"
        silos=${1#--silos=} ;;
      -h|--help) usage; exit 0 ;;
      *) die "unknown option '$1' (see ./run_all.sh --help)" ;;
    esac
    shift
  done

  local s
  for s in producer webapi localbroker $(started_silos); do running "$s" && die "$s is already running; ./run_all.sh stop first"; done
  # Silo i (1-based) listens on SILO_HTTP_PORT, SILO_PORT and GATEWAY_PORT plus i - 1.
  local ports=("$API_PORT" "$DASHBOARD_PORT" "$BROKER_CONTROL_PORT") i
  for i in $(seq 0 $((silos - 1))); do ports+=($((SILO_HTTP_PORT + i)) $((SILO_PORT + i)) $((GATEWAY_PORT + i))); done
  for port in "${ports[@]}"; do
    port_in_use "$port" && die "port $port is already in use; stop what holds it (or set API_PORT, DASHBOARD_PORT, SILO_HTTP_PORT, BROKER_CONTROL_PORT, SILO_PORT, GATEWAY_PORT; silo i uses the silo ports + i - 1)"
  done

  ensure_prerequisites
  mkdir -p "$PIDS" "$LOGS"
  # Whatever stops a start half-way (an error, a failed check, Ctrl+C), what was started so far is stopped again.
  trap 'on_start_exit' EXIT
  trap 'exit 130' INT TERM

  if [ "${NO_BUILD:-0}" = 1 ]; then
    log "using the existing $CONFIGURATION build (NO_BUILD=1)"
  else
    log "building ($CONFIGURATION)"
    dotnet build "$ROOT/Services.slnf" -c "$CONFIGURATION" -nologo -clp:ErrorsOnly -v:q >"$LOGS/build.log" 2>&1 \
      || { tail -n 40 "$LOGS/build.log" >&2; die "build failed; see $LOGS/build.log"; }
  fi

  start_postgres
  local pgport; pgport=$(pg_port)
  local pgconn="Host=127.0.0.1;Port=$pgport;Username=postgres;Database=analytics"

  log "starting the local Kafka broker (librdkafka mock cluster, $KAFKA_PARTITIONS partitions)"
  rm -f "$RUN/kafka-bootstrap"
  start_service localbroker LocalBroker -- --bootstrap-file "$RUN/kafka-bootstrap" --partitions "$KAFKA_PARTITIONS" \
    --control-url "http://127.0.0.1:$BROKER_CONTROL_PORT"
  wait_http "http://127.0.0.1:$BROKER_CONTROL_PORT/health" 60 broker "$PIDS/localbroker.pid" \
    || fail_start "the local broker did not come up" "$LOGS/localbroker.log"
  # The control API answers as soon as it listens; the bootstrap file follows once the cluster is up.
  for _ in $(seq 1 100); do [ -s "$RUN/kafka-bootstrap" ] && break; sleep 0.1; done
  [ -s "$RUN/kafka-bootstrap" ] || fail_start "the local broker wrote no bootstrap address" "$LOGS/localbroker.log"
  local bootstrap; bootstrap=$(cat "$RUN/kafka-bootstrap")

  cat >"$RUN/env" <<ENV
# Written by run_all.sh: source it to reach the running pipeline.
KAFKA_BOOTSTRAP=$bootstrap
POSTGRES_CONNECTION='$pgconn'
PGHOST=127.0.0.1
PGPORT=$pgport
PGUSER=postgres
PGDATABASE=analytics
API_URL=http://localhost:$API_PORT
DASHBOARD_URL=http://localhost:$DASHBOARD_PORT
SILO_URL=http://127.0.0.1:$SILO_HTTP_PORT
SILO_URLS='$(for i in $(seq 0 $((silos - 1))); do printf 'http://127.0.0.1:%s ' $((SILO_HTTP_PORT + i)); done | sed 's/ $//')'
BROKER_CONTROL_URL=http://127.0.0.1:$BROKER_CONTROL_PORT
export KAFKA_BOOTSTRAP POSTGRES_CONNECTION PGHOST PGPORT PGUSER PGDATABASE API_URL DASHBOARD_URL SILO_URL SILO_URLS BROKER_CONTROL_URL
ENV

  # One silo: localhost clustering, the embedded default. Several: membership in PostgreSQL (Orleans' ADO.NET
  # clustering), each silo on its own ports; the web API then finds their gateways in the membership table.
  local membership=()
  [ "$silos" -gt 1 ] && membership=("Orleans__Membership=AdoNet")
  # fetch.wait.max.ms: librdkafka's mock broker answers a fetch that finds no new message only after the whole wait
  # (500 ms by default), even if messages arrive meanwhile; Apache Kafka answers as soon as one does. With the local
  # broker a short wait keeps that artefact out of the pipeline's latency (50 ms: p50 from ~310 ms to ~40 ms, measured
  # with a plain consumer at 1,000 events/s, for 12 % more CPU; 10 ms gave 17 ms for 50 % more).
  local name
  for i in $(seq 1 "$silos"); do
    name=$(silo_name "$i")
    log "starting $name$([ "$silos" -gt 1 ] && echo " of $silos (ports $((SILO_PORT + i - 1)), gateway $((GATEWAY_PORT + i - 1)), http $((SILO_HTTP_PORT + i - 1)))")"
    start_service "$name" Silo "Kafka__BootstrapServers=$bootstrap" "Kafka__Partitions=$KAFKA_PARTITIONS" "Postgres__ConnectionString=$pgconn" \
      "Kafka__Properties__fetch.wait.max.ms=50" "${membership[@]}" "Orleans__AdvertisedIPAddress=127.0.0.1" \
      "Urls=http://127.0.0.1:$((SILO_HTTP_PORT + i - 1))" "Orleans__SiloPort=$((SILO_PORT + i - 1))" \
      "Orleans__GatewayPort=$((GATEWAY_PORT + i - 1))" "Churn__ModelDirectory=$MODELS" --
  done
  for i in $(seq 1 "$silos"); do
    name=$(silo_name "$i")
    wait_http "http://127.0.0.1:$((SILO_HTTP_PORT + i - 1))/health/ready" 120 "$name" "$PIDS/$name.pid" \
      || fail_start "$name did not become ready" "$LOGS/$name.log"
  done

  log "starting the web API and dashboard"
  start_service webapi WebApi "Postgres__ConnectionString=$pgconn" "Orleans__GatewayPort=$GATEWAY_PORT" "Churn__ModelDirectory=$MODELS" \
    "${membership[@]}" \
    "Kafka__BootstrapServers=$bootstrap" \
    "Retraining__TrainWhenMissing=true" \
    "Urls=http://127.0.0.1:$API_PORT;http://127.0.0.1:$DASHBOARD_PORT" --
  wait_http "http://127.0.0.1:$API_PORT/health/ready" 60 webapi "$PIDS/webapi.pid" \
    || fail_start "the web API did not become ready" "$LOGS/webapi.log"

  if [ "$with_producer" = 1 ]; then
    local producer_args=${PRODUCER_ARGS:-}
    if [ -z "$producer_args" ]; then
      if [ "$(stored_events "$pgport")" -gt 0 ]; then
        producer_args="$SIMULATION_ARGS"
        log "raw_events already holds history: the simulator continues live"
      else
        producer_args="$SIMULATION_ARGS $HISTORY_ARGS"
      fi
    fi
    log "starting the shop simulator: $producer_args"
    # shellcheck disable=SC2086
    start_service producer Producer "KAFKA_BOOTSTRAP=$bootstrap" -- --bootstrap-servers "$bootstrap" $producer_args
    sleep 1
    running producer || fail_start "the simulator stopped at once" "$LOGS/producer.log"
  fi

  trap - EXIT INT TERM
  cat <<DONE

Pipeline running.
  Dashboard   http://localhost:$DASHBOARD_PORT
  API         http://localhost:$API_PORT   (health: /health/ready)
  Silo        http://127.0.0.1:$SILO_HTTP_PORT/health/ingestion$([ "$silos" -gt 1 ] && echo " (and $((silos - 1)) more on the next ports; cluster membership in PostgreSQL)")
  Kafka       $bootstrap   (topic user_events, $KAFKA_PARTITIONS partitions; development broker)
  PostgreSQL  $pgconn
Addresses: .run/env (source .run/env && psql -c 'select count(*) from raw_events')
Logs:      .run/logs/
Stop:      ./run_all.sh stop
DONE
}

case "${1:-start}" in
  stop) cmd_stop ;;
  status) cmd_status ;;
  start) shift || true; cmd_start "$@" ;;
  -h|--help|help) usage ;;
  *) cmd_start "$@" ;;
esac
