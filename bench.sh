#!/usr/bin/env bash
# Benchmarks that print figures (not tests): the simulator's throughput, the Kafka stream provider's, the user
# grains' with persistence on PostgreSQL, and the churn model's training time and prediction latency.
#
#   ./bench.sh                      all benchmarks but predict (producer, streaming, users, training)
#   ./bench.sh producer             simulator → NDJSON (serialisation alone) and simulator → local broker (Kafka protocol)
#   ./bench.sh streaming [OPTIONS]  Kafka → Orleans subscriber grains through Streaming.Kafka, against a plain consumer
#                                   on the same data (OPTIONS go to the benchmark, e.g. --sweep; see its --help)
#   ./bench.sh users [OPTIONS]      Kafka → the real user grains with their state and churn_features on PostgreSQL:
#                                   events/s and PostgreSQL writes/s, against a throwaway PostgreSQL started here with
#                                   durable settings (fsync, synchronous_commit on). OPTIONS: --events, --users,
#                                   --partitions, --commit-interval, --sweep (adds a 5 s commit interval), --timeout
#   ./bench.sh training [OPTIONS]   churn model training time for 100,000 simulated users: history loaded into a fresh
#                                   database on a throwaway PostgreSQL, then data set, training, model file, each timed.
#                                   OPTIONS: --users, --days, --sessions-per-day, --churn-horizon, --horizon, --seed
#   ./bench.sh latency [OPTIONS]    event-to-dashboard latency against the whole pipeline started here by run_all.sh
#                                   --no-producer in a temporary home: live events produced at 1,000 then 10,000
#                                   events/s, timed until a SignalR client of the dashboard hub is pushed counts that
#                                   include them. OPTIONS: --rates, --warm-up, --duration, --users (see its --help)
#   ./bench.sh throughput [OPTIONS] sustainable throughput of the whole pipeline started here by run_all.sh --no-producer
#                                   in a temporary home (its broker also creates the topic user_events_bare): the highest
#                                   rate, stepped from 5,000/s by ×1.5, that it keeps up with for 60 s (lag bounded,
#                                   raw_events, funnel_summary and churn_features reflect every event within 10 s), the
#                                   same search for a bare pipeline (plain consumer, COPY, funnel counts in memory; no
#                                   Orleans) and their ratio; silo CPU per event at 5,000/s. About 15 minutes. OPTIONS:
#                                   --start-rate, --factor, --max-rate, --duration, --pipelines (see its --help); the
#                                   silo's log is kept as .run/bench/throughput-silo.log
#   ./bench.sh bad-input            throughput with bad input against a clean stream, in the same pipeline (run_all.sh
#                                   --no-producer in a temporary home): recordings of BAD_INPUT_EVENTS valid events,
#                                   clean ones and ones with 1 % bad payloads plus a 1 MB message, sent alternately as
#                                   fast as the producer can (BAD_INPUT_ROUNDS each, after a warm-up), each timed until
#                                   raw_events, dead_letters and funnel_summary hold all of it; silo CPU per message
#   ./bench.sh predict [OPTIONS]    POST /predict under load (requests/s, latency percentiles, CPU of the web API and
#                                   silo) against the whole pipeline started here by run_all.sh in a temporary home
#                                   (a bounded simulated history; waits up to PREDICT_READY_TIMEOUT s for a model).
#                                   OPTIONS: --concurrency (default: 8, 16 and 32 in turn, PREDICT_CONCURRENCY),
#                                   --duration, --warm-up, --users (also the simulator's)
#
# Settings (environment): EVENTS=1000000 RUNS=3 USERS=10000 (producer), NO_BUILD=0,
#   BAD_INPUT_EVENTS=150000 BAD_INPUT_ROUNDS=3 (bad-input),
#   PREDICT_READY_TIMEOUT=600, PREDICT_PRODUCER_ARGS="…" (replaces the simulator's arguments of predict),
#   PREDICT_KNOWN_USERS=1 (predict asks only for users with stored events; 0: user_1..user_N, of whom the ~2 % who
#   never had an event get 404)
# Results: printed as a table, and as JSON in .run/bench/<name>.json.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=scripts/common.sh
source "$ROOT/scripts/common.sh"

EVENTS=${EVENTS:-1000000}
RUNS=${RUNS:-3}
USERS=${USERS:-10000}
OUT=$ROOT/.run/bench
WORK=$(mktemp -d /tmp/analytics-bench-XXXXXX)
BROKER_PID=
PG_DIR=
PIPELINE_HOME=

cleanup() {
  [ -n "$BROKER_PID" ] && kill "$BROKER_PID" 2>/dev/null && wait "$BROKER_PID" 2>/dev/null
  stop_postgres
  stop_pipeline
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

dll() { echo "$ROOT/$1/bin/Release/net10.0/Analytics.$1.dll"; }

median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# run_measured COMMAND…: runs the producer and prints "<events/s as it reports them> <CPU s of the process>".
# The rate is the producer's own (first to last message, start-up excluded); the CPU time includes start-up and JIT.
run_measured() {
  local cpu_before cpu_after rate self=$BASHPID
  # This function runs in a subshell: its children's CPU time is added to its own /proc entry once they are reaped.
  cpu_before=$(awk '{ print $16 + $17 }' "/proc/$self/stat")
  "$@" >"$WORK/last.out" 2>&1 || { cat "$WORK/last.out" >&2; die "benchmark command failed: $*"; }
  cpu_after=$(awk '{ print $16 + $17 }' "/proc/$self/stat")
  rate=$(sed -n 's/^summary: .*(\([0-9,]*\)\/s).*/\1/p' "$WORK/last.out" | tr -d ,)
  [ -n "$rate" ] || { cat "$WORK/last.out" >&2; die "no summary line in the producer's output"; }
  awk -v r="$rate" -v a="$cpu_before" -v b="$cpu_after" -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%s %.3f\n", r, (b - a) / hz }'
}

bench_producer() {
  log "producer: $EVENTS events, $USERS users, $RUNS runs each"
  local bootstrap_file=$WORK/bootstrap control_port
  control_port=$(free_port)
  dotnet "$(dll LocalBroker)" --bootstrap-file "$bootstrap_file" --partitions 8 --control-url "http://127.0.0.1:$control_port" \
    >"$WORK/broker.log" 2>&1 &
  BROKER_PID=$!
  wait_http "http://127.0.0.1:$control_port/health" 60 broker || { cat "$WORK/broker.log" >&2; die "the local broker did not start"; }
  local bootstrap; bootstrap=$(cat "$bootstrap_file")

  local common=(--users "$USERS" --events "$EVENTS" --start -30d --seed 7 --quiet)
  local target run rate cpu rows=()
  for target in file kafka; do
    local rates=() cpus=()
    for run in $(seq 1 "$RUNS"); do
      if [ "$target" = file ]; then
        read -r rate cpu < <(run_measured dotnet "$(dll Producer)" "${common[@]}" --output /dev/null --duration 3650d)
      else
        read -r rate cpu < <(run_measured dotnet "$(dll Producer)" "${common[@]}" --bootstrap-servers "$bootstrap" --speed 0 --rate 0)
      fi
      rates+=("$rate")
      cpus+=("$(awk -v n="$EVENTS" -v c="$cpu" 'BEGIN { printf "%.2f", c * 1e6 / n }')")
      log "  $target run $run: $rate events/s, ${cpu}s CPU (${cpus[-1]} µs/event)"
    done
    rows+=("$target $(printf '%s\n' "${rates[@]}" | median) $(printf '%s\n' "${cpus[@]}" | median)")
  done

  mkdir -p "$OUT"
  {
    echo "{"
    echo "  \"benchmark\": \"producer\", \"events\": $EVENTS, \"users\": $USERS, \"runs\": $RUNS,"
    echo "  \"machine\": \"$(nproc) cores, $(free -g | awk '/Mem:/ { print $2 }') GiB, $(. /etc/os-release && echo "$PRETTY_NAME")\","
    echo "  \"date\": \"$(date -u +%Y-%m-%dT%H:%M:%SZ)\","
    echo "  \"results\": {"
    local i=0 name rate cpu
    for row in "${rows[@]}"; do
      read -r name rate cpu <<<"$row"
      i=$((i + 1))
      printf '    "%s": { "events_per_second_median": %s, "cpu_microseconds_per_event_median": %s }%s\n' \
        "$name" "$rate" "$cpu" "$([ $i -lt ${#rows[@]} ] && echo ,)"
    done
    echo "  }"
    echo "}"
  } >"$OUT/producer.json"

  echo
  printf '%-44s %16s %18s\n' "producer ($EVENTS events, median of $RUNS)" "events/s" "CPU µs/event"
  for row in "${rows[@]}"; do
    read -r name rate cpu <<<"$row"
    case "$name" in
      file) name="simulate + serialise → NDJSON (/dev/null)" ;;
      kafka) name="simulate → local broker (lz4, idempotent)" ;;
    esac
    printf '%-44s %16s %18s\n' "$name" "$(printf "%'d" "$rate" 2>/dev/null || echo "$rate")" "$cpu"
  done
  echo "JSON: $OUT/producer.json"
}

# The streaming benchmark runs in one process: it starts the local broker (librdkafka's mock) itself, produces its data
# set, then measures a plain Confluent consumer and an Orleans silo with the Kafka stream provider on that data.
bench_streaming() {
  log "streaming: Kafka → Orleans grains through Streaming.Kafka, against a plain consumer${*:+ ($*)}"
  mkdir -p "$OUT"
  dotnet "$ROOT/bench/StreamingBenchmark/bin/Release/net10.0/Analytics.StreamingBenchmark.dll" --output "$OUT/streaming.json" "$@" \
    || die "the streaming benchmark failed (exit code $?)"
}

# A throwaway PostgreSQL server for the users benchmark: its own cluster in a temporary directory (on the same disk as
# /tmp), a free port, and the server's durable defaults stated explicitly, so that writes/s are what a real deployment
# pays (every commit waits for its WAL flush). Sets PG_PORT; stop_postgres (from cleanup) removes it all.
start_postgres() {
  local bin; bin=$(pg_bindir)
  PG_DIR=$(mktemp -d /tmp/abench-pg-XXXXXX)
  # initdb refuses root: the server runs as postgres, which must own its directory (socket, log, data).
  [ "$(id -u)" -eq 0 ] && chown postgres:postgres "$PG_DIR"
  as_pg "$bin/initdb" -D "$PG_DIR/data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >"$PG_DIR/initdb.log" 2>&1 \
    || { cat "$PG_DIR/initdb.log" >&2; die "initdb failed"; }
  PG_PORT=$(free_port)
  (close_inherited_fds && as_pg "$bin/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/postgres.log" -w -t 60 \
    -o "-c listen_addresses=127.0.0.1 -p $PG_PORT -k $PG_DIR -c fsync=on -c synchronous_commit=on -c full_page_writes=on" \
    start >/dev/null </dev/null) || { cat "$PG_DIR/postgres.log" >&2; die "PostgreSQL did not start"; }
  log "throwaway PostgreSQL $("$bin/postgres" --version | awk '{ print $NF }') on 127.0.0.1:$PG_PORT ($PG_DIR)"
}

stop_postgres() {
  [ -n "$PG_DIR" ] || return 0
  if [ -f "$PG_DIR/data/postmaster.pid" ]; then
    as_pg "$(pg_bindir)/pg_ctl" -D "$PG_DIR/data" -m immediate -w -t 30 stop >/dev/null 2>&1 || true
  fi
  rm -rf "$PG_DIR"
  PG_DIR=
}

# The users benchmark runs in one process too (broker, data set, silo); PostgreSQL is this script's, passed by
# connection string (the benchmark creates and drops a database per run on it).
bench_users() {
  log "users: Kafka → user grains with persistence on PostgreSQL${*:+ ($*)}"
  mkdir -p "$OUT"
  start_postgres
  local status=0
  dotnet "$ROOT/bench/StreamingBenchmark/bin/Release/net10.0/Analytics.StreamingBenchmark.dll" users \
    --postgres "Host=127.0.0.1;Port=$PG_PORT;Username=postgres;Database=postgres" --output "$OUT/users.json" "$@" || status=$?
  # What PostgreSQL itself complained about (checkpoints too frequent, connection limits, errors), if anything.
  local complaints
  complaints=$(grep -E '(WARNING|ERROR|FATAL|PANIC|LOG:  checkpoints are occurring)' "$PG_DIR/postgres.log" 2>/dev/null || true)
  if [ -n "$complaints" ]; then
    echo "PostgreSQL log: $(printf '%s\n' "$complaints" | wc -l) warnings/errors, first ones:"
    printf '%s\n' "$complaints" | head -5 | sed 's/^/  /'
  else
    echo "PostgreSQL log: no warnings or errors"
  fi
  stop_postgres
  [ "$status" -eq 0 ] || die "the users benchmark failed (exit code $status)"
}

# has_option NAME ARGS…: whether ARGS hold option NAME (as "NAME VALUE" or "NAME=VALUE").
has_option() {
  local name=$1 arg; shift
  for arg in "$@"; do
    [ "$arg" = "$name" ] || [ "${arg%%=*}" = "$name" ] && return 0
  done
  return 1
}

# The training benchmark runs in one process (simulated history, COPY into raw_events, data set, training, model
# file); PostgreSQL is this script's throwaway server, where it creates and drops a database of its own.
bench_training() {
  log "training: churn model training time for a simulated user base${*:+ ($*)}"
  mkdir -p "$OUT"
  start_postgres
  local status=0
  local output=(--output "$OUT/training.json")
  has_option --output "$@" && output=()
  dotnet "$ROOT/bench/ChurnBenchmark/bin/Release/net10.0/Analytics.ChurnBenchmark.dll" training \
    --postgres "Host=127.0.0.1;Port=$PG_PORT;Username=postgres;Database=postgres" "${output[@]}" "$@" || status=$?
  stop_postgres
  [ "$status" -eq 0 ] || die "the training benchmark failed (exit code $status)"
}

# The pipeline of the predict benchmark: run_all.sh with its state in a home of its own under $WORK (stopped and
# deleted with it), on free ports, so that it neither sees nor disturbs a pipeline already running from the checkout.
start_pipeline() {
  local producer_args=$1; shift
  PIPELINE_HOME=$WORK/home
  mkdir -p "$PIPELINE_HOME"
  # As root the PostgreSQL server runs as postgres, which must reach its data under the home (mktemp makes $WORK 700).
  chmod 711 "$WORK"
  local ports=() port
  while [ ${#ports[@]} -lt 7 ]; do
    port=$(free_port)
    [[ " ${ports[*]} " == *" $port "* ]] || ports+=("$port")
  done
  PIPELINE_API_PORT=${ports[0]}
  PIPELINE_DASHBOARD_PORT=${ports[1]}
  log "starting the pipeline (run_all.sh $*, home $PIPELINE_HOME, API on 127.0.0.1:$PIPELINE_API_PORT)${producer_args:+; simulator: $producer_args}"
  ANALYTICS_HOME=$PIPELINE_HOME API_PORT=${ports[0]} DASHBOARD_PORT=${ports[1]} SILO_HTTP_PORT=${ports[2]} \
    BROKER_CONTROL_PORT=${ports[3]} SILO_PORT=${ports[4]} GATEWAY_PORT=${ports[5]} POSTGRES_PORT=${ports[6]} \
    NO_BUILD=1 PRODUCER_ARGS="$producer_args" "$ROOT/run_all.sh" start "$@" >"$WORK/run_all.log" 2>&1 \
    || { cat "$WORK/run_all.log" >&2; die "the pipeline did not start (run_all.sh)"; }
}

stop_pipeline() {
  [ -n "$PIPELINE_HOME" ] || return 0
  log "stopping the pipeline"
  ANALYTICS_HOME=$PIPELINE_HOME "$ROOT/run_all.sh" stop >"$WORK/run_all-stop.log" 2>&1 || cat "$WORK/run_all-stop.log" >&2
  PIPELINE_HOME=
}

# pipeline_env NAME: a value run_all.sh wrote to the pipeline's .run/env (quotes removed); empty if absent.
pipeline_env() {
  sed -n "s/^$1=//p" "$PIPELINE_HOME/.run/env" 2>/dev/null | sed "s/^'\(.*\)'$/\1/"
}

# pipeline_pid_options: "--pid N" for the silo, the web API, the broker and PostgreSQL of the pipeline, for CPU
# figures (PostgreSQL's is its postmaster: the benchmarks count a process with its children, its connections' processes).
pipeline_pid_options() {
  local name dir port
  for name in silo webapi localbroker; do
    [ -s "$PIPELINE_HOME/.run/pids/$name.pid" ] && printf -- '--pid\n%s\n' "$(cat "$PIPELINE_HOME/.run/pids/$name.pid")"
  done
  port=$(pipeline_env PGPORT)
  dir=$([ -n "$port" ] && "$(pg_bindir)/psql" -h 127.0.0.1 -p "$port" -U postgres -d analytics -tAc "show data_directory" 2>/dev/null)
  [ -n "$dir" ] && [ -s "$dir/postmaster.pid" ] && printf -- '--pid\n%s\n' "$(head -1 "$dir/postmaster.pid")"
  return 0
}

# predict_status USER: the HTTP status of POST /predict for USER (000 when nothing answers).
predict_status() {
  curl -s -o /dev/null -w '%{http_code}' --max-time 10 -X POST -H 'Content-Type: application/json' \
    -d "{\"user_id\":\"$1\"}" "http://127.0.0.1:$PIPELINE_API_PORT/predict" 2>/dev/null || true
}

# Where the simulator is: "event time …, lag …" from its last progress line.
simulator_position() {
  tail -n 1 "$PIPELINE_HOME/.run/logs/producer.log" 2>/dev/null | sed -n 's/.*\(event time [^,]*\), \(lag .*\)$/\1, \2/p'
}

# A user with stored events (user_1 may be one of the ~2 % who churn before their first session).
stored_user() {
  local port
  port=$(pipeline_env PGPORT)
  local user=
  [ -n "$port" ] && user=$("$(pg_bindir)/psql" -h 127.0.0.1 -p "$port" -U postgres -d analytics -tAc "select user_id from raw_events limit 1" 2>/dev/null)
  echo "${user:-user_1}"
}

pipeline_events() {
  local port
  port=$(pipeline_env PGPORT)
  [ -n "$port" ] && "$(pg_bindir)/psql" -h 127.0.0.1 -p "$port" -U postgres -d analytics -tAc "select count(*) from raw_events" 2>/dev/null || echo "?"
}

# The predict benchmark: the whole pipeline with a bounded simulated history (users, 14 days, one session a day on
# average, sent at 6,000x so that the history takes ~4 minutes, then live), a wait until POST /predict answers 200
# for user_1 (the pipeline trains its first model once the history is in), then the load.
bench_predict() {
  log "predict: POST /predict under load against the whole pipeline${*:+ ($*)}"
  mkdir -p "$OUT"
  # --users of OPTIONS is the simulator's too: the benchmark asks for user_1..user_N.
  local users=5000 arg prev=
  for arg in "$@"; do
    [ "$prev" = --users ] && users=$arg
    case "$arg" in --users=*) users=${arg#--users=} ;; esac
    prev=$arg
  done
  start_pipeline "${PREDICT_PRODUCER_ARGS:-"--users $users --start -14d --churn-horizon 14d --sessions-per-day 1 --speed 6000 --rate 20000 --truth $WORK/truth.jsonl"}"

  local timeout=${PREDICT_READY_TIMEOUT:-600} started status next_line=0 elapsed
  started=$(date +%s)
  log "waiting for POST /predict to answer 200 for a stored user (history, then the first model; up to $timeout s)"
  while true; do
    status=$(predict_status "$(stored_user)")
    [ "$status" = 200 ] && break
    elapsed=$(( $(date +%s) - started ))
    if [ "$elapsed" -ge "$timeout" ]; then
      echo "POST /predict still answers $status after $timeout s. Last lines of the pipeline's logs:" >&2
      local file
      for file in "$PIPELINE_HOME"/.run/logs/*.log; do
        [ -f "$file" ] && [ "${file##*/}" != initdb.log ] || continue
        echo "--- $file ---" >&2
        tail -n 15 "$file" >&2
      done
      die "POST /predict did not answer 200 within $timeout s (PREDICT_READY_TIMEOUT)"
    fi
    if [ "$elapsed" -ge "$next_line" ]; then
      log "  $elapsed s: /predict answers $status; raw_events holds $(pipeline_events) events; simulator: $(simulator_position)"
      next_line=$((next_line + 10))
    fi
    sleep 2
  done
  log "POST /predict answered 200 after $(( $(date +%s) - started )) s (raw_events: $(pipeline_events) events)"

  local extra=() pid
  if [ "${PREDICT_KNOWN_USERS:-1}" = 1 ]; then
    # Only users with stored events (for a /predict that answers 404 for the others: ~2 % of the simulated users
    # churn before their first session).
    "$(pg_bindir)/psql" -h 127.0.0.1 -p "$(pipeline_env PGPORT)" -U postgres -d analytics -tAc \
      "select distinct user_id from raw_events" >"$WORK/user-ids.txt" || die "could not list the users of raw_events"
    log "asking for the $(wc -l <"$WORK/user-ids.txt") users with stored events (PREDICT_KNOWN_USERS=1)"
    has_option --user-ids "$@" || extra+=(--user-ids "$WORK/user-ids.txt")
  else
    has_option --users "$@" || has_option --user-ids "$@" || extra+=(--users "$users")
  fi
  for pid in webapi silo; do
    [ -s "$PIPELINE_HOME/.run/pids/$pid.pid" ] && extra+=(--pid "$(cat "$PIPELINE_HOME/.run/pids/$pid.pid")")
  done
  # Latency is a matter of how many requests are in flight on two cores: unless OPTIONS name one, the same warm
  # pipeline is measured at 8, 16 and 32 concurrent requests (predict-c<N>.json each).
  local status=0 concurrency
  if has_option --concurrency "$@"; then
    has_option --output "$@" || extra+=(--output "$OUT/predict.json")
    dotnet "$ROOT/bench/ChurnBenchmark/bin/Release/net10.0/Analytics.ChurnBenchmark.dll" predict \
      --url "http://127.0.0.1:$PIPELINE_API_PORT" "${extra[@]}" "$@" || status=$?
  else
    for concurrency in ${PREDICT_CONCURRENCY:-8 16 32}; do
      [ "$status" -eq 0 ] || break
      dotnet "$ROOT/bench/ChurnBenchmark/bin/Release/net10.0/Analytics.ChurnBenchmark.dll" predict \
        --url "http://127.0.0.1:$PIPELINE_API_PORT" "${extra[@]}" --concurrency "$concurrency" --output "$OUT/predict-c$concurrency.json" "$@" \
        || status=$?
    done
  fi
  stop_pipeline
  [ "$status" -eq 0 ] || die "the predict benchmark failed (exit code $status)"
}

# The latency benchmark: the whole pipeline started by run_all.sh without its simulator (nothing else produces), the
# benchmark's own paced producer on the pipeline's broker, and a SignalR client on the dashboard host's hub.
bench_latency() {
  log "latency: event produced → dashboard push, against the whole pipeline${*:+ ($*)}"
  mkdir -p "$OUT"
  start_pipeline "" --no-producer
  local bootstrap extra=() name
  bootstrap=$(pipeline_env KAFKA_BOOTSTRAP)
  [ -n "$bootstrap" ] || die "run_all.sh wrote no KAFKA_BOOTSTRAP to $PIPELINE_HOME/.run/env"
  mapfile -t -O "${#extra[@]}" extra < <(pipeline_pid_options)
  has_option --output "$@" || extra+=(--output "$OUT/latency.json")
  local status=0
  dotnet "$ROOT/bench/PipelineBenchmark/bin/Release/net10.0/Analytics.PipelineBenchmark.dll" latency \
    --bootstrap-servers "$bootstrap" --url "http://127.0.0.1:$PIPELINE_DASHBOARD_PORT" "${extra[@]}" "$@" || status=$?
  stop_pipeline
  [ "$status" -eq 0 ] || die "the latency benchmark failed (exit code $status)"
}

# The bad-input benchmark. Every recording has the same number of valid events (3,000 users, its own seed and month, so
# that no recording repeats another's events and event time only moves forward); a bad one has 1 % extra payloads the
# contract refuses, of every kind the simulator writes, and one 1 MB message. Each is replayed at the producer's full
# speed (lz4, linger 100 ms: the local broker keeps 5 MiB per partition) and timed from the producer's start until
# raw_events, dead_letters and funnel_summary (counted + late) hold all of it: the pipeline's backlog throughput.
bench_bad_input() {
  local events=${BAD_INPUT_EVENTS:-150000} rounds=${BAD_INPUT_ROUNDS:-3}
  log "bad input: $events valid events per recording, clean against 1 % bad plus a 1 MB message, $rounds rounds each"
  mkdir -p "$OUT"
  start_pipeline "" --no-producer
  local bootstrap pgport silo silo_url hz
  silo_url=$(pipeline_env SILO_URL)
  bootstrap=$(pipeline_env KAFKA_BOOTSTRAP)
  pgport=$(pipeline_env PGPORT)
  silo=$(cat "$PIPELINE_HOME/.run/pids/silo.pid")
  hz=$(getconf CLK_TCK)
  [ -n "$bootstrap" ] && [ -n "$pgport" ] || die "run_all.sh wrote no KAFKA_BOOTSTRAP or PGPORT to $PIPELINE_HOME/.run/env"
  sql() { "$(pg_bindir)/psql" -h 127.0.0.1 -p "$pgport" -U postgres -d analytics -tAc "$1"; }
  # "stored dead_lettered counted": the silo's ingestion counters (no count over raw_events while it works) and the
  # windows' counts (a few hundred rows).
  progress() {
    local status
    status=$(curl -s --max-time 5 "$silo_url/health/ingestion") || die "the silo's /health/ingestion did not answer"
    printf '%s %s %s\n' "$(sed -n 's/.*"inserted":\([0-9]*\).*/\1/p' <<<"$status")" "$(sed -n 's/.*"deadLettered":\([0-9]*\).*/\1/p' <<<"$status")" \
      "$(sql "select coalesce(sum(views + add_to_carts + purchases + late_events), 0) from funnel_summary")"
  }

  # record NAME INDEX MALFORMED: the recording $WORK/NAME.ndjson; prints its number of messages the contract refuses.
  record() {
    local file=$WORK/$1.ndjson month=$((4 + $2)) malformed
    dotnet "$(dll Producer)" --output "$file" --users 3000 --events "$events" --seed $((100 + $2)) \
      --start "$(printf '2026-%02d-01T00:00:00Z' "$month")" --malformed-fraction "$3" --quiet >"$WORK/record.out" 2>&1 \
      || { cat "$WORK/record.out" >&2; die "recording $1 failed"; }
    malformed=$(sed -n 's/.*malformed \([0-9,]*\).*/\1/p' "$WORK/record.out" | tr -d ,)
    if [ "$3" != 0 ]; then
      # One 1 MB message in the middle: a valid event with a megabyte of unknown field (refused as TooLarge).
      local lines middle
      lines=$(wc -l <"$file"); middle=$((lines / 2))
      { head -n "$middle" "$file"
        printf '{"event_id":"%s","user_id":"user_1","session_id":"s-giant","event_type":"purchase","product_id":"p_1","category":"books","price":19.99,"event_time":"%s","notes":"' \
          "$(cat /proc/sys/kernel/random/uuid)" "$(printf '2026-%02d-01T01:00:00.000Z' "$month")"
        head -c 1000000 /dev/zero | tr '\0' x
        printf '"}\n'
        tail -n +"$((middle + 1))" "$file"; } >"$file.tmp" && mv "$file.tmp" "$file"
      malformed=$((malformed + 1))
    fi
    echo "$malformed"
  }

  # replay NAME DEAD: sends the recording, waits until all of it is stored and counted; prints "seconds silo_cpu_s".
  replay() {
    local raw0 dead0 funnel0 raw dead funnel cpu0 cpu1 t0 t1 deadline
    read -r raw0 dead0 funnel0 <<<"$(progress)"
    cpu0=$(awk '{ print $14 + $15 }' "/proc/$silo/stat")
    t0=$(date +%s.%N)
    dotnet "$(dll Producer)" --bootstrap-servers "$bootstrap" --from-file "$WORK/$1.ndjson" --rate 0 --linger 100 --quiet \
      >"$WORK/replay.out" 2>&1 || { cat "$WORK/replay.out" >&2; die "replaying $1 failed"; }
    deadline=$(( $(date +%s) + 600 ))
    while true; do
      read -r raw dead funnel <<<"$(progress)"
      [ $((raw - raw0)) -ge "$events" ] && [ $((dead - dead0)) -ge "$2" ] && [ $((funnel - funnel0)) -ge "$events" ] && break
      [ "$(date +%s)" -lt "$deadline" ] || die "$1: after 600 s only $((raw - raw0)) events, $((dead - dead0)) dead letters, $((funnel - funnel0)) counted"
      ! grep -q "were never read" "$PIPELINE_HOME"/.run/logs/silo.log || die "the local broker dropped unread messages (5 MiB per partition): $(grep -m1 'were never read' "$PIPELINE_HOME"/.run/logs/silo.log)"
      sleep 0.1
    done
    t1=$(date +%s.%N)
    cpu1=$(awk '{ print $14 + $15 }' "/proc/$silo/stat")
    [ $((raw - raw0)) -eq "$events" ] && [ $((dead - dead0)) -eq "$2" ] && [ $((funnel - funnel0)) -eq "$events" ] \
      || die "$1: $((raw - raw0)) events stored, $((dead - dead0)) dead letters, $((funnel - funnel0)) counted; expected $events, $2, $events"
    awk -v a="$t0" -v b="$t1" -v c0="$cpu0" -v c1="$cpu1" -v hz="$hz" 'BEGIN { printf "%.3f %.3f\n", b - a, (c1 - c0) / hz }'
  }

  local i name dead result seconds cpu kind rows=() clean_rates=() bad_rates=()
  log "recording $((2 * rounds + 1)) files"
  record warmup 0 0 >/dev/null
  for i in $(seq 1 "$rounds"); do
    record "clean$i" $((2 * i - 1)) 0 >"$WORK/clean$i.dead"
    record "bad$i" $((2 * i)) 0.01 >"$WORK/bad$i.dead"
  done
  log "warm-up: $events clean events"
  replay warmup 0 >/dev/null
  printf '%-8s %10s %12s %12s %14s %14s\n' run messages dead_letters seconds valid_ev/s silo_cpu_us/msg
  for i in $(seq 1 "$rounds"); do
    for kind in clean bad; do
      name=$kind$i
      dead=$(cat "$WORK/$name.dead")
      result=$(replay "$name" "$dead")
      read -r seconds cpu <<<"$result"
      local rate per
      rate=$(awk -v n="$events" -v s="$seconds" 'BEGIN { printf "%.0f", n / s }')
      per=$(awk -v c="$cpu" -v n="$((events + dead))" 'BEGIN { printf "%.1f", c * 1e6 / n }')
      printf '%-8s %10d %12d %12s %14s %14s\n' "$name" $((events + dead)) "$dead" "$seconds" "$rate" "$per"
      rows+=("{\"run\":\"$name\",\"messages\":$((events + dead)),\"dead_letters\":$dead,\"seconds\":$seconds,\"valid_events_per_s\":$rate,\"silo_cpu_us_per_message\":$per}")
      if [ "$kind" = clean ]; then clean_rates+=("$rate"); else bad_rates+=("$rate"); fi
    done
  done
  # Every valid event once in raw_events, every refused message in dead_letters, nothing else (warm-up included).
  local total_dead=0 stored letters
  for i in $(seq 1 "$rounds"); do total_dead=$((total_dead + $(cat "$WORK/bad$i.dead"))); done
  stored=$(sql "select count(*) from raw_events"); letters=$(sql "select count(*) from dead_letters")
  [ "$stored" -eq $(((2 * rounds + 1) * events)) ] && [ "$letters" -eq "$total_dead" ] \
    || die "raw_events holds $stored rows and dead_letters $letters; expected $(((2 * rounds + 1) * events)) and $total_dead"
  log "raw_events: $stored rows, dead_letters: $letters (each message once)"
  local clean_median bad_median
  clean_median=$(printf '%s\n' "${clean_rates[@]}" | median)
  bad_median=$(printf '%s\n' "${bad_rates[@]}" | median)
  awk -v c="$clean_median" -v b="$bad_median" 'BEGIN { printf "median valid events/s: clean %.0f, with bad input %.0f (%.1f %% of clean; target: at least 90 %%)\n", c, b, 100 * b / c }'
  { printf '{"events":%d,"rounds":%d,"machine":"%s","clean_median_valid_events_per_s":%s,"bad_median_valid_events_per_s":%s,"runs":[' \
      "$events" "$rounds" "$(nproc) cores, $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo)" "$clean_median" "$bad_median"
    (IFS=,; printf '%s' "${rows[*]}"); printf ']}\n'; } >"$OUT/bad-input.json"
  log "JSON: $OUT/bad-input.json"
  stop_pipeline
}

# The throughput benchmark: the whole pipeline started by run_all.sh without its simulator, its broker creating a second
# topic for the bare pipeline (the mock broker has no CreateTopics); the benchmark's paced producer, its bare consumer
# (a process of its own) and the silo's /health/ingestion counters. Messages the broker dropped before the silo read
# them (it keeps ~5 MiB per partition) are what the silo's log calls "never read": shown after the run if any.
bench_throughput() {
  log "throughput: sustainable rate of the whole pipeline against a bare pipeline${*:+ ($*)}"
  mkdir -p "$OUT"
  LocalBroker__Topics=user_events,user_events_bare start_pipeline "" --no-producer
  local bootstrap postgres silo_url extra=() name
  bootstrap=$(pipeline_env KAFKA_BOOTSTRAP)
  postgres=$(pipeline_env POSTGRES_CONNECTION)
  silo_url=$(pipeline_env SILO_URL)
  [ -n "$bootstrap" ] && [ -n "$postgres" ] && [ -n "$silo_url" ] \
    || die "run_all.sh wrote no KAFKA_BOOTSTRAP, POSTGRES_CONNECTION or SILO_URL to $PIPELINE_HOME/.run/env"
  mapfile -t -O "${#extra[@]}" extra < <(pipeline_pid_options)
  has_option --output "$@" || extra+=(--output "$OUT/throughput.json")
  local status=0
  dotnet "$ROOT/bench/PipelineBenchmark/bin/Release/net10.0/Analytics.PipelineBenchmark.dll" throughput \
    --bootstrap-servers "$bootstrap" --postgres "$postgres" --silo-url "$silo_url" "${extra[@]}" "$@" || status=$?
  # The silo's log is kept beside the JSON: where the pipeline stops keeping up, it says why (slow writes, lost messages).
  cp "$PIPELINE_HOME/.run/logs/silo.log" "$OUT/throughput-silo.log" 2>/dev/null || true
  local never_read
  never_read=$(grep -c "were never read" "$PIPELINE_HOME/.run/logs/silo.log" 2>/dev/null || true)
  if [ "${never_read:-0}" -gt 0 ]; then
    echo "silo log: $never_read lines about messages the broker dropped before they were read; first: $(grep -m1 "were never read" "$PIPELINE_HOME/.run/logs/silo.log")"
  fi
  stop_pipeline
  [ "$status" -eq 0 ] || die "the throughput benchmark failed (exit code $status)"
}

build() {
  [ "${NO_BUILD:-0}" = 1 ] && return
  log "building (Release)"
  local target
  for target in "$@"; do
    dotnet build "$ROOT/$target" -c Release -nologo -v:q -clp:ErrorsOnly >/dev/null
  done
}

case "${1:-all}" in
  producer) ensure_prerequisites; build Services.slnf; bench_producer ;;
  streaming) shift; ensure_prerequisites; build bench/StreamingBenchmark; bench_streaming "$@" ;;
  users) shift; ensure_prerequisites; build bench/StreamingBenchmark; bench_users "$@" ;;
  training) shift; ensure_prerequisites; build bench/ChurnBenchmark; bench_training "$@" ;;
  predict) shift; ensure_prerequisites; build Services.slnf bench/ChurnBenchmark; bench_predict "$@" ;;
  latency) shift; ensure_prerequisites; build Services.slnf bench/PipelineBenchmark; bench_latency "$@" ;;
  throughput) shift; ensure_prerequisites; build Services.slnf bench/PipelineBenchmark; bench_throughput "$@" ;;
  bad-input) ensure_prerequisites; build Services.slnf; bench_bad_input ;;
  all)
    ensure_prerequisites; build Services.slnf bench/StreamingBenchmark bench/ChurnBenchmark
    bench_producer; echo; bench_streaming; echo; bench_users; echo; bench_training ;;
  -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0" ;;
  *) die "unknown benchmark '$1' (see ./bench.sh --help)" ;;
esac
