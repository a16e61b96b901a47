#!/usr/bin/env bash
# The live demo: a WSO2 Carbon 4.1.x user store on "production" keeps taking writes while a
# "staging" copy of it is migrated to 4.2.0 and kept in sync by stagesync.
#
#   bash deploy/demo.sh                      # PostgreSQL 15 (logical replication)
#   DEMO_ENGINE=mysql bash deploy/demo.sh    # MariaDB 10.11 (row-based binlog)
#   DEMO_ENGINE=cross bash deploy/demo.sh    # MariaDB production -> PostgreSQL staging
#
# Steps: install deps and build; start two throwaway PostgreSQL 15 servers; load the 4.1.x
# schema and sample data into production; give staging the 4.2.0 schema, empty (the 4.1.x
# schema with the release's migration applied); `stagesync setup` (creates the slot); start
# the workload; `stagesync copy` fills staging from a snapshot taken where the stream starts,
# through the upgrade rules (which compute what the migration computes: UM_DOMAIN rows,
# UM_DOMAIN_ID); `stagesync run` in the background while the workload goes on, printing status every
# few seconds; then `stagesync cutover` under the live workload (lag gate 2 s, production fenced
# read-only, marker drained, sequences synced, row counts verified plus the 4.2.0 checkpoint:
# UM_DOMAIN, UM_SYSTEM_USER, UM_SYSTEM_ROLE and UM_SYSTEM_USER_ROLE exist on staging; the
# switch_command records the switch in a file, as repointing the applications would); the
# 4.2.0 data the migration computes (a new tenant's UM_DOMAIN rows, UM_DOMAIN_ID) is kept by
# the shipped upgrade rules (deploy/upgrades/wso2-carbon-4.1.x-to-4.2.0/) while the sync runs,
# so the downtime holds no fixup; the workload's writes fail from the fence on, as
# intended; its report with the downtime is printed; then the workload stops, and every table
# is compared (row counts and md5 of the rows on the columns both sides have), exit non-zero on
# any difference. Production is left read-only by the fence; the servers are thrown away.
#
# DEMO_ENGINE=mysql runs the same steps on two throwaway MariaDB servers (deploy/lib/mysql.sh):
# WSO2's MySQL 4.1.x schema, sql/demo/mysql/{seed,workload}.sql, a source with kind = "mysql"
# (binlog, server_id 4711), `stagesync copy` from a consistent-snapshot transaction and its
# binlog position (the four keyless registry tables, outside the sync, by mariadb-dump), WSO2's
# official MySQL migration on the empty staging schema (it drops UM_CLAIM_BEHAVIOR, whose
# changes the rule file's [[drop]] drops on purpose), "caught up" read from `status --json` (lag_seconds 0, source_bytes_behind
# 0), and compare_mysql. The MySQL workload runs as a non-privileged user `app` (root has
# READ_ONLY ADMIN, which read_only does not stop), its routines with SQL SECURITY INVOKER.
# DEMO_ENGINE=cross: MariaDB production (4.1.x, MySQL schema) and a PostgreSQL staging with the
# 4.2.0 PostgreSQL schema; `stagesync copy` and the stream go across engines through the type
# map, [mapping] "wso2carbon.*" = "public.*" and the PostgreSQL rule file; the comparison is
# `stagesync verify --checksum` (values normalised across engines).
# DEMO_TRANSPORT=kafka (either engine) runs capture and apply through librdkafka's mock
# cluster; its cutover drains through Kafka (the marker confirmed by Kafka, then every
# partition applied).
#
# Environment: DEMO_ENGINE (postgres, mysql or cross, default postgres), DEMO_SECONDS (workload time
# after `run` starts, default 45), DEMO_TPS (workload transactions per second, default 40),
# DEMO_TENANTS (4), DEMO_USERS (users per tenant, 150), DEMO_SKIP_BUILD=1 (use an existing
# binary), STAGESYNC_BIN (default build/stagesync), STAGESYNC_KAFKA_MOCK (default
# build/stagesync-kafka-mock), STAGESYNC_FIXTURES (default ../shared/fixtures), PG_KEEP=1 (keep
# the server directories, the MariaDB ones too).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

ENGINE=${DEMO_ENGINE:-postgres} # postgres | mysql (MariaDB) | cross (MariaDB -> PostgreSQL)
# Production's engine and staging's: the same, but with DEMO_ENGINE=cross.
PROD=$ENGINE
STAGING=$ENGINE
if [[ $ENGINE == cross ]]; then PROD=mysql STAGING=postgres; fi
DEMO_SECONDS=${DEMO_SECONDS:-45}
DEMO_TPS=${DEMO_TPS:-40}
TRANSPORT=${DEMO_TRANSPORT:-direct} # direct (stagesync run) | kafka (capture + apply through a mock Kafka)
DEMO_TENANTS=${DEMO_TENANTS:-4}
DEMO_USERS=${DEMO_USERS:-150}
BIN=${STAGESYNC_BIN:-$ROOT/build/stagesync}
KAFKA_MOCK=${STAGESYNC_KAFKA_MOCK:-$ROOT/build/stagesync-kafka-mock}
FIXTURES=${STAGESYNC_FIXTURES:-$ROOT/../shared/fixtures}
WSO2=$FIXTURES/wso2
SCHEMA_41=$WSO2/carbon-4.1.x/postgresql.sql
MIGRATION=$WSO2/derived/postgresql-migration-4.1.x_to_4.2.0.DERIVED.sql
RULES=$ROOT/deploy/upgrades/wso2-carbon-4.1.x-to-4.2.0/postgresql.toml
DB=wso2carbon

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
die() { echo "demo: $*" >&2; exit 1; }

case $ENGINE in
  postgres) ;;
  mysql | cross)
    [[ $DEMO_TENANTS =~ ^[0-9]+$ && $DEMO_USERS =~ ^[0-9]+$ ]] || die "DEMO_TENANTS and DEMO_USERS must be numbers"
    SCHEMA_41=$WSO2/carbon-4.1.x/mysql.sql
    # WSO2's official migration runs unchanged on MariaDB 10.11.
    MIGRATION=$WSO2/migration-4.1.x_to_4.2.0/userstore_db/mysql.sql
    # Tables the MySQL migration drops: the rule file drops their changes on purpose, and the
    # comparison expects them to be missing on staging.
    DROPPED_TABLES=(UM_CLAIM_BEHAVIOR)
    RULES=$ROOT/deploy/upgrades/wso2-carbon-4.1.x-to-4.2.0/mysql.toml
    ;;
  *) die "DEMO_ENGINE=$ENGINE: use postgres, mysql or cross" ;;
esac
# Staging's 4.2.0 schema is made on staging's engine; the rules are SQL on staging.
STAGING_SCHEMA_41=$SCHEMA_41
STAGING_MIGRATION=$MIGRATION
if [[ $ENGINE == cross ]]; then
  STAGING_SCHEMA_41=$WSO2/carbon-4.1.x/postgresql.sql
  STAGING_MIGRATION=$WSO2/derived/postgresql-migration-4.1.x_to_4.2.0.DERIVED.sql
  RULES=$ROOT/deploy/upgrades/wso2-carbon-4.1.x-to-4.2.0/postgresql.toml
  DROPPED_TABLES=()
fi

for f in "$SCHEMA_41" "$MIGRATION"; do
  [[ -f "$f" ]] || die "fixture not found: $f (set STAGESYNC_FIXTURES to the shared fixtures dir)"
done

step "1. dependencies and build"
if [[ "${DEMO_SKIP_BUILD:-0}" != 1 ]]; then
  bash deploy/build.sh
fi
[[ -x "$BIN" ]] || die "no binary at $BIN"
"$BIN" --version

# shellcheck source=deploy/lib/pg.sh
source deploy/lib/pg.sh
# shellcheck source=deploy/lib/mysql.sh
source deploy/lib/mysql.sh
# shellcheck source=deploy/lib/compare.sh
source deploy/lib/compare.sh

WORK=$(mktemp -d /tmp/stagesync-demo.XXXXXX)
on_exit "rm -rf '$WORK'"

CFG=$WORK/stagesync.toml
if [[ $PROD == mysql ]]; then
  if [[ $STAGING == mysql ]]; then
    step "2. start production and staging (MariaDB 10.11, row-based binlog, loopback)"
    my_start staging 2
    my_sql staging "" -e "CREATE DATABASE $DB"
    STAGING_TARGET="kind = \"mysql\"
dsn = \"$(my_dsn staging $DB)\""
  else
    step "2. start production (MariaDB 10.11, row-based binlog) and staging (PostgreSQL 15), loopback"
    pg_start staging
    pg_psql staging postgres -c "CREATE DATABASE $DB"
    # MariaDB's database wso2carbon is PostgreSQL's schema public.
    STAGING_TARGET="kind = \"postgres\"
dsn = \"$(pg_dsn staging $DB)\"

[mapping]
\"$DB.*\" = { table = \"public.*\" }"
  fi
  my_start prod 1
  my_sql prod "" -e "CREATE DATABASE $DB"
  echo "production: $(my_dsn prod $DB)"
  echo "staging:    $([[ $STAGING == mysql ]] && my_dsn staging $DB || pg_dsn staging $DB)"

  step "3. production: WSO2 Carbon 4.1.x user-store schema + sample data"
  my_sql prod "$DB" <"$SCHEMA_41"
  { echo "SET @tenants = $DEMO_TENANTS, @users = $DEMO_USERS;"; cat sql/demo/mysql/seed.sql; } | my_sql prod "$DB"
  my_sql prod "" <sql/demo/mysql/workload.sql
  # The application's user: no READ_ONLY ADMIN (root has it, and read_only does not stop it), so
  # the cutover's fence stops its writes; the routines run with its rights (SQL SECURITY INVOKER).
  my_sql prod "" -e "CREATE USER app@'%'; GRANT ALL PRIVILEGES ON $DB.* TO app@'%';
    GRANT EXECUTE ON demo_workload.* TO app@'%'"
  my_val prod "" "SELECT CONCAT('ALTER ', ROUTINE_TYPE, ' demo_workload.', ROUTINE_NAME, ' SQL SECURITY INVOKER;')
    FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = 'demo_workload'" | my_sql prod ""
  my_val prod "$DB" "SELECT CONCAT((SELECT COUNT(*) FROM UM_TENANT), ' tenants (+ super tenant), ',
    (SELECT COUNT(*) FROM UM_USER), ' users, ', (SELECT COUNT(*) FROM UM_ROLE), ' roles, ',
    (SELECT COUNT(*) FROM UM_USER_ROLE), ' role assignments, ', (SELECT COUNT(*) FROM UM_ROLE_PERMISSION),
    ' permissions, ', (SELECT COUNT(*) FROM REG_RESOURCE), ' user-store configs')"

  # Tables without a primary key or a unique key over NOT NULL columns cannot be replicated by
  # key (setup's rule); WSO2 has four (registry link tables the user store does not write).
  # They are left out of the sync (and not written by the workload); their rows are copied
  # with mariadb-dump before `stagesync copy`, and the final comparison still checks them.
  NOKEY_TABLES=$(my_val prod "$DB" "SELECT GROUP_CONCAT(CONCAT('\"$DB.', t.TABLE_NAME, '\"') ORDER BY t.TABLE_NAME SEPARATOR ', ')
    FROM information_schema.TABLES t
    WHERE t.TABLE_SCHEMA = '$DB' AND t.TABLE_TYPE = 'BASE TABLE'
      AND NOT EXISTS (SELECT 1 FROM information_schema.STATISTICS s
                        JOIN information_schema.COLUMNS c USING (TABLE_SCHEMA, TABLE_NAME, COLUMN_NAME)
                      WHERE s.TABLE_SCHEMA = t.TABLE_SCHEMA AND s.TABLE_NAME = t.TABLE_NAME AND s.NON_UNIQUE = 0
                      GROUP BY s.INDEX_NAME HAVING SUM(c.IS_NULLABLE = 'YES') = 0)")

  cat >"$CFG" <<EOF
# stagesync demo config (written by deploy/demo.sh, DEMO_ENGINE=$ENGINE)
[source]
kind = "mysql"
dsn = "$(my_dsn prod $DB)"
tables = ["$DB.*"]
exclude = [${NOKEY_TABLES}]
server_id = 4711

[target]
$STAGING_TARGET

[monitor]
listen = "127.0.0.1:$(free_port)"
heartbeat_interval = "1s"

[upgrade]
rules = "$RULES"
EOF
else
  step "2. start production and staging (PostgreSQL 15, wal_level=logical, loopback)"
  pg_start prod
  pg_start staging
  pg_psql prod postgres -c "CREATE DATABASE $DB"
  pg_psql staging postgres -c "CREATE DATABASE $DB"
  echo "production: $(pg_dsn prod $DB)"
  echo "staging:    $(pg_dsn staging $DB)"

  step "3. production: WSO2 Carbon 4.1.x user-store schema + sample data"
  PGOPTIONS='-c client_min_messages=warning' pg_psql prod "$DB" -f "$SCHEMA_41"
  pg_psql prod "$DB" -v tenants="$DEMO_TENANTS" -v users="$DEMO_USERS" -f sql/demo/seed.sql
  PGOPTIONS='-c client_min_messages=warning' pg_psql prod "$DB" -f sql/demo/workload.sql
  pg_psql prod "$DB" -Atc "SELECT format('%s tenants (+ super tenant), %s users, %s roles, %s role assignments, %s permissions, %s user-store configs',
    (SELECT count(*) FROM um_tenant), (SELECT count(*) FROM um_user), (SELECT count(*) FROM um_role),
    (SELECT count(*) FROM um_user_role), (SELECT count(*) FROM um_role_permission),
    (SELECT count(*) FROM reg_resource))"

  # Tables without a primary key (WSO2 has four registry link tables) are synced with their
  # full rows (REPLICA IDENTITY FULL): `stagesync copy` copies them exactly at the stream's
  # start, so no replayed insert can double a row (source.allow_keyless).
  pg_val prod "$DB" "SELECT format('ALTER TABLE public.%I REPLICA IDENTITY FULL;', c.relname)
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = 'public' AND c.relkind = 'r'
      AND NOT EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = c.oid AND i.indisprimary)" | pg_psql prod "$DB" >/dev/null

  cat >"$CFG" <<EOF
# stagesync demo config (written by deploy/demo.sh)
[source]
kind = "postgres"
dsn = "$(pg_dsn prod $DB)"
tables = ["public.*"]
allow_keyless = true
slot = "stagesync_demo"
publication = "stagesync_demo"

[target]
kind = "postgres"
dsn = "$(pg_dsn staging $DB)"

[monitor]
listen = "127.0.0.1:$(free_port)"
heartbeat_interval = "1s"

[upgrade]
rules = "$RULES"
EOF
fi
{
  # The cutover. The checks are WSO2's checkpoint for the new release: its new user-store
  # tables exist on staging. The switch hook stands in for repointing the applications: it
  # writes the applications' datasource file, with the time of the switch. Nothing else runs
  # in the downtime: the upgrade rules kept staging's 4.2.0 data all along.
  if [[ $STAGING == mysql ]]; then
    table_check() {
      echo "SELECT COUNT(*) = 1 FROM information_schema.TABLES WHERE TABLE_SCHEMA = '$DB' AND LOWER(TABLE_NAME) = '$1'"
    }
    staging_url=$(my_dsn staging $DB)
  else
    table_check() {
      echo "SELECT EXISTS (SELECT 1 FROM information_schema.tables WHERE table_schema = 'public' AND lower(table_name) = '$1')"
    }
    staging_url=$(pg_dsn staging $DB)
  fi
  cat >"$WORK/switch.sh" <<EOF
#!/usr/bin/env bash
# switch_command: point the applications at staging (here: their datasource file).
set -euo pipefail
printf 'datasource = "%s"\nswitched_at = "%s"\n' '$staging_url' "\$(date -u +%Y-%m-%dT%H:%M:%S.%3NZ)" >'$WORK/app-datasource.toml'
EOF
  cat >>"$CFG" <<EOF

[cutover]
max_lag = "2s"
fence = "read-only"
verify = "count"
checks = [
  "$(table_check um_domain)",
  "$(table_check um_system_user)",
  "$(table_check um_system_role)",
  "$(table_check um_system_user_role)",
]
switch_command = "bash $WORK/switch.sh"
EOF
}
if [[ $TRANSPORT == kafka ]]; then
  # The demo's Kafka: librdkafka's mock cluster, 3 brokers on loopback.
  "$KAFKA_MOCK" >"$WORK/mock.out" 2>"$WORK/mock.err" &
  mock_pid=$!
  on_exit "kill $mock_pid 2>/dev/null || true"
  for _ in $(seq 1 50); do [[ -s "$WORK/mock.out" ]] && break; sleep 0.1; done
  cat >>"$CFG" <<EOF

[stream]
transport = "kafka"
brokers = "$(head -1 "$WORK/mock.out")"
topic_prefix = "wso2"
EOF
fi
echo "config: $CFG"
sed 's/^/  /' "$CFG"

# Staging is the new release's schema, empty: the 4.1.x schema with the release's migration
# applied. `stagesync copy` fills it with production's rows, through the upgrade rules.
if [[ $STAGING == mysql ]]; then
  step "3b. staging: the WSO2 Carbon 4.2.0 schema, empty (4.1.x + ${STAGING_MIGRATION#"$WSO2"/})"
  my_sql staging "$DB" <"$STAGING_SCHEMA_41"
  my_sql staging "$DB" <"$STAGING_MIGRATION" >"$WORK/migration.log" 2>&1 || { cat "$WORK/migration.log" >&2; die "the migration failed on staging"; }
  for t in "${DROPPED_TABLES[@]}"; do
    if [[ -z $(my_val staging "$DB" "SHOW TABLES LIKE '$t'") ]]; then
      echo "dropped by the migration: $t (its changes dropped on purpose by the upgrade rules)"
    fi
  done
else
  step "3b. staging: the WSO2 Carbon 4.2.0 schema, empty (4.1.x + $(basename "$STAGING_MIGRATION"))"
  PGOPTIONS='-c client_min_messages=warning' pg_psql staging "$DB" -f "$STAGING_SCHEMA_41"
  pg_psql staging "$DB" -f "$STAGING_MIGRATION" >"$WORK/migration.log" 2>&1 || { cat "$WORK/migration.log" >&2; die "the migration failed on staging"; }
fi

if [[ $PROD == mysql ]]; then
  step "4. stagesync setup (binlog checks; heartbeat and start position on production; bookkeeping on staging)"
else
  step "4. stagesync setup (publication, slot, heartbeat on production; bookkeeping on staging)"
fi
"$BIN" setup -c "$CFG"

# The workload: DEMO_TPS transactions per second through one psql session (one mariadb session,
# as the non-privileged user app, with DEMO_ENGINE=mysql), until $WORK/stop. Like an application
# with a connection pool, it reconnects when its session fails, but only for the errors the
# cutover's fence causes (the session ended, the database read-only) and only once the cutover
# has begun ($WORK/cutover): those are counted in $WORK/fenced; any other error stops the
# workload and fails the demo.
workload_pid=""
workload_client() {
  if [[ $PROD == mysql ]]; then
    my_sql prod "$DB" -u app -N -B
  else
    pg_psql prod "$DB" -At
  fi
}
FENCE_ERRORS='read-only transaction|terminating connection due to administrator command|server closed the connection|connection to server .* (failed|was lost)|no connection to the server|read-only option|Lost connection to server|server has gone away|Connection was killed'
start_workload() {
  (
    fenced=0
    echo 0 >"$WORK/steps"
    while [[ ! -e "$WORK/stop" ]]; do
      # One session: statements until $WORK/stop (or until the session fails: the next write
      # to the pipe then ends this generator).
      (
        i=$(cat "$WORK/steps")
        while [[ ! -e "$WORK/stop" ]]; do
          for ((j = i + 1; j <= i + DEMO_TPS; j++)); do
            if [[ $PROD == mysql ]]; then
              echo "CALL demo_workload.step($j);"
            else
              echo "SELECT demo_workload.step($j);"
            fi
          done
          i=$((i + DEMO_TPS))
          echo "$i" >"$WORK/steps"
          sleep 1
        done
      ) | workload_client >>"$WORK/workload.out" 2>"$WORK/session.err" || true
      [[ -s "$WORK/session.err" ]] || continue
      if [[ -e "$WORK/cutover" ]] && grep -Eq "$FENCE_ERRORS" "$WORK/session.err"; then
        fenced=$((fenced + 1))
        echo "$fenced" >"$WORK/fenced"
        { grep -E '^(ERROR|FATAL)' "$WORK/session.err" || head -1 "$WORK/session.err"; } | head -1 >>"$WORK/fenced.err"
        sleep 0.5
      else
        cat "$WORK/session.err" >>"$WORK/workload.err"
        exit 1
      fi
    done
  ) &
  workload_pid=$!
  on_exit "stop_workload"
}
stop_workload() {
  [[ -n "$workload_pid" ]] || return 0
  touch "$WORK/stop"
  local rc=0
  wait "$workload_pid" || rc=$?
  workload_pid=""
  if [[ -s "$WORK/workload.err" ]] || ((rc != 0)); then
    echo "demo: workload failed (exit $rc):" >&2
    cat "$WORK/workload.err" >&2
    return 1
  fi
}

step "5. production keeps taking writes from now on (${DEMO_TPS} tx/s: tenants, users, roles, assignments, user stores; updates, deletes)"
start_workload
sleep 3

step "6. stagesync copy: production -> staging (4.2.0) through the upgrade rules, while writes go on"
if [[ $PROD == mysql ]]; then
  nokey=$(tr -d '",' <<<"${NOKEY_TABLES//$DB./}")
  if [[ $STAGING == mysql ]]; then
    echo "the tables left out of the sync (no key; static): mariadb-dump --no-create-info $nokey"
    # shellcheck disable=SC2086
    mariadb-dump --no-defaults --default-character-set=utf8mb4 -h 127.0.0.1 -P "${MY_PORT[prod]}" -u root \
      --single-transaction --hex-blob --no-create-info "$DB" $nokey | my_sql staging "$DB"
  else
    echo "left out of the sync and of the comparison (no key, so a MySQL source cannot locate their rows; static registry links):$nokey"
  fi
fi
"$BIN" copy -c "$CFG" 2>"$WORK/copy.log" | sed 's/^/  /' || { cat "$WORK/copy.log" >&2; die "the copy failed"; }
grep -E 'created at|snapshot at|workers' "$WORK/copy.log" | sed 's/^.*copy: /  /' || true
staging_users=$([[ $STAGING == mysql ]] && my_val staging "$DB" "SELECT COUNT(*) FROM UM_USER" || pg_val staging "$DB" "SELECT count(*) FROM um_user")
prod_users=$([[ $PROD == mysql ]] && my_val prod "$DB" "SELECT COUNT(*) FROM UM_USER" || pg_val prod "$DB" "SELECT count(*) FROM um_user")
echo "copied: $staging_users users at the snapshot; production now has $prod_users"

step "7. staging is Carbon 4.2.0 with production's data: what the migration computes, the rules computed"
if [[ $STAGING == mysql ]]; then
  my_val staging "$DB" "SELECT CONCAT('staging: ', (SELECT COUNT(*) FROM UM_DOMAIN), ' UM_DOMAIN rows, ',
    (SELECT COUNT(UM_DOMAIN_ID) FROM UM_ROLE_PERMISSION), '/', (SELECT COUNT(*) FROM UM_ROLE_PERMISSION),
    ' role permissions with UM_DOMAIN_ID, new tables: ',
    (SELECT GROUP_CONCAT(TABLE_NAME ORDER BY TABLE_NAME SEPARATOR ', ') FROM information_schema.TABLES
      WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME IN ('UM_DOMAIN', 'UM_SYSTEM_USER', 'UM_SYSTEM_ROLE',
        'UM_SYSTEM_USER_ROLE', 'UM_MODULE', 'UM_MODULE_ACTIONS', 'UM_SHARED_USER_ROLE', 'UM_ACCOUNT_MAPPING')))"
else
  pg_val staging "$DB" "SELECT format('staging: %s UM_DOMAIN rows, %s/%s role permissions with UM_DOMAIN_ID, new tables: %s',
    (SELECT count(*) FROM um_domain),
    (SELECT count(um_domain_id) FROM um_role_permission), (SELECT count(*) FROM um_role_permission),
    (SELECT string_agg(table_name, ', ' ORDER BY table_name) FROM information_schema.tables
      WHERE table_schema = 'public' AND table_name IN ('um_domain', 'um_system_user', 'um_system_role',
        'um_system_user_role', 'um_module', 'um_module_actions', 'um_shared_user_role', 'um_account_mapping')))"
fi

step "8. stagesync run (background); status every 5 s while the workload goes on for ${DEMO_SECONDS}s"
if [[ $TRANSPORT == kafka ]]; then
  # capture (production -> Kafka) and apply (Kafka -> staging) as two processes.
  "$BIN" apply -c "$CFG" >"$WORK/apply.log" 2>&1 &
  apply_pid=$!
  on_exit "kill $apply_pid 2>/dev/null || true"
  "$BIN" capture -c "$CFG" >"$WORK/run.log" 2>&1 &
else
  "$BIN" run -c "$CFG" >"$WORK/run.log" 2>&1 &
fi
run_pid=$!
stop_run() {
  [[ -n "${run_pid:-}" ]] || return 0
  if kill -0 "$run_pid" 2>/dev/null; then
    kill -TERM "$run_pid"
    for _ in $(seq 1 300); do kill -0 "$run_pid" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$run_pid" 2>/dev/null; then
      echo "demo: stagesync run did not stop within 30 s of SIGTERM; killing it" >&2
      kill -KILL "$run_pid" 2>/dev/null || true
    fi
  fi
  local rc=0
  wait "$run_pid" 2>/dev/null || rc=$?
  run_pid=""
  return "$rc"
}
on_exit "stop_run"

json_field() { # json_field KEY < json  -> raw value of KEY's first occurrence (strings without quotes)
  # (the first: after a cutover the status also holds the cutover's report, with its own "state")
  { grep -o "\"$1\"[[:space:]]*:[[:space:]]*\"\{0,1\}[^\",}]*" || true; } | head -1 | sed "s/^\"$1\"[[:space:]]*:[[:space:]]*\"\{0,1\}//"
}
status_line() {
  local js
  js=$("$BIN" status -c "$CFG" --json 2>/dev/null) || { echo "status: (failed)"; return; }
  printf 'state=%-11s lag_seconds=%-6s source_bytes_behind=%-9s events_applied=%-7s transactions_applied=%-6s applied_position=%s\n' \
    "$(json_field state <<<"$js")" "$(json_field lag_seconds <<<"$js")" \
    "$(json_field source_bytes_behind <<<"$js")" "$(json_field events_applied <<<"$js")" \
    "$(json_field transactions_applied <<<"$js")" "$(json_field applied_position <<<"$js")"
}
check_run_alive() {
  if ! kill -0 "$run_pid" 2>/dev/null; then
    echo "demo: stagesync run exited early; its log:" >&2
    tail -40 "$WORK/run.log" >&2
    exit 1
  fi
}

sleep 2
check_run_alive
"$BIN" status -c "$CFG" || true
start=$SECONDS
while ((SECONDS - start < DEMO_SECONDS)); do
  sleep 5
  check_run_alive
  printf '[%3ds] workload steps=%-6s ' "$((SECONDS - start))" "$(cat "$WORK/steps" 2>/dev/null || echo 0)"
  status_line
done

STEP_NO=8
next_step() { STEP_NO=$((STEP_NO + 1)); step "$STEP_NO. $*"; }

# What WSO2's 4.2.0 migration computes (domain rows, UM_DOMAIN_ID): rows written by production
# during the window get it from the upgrade rules, so nothing is missing on staging.
domain_counts() { # domain_counts PREFIX
  if [[ $STAGING == mysql ]]; then
    my_val staging "$DB" "SELECT CONCAT('$1', 'tenants without their PRIMARY/SYSTEM/INTERNAL UM_DOMAIN rows: ', (SELECT COUNT(*) FROM UM_TENANT t
        WHERE (SELECT COUNT(*) FROM UM_DOMAIN d WHERE d.UM_TENANT_ID = t.UM_ID) < 3),
      '; role permissions without UM_DOMAIN_ID: ', (SELECT COUNT(*) FROM UM_ROLE_PERMISSION WHERE UM_DOMAIN_ID IS NULL))"
  else
    pg_val staging "$DB" "SELECT format('%stenants without their PRIMARY/SYSTEM/INTERNAL UM_DOMAIN rows: %s; role permissions without UM_DOMAIN_ID: %s',
      '$1', (SELECT count(*) FROM um_tenant t WHERE (SELECT count(*) FROM um_domain d WHERE d.um_tenant_id = t.um_id) < 3),
      (SELECT count(*) FROM um_role_permission WHERE um_domain_id IS NULL))"
  fi
}

downtime=""
{
  next_step "the 4.2.0 data of rows written during the window, kept by the upgrade rules while the sync runs"
  domain_counts "before the cutover: "
  echo "production (4.1.x) has no such data; ${RULES#"$ROOT"/} computes it in the same"
  echo "target transaction as the rows (\"$BIN status\" names the tables it drops). The cutover runs no fixup."

  next_step "stagesync cutover while the workload goes on (gate lag <= 2 s, fence, drain, sequences, verify + checks, switch)"
  touch "$WORK/cutover" # from here on, the workload's errors caused by the fence are expected
  cutover_rc=0
  "$BIN" cutover -c "$CFG" >"$WORK/cutover.txt" 2>"$WORK/cutover.log" || cutover_rc=$?
  sed 's/^/  /' "$WORK/cutover.txt"
  if ((cutover_rc != 0)); then
    echo "demo: stagesync cutover exited with $cutover_rc; its log:" >&2
    cat "$WORK/cutover.log" >&2
    tail -20 "$WORK/$([[ $TRANSPORT == kafka ]] && echo apply || echo run).log" >&2
    die "the cutover failed"
  fi
  downtime=$(sed -n 's/^downtime \([0-9][0-9.]*\) s$/\1/p' "$WORK/cutover.txt")
  [[ -n "$downtime" ]] || die "the cutover's report has no downtime line"
  [[ -s "$WORK/app-datasource.toml" ]] || die "switch_command did not write $WORK/app-datasource.toml"
  echo "switch recorded (the applications' datasource file):"
  sed 's/^/  /' "$WORK/app-datasource.toml"
  sleep 3 # the workload keeps trying against the fenced production meanwhile

  next_step "stop the workload; staging has everything production committed (lag 0)"
}
stop_workload
echo "workload: $(cat "$WORK/steps") transactions attempted, $(wc -l <"$WORK/workload.out") committed:"
sort "$WORK/workload.out" | uniq -c | sort -rn | awk '{printf "  %-14s %s\n", $2, $1}'
if [[ -e "$WORK/cutover" ]]; then
  echo "after the fence: $(cat "$WORK/fenced" 2>/dev/null || echo 0) workload sessions ended or refused by production (expected):"
  sort "$WORK/fenced.err" 2>/dev/null | uniq -c | sort -rn | head -3 | sed 's/^/  /'
fi
if [[ $PROD == mysql ]]; then
  echo "production binlog position after the workload: $(my_val prod "" "SHOW MASTER STATUS" | awk '{ print $1 ":" $2 }')"
else
  target_lsn=$(pg_val prod "$DB" "SELECT pg_current_wal_lsn()")
  echo "production WAL position after the workload: $target_lsn"
fi
deadline=$((SECONDS + 180))
while [[ $TRANSPORT == kafka ]]; do
  # Through Kafka the target has no single applied LSN: wait until the tables match.
  check_run_alive
  if [[ $ENGINE == cross ]]; then
    if "$BIN" verify -c "$CFG" >/dev/null 2>&1; then break; fi
  elif [[ $ENGINE == mysql ]]; then
    if compare_mysql "$(my_dsn prod $DB)" "$(my_dsn staging $DB)" "${DROPPED_TABLES[@]}" >/dev/null 2>&1; then break; fi
  elif compare_pg "$(pg_dsn prod $DB)" "$(pg_dsn staging $DB)" public >/dev/null 2>&1; then break; fi
  ((SECONDS < deadline)) || { tail -20 "$WORK/apply.log" >&2; die "staging did not catch up within 180 s"; }
  sleep 2
done
while [[ $PROD == mysql && $TRANSPORT != kafka ]]; do
  # The workload has stopped: caught up once status reads lag 0 and no binlog bytes between
  # production's current position and the applied one (file:pos).
  check_run_alive
  js=$("$BIN" status -c "$CFG" --json 2>/dev/null || true)
  lag=$(json_field lag_seconds <<<"$js")
  behind=$(json_field source_bytes_behind <<<"$js")
  if [[ "$lag" =~ ^[0-9.]+$ ]] && awk -v l="$lag" 'BEGIN { exit !(l + 0 == 0) }' && [[ "$behind" == 0 ]]; then
    break
  fi
  ((SECONDS < deadline)) || { status_line; tail -20 "$WORK/run.log" >&2; die "staging did not catch up within 180 s"; }
  status_line
  sleep 2
done
while [[ $PROD == postgres && $TRANSPORT != kafka ]]; do
  check_run_alive
  js=$("$BIN" status -c "$CFG" --json 2>/dev/null || true)
  lag=$(json_field lag_seconds <<<"$js")
  applied=$(json_field applied_position <<<"$js")
  if [[ "$lag" =~ ^[0-9.]+$ ]] && awk -v l="$lag" 'BEGIN { exit !(l + 0 == 0) }' && [[ "$applied" == */* ]] &&
    [[ $(pg_val prod "$DB" "SELECT '$applied'::pg_lsn >= '$target_lsn'::pg_lsn") == t ]]; then
    break
  fi
  ((SECONDS < deadline)) || { status_line; tail -20 "$WORK/run.log" >&2; die "staging did not catch up within 180 s"; }
  status_line
  sleep 2
done
status_line
"$BIN" status -c "$CFG" || true

next_step "compare production and staging (every table; columns both sides have)"
echo "(UM_DOMAIN_ID, UM_SHARED_ROLE, UM_MODULE_ID and the new UM_CLAIM columns exist only on staging and are not compared)"
rc=0
if [[ $ENGINE == cross ]]; then
  # Across engines: stagesync's own verify, every row in key order, values normalised.
  "$BIN" verify --checksum -c "$CFG" || rc=1
elif [[ $ENGINE == mysql ]]; then
  echo "(${DROPPED_TABLES[*]}: dropped by the migration, expected to be missing on staging)"
  compare_mysql "$(my_dsn prod $DB)" "$(my_dsn staging $DB)" "${DROPPED_TABLES[@]}" || rc=1
else
  compare_pg "$(pg_dsn prod $DB)" "$(pg_dsn staging $DB)" public || rc=1
fi

next_step "staging after the switch: the 4.2.0 data for rows written during the window"
domain_counts "after the switch (no fixup ran): "

next_step "stop stagesync run (SIGTERM)"
run_rc=0
stop_run || run_rc=$?
echo "stagesync run exited with $run_rc"
((run_rc == 0)) || { tail -20 "$WORK/run.log" >&2; rc=1; }

if ((rc == 0)); then
  but=""
  [[ $ENGINE == mysql ]] && but=" (but ${DROPPED_TABLES[*]}, dropped by the migration)"
  [[ $ENGINE == cross ]] && but=" (MariaDB -> PostgreSQL; but the 4 keyless registry tables, outside the sync)"
  cut=""
  [[ -n "$downtime" ]] && cut="; cutover under load: downtime $downtime s"
  printf '\n\033[1mDEMO OK\033[0m: staging (4.2.0 schema) equals production (4.1.x) on every table%s after %s s of writes%s.\n' \
    "$but" "$DEMO_SECONDS" "$cut"
else
  printf '\n\033[1mDEMO FAILED\033[0m: see the DIFF lines / messages above. run log: %s\n' "$WORK/run.log"
  cp "$WORK/run.log" /tmp/stagesync-demo-run.log 2>/dev/null && echo "(copied to /tmp/stagesync-demo-run.log)"
fi
exit "$rc"
