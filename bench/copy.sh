#!/usr/bin/env bash
# Initial-copy benchmark: `stagesync copy` against the tools a DBA would use instead, on the same
# data and machine, each into the same pre-created (empty) schema, every target checked equal.
#
#   bash bench/copy.sh                  # full size (about 2 GB of PostgreSQL heap)
#   BENCH_SCALE=0.1 bash bench/copy.sh  # a tenth of every table
#
#   PostgreSQL -> PostgreSQL   pg_dump --data-only | psql, pgcopydb copy table-data, stagesync copy
#   MariaDB -> MariaDB         mariadb-dump --no-create-info | mariadb, stagesync copy
#   MariaDB -> PostgreSQL      pgloader (data only), stagesync copy
#   live                       stagesync copy while pgbench writes on the source, then `run`
#                              until caught up: target == source
#
# The data: `big` (id, k, ts, 200-byte text; the large table), `narrow` (three integers),
# `wide` (eight 60-character columns) and 20 small tables; the same rows in MariaDB (loaded from
# the PostgreSQL source). Timed: the tool's run from start to exit. stagesync's peak RSS (VmHWM,
# polled) is reported against the 256 MB target.
# Environment: BENCH_SCALE (default 1), BENCH_JOBS (default 2), BENCH_CASES (default
# "pg my mypg live"), BENCH_SKIP_BUILD=1, STAGESYNC_BIN, PG_KEEP=1.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

BENCH_SCALE=${BENCH_SCALE:-1}
BENCH_JOBS=${BENCH_JOBS:-2}
BENCH_CASES=${BENCH_CASES:-pg my mypg live}
BIN=${STAGESYNC_BIN:-$ROOT/build/stagesync}
DB=bench

scaled() { awk -v n="$1" -v s="$BENCH_SCALE" 'BEGIN { v = int(n * s + 0.5); print (v < 1 ? 1 : v) }'; }
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }
log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*"; }
die() { echo "bench: $*" >&2; exit 1; }
has() { [[ " $BENCH_CASES " == *" $1 "* ]]; }

BIG=$(scaled 6000000)
NARROW=$(scaled 6000000)
WIDE=$(scaled 1000000)

for tool in pg_dump pgcopydb pgloader mariadb-dump; do
  command -v "$tool" >/dev/null || { log "installing the reference tools"; bash deploy/install-deps.sh --bench >/dev/null; break; }
done
if [[ "${BENCH_SKIP_BUILD:-0}" != 1 ]]; then bash deploy/build.sh; fi
[[ -x "$BIN" ]] || die "no binary at $BIN"

# shellcheck source=deploy/lib/pg.sh
source deploy/lib/pg.sh
# shellcheck source=deploy/lib/mysql.sh
source deploy/lib/mysql.sh
# shellcheck source=deploy/lib/compare.sh
source deploy/lib/compare.sh

WORK=$(mktemp -d /tmp/stagesync-bench-copy.XXXXXX)
on_exit "rm -rf '$WORK'"
declare -A RESULT=()

SCHEMA_SQL="
CREATE TABLE big (id bigint PRIMARY KEY, k integer NOT NULL, ts timestamp NOT NULL, payload text NOT NULL);
CREATE TABLE narrow (id bigint PRIMARY KEY, a integer NOT NULL, b integer NOT NULL);
CREATE TABLE wide (id integer PRIMARY KEY, c1 varchar(60), c2 varchar(60), c3 varchar(60), c4 varchar(60),
  c5 varchar(60), c6 varchar(60), c7 varchar(60), c8 varchar(60));
$(for i in $(seq 1 20); do echo "CREATE TABLE small$i (id integer PRIMARY KEY, name varchar(40) NOT NULL, v integer);"; done)"

# stagesync's peak RSS while COMMAND runs: VmHWM polled every 100 ms (the process's own
# high-water mark, read just before it exits).
run_measured() { # KEY COMMAND...
  local key=$1 t0 t1 pid hwm=0 v
  shift
  t0=$(now)
  "$@" >"$WORK/$key.out" 2>"$WORK/$key.err" &
  pid=$!
  while kill -0 "$pid" 2>/dev/null; do
    v=$(awk '/VmHWM/ { print $2 }' "/proc/$pid/status" 2>/dev/null || true)
    [[ -n "$v" ]] && ((v > hwm)) && hwm=$v
    sleep 0.1
  done
  wait "$pid" || { cat "$WORK/$key.err" >&2; die "$key failed"; }
  t1=$(now)
  RESULT[$key]=$(elapsed "$t0" "$t1")
  RESULT[$key.rss]=$((hwm / 1024))
  log "$key: ${RESULT[$key]} s (peak RSS ${RESULT[$key.rss]} MB)"
}
timed() { # KEY COMMAND (a shell string)
  local key=$1 t0 t1
  t0=$(now)
  bash -o pipefail -c "$2" >"$WORK/$key.out" 2>"$WORK/$key.err" || { tail -20 "$WORK/$key.err" >&2; die "$key failed"; }
  t1=$(now)
  RESULT[$key]=$(elapsed "$t0" "$t1")
  log "$key: ${RESULT[$key]} s"
}

ss_config() { # FILE SOURCE_KIND SOURCE_DSN TARGET_KIND TARGET_DSN TABLES [EXTRA]
  cat >"$1" <<EOF
[source]
kind = "$2"
dsn = "$3"
tables = [$6]
slot = "bench_$(basename "$1" .toml)"
publication = "bench_$(basename "$1" .toml)"
server_id = $((4800 + RANDOM % 100))

[target]
kind = "$4"
dsn = "$5"

[monitor]
listen = "127.0.0.1:$(free_port)"

[copy]
jobs = $BENCH_JOBS
${7:-}
EOF
}
ss_copy() { # KEY CONFIG
  "$BIN" setup -c "$2" >"$WORK/$1-setup.log" 2>&1 || { cat "$WORK/$1-setup.log" >&2; die "setup for $1 failed"; }
  run_measured "$1" "$BIN" copy -c "$2"
}

check_pg() { # KEY SRC_DSN DST_DSN
  if compare_pg "$2" "$3" public >"$WORK/$1.check" 2>&1; then RESULT[$1.check]=equal; else RESULT[$1.check]=DIFFERS; cat "$WORK/$1.check" >&2; fi
}
check_my() { # KEY SRC_DSN DST_DSN
  if compare_mysql "$2" "$3" >"$WORK/$1.check" 2>&1; then RESULT[$1.check]=equal; else RESULT[$1.check]=DIFFERS; cat "$WORK/$1.check" >&2; fi
}

log "starting servers; BENCH_SCALE=$BENCH_SCALE (big $BIG, narrow $NARROW, wide $WIDE rows), jobs $BENCH_JOBS"
pg_start src
pg_start tgt
pg_psql src postgres -c "CREATE DATABASE $DB"
PGOPTIONS='-c client_min_messages=warning' pg_psql src "$DB" -c "$SCHEMA_SQL" >/dev/null
log "generating the source data"
pg_psql src "$DB" -c "INSERT INTO big SELECT i, i % 1000, timestamp '2020-01-01' + i * interval '1 second', md5(i::text) || repeat('x', 168) FROM generate_series(1, $BIG) i" >/dev/null
pg_psql src "$DB" -c "INSERT INTO narrow SELECT i, i * 7, i % 97 FROM generate_series(1, $NARROW) i" >/dev/null
pg_psql src "$DB" -c "INSERT INTO wide SELECT i, $(for c in 1 2 3 4 5 6 7 8; do printf "left(repeat(md5((i + %d)::text), 2), 60)%s" "$c" "$([[ $c == 8 ]] || echo ', ')"; done) FROM generate_series(1, $WIDE) i" >/dev/null
for i in $(seq 1 20); do pg_psql src "$DB" -c "INSERT INTO small$i SELECT g, 'name ' || g, g * $i FROM generate_series(1, 1000) g" >/dev/null; done
pg_psql src "$DB" -c "VACUUM ANALYZE" >/dev/null
SIZE=$(pg_val src "$DB" "SELECT pg_size_pretty(sum(pg_table_size(c.oid))) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public' AND c.relkind = 'r'")
log "source: $SIZE of tables (PostgreSQL heap + TOAST)"
TABLES='"public.*"'

new_pg_target() { # DB: the schema, empty
  pg_psql tgt postgres -c "CREATE DATABASE $1" >/dev/null
  PGOPTIONS='-c client_min_messages=warning' pg_psql tgt "$1" -c "$SCHEMA_SQL" >/dev/null
}

if has pg; then
  new_pg_target t_dump
  timed pg.dump "pg_dump --data-only -h 127.0.0.1 -p ${PG_PORT[src]} -U postgres $DB | psql -X -q -h 127.0.0.1 -p ${PG_PORT[tgt]} -U postgres -d t_dump"
  check_pg pg.dump "$(pg_dsn src $DB)" "$(pg_dsn tgt t_dump)"
  new_pg_target t_pgcopydb
  timed pg.pgcopydb "pgcopydb copy table-data --dir $WORK/pgcopydb --table-jobs $BENCH_JOBS --source 'postgres://postgres@127.0.0.1:${PG_PORT[src]}/$DB' --target 'postgres://postgres@127.0.0.1:${PG_PORT[tgt]}/t_pgcopydb'"
  check_pg pg.pgcopydb "$(pg_dsn src $DB)" "$(pg_dsn tgt t_pgcopydb)"
  new_pg_target t_ss
  ss_config "$WORK/pg.toml" postgres "$(pg_dsn src $DB)" postgres "$(pg_dsn tgt t_ss)" "$TABLES"
  ss_copy pg.ss "$WORK/pg.toml"
  check_pg pg.ss "$(pg_dsn src $DB)" "$(pg_dsn tgt t_ss)"
  "$BIN" teardown -c "$WORK/pg.toml" >/dev/null 2>&1 || true
fi

if has my || has mypg; then
  my_start msrc 1
  my_start mtgt 2
  my_sql msrc "" -e "CREATE DATABASE $DB"
  my_sql msrc "$DB" -e "$SCHEMA_SQL"
  log "loading the same rows into MariaDB"
  for t in big narrow wide $(for i in $(seq 1 20); do echo "small$i"; done); do
    pg_psql src "$DB" -c "\\copy $t TO '$WORK/$t.tsv'"
    my_sql msrc "$DB" --local-infile=1 -e "LOAD DATA LOCAL INFILE '$WORK/$t.tsv' INTO TABLE $t"
    rm -f "$WORK/$t.tsv"
  done
  my_sql msrc "$DB" -e "ANALYZE TABLE big, narrow, wide" >/dev/null
  MYSIZE=$(my_val msrc "" "SELECT CONCAT(ROUND(SUM(DATA_LENGTH + INDEX_LENGTH) / 1048576), ' MB') FROM information_schema.TABLES WHERE TABLE_SCHEMA = '$DB'")
  log "MariaDB source: $MYSIZE (InnoDB data + indexes)"
fi

if has my; then
  my_sql mtgt "" -e "CREATE DATABASE t_dump; CREATE DATABASE t_ss"
  my_sql mtgt t_dump -e "$SCHEMA_SQL"
  my_sql mtgt t_ss -e "$SCHEMA_SQL"
  timed my.dump "mariadb-dump --no-defaults -h 127.0.0.1 -P ${MY_PORT[msrc]} -u root --single-transaction --no-create-info $DB | mariadb --no-defaults -h 127.0.0.1 -P ${MY_PORT[mtgt]} -u root t_dump"
  check_my my.dump "$(my_dsn msrc $DB)" "$(my_dsn mtgt t_dump)"
  ss_config "$WORK/my.toml" mysql "$(my_dsn msrc $DB)" mysql "$(my_dsn mtgt t_ss)" "\"$DB.*\""
  ss_copy my.ss "$WORK/my.toml"
  check_my my.ss "$(my_dsn msrc $DB)" "$(my_dsn mtgt t_ss)"
fi

if has mypg; then
  new_pg_target t_pgloader
  new_pg_target t_myss
  cat >"$WORK/load.pgl" <<EOF
LOAD DATABASE
  FROM mysql://root@127.0.0.1:${MY_PORT[msrc]}/$DB
  INTO postgresql://postgres@127.0.0.1:${PG_PORT[tgt]}/t_pgloader
  WITH data only, workers = $((BENCH_JOBS * 2)), concurrency = $BENCH_JOBS, prefetch rows = 25000
  ALTER SCHEMA '$DB' RENAME TO 'public';
EOF
  # SBCL's default 1 GB heap runs out on the large table.
  timed mypg.pgloader "pgloader --dynamic-space-size 4096 $WORK/load.pgl"
  ss_config "$WORK/mypg.toml" mysql "$(my_dsn msrc $DB)" postgres "$(pg_dsn tgt t_myss)" "\"$DB.*\"" \
    "[mapping]
\"$DB.*\" = { table = \"public.*\" }"
  ss_copy mypg.ss "$WORK/mypg.toml"
  # Across engines: the same rows by count and a sum over each table's values.
  for key in mypg.pgloader mypg.ss; do
    db=$([[ $key == mypg.ss ]] && echo t_myss || echo t_pgloader)
    RESULT[$key.check]=equal
    for t in big narrow wide small7; do
      want=$(my_val msrc "$DB" "SELECT CONCAT(COUNT(*), ':', SUM(id), ':', SUM(CHAR_LENGTH(CONCAT_WS('|', $(pg_val src "$DB" "SELECT string_agg(column_name, ', ' ORDER BY ordinal_position) FROM information_schema.columns WHERE table_name = '$t' AND column_name <> 'ts'")))), ':', IFNULL(SUM(UNIX_TIMESTAMP($([[ $t == big ]] && echo ts || echo NULL))), 0)) FROM $t")
      got=$(pg_val tgt "$db" "SELECT count(*) || ':' || sum(id) || ':' || sum(char_length(concat_ws('|', $(pg_val src "$DB" "SELECT string_agg(column_name, ', ' ORDER BY ordinal_position) FROM information_schema.columns WHERE table_name = '$t' AND column_name <> 'ts'")))) || ':' || coalesce(sum(extract(epoch FROM $([[ $t == big ]] && echo ts || echo NULL::timestamp)))::bigint, 0) FROM $t")
      [[ "$want" == "$got" ]] || { RESULT[$key.check]=DIFFERS; echo "$key $t: MariaDB $want, PostgreSQL $got" >&2; }
    done
  done
fi

if has live; then
  pg_psql src postgres -c "CREATE DATABASE live"
  PGOPTIONS='-c client_min_messages=warning' pgbench -q -i -s "$(scaled 50)" -h 127.0.0.1 -p "${PG_PORT[src]}" -U postgres live >"$WORK/pgbench-init.log" 2>&1
  pg_psql src live -c "ALTER TABLE pgbench_history ADD COLUMN hid bigserial PRIMARY KEY" >/dev/null
  pg_psql tgt postgres -c "CREATE DATABASE live" >/dev/null
  pg_dump --schema-only -h 127.0.0.1 -p "${PG_PORT[src]}" -U postgres live | pg_psql tgt live >/dev/null
  ss_config "$WORK/live.toml" postgres "$(pg_dsn src live)" postgres "$(pg_dsn tgt live)" '"public.*"'
  "$BIN" setup -c "$WORK/live.toml" >"$WORK/live-setup.log" 2>&1 || { cat "$WORK/live-setup.log" >&2; die "setup (live) failed"; }
  pgbench -n -c 2 -T 3600 -R 200 -h 127.0.0.1 -p "${PG_PORT[src]}" -U postgres live >"$WORK/pgbench.log" 2>&1 &
  pgbench_pid=$!
  on_exit "kill $pgbench_pid 2>/dev/null || true"
  sleep 2
  run_measured live.copy "$BIN" copy -c "$WORK/live.toml"
  "$BIN" run -c "$WORK/live.toml" >"$WORK/live-run.log" 2>&1 &
  run_pid=$!
  on_exit "kill $run_pid 2>/dev/null || true"
  sleep 5
  kill "$pgbench_pid"
  wait "$pgbench_pid" 2>/dev/null || true
  end=$(pg_val src live "SELECT pg_current_wal_lsn()")
  for _ in $(seq 1 300); do
    applied=$(pg_val tgt live "SELECT lsn FROM stagesync.applied_position")
    [[ $(pg_val src live "SELECT '$applied'::pg_lsn >= '$end'::pg_lsn") == t ]] && break
    sleep 0.2
  done
  check_pg live.copy "$(pg_dsn src live)" "$(pg_dsn tgt live)"
  RESULT[live.tx]=$(pg_val tgt live "SELECT transactions_applied FROM stagesync.applied_position")
  kill "$run_pid"
fi

ratio() { awk -v r="$1" -v s="$2" 'BEGIN { if (s > 0 && r > 0) printf "%.2f", r / s; else print "-" }'; }
verdict() { awk -v r="$1" -v t="$2" 'BEGIN { if (r == "-") print "-"; else print (r + 0 >= t ? "met" : "NOT met") }'; }
row() { # LABEL REFERENCE_KEY SS_KEY TARGET
  local r
  r=$(ratio "${RESULT[$2]:-0}" "${RESULT[$3]:-0}")
  printf '%-44s %10s %10s %7s %-13s %8s  %s/%s\n' "$1" "${RESULT[$2]:-?}" "${RESULT[$3]:-?}" "$r" ">=$4 $(verdict "$r" "$4")" \
    "${RESULT[$3.rss]:-?}" "${RESULT[$2.check]:-?}" "${RESULT[$3.check]:-?}"
}
echo
echo "stagesync copy benchmark (BENCH_SCALE=$BENCH_SCALE: big $BIG, narrow $NARROW, wide $WIDE rows + 20 small tables; PostgreSQL tables ${SIZE}${MYSIZE:+, MariaDB $MYSIZE}; $(nproc) cores; jobs $BENCH_JOBS)"
printf '%-44s %10s %10s %7s %-13s %8s  %s\n' "case (reference tool vs stagesync copy)" "ref (s)" "ss (s)" ratio target "rss (MB)" "checks (ref/ss)"
has pg && row "PostgreSQL -> PostgreSQL: pg_dump | psql" pg.dump pg.ss 1.5
has pg && row "PostgreSQL -> PostgreSQL: pgcopydb" pg.pgcopydb pg.ss 1.0
has my && row "MariaDB -> MariaDB: mariadb-dump | mariadb" my.dump my.ss 1.5
has mypg && row "MariaDB -> PostgreSQL: pgloader" mypg.pgloader mypg.ss 1.5
if has live; then
  printf '%-44s %10s %10s %7s %-13s %8s  %s\n' "live: copy under pgbench -R 200, then run" - "${RESULT[live.copy]:-?}" - - \
    "${RESULT[live.copy.rss]:-?}" "target == source: ${RESULT[live.copy.check]:-?} (${RESULT[live.tx]:-?} tx streamed after the copy)"
fi
echo "ratio = reference time / stagesync time (higher is better for stagesync); rss = stagesync copy's peak (target <= 256 MB)"
