#!/usr/bin/env bash
# Benchmarks that print figures (not tests): the simulator's throughput, and the Kafka stream provider's.
#
#   ./bench.sh                      all benchmarks
#   ./bench.sh producer             simulator → NDJSON (serialisation alone) and simulator → local broker (Kafka protocol)
#   ./bench.sh streaming [OPTIONS]  Kafka → Orleans subscriber grains through Streaming.Kafka, against a plain consumer
#                                   on the same data (OPTIONS go to the benchmark, e.g. --sweep; see its --help)
#
# Settings (environment): EVENTS=1000000 RUNS=3 USERS=10000 (producer), NO_BUILD=0
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

cleanup() {
  [ -n "$BROKER_PID" ] && kill "$BROKER_PID" 2>/dev/null && wait "$BROKER_PID" 2>/dev/null
  rm -rf "$WORK"
}
trap cleanup EXIT

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
  all) ensure_prerequisites; build Services.slnf bench/StreamingBenchmark; bench_producer; echo; bench_streaming ;;
  -h|--help) sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//' ;;
  *) die "unknown benchmark '$1' (see ./bench.sh --help)" ;;
esac
