#!/usr/bin/env bash
# Initial-copy benchmark: `stagesync copy` against the tools a DBA would use instead, on the same
# data and machine, each into the same pre-created (empty) schema, every target checked equal.
#
#   bash bench/copy.sh                  # full size (about 2 GB of PostgreSQL heap)
#   BENCH_SCALE=0.1 bash bench/copy.sh  # a tenth of every table
#
#   PostgreSQL -> PostgreSQL   pg_dump --data-only | psql, pgcopydb copy table-data, stagesync copy
#   ... with indexes (pgidx)   the same into a schema with secondary indexes: pg_dump --data-only
#                              | psql against stagesync copy --rebuild-indexes
#   MariaDB -> MariaDB         mariadb-dump --no-create-info | mariadb, stagesync copy
#   MariaDB -> PostgreSQL      pgloader (data only), stagesync copy
#   live                       stagesync copy while pgbench writes on the source, then `run`
#                              until caught up: target == source
#
# The data: `big` (id, k, ts, 200-byte text; the large table), `narrow` (three integers),
# `wide` (eight 60-character columns) and 20 small tables; the same rows in MariaDB (loaded from
# the PostgreSQL source). Timed: the tool's run from start to exit, each tool BENCH_RUNS times
# (alternating, into a fresh target each time), the fastest counting: single runs on this
# machine vary by up to a third. stagesync's peak RSS (VmHWM, polled) is reported against the
# 256 MB target.
# Environment: BENCH_SCALE (default 1), BENCH_JOBS (default 2), BENCH_RUNS (default 2; pg,
# pgidx and my),
# BENCH_CASES (default "pg pgidx my mypg live"), BENCH_SKIP_BUILD=1, STAGESYNC_BIN, PG_KEEP=1.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

BENCH_SCALE=${BENCH_SCALE:-1}
BENCH_JOBS=${BENCH_JOBS:-2}
BENCH_RUNS=${BENCH_RUNS:-2}
BENCH_CASES=${BENCH_CASES:-pg pgidx my mypg live}
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
# pgidx: the secondary indexes a real schema carries, created before the data.
INDEX_SQL="CREATE INDEX big_k ON big (k); CREATE INDEX big_ts ON big (ts); CREATE INDEX narrow_a ON narrow (a);
CREATE INDEX narrow_b ON narrow (b); CREATE INDEX wide_c1 ON wide (c1); CREATE INDEX wide_c5 ON wide (c5);
$(for i in $(seq 1 20); do echo "CREATE INDEX small${i}_name ON small$i (name);"; done)"

# Before each timed run: both servers checkpointed and the page cache's dirty pages written,
# so no run pays for the writes of the one before it.
settle() {
  for name in "${!PG_PORT[@]}"; do pg_psql "$name" postgres -c CHECKPOINT >/dev/null 2>&1 || true; done
  sync
}

# stagesync's peak RSS while COMMAND runs: VmHWM polled every 100 ms (the process's own
# high-water mark, read just before it exits).
run_measured() { # KEY COMMAND...
  local key=$1 t0 t1 pid hwm=0 v
  shift
  settle
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
  keep_fastest "$key" "$(elapsed "$t0" "$t1")"
  if ((hwm / 1024 > ${RESULT[$key.rss]:-0})); then RESULT[$key.rss]=$((hwm / 1024)); fi
  log "$key: $(elapsed "$t0" "$t1") s (peak RSS $((hwm / 1024)) MB)"
}
keep_fastest() { # KEY SECONDS
  if [[ -z "${RESULT[$1]:-}" ]] || awk -v a="$2" -v b="${RESULT[$1]}" 'BEGIN { exit !(a < b) }'; then RESULT[$1]=$2; fi
}
timed() { # KEY COMMAND (a shell string)
  local key=$1 t0 t1
  settle
  t0=$(now)
  bash -o pipefail -c "$2" >"$WORK/$key.out" 2>"$WORK/$key.err" || { tail -20 "$WORK/$key.err" >&2; die "$key failed"; }
  t1=$(now)
  keep_fastest "$key" "$(elapsed "$t0" "$t1")"
  log "$key: $(elapsed "$t0" "$t1") s"
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
ss_copy() { # KEY CONFIG [COPY FLAGS]
  local key=$1 config=$2
  shift 2
  "$BIN" setup -c "$config" >"$WORK/$key-setup.log" 2>&1 || { cat "$WORK/$key-setup.log" >&2; die "setup for $key failed"; }
  run_measured "$key" "$BIN" copy -c "$config" "$@"
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

new_pg_target() { # DB [EXTRA_SQL]: the schema, empty (dropped first if there)
  pg_psql tgt postgres -c "DROP DATABASE IF EXISTS $1" >/dev/null 2>&1
  pg_psql tgt postgres -c "CREATE DATABASE $1" >/dev/null
  PGOPTIONS='-c client_min_messages=warning' pg_psql tgt "$1" -c "$SCHEMA_SQL ${2:-}" >/dev/null
}
pg_dump_into() { # DB
  echo "pg_dump --data-only -h 127.0.0.1 -p ${PG_PORT[src]} -U postgres $DB | psql -X -q -h 127.0.0.1 -p ${PG_PORT[tgt]} -U postgres -d $1"
}
# The target's indexes, as the catalog defines them (rebuilt ones must match the schema's).
pg_indexes() { pg_val tgt "$1" "SELECT md5(string_agg(pg_get_indexdef(indexrelid), ';' ORDER BY indexrelid::regclass::text)) || ' ' || count(*) FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public'"; }

for run in $(seq 1 "$BENCH_RUNS"); do
  if has pg; then
    new_pg_target t_dump
    timed pg.dump "$(pg_dump_into t_dump)"
    check_pg pg.dump "$(pg_dsn src $DB)" "$(pg_dsn tgt t_dump)"
    new_pg_target t_pgcopydb
    rm -rf "$WORK/pgcopydb"
    timed pg.pgcopydb "pgcopydb copy table-data --dir $WORK/pgcopydb --table-jobs $BENCH_JOBS --source 'postgres://postgres@127.0.0.1:${PG_PORT[src]}/$DB' --target 'postgres://postgres@127.0.0.1:${PG_PORT[tgt]}/t_pgcopydb'"
    check_pg pg.pgcopydb "$(pg_dsn src $DB)" "$(pg_dsn tgt t_pgcopydb)"
    new_pg_target t_ss
    ss_config "$WORK/pg.toml" postgres "$(pg_dsn src $DB)" postgres "$(pg_dsn tgt t_ss)" "$TABLES"
    ss_copy pg.ss "$WORK/pg.toml"
    check_pg pg.ss "$(pg_dsn src $DB)" "$(pg_dsn tgt t_ss)"
    "$BIN" teardown -c "$WORK/pg.toml" >/dev/null 2>&1 || true
  fi
  if has pgidx; then
    new_pg_target t_idump "$INDEX_SQL"
    timed pgidx.dump "$(pg_dump_into t_idump)"
    check_pg pgidx.dump "$(pg_dsn src $DB)" "$(pg_dsn tgt t_idump)"
    new_pg_target t_iss "$INDEX_SQL"
    want=$(pg_indexes t_iss)
    ss_config "$WORK/pgidx.toml" postgres "$(pg_dsn src $DB)" postgres "$(pg_dsn tgt t_iss)" "$TABLES"
    ss_copy pgidx.ss "$WORK/pgidx.toml" --rebuild-indexes
    check_pg pgidx.ss "$(pg_dsn src $DB)" "$(pg_dsn tgt t_iss)"
    [[ "$(pg_indexes t_iss)" == "$want" ]] || { RESULT[pgidx.ss.check]="DIFFERS (indexes)"; echo "pgidx: indexes after the copy: $(pg_indexes t_iss), before: $want" >&2; }
    "$BIN" teardown -c "$WORK/pgidx.toml" >/dev/null 2>&1 || true
  fi
done

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

for run in $(seq 1 "$BENCH_RUNS"); do
  if has my; then
    # stagesync's bookkeeping (the copy's record) goes with the target databases.
    my_sql mtgt "" -e "DROP DATABASE IF EXISTS t_dump; DROP DATABASE IF EXISTS t_ss; DROP DATABASE IF EXISTS stagesync; CREATE DATABASE t_dump; CREATE DATABASE t_ss"
    my_sql mtgt t_dump -e "$SCHEMA_SQL"
    my_sql mtgt t_ss -e "$SCHEMA_SQL"
    timed my.dump "mariadb-dump --no-defaults -h 127.0.0.1 -P ${MY_PORT[msrc]} -u root --single-transaction --no-create-info $DB | mariadb --no-defaults -h 127.0.0.1 -P ${MY_PORT[mtgt]} -u root t_dump"
    check_my my.dump "$(my_dsn msrc $DB)" "$(my_dsn mtgt t_dump)"
    ss_config "$WORK/my.toml" mysql "$(my_dsn msrc $DB)" mysql "$(my_dsn mtgt t_ss)" "\"$DB.*\""
    ss_copy my.ss "$WORK/my.toml"
    check_my my.ss "$(my_dsn msrc $DB)" "$(my_dsn mtgt t_ss)"
  fi
done

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
has pgidx && row "PG -> PG, 26 indexes: pg_dump | psql (*)" pgidx.dump pgidx.ss 1.5
has my && row "MariaDB -> MariaDB: mariadb-dump | mariadb" my.dump my.ss 1.5
has mypg && row "MariaDB -> PostgreSQL: pgloader" mypg.pgloader mypg.ss 1.5
if has live; then
  printf '%-44s %10s %10s %7s %-13s %8s  %s\n' "live: copy under pgbench -R 200, then run" - "${RESULT[live.copy]:-?}" - - \
    "${RESULT[live.copy.rss]:-?}" "target == source: ${RESULT[live.copy.check]:-?} (${RESULT[live.tx]:-?} tx streamed after the copy)"
fi
echo "ratio = reference time / stagesync time (higher is better for stagesync); rss = stagesync copy's peak (target <= 256 MB)"
echo "pg, pgidx, my: the faster of $BENCH_RUNS runs of each tool; (*) stagesync copy --rebuild-indexes into the schema with its secondary indexes, the reference loading into it as it is"
