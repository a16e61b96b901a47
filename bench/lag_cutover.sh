#!/usr/bin/env bash
# Lag under steady load, then a cutover under load: PostgreSQL -> PostgreSQL, `stagesync run`.
#
#   bash bench/lag_cutover.sh
#   BENCH_SKIP_BUILD=1 STAGESYNC_BIN=/path/to/stagesync bash bench/lag_cutover.sh
#
# Source: pgbench -i -s 10 (pgbench_history given a bigserial primary key), copied to the target
# with pg_dump | psql before `stagesync setup` (the target starts as a copy; nothing writes in
# between). `stagesync run` with heartbeat_interval 100ms streams while pgbench runs the
# tpcb-like script at a steady rate (-R 1000 -T 70 -c 4 -j 2 -n). From 5 s into it, lag_seconds
# is read from the monitor's GET /status every 100 ms for 60 s (curl --rate, one process); p50,
# p99 and max are printed with pgbench's tps, against the target p99 <= 1 s. For reference,
# two views that do not come from stagesync: on the target, every 100 ms (one psql, \watch),
# clock_timestamp() minus the mtime of the newest pgbench_history row there (pgbench sets it at
# transaction start, both servers share the clock: the age of the newest applied change, a
# few ms more than the lag at 1000 tx/s); and PostgreSQL's own view of the slot,
# pg_stat_replication.flush_lag of stagesync's walsender (until stagesync reported the WAL
# flushed, which includes its feedback interval), once a second.
#
# Then, under a second pgbench -R 1000 (the first has ended), `stagesync cutover --json`
# (fence read-only, verify count, max_lag 2s): downtime_seconds and each step's seconds,
# against the target downtime <= 2 s; the fence ends pgbench's sessions (expected). Finally
# pgbench_accounts is compared (sum(abalance), count(*)) and the other pgbench tables by count.
#
# Environment: BENCH_RATE (1000), BENCH_SCALE (10), BENCH_SAMPLE_SECONDS (60), BENCH_SKIP_BUILD=1,
# STAGESYNC_BIN (default build/stagesync), PG_KEEP=1.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

RATE=${BENCH_RATE:-1000}
SCALE=${BENCH_SCALE:-10}
SAMPLE_SECONDS=${BENCH_SAMPLE_SECONDS:-60}
LOAD_SECONDS=$((SAMPLE_SECONDS + 10))
BIN=${STAGESYNC_BIN:-$ROOT/build/stagesync}

log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*"; }
die() { echo "bench: $*" >&2; exit 1; }

if [[ "${BENCH_SKIP_BUILD:-0}" != 1 ]]; then
  bash deploy/build.sh
fi
[[ -x "$BIN" ]] || die "no binary at $BIN"
for tool in pgbench curl jq; do command -v "$tool" >/dev/null || die "$tool is needed"; done

# shellcheck source=deploy/lib/pg.sh
source deploy/lib/pg.sh

WORK=$(mktemp -d /tmp/stagesync-lagbench.XXXXXX)
on_exit "rm -rf '$WORK'"

log "starting source and target servers"
pg_start src
pg_start tgt
log "source port ${PG_PORT[src]}, target port ${PG_PORT[tgt]}"

log "source: pgbench -i -s $SCALE; pgbench_history gets a primary key; copied to the target"
pg_psql src postgres -c "CREATE DATABASE bench"
pg_psql tgt postgres -c "CREATE DATABASE bench"
PGOPTIONS='-c client_min_messages=warning' pgbench -q -i -s "$SCALE" -h 127.0.0.1 -p "${PG_PORT[src]}" -U postgres bench \
  >"$WORK/pgbench-init.log" 2>&1 || { cat "$WORK/pgbench-init.log" >&2; die "pgbench -i failed"; }
pg_psql src bench -c "ALTER TABLE pgbench_history ADD COLUMN id bigserial PRIMARY KEY"
pg_dump -h 127.0.0.1 -p "${PG_PORT[src]}" -U postgres --no-publications --no-subscriptions bench |
  pg_psql tgt bench >/dev/null

PORT=$(free_port)
MONITOR="http://127.0.0.1:$PORT"
CFG=$WORK/stagesync.toml
cat >"$CFG" <<EOF
[source]
kind = "postgres"
dsn = "$(pg_dsn src bench)"
tables = ["public.*"]
slot = "stagesync_bench"
publication = "stagesync_bench"

[target]
kind = "postgres"
dsn = "$(pg_dsn tgt bench)"

[monitor]
listen = "127.0.0.1:$PORT"
heartbeat_interval = "100ms"

[cutover]
max_lag = "2s"
fence = "read-only"
verify = "count"
switch_command = "date -u +%Y-%m-%dT%H:%M:%S.%3NZ >'$WORK/switched'"
EOF

log "stagesync setup"
"$BIN" setup -c "$CFG" >"$WORK/setup.log" 2>&1 || { cat "$WORK/setup.log" >&2; die "stagesync setup failed"; }

run_pid=""
stop_run() {
  [[ -n "$run_pid" ]] || return 0
  local rc=0
  stop_gracefully "$run_pid" || rc=$?
  run_pid=""
  return "$rc"
}
on_exit "stop_run"
declare -a BG_PIDS=()
kill_bg() { local p; for p in "${BG_PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; }
on_exit "kill_bg"

log "stagesync run (monitor on $MONITOR)"
"$BIN" run -c "$CFG" >"$WORK/run.log" 2>&1 &
run_pid=$!
state=""
for _ in $(seq 1 300); do
  kill -0 "$run_pid" 2>/dev/null || { tail -30 "$WORK/run.log" >&2; die "stagesync run exited"; }
  state=$(curl -sf "$MONITOR/status" | jq -r .state 2>/dev/null || true)
  [[ $state == streaming ]] && break
  sleep 0.1
done
[[ $state == streaming ]] || { tail -30 "$WORK/run.log" >&2; die "stagesync run did not reach state streaming in 30 s (state: ${state:-?})"; }

pgbench_load() { # NAME SECONDS: pgbench tpcb-like at RATE tx/s in the background; sets LOAD_PID
  pgbench -n -R "$RATE" -T "$2" -c 4 -j 2 -h 127.0.0.1 -p "${PG_PORT[src]}" -U postgres bench \
    >"$WORK/$1.log" 2>&1 &
  LOAD_PID=$!
  BG_PIDS+=("$LOAD_PID")
}

# --- 1. lag under steady load ------------------------------------------------------------
log "load: pgbench -R $RATE -T $LOAD_SECONDS -c 4 -j 2 -n (tpcb-like)"
pgbench_load load1 "$LOAD_SECONDS"
load1=$LOAD_PID
sleep 5
log "sampling lag_seconds from GET /status every 100 ms for $SAMPLE_SECONDS s"
n=$((SAMPLE_SECONDS * 10))
# PostgreSQL's view, for reference: flush_lag of stagesync's walsender, once a second.
(
  for ((k = 0; k < SAMPLE_SECONDS; k++)); do
    pg_val src postgres "SELECT coalesce(extract(epoch FROM flush_lag)::text, 'null') FROM pg_stat_replication
      WHERE application_name LIKE 'stagesync%' OR application_name = 'stagesync_bench' LIMIT 1" 2>/dev/null || echo null
    sleep 1
  done >"$WORK/pg_lag.txt"
) &
pglag_pid=$!
BG_PIDS+=("$pglag_pid")
# The target's freshness, every 100 ms, one session.
{
  echo "SELECT coalesce(extract(epoch FROM clock_timestamp() - (SELECT mtime FROM pgbench_history ORDER BY id DESC LIMIT 1))::text, 'null') \\watch 0.1"
} | timeout "$SAMPLE_SECONDS" psql -X -q -At -h 127.0.0.1 -p "${PG_PORT[tgt]}" -U postgres -d bench 2>/dev/null |
  grep -E '^(null|-?[0-9.e+-]+)$' >"$WORK/fresh.txt" &
fresh_pid=$!
BG_PIDS+=("$fresh_pid")
urls=()
for ((k = 0; k < n; k++)); do urls+=("$MONITOR/status"); done
curl -s --rate 10/s -w '\n' "${urls[@]}" 2>/dev/null | jq -r '.lag_seconds // "null"' >"$WORK/lag.txt" || true
wait "$pglag_pid" || true
wait "$fresh_pid" || true
kill -0 "$run_pid" 2>/dev/null || { tail -30 "$WORK/run.log" >&2; die "stagesync run exited during the load"; }

log "waiting for the pgbench run to end"
load1_rc=0
wait "$load1" || load1_rc=$?
((load1_rc == 0)) || { cat "$WORK/load1.log" >&2; die "pgbench exited with $load1_rc"; }
tps=$(sed -n 's/^tps = \([0-9.]*\) (without initial connection time).*/\1/p' "$WORK/load1.log")
latency=$(sed -n 's/^latency average = \(.*\)$/\1/p' "$WORK/load1.log")

# stats FILE -> "samples nulls p50 p99 max" (nearest-rank percentiles)
stats() {
  grep -Ev '^null$' "$1" | sort -g | awk -v nulls="$(grep -c '^null$' "$1" || true)" '
    { v[NR] = $1 }
    END {
      if (NR == 0) { printf "0 %d - - -\n", nulls; exit }
      p50 = int(NR * 0.50 + 0.999999); p99 = int(NR * 0.99 + 0.999999)
      printf "%d %d %.3f %.3f %.3f\n", NR, nulls, v[p50], v[p99], v[NR]
    }'
}
read -r lag_n lag_nulls p50 p99 lagmax <<<"$(stats "$WORK/lag.txt")"
read -r pg_n pg_nulls pg_p50 pg_p99 pg_max <<<"$(stats "$WORK/pg_lag.txt")"
read -r fr_n fr_nulls fr_p50 fr_p99 fr_max <<<"$(stats "$WORK/fresh.txt")"
lag_met="NOT met"
[[ $p99 != - ]] && awk -v p="$p99" 'BEGIN { exit !(p <= 1.0) }' && lag_met=met

# --- 2. cutover under load ---------------------------------------------------------------
log "load: a second pgbench -R $RATE -T 30 -c 4 -j 2 -n; cutover 5 s into it"
pgbench_load load2 30
load2=$LOAD_PID
sleep 5
cutover_rc=0
"$BIN" cutover -c "$CFG" --json >"$WORK/cutover.json" 2>"$WORK/cutover.log" || cutover_rc=$?
log "stagesync cutover exited with $cutover_rc"
if ! jq -e . "$WORK/cutover.json" >/dev/null 2>&1; then
  cat "$WORK/cutover.json" "$WORK/cutover.log" >&2
  die "stagesync cutover printed no JSON report"
fi
load2_rc=0
wait "$load2" || load2_rc=$? # its sessions were ended by the fence: non-zero is expected
cut_state=$(jq -r .state "$WORK/cutover.json")
downtime=$(jq -r '.downtime_seconds // "null"' "$WORK/cutover.json")
down_met="NOT met"
[[ $downtime != null ]] && awk -v d="$downtime" 'BEGIN { exit !(d <= 2.0) }' && down_met=met
[[ $cut_state == "done" ]] || { cat "$WORK/cutover.log" >&2; down_met="NOT met (cutover state $cut_state)"; }

# --- 3. target == source -----------------------------------------------------------------
q="SELECT sum(abalance) || ' / ' || count(*) FROM pgbench_accounts"
src_acc=$(pg_val src bench "$q")
tgt_acc=$(pg_val tgt bench "$q")
q2="SELECT (SELECT count(*) FROM pgbench_history) || ' / ' || (SELECT sum(tbalance) FROM pgbench_tellers) || ' / ' || (SELECT sum(bbalance) FROM pgbench_branches)"
src_other=$(pg_val src bench "$q2")
tgt_other=$(pg_val tgt bench "$q2")
same=DIFFERENT
[[ $src_acc == "$tgt_acc" && $src_other == "$tgt_other" ]] && same=equal

# --- summary -----------------------------------------------------------------------------
echo
echo "stagesync lag and cutover under load ($(nproc) cores; PostgreSQL $(pg_val src postgres 'SHOW server_version'); pgbench scale $SCALE)"
echo "load:      pgbench tpcb-like -R $RATE -c 4 -j 2 -T $LOAD_SECONDS: tps = ${tps:-?} (latency average ${latency:-?})"
echo "lag:       GET /status lag_seconds, $lag_n samples at 100 ms over ${SAMPLE_SECONDS} s ($lag_nulls null):" \
  "p50 $p50 s, p99 $p99 s, max $lagmax s"
echo "           p99 <= 1 s: $lag_met"
echo "reference: target freshness (now - mtime of the newest pgbench_history row on the target), $fr_n samples at 100 ms ($fr_nulls null):" \
  "p50 $fr_p50 s, p99 $fr_p99 s, max $fr_max s"
echo "reference: pg_stat_replication.flush_lag of stagesync's walsender, $pg_n samples at 1 s ($pg_nulls null):" \
  "p50 $pg_p50 s, p99 $pg_p99 s, max $pg_max s"
echo "cutover:   state $cut_state (exit $cutover_rc), under pgbench -R $RATE (pgbench exit $load2_rc after the fence), downtime_seconds $downtime"
jq -r '.steps[] | [.name, .status, (.seconds // -1), .detail] | @tsv' "$WORK/cutover.json" |
  while IFS=$'\t' read -r name status secs detail; do
    printf '           %-10s %-8s %9s  %s\n' "$name" "$status" "$(awk -v s="$secs" 'BEGIN { if (s < 0) print "-"; else printf "%.3f s", s }')" "$detail"
  done
echo "           downtime <= 2 s: $down_met"
echo "check:     pgbench_accounts sum(abalance) / count(*): source $src_acc, target $tgt_acc"
echo "           pgbench_history count / sum(tbalance) / sum(bbalance): source $src_other, target $tgt_other"
echo "           target == source: $same"
[[ $same == equal && $cut_state == "done" ]]
