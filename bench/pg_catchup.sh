#!/usr/bin/env bash
# Catch-up benchmark: stagesync run vs PostgreSQL's own logical replication, same backlog.
#
#   bash bench/pg_catchup.sh                 # full size (~10-20 min on 2 cores)
#   BENCH_SCALE=0.1 bash bench/pg_catchup.sh # a tenth of every case
#
# One source server and one target server (throwaway PostgreSQL 15 on loopback). Per case:
# the source database is initialized and copied to two target databases (one per consumer);
# both slots are created (stagesync setup; CREATE SUBSCRIPTION ... WITH (enabled = false),
# which creates its slot); the backlog is generated once and ends with a marker row update;
# then each consumer is started alone and timed until the marker is visible in its target
# database (everything before it is applied then). Consumers are measured in alternating order.
#
#   (a) 1M row updates in 100 transactions (pgbench_accounts, scale 10)
#   (b) 100k small pgbench tpcb-like transactions (scale 1, pgbench -c 1 -n)
#   (c) one 2M-row transaction: peak RSS (VmHWM) of stagesync run; target <= 256 MB
#
# Both targets are checked against the source after each case (row counts + md5).
# Environment: BENCH_SCALE (default 1), BENCH_CASES (default "a b c"), BENCH_NATIVE_OPTS
# (extra subscription options, e.g. "streaming = on"), BENCH_TIMEOUT (s per consumer, 1800),
# BENCH_SKIP_BUILD=1, STAGESYNC_BIN (default build/stagesync), PG_KEEP=1.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

BENCH_SCALE=${BENCH_SCALE:-1}
BENCH_CASES=${BENCH_CASES:-a b c}
BENCH_TIMEOUT=${BENCH_TIMEOUT:-1800}
BENCH_NATIVE_OPTS=${BENCH_NATIVE_OPTS:-}
BENCH_CONSUMERS=${BENCH_CONSUMERS:-stagesync native}
BIN=${STAGESYNC_BIN:-$ROOT/build/stagesync}
uses() { [[ " $BENCH_CONSUMERS " == *" $1 "* ]]; }

scaled() { awk -v n="$1" -v s="$BENCH_SCALE" 'BEGIN { v = int(n * s + 0.5); print (v < 1 ? 1 : v) }'; }
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }
log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*"; }
die() { echo "bench: $*" >&2; exit 1; }

A_ROWS=$(scaled 1000000)
A_TX=100
B_TX=$(scaled 100000)
C_ROWS=$(scaled 2000000)

if uses stagesync; then
  if [[ "${BENCH_SKIP_BUILD:-0}" != 1 ]]; then
    bash deploy/build.sh
  fi
  [[ -x "$BIN" ]] || die "no binary at $BIN"
fi

# shellcheck source=deploy/lib/pg.sh
source deploy/lib/pg.sh
# shellcheck source=deploy/lib/compare.sh
source deploy/lib/compare.sh

WORK=$(mktemp -d /tmp/stagesync-bench.XXXXXX)
on_exit "rm -rf '$WORK'"

log "starting source and target servers"
pg_start src
pg_start tgt
log "source port ${PG_PORT[src]}, target port ${PG_PORT[tgt]}; BENCH_SCALE=$BENCH_SCALE"

declare -A RESULT=()

# --- case setup --------------------------------------------------------------------------

init_pgbench() { # DB SCALE
  PGOPTIONS='-c client_min_messages=warning' pgbench -q -i -s "$2" -h 127.0.0.1 -p "${PG_PORT[src]}" -U postgres "$1" \
    >"$WORK/pgbench-init-$1.log" 2>&1 || { cat "$WORK/pgbench-init-$1.log" >&2; die "pgbench -i failed"; }
  # pgbench_history has no key; give it one so both consumers can apply it by key.
  pg_psql src "$1" -c "ALTER TABLE pgbench_history ADD COLUMN hid bigserial PRIMARY KEY"
}

init_big() { # DB
  pg_psql src "$1" -c "CREATE TABLE big (id bigint PRIMARY KEY, k integer NOT NULL, payload text NOT NULL)"
}

# prepare_case NAME: source db NAME initialized by the caller; copies it to NAME_ss and
# NAME_native on the target, then creates both slots.
prepare_case() {
  local name=$1
  pg_psql src "$name" -c "CREATE TABLE bench_marker (id integer PRIMARY KEY, v bigint NOT NULL); INSERT INTO bench_marker VALUES (1, 0)"
  for db in "${name}_ss" "${name}_native"; do
    pg_psql tgt postgres -c "CREATE DATABASE $db"
    pg_dump -h 127.0.0.1 -p "${PG_PORT[src]}" -U postgres --no-publications --no-subscriptions "$name" |
      pg_psql tgt "$db" >/dev/null
  done
  cat >"$WORK/$name.toml" <<EOF
[source]
kind = "postgres"
dsn = "$(pg_dsn src "$name")"
tables = ["public.*"]
slot = "stagesync_$name"
publication = "stagesync_$name"

[target]
kind = "postgres"
dsn = "$(pg_dsn tgt "${name}_ss")"

[monitor]
listen = "127.0.0.1:$(free_port)"
heartbeat_interval = "1s"
EOF
  if uses stagesync; then
    "$BIN" setup -c "$WORK/$name.toml" >"$WORK/$name-setup.log" 2>&1 ||
      { cat "$WORK/$name-setup.log" >&2; die "stagesync setup failed for case $name"; }
  fi
  pg_psql src "$name" -c "CREATE PUBLICATION native_$name FOR TABLES IN SCHEMA public"
  local opts="enabled = false, copy_data = false"
  [[ -n "$BENCH_NATIVE_OPTS" ]] && opts="$opts, $BENCH_NATIVE_OPTS"
  # A third slot, read by pg_recvlogical into /dev/null: decoding + transfer with no apply,
  # a reference point (not a strict bound: pg_recvlogical has its own per-message cost).
  pg_val src "$name" "SELECT lsn FROM pg_create_logical_replication_slot('floor_$name', 'pgoutput')" >/dev/null
  PGOPTIONS="-c client_min_messages=warning" pg_psql tgt "${name}_native" -c "CREATE SUBSCRIPTION native_$name
    CONNECTION '$(pg_dsn src "$name")' PUBLICATION native_$name WITH ($opts)"
}

# finish_backlog NAME: the marker update that closes the backlog; records WAL volume.
finish_backlog() {
  local name=$1
  pg_psql src "$name" -c "UPDATE bench_marker SET v = v + 1 WHERE id = 1"
  RESULT[$name.wal]=$(pg_val src "$name" "SELECT pg_size_pretty(pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn))
    FROM pg_replication_slots WHERE slot_name = 'native_$name'")
  RESULT[$name.lsn]=$(pg_val src "$name" "SELECT pg_current_wal_lsn()")
  log "case $name: backlog is ${RESULT[$name.wal]} of WAL (source LSN ${RESULT[$name.lsn]})"
}

marker_seen() { # TARGET_DB
  [[ $(pg_val tgt "$1" "SELECT v FROM bench_marker WHERE id = 1" 2>/dev/null) == 1 ]]
}

# --- the two consumers -------------------------------------------------------------------

measure_native() { # NAME
  local name=$1 t0 t1
  log "case $name: native logical replication catching up"
  t0=$(now)
  pg_psql tgt "${name}_native" -c "ALTER SUBSCRIPTION native_$name ENABLE"
  until marker_seen "${name}_native"; do
    [[ $(elapsed "$t0" "$(now)" | cut -d. -f1) -lt $BENCH_TIMEOUT ]] || die "native did not catch up in ${BENCH_TIMEOUT}s"
    sleep 0.1
  done
  t1=$(now)
  RESULT[$name.native]=$(elapsed "$t0" "$t1")
  pg_psql tgt "${name}_native" -c "ALTER SUBSCRIPTION native_$name DISABLE"
  log "case $name: native caught up in ${RESULT[$name.native]} s (slot confirmed_flush_lsn $(pg_val src "$name" \
    "SELECT confirmed_flush_lsn FROM pg_replication_slots WHERE slot_name = 'native_$name'"))"
}

measure_floor() { # NAME
  local name=$1 t0
  t0=$(now)
  pg_recvlogical -h 127.0.0.1 -p "${PG_PORT[src]}" -U postgres -d "$name" -S "floor_$name" \
    --start --endpos="${RESULT[$name.lsn]}" -o proto_version=1 -o publication_names="native_$name" \
    --no-loop -f /dev/null 2>"$WORK/$name-floor.log" || { cat "$WORK/$name-floor.log" >&2; RESULT[$name.floor]="?"; return 0; }
  RESULT[$name.floor]=$(elapsed "$t0" "$(now)")
  log "case $name: pg_recvlogical > /dev/null took ${RESULT[$name.floor]} s"
}

run_pid=""
stop_run() {
  [[ -n "$run_pid" ]] || return 0
  local rc=0
  stop_gracefully "$run_pid" || rc=$?
  run_pid=""
  return "$rc"
}
on_exit "stop_run"

hwm_kb() { awk '/^VmHWM:/ { print $2 }' "/proc/$1/status" 2>/dev/null || echo 0; }

measure_stagesync() { # NAME
  local name=$1 t0 t1 hwm=0 h js
  log "case $name: stagesync run catching up"
  t0=$(now)
  "$BIN" run -c "$WORK/$name.toml" >"$WORK/$name-run.log" 2>&1 &
  run_pid=$!
  until marker_seen "${name}_ss"; do
    if ! kill -0 "$run_pid" 2>/dev/null; then
      tail -30 "$WORK/$name-run.log" >&2
      die "stagesync run exited during case $name"
    fi
    h=$(hwm_kb "$run_pid")
    ((h > hwm)) && hwm=$h
    [[ $(elapsed "$t0" "$(now)" | cut -d. -f1) -lt $BENCH_TIMEOUT ]] || die "stagesync did not catch up in ${BENCH_TIMEOUT}s"
    sleep 0.1
  done
  t1=$(now)
  h=$(hwm_kb "$run_pid")
  ((h > hwm)) && hwm=$h
  RESULT[$name.stagesync]=$(elapsed "$t0" "$t1")
  RESULT[$name.rss]=$((hwm / 1024))
  js=$("$BIN" status -c "$WORK/$name.toml" --json 2>/dev/null || echo '{}')
  log "case $name: stagesync caught up in ${RESULT[$name.stagesync]} s, peak RSS ${RESULT[$name.rss]} MB; status: $js"
  stop_run || die "stagesync run did not exit 0 after SIGTERM (case $name); log: $WORK/$name-run.log"
}

check_targets() { # NAME CONSUMERS...
  local name=$1 c
  shift
  for c in "$@"; do
    if compare_pg "$(pg_dsn src "$name")" "$(pg_dsn tgt "${name}_$c")" public >"$WORK/$name-$c-compare.txt"; then
      RESULT[$name.check_$c]=OK
    else
      RESULT[$name.check_$c]=DIFF
      cat "$WORK/$name-$c-compare.txt"
    fi
  done
}

cleanup_case() { # NAME
  local name=$1
  pg_psql tgt "${name}_native" -c "ALTER SUBSCRIPTION native_$name DISABLE" 2>/dev/null || true
  pg_psql tgt "${name}_native" -c "DROP SUBSCRIPTION native_$name" 2>/dev/null || true
  if uses stagesync; then "$BIN" teardown -c "$WORK/$name.toml" >/dev/null 2>&1 || true; fi
  pg_psql src postgres -c "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE database = '$name'" >/dev/null 2>&1 || true
  pg_psql src postgres -c "DROP DATABASE IF EXISTS $name" || true
  pg_psql tgt postgres -c "DROP DATABASE IF EXISTS ${name}_ss" -c "DROP DATABASE IF EXISTS ${name}_native" || true
}

measure_both() { # NAME FIRST
  local checks=()
  if [[ $2 == native ]]; then
    if uses native; then measure_native "$1"; checks+=(native); fi
    if uses stagesync; then measure_stagesync "$1"; checks+=(ss); fi
  else
    if uses stagesync; then measure_stagesync "$1"; checks+=(ss); fi
    if uses native; then measure_native "$1"; checks+=(native); fi
  fi
  measure_floor "$1"
  RESULT[$1.order]=$2
  check_targets "$1" "${checks[@]}"
}

# --- the cases ---------------------------------------------------------------------------

case_a() {
  local scale t0 chunk lo hi i
  scale=$(((A_ROWS + 99999) / 100000))
  log "case a: pgbench -i -s $scale; then $A_ROWS row updates in $A_TX transactions"
  pg_psql src postgres -c "CREATE DATABASE a"
  init_pgbench a "$scale"
  prepare_case a
  chunk=$(((A_ROWS + A_TX - 1) / A_TX))
  t0=$(now)
  for ((i = 0; i < A_TX; i++)); do
    lo=$((i * chunk + 1))
    hi=$(((i + 1) * chunk))
    ((hi > A_ROWS)) && hi=$A_ROWS
    echo "UPDATE pgbench_accounts SET abalance = abalance + $((i + 1)), filler = 'u$i' WHERE aid BETWEEN $lo AND $hi;"
  done | PGOPTIONS='-c synchronous_commit=off' pg_psql src a
  log "case a: backlog generated in $(elapsed "$t0" "$(now)") s"
  finish_backlog a
  measure_both a stagesync
  cleanup_case a
}

case_b() {
  local t0
  log "case b: pgbench -i -s 1; then $B_TX tpcb-like transactions (pgbench -c 1 -n)"
  pg_psql src postgres -c "CREATE DATABASE b"
  init_pgbench b 1
  prepare_case b
  t0=$(now)
  PGOPTIONS='-c synchronous_commit=off' pgbench -n -c 1 -t "$B_TX" -b tpcb-like \
    -h 127.0.0.1 -p "${PG_PORT[src]}" -U postgres b >"$WORK/pgbench-b.log" 2>&1 ||
    { cat "$WORK/pgbench-b.log" >&2; die "pgbench failed"; }
  log "case b: backlog generated in $(elapsed "$t0" "$(now)") s ($(grep -m1 '^tps' "$WORK/pgbench-b.log" || true))"
  finish_backlog b
  measure_both b native
  cleanup_case b
}

case_c() {
  local t0
  log "case c: one transaction inserting $C_ROWS rows"
  pg_psql src postgres -c "CREATE DATABASE c"
  init_big c
  prepare_case c
  t0=$(now)
  pg_psql src c -c "INSERT INTO big SELECT g, g % 1000, md5(g::text) || repeat('x', 68) FROM generate_series(1, $C_ROWS) g"
  log "case c: backlog generated in $(elapsed "$t0" "$(now)") s"
  finish_backlog c
  measure_stagesync c
  measure_floor c
  RESULT[c.order]=stagesync
  # Compare by count and sums (an md5 over 2M rows of text is needlessly heavy here).
  local q="SELECT count(*) || '/' || coalesce(sum(id), 0) || '/' || coalesce(sum(length(payload)), 0) FROM big"
  if [[ $(pg_val src c "$q") == $(pg_val tgt c_ss "$q") ]]; then RESULT[c.check_ss]=OK; else RESULT[c.check_ss]=DIFF; fi
  cleanup_case c
}

for c in $BENCH_CASES; do
  case $c in
    a) case_a ;;
    b) case_b ;;
    c) if uses stagesync; then case_c; else log "case c needs stagesync; skipped"; fi ;;
    *) die "unknown case '$c' (a, b or c)" ;;
  esac
done

# --- summary -----------------------------------------------------------------------------

ratio() { awk -v n="$1" -v s="$2" 'BEGIN { if (s > 0) printf "%.2f", n / s; else print "-" }'; }
verdict() { [[ $1 == - ]] && { echo "-"; return; }; awk -v r="$1" 'BEGIN { print (r + 0 >= 1.5 ? "met" : "NOT met") }'; }
echo
echo "stagesync catch-up benchmark (BENCH_SCALE=$BENCH_SCALE; $(nproc) cores; PostgreSQL $(pg_val src postgres 'SHOW server_version'))"
printf '%-34s %-9s %-11s %-12s %-9s %-15s %-9s %-15s %s\n' case backlog "native (s)" "stagesync (s)" ratio "target" "rss (MB)" "recvlogical (s)" "checks (ss/native)"
for c in $BENCH_CASES; do
  case $c in
    a) label="(a) $A_ROWS updates in $A_TX tx" ;;
    b) label="(b) $B_TX pgbench tpcb-like tx" ;;
    c) label="(c) one $C_ROWS-row tx" ;;
  esac
  if [[ $c == c ]]; then
    rss=${RESULT[c.rss]:-?}
    rss_ok="-"
    if [[ $rss != "?" ]]; then rss_ok=$( ((rss <= 256)) && echo met || echo "NOT met"); fi
    printf '%-34s %-9s %-11s %-12s %-9s %-15s %-9s %-15s %s\n' "$label" "${RESULT[c.wal]:-?}" "-" \
      "${RESULT[c.stagesync]:-?}" "-" "rss<=256 $rss_ok" "$rss" "${RESULT[c.floor]:-?}" "${RESULT[c.check_ss]:-?}/-"
  else
    r=$(ratio "${RESULT[$c.native]:-0}" "${RESULT[$c.stagesync]:-0}")
    printf '%-34s %-9s %-11s %-12s %-9s %-15s %-9s %-15s %s\n' "$label" "${RESULT[$c.wal]:-?}" \
      "${RESULT[$c.native]:-?}" "${RESULT[$c.stagesync]:-?}" "$r" ">=1.5 $(verdict "$r")" \
      "${RESULT[$c.rss]:-?}" "${RESULT[$c.floor]:-?}" "${RESULT[$c.check_ss]:-?}/${RESULT[$c.check_native]:-?}"
  fi
done
echo "ratio = native time / stagesync time (higher is better for stagesync); first measured: a=${RESULT[a.order]:-}, b=${RESULT[b.order]:-}"
echo "recvlogical = the same backlog read by pg_recvlogical into /dev/null on a third slot (decode + transfer, no apply; a reference, not a bound)"
echo "catch-up = from starting the consumer (run / ALTER SUBSCRIPTION ENABLE) to the backlog's final marker row being visible in its target database"
