# shellcheck shell=bash
# Throwaway PostgreSQL 15 clusters on loopback for the demo and the bench.
#
#   source deploy/lib/pg.sh
#   pg_start prod                  # initdb + start; sets PG_PORT[prod], PG_DIR[prod]
#   pg_psql prod postgres -c 'select 1'
#   pg_dsn prod mydb               # -> host=127.0.0.1 port=NNNN dbname=mydb user=postgres
#   on_exit "echo bye"            # extra cleanup, run in reverse order on exit
#
# Clusters are stopped and their directories removed when the script exits (EXIT trap; INT
# and TERM exit through it). As root, initdb/pg_ctl run as the OS user postgres; auth is
# trust on 127.0.0.1 and the socket directory only. PG_EXTRA_CONF may hold extra
# postgresql.conf lines. PG_KEEP=1 keeps the directories for inspection.

PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
declare -gA PG_PORT=()
declare -gA PG_DIR=()
declare -ga _ON_EXIT=()

on_exit() { _ON_EXIT+=("$1"); }

_run_on_exit() {
  local rc=$? i
  trap - EXIT INT TERM HUP PIPE
  for ((i = ${#_ON_EXIT[@]} - 1; i >= 0; i--)); do
    eval "${_ON_EXIT[i]}" || true
  done
  exit "$rc"
}
trap _run_on_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP
trap 'exit 141' PIPE

# Runs a command as the cluster owner (postgres when we are root, else ourselves).
_pg_as_owner() {
  if [[ $(id -u) -eq 0 ]]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

# stop_gracefully PID: SIGTERM to a background child of this shell, SIGKILL if it is still up
# after 30 s; returns its exit code.
stop_gracefully() {
  local pid=$1 rc=0
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid"
    for _ in $(seq 1 300); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && { echo "process $pid ignored SIGTERM for 30 s; killing" >&2; kill -KILL "$pid"; }
  fi
  wait "$pid" 2>/dev/null || rc=$?
  return "$rc"
}

free_port() {
  if command -v python3 >/dev/null 2>&1; then
    python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'
    return
  fi
  local p
  for _ in $(seq 1 200); do
    p=$((20000 + RANDOM % 40000))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
      echo "$p"
      return
    fi
  done
  echo "free_port: no free port found" >&2
  return 1
}

# pg_start NAME: initdb and start a cluster with wal_level=logical on a free loopback port.
pg_start() {
  local name=$1 base port attempt
  base=$(mktemp -d "/tmp/stagesync-${name}.XXXXXX")
  chmod 755 "$base"
  if [[ $(id -u) -eq 0 ]]; then chown postgres: "$base"; fi
  PG_DIR[$name]=$base
  on_exit "pg_stop $name"
  _pg_as_owner "$PG_BIN/initdb" -D "$base/data" -U postgres --auth=trust -E UTF8 --locale=C \
    >"$base/initdb.log" 2>&1 || {
    echo "pg_start $name: initdb failed:" >&2
    cat "$base/initdb.log" >&2
    return 1
  }
  {
    echo "wal_level = logical"
    echo "listen_addresses = '127.0.0.1'"
    echo "unix_socket_directories = '$base'"
    echo "max_replication_slots = 20"
    echo "max_wal_senders = 20"
    echo "max_logical_replication_workers = 8"
    echo "shared_buffers = 256MB"
    echo "max_wal_size = 4GB"
    echo "log_min_messages = warning"
    if [[ -n "${PG_EXTRA_CONF:-}" ]]; then printf '%s\n' "$PG_EXTRA_CONF"; fi
  } | _pg_as_owner tee -a "$base/data/postgresql.conf" >/dev/null
  for attempt in 1 2 3; do
    port=$(free_port)
    if _pg_as_owner "$PG_BIN/pg_ctl" -D "$base/data" -l "$base/server.log" -w -t 60 \
      -o "-p $port" start >/dev/null; then
      PG_PORT[$name]=$port
      return 0
    fi
    echo "pg_start $name: start on port $port failed (attempt $attempt)" >&2
  done
  tail -20 "$base/server.log" >&2 || true
  return 1
}

# pg_stop NAME: fast shutdown and remove the directory (unless PG_KEEP=1).
pg_stop() {
  local name=$1 base=${PG_DIR[$1]:-}
  [[ -n "$base" ]] || return 0
  if [[ -f "$base/data/postmaster.pid" ]]; then
    _pg_as_owner "$PG_BIN/pg_ctl" -D "$base/data" -m fast -w -t 60 stop >/dev/null 2>&1 ||
      _pg_as_owner "$PG_BIN/pg_ctl" -D "$base/data" -m immediate -w stop >/dev/null 2>&1 || true
  fi
  if [[ "${PG_KEEP:-0}" == 1 ]]; then
    echo "pg_stop $name: kept $base" >&2
  else
    rm -rf "$base"
  fi
  unset "PG_DIR[$name]" "PG_PORT[$name]"
}

# pg_dsn NAME DB: libpq conninfo for the cluster (superuser postgres, no password).
pg_dsn() { echo "host=127.0.0.1 port=${PG_PORT[$1]} dbname=$2 user=postgres"; }

# pg_psql NAME DB [psql args...]: quiet psql that stops on the first error.
pg_psql() {
  local name=$1 db=$2
  shift 2
  psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "${PG_PORT[$name]}" -U postgres -d "$db" "$@"
}

# pg_val NAME DB SQL: one value, unaligned, no headers.
pg_val() { pg_psql "$1" "$2" -Atc "$3"; }
