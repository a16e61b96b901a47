#!/usr/bin/env bash
# Kafka transport benchmark, one run, same WAL for every consumer:
#   capture -> Kafka   events/s, against pg_recvlogical reading the same backlog (target >= 0.6x)
#   apply   <- Kafka   rows/s into a PostgreSQL target
# Kafka is librdkafka's mock cluster (3 brokers on loopback, build/stagesync-kafka-mock).
#
#   bash bench/kafka.sh                     # 200k inserts + 200k updates (schemas.enable=false)
#   BENCH_ROWS=100000 bash bench/kafka.sh
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=deploy/lib/pg.sh
source deploy/lib/pg.sh

ROWS=${BENCH_ROWS:-200000}
BIN=build/stagesync
[ -x "$BIN" ] || bash deploy/build.sh
now() { date +%s.%N; }
# wait_for SECONDS LOGFILE CMD...: polls CMD until it succeeds; on timeout shows LOGFILE, returns 1.
wait_for() {
  local limit=$1 logfile=$2; shift 2
  local deadline=$(( $(date +%s) + limit ))
  until "$@"; do
    if [ "$(date +%s)" -ge "$deadline" ]; then
      echo "bench: timed out after ${limit}s; last lines of $logfile:" >&2
      tail -20 "$logfile" >&2
      return 1
    fi
    sleep 0.05
  done
}
slot_done() { [ "$(pg_val src bench "SELECT confirmed_flush_lsn >= '$END' FROM pg_replication_slots WHERE slot_name = 'stagesync'")" = t ]; }
target_done() { [ "$(pg_val dst bench "SELECT count(*) = $ROWS AND min(balance - id) = 1 FROM acct")" = t ]; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }
log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*"; }

WORK=$(mktemp -d /tmp/stagesync-kbench.XXXXXX)
on_exit "rm -rf '$WORK'"
pg_start src
pg_start dst
# The mock keeps a few MB per partition: spread the backlog so nothing is dropped before
# apply reads it (a real broker keeps what its retention says).
build/stagesync-kafka-mock --topic bench.public.acct:64 > "$WORK/mock.out" 2>"$WORK/mock.err" &
MOCK=$!
on_exit "kill $MOCK 2>/dev/null || true"
for _ in $(seq 50); do [ -s "$WORK/mock.out" ] && break; sleep 0.1; done
BROKERS=$(head -1 "$WORK/mock.out")

pg_psql src postgres -qc "CREATE DATABASE bench"
pg_psql dst postgres -qc "CREATE DATABASE bench"
DDL="CREATE TABLE acct (id int PRIMARY KEY, balance bigint NOT NULL, note text, at timestamptz)"
pg_psql src bench -qc "$DDL"
pg_psql dst bench -qc "$DDL"
cat > "$WORK/c.toml" <<TOML
[source]
dsn = "$(pg_dsn src bench)"
tables = ["public.acct"]
[target]
dsn = "$(pg_dsn dst bench)"
[stream]
transport = "kafka"
brokers = "$BROKERS"
topic_prefix = "bench"
schemas_enable = false
TOML
"$BIN" setup -c "$WORK/c.toml" > /dev/null
pg_psql src bench -qc "SELECT pg_create_logical_replication_slot('raw', 'pgoutput')" > /dev/null

log "backlog: $ROWS inserts then $ROWS updates, in 1000-row transactions"
TX=$(( ROWS / 1000 ))
for i in $(seq 0 $((TX - 1))); do
  echo "INSERT INTO acct SELECT g, g, 'note ' || g, now() FROM generate_series($((i * 1000 + 1)), $(((i + 1) * 1000))) g;"
done | pg_psql src bench -q
for i in $(seq 0 $((TX - 1))); do
  echo "UPDATE acct SET balance = balance + 1, at = now() WHERE id > $((i * 1000)) AND id <= $(((i + 1) * 1000));"
done | pg_psql src bench -q
END=$(pg_val src bench "SELECT pg_current_wal_lsn()")
EVENTS=$(( 2 * ROWS ))

log "pg_recvlogical: the same WAL, decoded and transferred, written nowhere"
t0=$(now)
pg_recvlogical -h 127.0.0.1 -p "${PG_PORT[src]}" -U postgres -d bench -S raw --start -E "$END" \
  -o proto_version=1 -o publication_names=stagesync -f /dev/null
t1=$(now)
RAW=$(elapsed "$t0" "$t1")

# timed COMMAND LOG DONE: runs `stagesync COMMAND` until DONE succeeds, prints the seconds it took.
timed() {
  local t0 t1 pid
  t0=$(now)
  "$BIN" "$1" -c "$WORK/c.toml" 2> "$WORK/$2" &
  pid=$!
  if ! wait_for "${BENCH_WAIT:-600}" "$WORK/$2" "$3"; then
    kill -TERM "$pid"
    return 1
  fi
  t1=$(now)
  kill -TERM "$pid"
  wait "$pid" || true
  elapsed "$t0" "$t1"
}
log "stagesync capture -> Kafka"
CAPTURE=$(timed capture capture.err slot_done)
log "stagesync apply <- Kafka"
APPLY=$(timed apply apply.err target_done)
pg_psql src bench -qc "SELECT pg_drop_replication_slot('raw')" > /dev/null

SRC=$(pg_val src bench "SELECT md5(string_agg(acct::text, '|' ORDER BY id)) FROM acct")
DST=$(pg_val dst bench "SELECT md5(string_agg(acct::text, '|' ORDER BY id)) FROM acct")
awk -v ev="$EVENTS" -v raw="$RAW" -v cap="$CAPTURE" -v app="$APPLY" -v rows="$ROWS" \
    -v same="$([ "$SRC" = "$DST" ] && echo OK || echo DIFFERENT)" 'BEGIN {
  printf "\n%-34s %10s %12s\n", "consumer", "time (s)", "events/s"
  printf "%-34s %10.2f %12.0f\n", "pg_recvlogical (decode floor)", raw, ev / raw
  printf "%-34s %10.2f %12.0f\n", "stagesync capture -> Kafka", cap, ev / cap
  printf "%-34s %10.2f %12.0f\n", "stagesync apply <- Kafka", app, ev / app
  r = (ev / cap) / (ev / raw)
  printf "\ncapture vs pg_recvlogical: %.2fx (target >= 0.6x: %s)\n", r, (r >= 0.6 ? "met" : "NOT met")
  printf "target equals source (md5 of %d rows): %s\n", rows, same
}'
