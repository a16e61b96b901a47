#!/usr/bin/env bash
# Catch-up of a MariaDB binlog backlog: stagesync vs MariaDB's own replica, same run.
#
#   bash bench/mysql_catchup.sh                       # 1M rows
#   BENCH_ROWS=100000 bash bench/mysql_catchup.sh     # smaller
#
# One MariaDB "production" writes BENCH_ROWS rows (inserts in transactions of BENCH_TXN_ROWS,
# then a marker row) while nothing consumes its binlog. Then, one at a time, each consumer
# starts from the same binlog position and is timed until the marker is on its target:
#   native      a second MariaDB as a replica (CHANGE MASTER TO …; START SLAVE), single SQL
#               thread, replicate_do_db = bench
#   stagesync   `stagesync run` into a third MariaDB
#   to-pg       `stagesync run` into PostgreSQL 15 (reported, no target)
# Targets run without their own binlog. Every target is compared with production afterwards
# (CHECKSUM TABLE for MariaDB, count and sums for PostgreSQL). Target: native time /
# stagesync time >= 1.0. Knobs: BENCH_ROWS (1000000), BENCH_TXN_ROWS (1000),
# BENCH_SKIP_BUILD=1, BENCH_PERF=PREFIX (perf record each stagesync run into PREFIX.<case>).
# Not run by CI.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
ROWS=${BENCH_ROWS:-1000000}
TXN_ROWS=${BENCH_TXN_ROWS:-1000}
BIN=${STAGESYNC_BIN:-$ROOT/build/stagesync}
log() { printf '[bench] %s\n' "$*" >&2; }

if [[ "${BENCH_SKIP_BUILD:-0}" != 1 ]]; then bash deploy/build.sh >&2; fi
# shellcheck source=deploy/lib/pg.sh
source deploy/lib/pg.sh
# shellcheck source=deploy/lib/mysql.sh
source deploy/lib/mysql.sh

WORK=$(mktemp -d /tmp/stagesync-bench-mysql.XXXXXX)
on_exit "rm -rf '$WORK'"

log "starting production, the native replica, stagesync's MariaDB target and a PostgreSQL target"
my_start prod 1
MY_EXTRA_OPTS="--skip-log-bin" my_start native 2
MY_EXTRA_OPTS="--skip-log-bin" my_start ours 3
pg_start pgt

TABLE_SQL="CREATE TABLE t (id BIGINT PRIMARY KEY, k INT NOT NULL, c CHAR(60) NOT NULL,
  pad VARCHAR(60) NOT NULL, amount DECIMAL(12,2) NOT NULL, ts DATETIME(6) NOT NULL) ENGINE=InnoDB;
  CREATE TABLE done (id INT PRIMARY KEY) ENGINE=InnoDB;"
for s in prod native ours; do my_sql "$s" "" -e "CREATE DATABASE bench; USE bench; $TABLE_SQL"; done
pg_psql pgt postgres -qc "CREATE DATABASE bench"
pg_psql pgt bench -qc "CREATE TABLE t (id bigint PRIMARY KEY, k int NOT NULL, c char(60) NOT NULL,
  pad varchar(60) NOT NULL, amount numeric(12,2) NOT NULL, ts timestamp(6) NOT NULL);
  CREATE TABLE done (id int PRIMARY KEY)"

config() { # config NAME TARGET_KIND TARGET_DSN SERVER_ID
  cat >"$WORK/$1.toml" <<EOF
[source]
kind = "mysql"
dsn = "$(my_dsn prod bench)"
tables = ["bench.*"]
slot = "$1"
server_id = $4
[target]
kind = "$2"
dsn = "$3"
[mapping]
"bench.*" = { table = "$([[ $2 == postgres ]] && echo public || echo bench).*" }
[monitor]
listen = "127.0.0.1:$(free_port)"
heartbeat_interval = "1s"
EOF
  "$BIN" setup -c "$WORK/$1.toml" >&2
}
config ours mysql "$(my_dsn ours bench)" 4711
config topg postgres "$(pg_dsn pgt bench)" 4712

# Every consumer starts here: after setup, before the backlog.
read -r FILE POS < <(my_val prod "" "SHOW MASTER STATUS" | awk '{print $1, $2}')
my_sql native "" -e "SET GLOBAL replicate_do_db = 'bench'; CHANGE MASTER TO MASTER_HOST = '127.0.0.1',
  MASTER_PORT = ${MY_PORT[prod]}, MASTER_USER = 'root', MASTER_PASSWORD = '',
  MASTER_LOG_FILE = '$FILE', MASTER_LOG_POS = $POS, MASTER_USE_GTID = no"

log "backlog: $ROWS rows in transactions of $TXN_ROWS rows (from $FILE:$POS)"
{
  echo "USE bench;"
  for ((off = 0; off < ROWS; off += TXN_ROWS)); do
    echo "INSERT INTO t SELECT seq + $off, seq % 1000, REPEAT(CHAR(65 + seq % 26), 60),
      CONCAT('pad-', seq + $off), (seq + $off) / 100, '2024-01-01 00:00:00' + INTERVAL seq SECOND
      FROM seq_1_to_$TXN_ROWS;"
  done
  echo "INSERT INTO done VALUES (1);"
} | my_sql prod ""
binlog_bytes=$(my_val prod "" "SHOW BINARY LOGS" | awk '{s += $2} END {print s}')
log "binlog now $binlog_bytes bytes"

now() { date +%s.%N; }
wait_marker() { # wait_marker PID CHECK_COMMAND... : polls until it prints 1 (PID: a consumer that must stay up, or 0)
  local pid=$1 deadline=$((SECONDS + 1800))
  shift
  until [[ "$("$@" 2>/dev/null)" == 1 ]]; do
    ((SECONDS < deadline)) || { log "timed out"; return 1; }
    if [[ $pid != 0 ]] && ! kill -0 "$pid" 2>/dev/null; then log "the consumer exited"; return 1; fi
    sleep 0.05
  done
}
declare -A TIME=() CPU=()

log "native: START SLAVE"
t0=$(now)
my_sql native "" -e "START SLAVE"
wait_marker 0 my_val native bench "SELECT COUNT(*) FROM done"
TIME[native]=$(awk -v a="$(now)" -v b="$t0" 'BEGIN { printf "%.3f", a - b }')
my_sql native "" -e "STOP SLAVE"

for case in ours topg; do
  log "stagesync run ($case)"
  t0=$(now)
  perf=()
  if [[ -n "${BENCH_PERF:-}" ]]; then perf=(perf record -F 999 -g -o "$BENCH_PERF.$case" --); fi
  "${perf[@]}" "$BIN" run -c "$WORK/$case.toml" >"$WORK/$case.log" 2>&1 &
  pid=$!
  if [[ $case == ours ]]; then
    check=(my_val ours bench "SELECT COUNT(*) FROM done")
  else
    check=(pg_val pgt bench "SELECT count(*) FROM done")
  fi
  wait_marker "$pid" "${check[@]}" || { tail -20 "$WORK/$case.log" >&2; exit 1; }
  TIME[$case]=$(awk -v a="$(now)" -v b="$t0" 'BEGIN { printf "%.3f", a - b }')
  run_pid=$(pgrep -f "^$BIN run -c $WORK/$case.toml" | head -1)
  CPU[$case]=$(awk '{printf "%.2f", ($14 + $15) / 100}' "/proc/$run_pid/stat")
  kill -TERM "$run_pid"
  wait "$pid" || { tail -20 "$WORK/$case.log" >&2; exit 1; }
done

# The floor for any consumer that writes through SQL: the same rows, already in a file, loaded
# by LOAD DATA (the server's cheapest bulk path, no upsert) into an empty copy on the target.
log "floor: LOAD DATA of the same rows into an empty table on stagesync's target"
my_sql ours bench -e "SET GLOBAL local_infile = 1; CREATE TABLE floor LIKE t"
my_val ours bench "SELECT * FROM t" >"$WORK/floor.tsv"
t0=$(now)
my_sql ours bench --local-infile=1 -e "LOAD DATA LOCAL INFILE '$WORK/floor.tsv' INTO TABLE floor"
TIME[floor]=$(awk -v a="$(now)" -v b="$t0" 'BEGIN { printf "%.3f", a - b }')
rm -f "$WORK/floor.tsv"

log "checking every target against production"
sum_prod=$(my_val prod bench "CHECKSUM TABLE t" | awk '{print $2}')
checks=""
for s in native ours; do
  sum=$(my_val "$s" bench "CHECKSUM TABLE t" | awk '{print $2}')
  [[ "$sum" == "$sum_prod" ]] && checks+="$s=ok " || checks+="$s=DIFF "
done
want=$(my_val prod bench "SELECT CONCAT(COUNT(*), ' ', SUM(amount), ' ', SUM(k), ' ', DATE_FORMAT(MAX(ts), '%Y-%m-%d %H:%i:%s.%f')) FROM t")
got=$(pg_val pgt bench "SELECT count(*) || ' ' || sum(amount) || ' ' || sum(k) || ' ' || to_char(max(ts), 'YYYY-MM-DD HH24:MI:SS.US') FROM t")
[[ "$want" == "$got" ]] && checks+="to-pg=ok" || checks+="to-pg=DIFF($want vs $got)"

rate() { awk -v r="$ROWS" -v t="$1" 'BEGIN { printf "%d", r / t }'; }
printf '\n%-36s %10s %12s %22s\n' consumer "time (s)" "rows/s" "stagesync CPU (s)"
printf '%-36s %10.2f %12s %22s\n' "MariaDB replica (native)" "${TIME[native]}" "$(rate "${TIME[native]}")" -
printf '%-36s %10.2f %12s %22s\n' "stagesync MariaDB -> MariaDB" "${TIME[ours]}" "$(rate "${TIME[ours]}")" "${CPU[ours]}"
printf '%-36s %10.2f %12s %22s\n' "LOAD DATA on the target (SQL floor)" "${TIME[floor]}" "$(rate "${TIME[floor]}")" -
printf '%-36s %10.2f %12s %22s\n' "stagesync MariaDB -> PostgreSQL" "${TIME[topg]}" "$(rate "${TIME[topg]}")" "${CPU[topg]}"
ratio=$(awk -v a="${TIME[native]}" -v b="${TIME[ours]}" 'BEGIN { printf "%.2f", a / b }')
met=$(awk -v r="$ratio" 'BEGIN { print (r >= 1.0) ? 1 : 0 }')
printf '\nnative/stagesync = %s (target >= 1.0: %s); %s rows, %s binlog bytes; checks: %s\n' \
  "$ratio" "$([[ $met == 1 ]] && echo met || echo NOT met)" "$ROWS" "$binlog_bytes" "$checks"
[[ "$checks" != *DIFF* ]]
