#!/usr/bin/env bash
# What [upgrade] rules cost apply: catch-up rows/s of `stagesync run` on the same backlog with
# and without a rule file, PostgreSQL -> PostgreSQL.
#
#   bash bench/rules.sh                  # 200k inserts + 200k updates per case
#   BENCH_SCALE=0.1 bash bench/rules.sh  # a tenth
#
# Two source tables of the same shape: `plain` (no rules on it) and `perm` (staging computes
# its domain_id with a lookup, WSO2's UM_ROLE_PERMISSION rule: a subquery on `dom` by tenant
# and a CASE on the role name). Four runs, each on its own source and target database with
# the same backlog (inserts in transactions of 10,000 rows, then an update of every row):
#   plain, no rule file         | plain, rule file (rules on perm only)
#   perm,  no rule file         | perm,  compute rule with the lookup
# Each run is timed from `run`'s start to the backlog's marker row on the target; every target
# is checked (row count, and perm's domain_id against the lookup). The four runs are repeated
# BENCH_REPEAT times, interleaved; the table shows the median.
# Environment: BENCH_SCALE (1), BENCH_REPEAT (3), BENCH_SKIP_BUILD=1, STAGESYNC_BIN
# (build/stagesync), PG_KEEP=1.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

BENCH_SCALE=${BENCH_SCALE:-1}
BENCH_REPEAT=${BENCH_REPEAT:-3}
BIN=${STAGESYNC_BIN:-$ROOT/build/stagesync}
ROWS=$(awk -v s="$BENCH_SCALE" 'BEGIN { v = int(200000 * s + 0.5); print (v < 10000 ? 10000 : v) }')
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }
log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*"; }
die() { echo "bench: $*" >&2; exit 1; }

[[ "${BENCH_SKIP_BUILD:-0}" == 1 ]] || bash deploy/build.sh
[[ -x "$BIN" ]] || die "no binary at $BIN"

# shellcheck source=deploy/lib/pg.sh
source deploy/lib/pg.sh
WORK=$(mktemp -d /tmp/stagesync-bench-rules.XXXXXX)
on_exit "rm -rf '$WORK'"
pg_start src
pg_start tgt
log "source port ${PG_PORT[src]}, target port ${PG_PORT[tgt]}; $ROWS rows per case"

cat >"$WORK/rules.toml" <<'EOF'
[[compute]]
name = "perm domain"
table = "perm"
column = "domain_id"
value = """(SELECT d.domain_id FROM dom d WHERE d.tenant_id = :tenant_id AND d.domain_name =
           CASE :role_name WHEN 'everyone' THEN 'INTERNAL' WHEN 'anon' THEN 'SYSTEM'
                           ELSE 'PRIMARY' END)"""
EOF

declare -A SECONDS_OF=()
run_case() { # NAME TABLE RULES(yes|no) ROUND
  local name=$1_$4 table=$2 rules=$3 t0 t1 pid
  pg_psql src postgres -c "CREATE DATABASE $name" >/dev/null
  pg_psql tgt postgres -c "CREATE DATABASE $name" >/dev/null
  pg_psql src "$name" -c "CREATE TABLE plain (id int PRIMARY KEY, tenant_id int, role_name text, note text);
    CREATE TABLE perm (id int PRIMARY KEY, tenant_id int, role_name text, note text);
    CREATE TABLE marker (id int PRIMARY KEY, v int); INSERT INTO marker VALUES (1, 0)" >/dev/null
  pg_psql tgt "$name" -c "CREATE TABLE plain (id int PRIMARY KEY, tenant_id int, role_name text, note text);
    CREATE TABLE perm (id int PRIMARY KEY, tenant_id int, role_name text, note text, domain_id int);
    CREATE TABLE marker (id int PRIMARY KEY, v int); INSERT INTO marker VALUES (1, 0);
    CREATE TABLE dom (domain_id serial, domain_name text, tenant_id int, PRIMARY KEY (domain_id, tenant_id));
    CREATE INDEX ON dom (tenant_id, domain_name);
    INSERT INTO dom (domain_name, tenant_id) SELECT n, t FROM generate_series(1, 100) t,
      unnest(ARRAY['PRIMARY', 'SYSTEM', 'INTERNAL']) n" >/dev/null
  {
    printf '[source]\nkind = "postgres"\ndsn = "%s"\ntables = ["public.*"]\nslot = "%s"\npublication = "%s"\n\n' \
      "$(pg_dsn src "$name")" "$name" "$name"
    printf '[target]\nkind = "postgres"\ndsn = "%s"\n\n[monitor]\nlisten = "127.0.0.1:%s"\n' \
      "$(pg_dsn tgt "$name")" "$(free_port)"
    [[ $rules == yes ]] && printf '\n[upgrade]\nrules = "%s"\n' "$WORK/rules.toml"
  } >"$WORK/$name.toml"
  "$BIN" setup -c "$WORK/$name.toml" >"$WORK/$name-setup.log" 2>&1 || { cat "$WORK/$name-setup.log" >&2; die "setup failed ($name)"; }
  for ((from = 1; from <= ROWS; from += 10000)); do
    pg_psql src "$name" -c "INSERT INTO $table SELECT i, 1 + i % 100, (ARRAY['everyone', 'anon', 'admin', 'dev'])[1 + i % 4], 'n' || i
      FROM generate_series($from, $((from + 9999 < ROWS ? from + 9999 : ROWS))) i" >/dev/null
  done
  pg_psql src "$name" -c "UPDATE $table SET role_name = CASE role_name WHEN 'dev' THEN 'everyone' ELSE 'dev' END, note = note || 'u'" >/dev/null
  pg_psql src "$name" -c "UPDATE marker SET v = 1" >/dev/null
  t0=$(now)
  "$BIN" run -c "$WORK/$name.toml" >"$WORK/$name-run.log" 2>&1 &
  pid=$!
  until [[ $(pg_val tgt "$name" "SELECT v FROM marker") == 1 ]]; do
    kill -0 "$pid" 2>/dev/null || { tail -20 "$WORK/$name-run.log" >&2; die "run exited ($name)"; }
    sleep 0.05
  done
  t1=$(now)
  stop_gracefully "$pid" || die "run did not stop cleanly ($name)"
  SECONDS_OF[$1]+="$(elapsed "$t0" "$t1") "
  [[ $(pg_val tgt "$name" "SELECT count(*) FROM $table") == "$ROWS" ]] || die "$name: rows missing on the target"
  if [[ $table == perm && $rules == yes ]]; then
    local wrong
    wrong=$(pg_val tgt "$name" "SELECT count(*) FROM perm p LEFT JOIN dom d ON d.domain_id = p.domain_id
      WHERE d.domain_name IS DISTINCT FROM CASE p.role_name WHEN 'everyone' THEN 'INTERNAL' WHEN 'anon' THEN 'SYSTEM' ELSE 'PRIMARY' END
         OR d.tenant_id IS DISTINCT FROM p.tenant_id")
    [[ $wrong == 0 ]] || die "$name: $wrong rows with a wrong domain_id"
  fi
  log "$name: $(elapsed "$t0" "$t1") s for $((2 * ROWS)) row changes"
  pg_val src "$name" "SELECT pg_drop_replication_slot('$name')" >/dev/null
  pg_psql src postgres -c "DROP DATABASE $name WITH (FORCE)" >/dev/null
  pg_psql tgt postgres -c "DROP DATABASE $name WITH (FORCE)" >/dev/null
}

for ((round = 1; round <= BENCH_REPEAT; round++)); do
  run_case plain_norules plain no "$round"
  run_case plain_rules plain yes "$round"
  run_case perm_norules perm no "$round"
  run_case perm_rules perm yes "$round"
done
for k in "${!SECONDS_OF[@]}"; do
  SECONDS_OF[$k]=$(tr ' ' '\n' <<<"${SECONDS_OF[$k]}" | grep . | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }')
done

rate() { awk -v n="$((2 * ROWS))" -v s="$1" 'BEGIN { printf "%.0f", n / s }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
echo
echo "apply with [upgrade] rules: $ROWS inserts + $ROWS updates per run, PostgreSQL 15 -> 15, median of $BENCH_REPEAT"
printf '%-44s %10s %12s %16s\n' "table, rule file" "seconds" "rows/s" "vs. no rule file"
printf '%-44s %10s %12s %16s\n' "plain, none" "${SECONDS_OF[plain_norules]}" "$(rate "${SECONDS_OF[plain_norules]}")" "1.00"
printf '%-44s %10s %12s %16s\n' "plain, rules on another table" "${SECONDS_OF[plain_rules]}" "$(rate "${SECONDS_OF[plain_rules]}")" \
  "$(ratio "${SECONDS_OF[plain_norules]}" "${SECONDS_OF[plain_rules]}")"
printf '%-44s %10s %12s %16s\n' "perm, none" "${SECONDS_OF[perm_norules]}" "$(rate "${SECONDS_OF[perm_norules]}")" "1.00"
printf '%-44s %10s %12s %16s\n' "perm, computed domain_id (lookup + CASE)" "${SECONDS_OF[perm_rules]}" "$(rate "${SECONDS_OF[perm_rules]}")" \
  "$(ratio "${SECONDS_OF[perm_norules]}" "${SECONDS_OF[perm_rules]}")"
