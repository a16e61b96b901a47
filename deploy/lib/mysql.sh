# shellcheck shell=bash
# Throwaway MariaDB servers on loopback for the demo (the MySQL counterpart of pg.sh).
#
#   source deploy/lib/pg.sh        # on_exit, free_port (sourced here if it was not)
#   source deploy/lib/mysql.sh
#   my_start prod                  # install-db + start; sets MY_PORT[prod], MY_DIR[prod]
#   my_start staging 2             # a second server with server_id 2
#   my_sql prod mydb -e 'select 1'
#   my_val prod mydb 'SELECT count(*) FROM t'
#   my_dsn prod mydb               # -> mysql://root@127.0.0.1:NNNN/mydb
#
# Each server runs from a fresh directory (mariadb-install-db, --no-defaults) with the row-based
# binlog stagesync reads (log_bin, ROW, FULL row image and metadata), on 127.0.0.1 only, user
# root without a password. Servers are stopped and their directories removed when the script
# exits (on_exit); PG_KEEP=1 keeps the directories for inspection. MY_EXTRA_OPTS may hold extra
# mariadbd options (space-separated).

if ! declare -F on_exit >/dev/null; then
  # shellcheck source=deploy/lib/pg.sh
  source "$(dirname "${BASH_SOURCE[0]}")/pg.sh"
fi

MY_SBIN=${MY_SBIN:-/usr/sbin}
declare -gA MY_PORT=()
declare -gA MY_DIR=()
declare -gA MY_PID=()

# my_start NAME [SERVER_ID]: a fresh server on a free loopback port (server_id default 1).
my_start() {
  local name=$1 server_id=${2:-1} base port attempt pid as_root=() extra=()
  base=$(mktemp -d "/tmp/stagesync-mysql-${name}.XXXXXX")
  MY_DIR[$name]=$base
  on_exit "my_stop $name"
  if [[ $(id -u) -eq 0 ]]; then as_root=(--user=root); fi
  if [[ -n "${MY_EXTRA_OPTS:-}" ]]; then read -ra extra <<<"$MY_EXTRA_OPTS"; fi
  mariadb-install-db --no-defaults --datadir="$base/data" --auth-root-authentication-method=normal \
    --skip-test-db "${as_root[@]}" >"$base/install.log" 2>&1 || {
    echo "my_start $name: mariadb-install-db failed:" >&2
    cat "$base/install.log" >&2
    return 1
  }
  for attempt in 1 2 3; do
    port=$(free_port)
    "$MY_SBIN/mariadbd" --no-defaults --datadir="$base/data" --port="$port" \
      --bind-address=127.0.0.1 --socket="$base/sock" --pid-file="$base/mariadbd.pid" \
      --log-error="$base/error.log" --tmpdir="$base" --log-bin="$base/data/binlog" --server-id="$server_id" \
      --binlog-format=ROW --binlog-row-image=FULL --binlog-row-metadata=FULL \
      --skip-name-resolve --innodb-buffer-pool-size=64M --innodb-flush-log-at-trx-commit=2 \
      --sync-binlog=0 "${as_root[@]}" "${extra[@]}" </dev/null >/dev/null 2>&1 &
    pid=$!
    MY_PID[$name]=$pid
    MY_PORT[$name]=$port
    for _ in $(seq 1 600); do
      if ! kill -0 "$pid" 2>/dev/null; then break; fi
      if mariadb --no-defaults -h 127.0.0.1 -P "$port" -u root -e 'select 1' >/dev/null 2>&1; then
        return 0
      fi
      sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
      echo "my_start $name: mariadbd did not accept connections within 60 s" >&2
      break
    fi
    wait "$pid" 2>/dev/null || true
    unset "MY_PID[$name]"
    echo "my_start $name: start on port $port failed (attempt $attempt)" >&2
    grep -q 'Address already in use\|Bind on TCP/IP port' "$base/error.log" 2>/dev/null || break
  done
  tail -20 "$base/error.log" >&2 || true
  return 1
}

# my_stop NAME: stop the server (SIGTERM, SIGKILL after 30 s) and remove its directory
# (unless PG_KEEP=1).
my_stop() {
  local name=$1 base=${MY_DIR[$1]:-} pid=${MY_PID[$1]:-}
  [[ -n "$base" ]] || return 0
  if [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 300); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  fi
  if [[ "${PG_KEEP:-0}" == 1 ]]; then
    echo "my_stop $name: kept $base" >&2
  else
    rm -rf "$base"
  fi
  unset "MY_DIR[$name]" "MY_PORT[$name]" "MY_PID[$name]"
}

# my_dsn NAME DB: the stagesync dsn for the server (user root, no password).
my_dsn() { echo "mysql://root@127.0.0.1:${MY_PORT[$1]}/$2"; }

# my_sql NAME DB [mariadb args...]: the mariadb client (batch mode stops on the first error).
# DB may be empty for no default database.
my_sql() {
  local name=$1 db=$2
  shift 2
  mariadb --no-defaults --default-character-set=utf8mb4 -h 127.0.0.1 -P "${MY_PORT[$name]}" \
    -u root ${db:+"--database=$db"} "$@"
}

# my_val NAME DB SQL: the result, tab-separated, no headers.
my_val() { my_sql "$1" "$2" -N -B -e "$3"; }
