#!/usr/bin/env bash
# Installs the Debian 12 packages stagesync needs to build, test, demo and bench (--bench: also
# the reference tools the benchmarks run).
# Idempotent: installs only what dpkg reports missing; runs `apt-get update` only then.
# Never starts system services (a temporary policy-rc.d denies it during the install).
set -euo pipefail

PACKAGES=(
  build-essential cmake ninja-build pkg-config
  libpq-dev libpqxx-dev libtomlplusplus-dev rapidjson-dev libboost-dev
  librdkafka-dev kcat libmysqlcppconn-dev libmariadb-dev mariadb-server
  postgresql-15 postgresql-contrib
  libgtest-dev googletest clang-format
  prometheus  # promtool, which checks /metrics in the tests
  chromium fonts-dejavu-core  # headless, for the dashboard test
)
# --bench: also the tools the benchmarks compare against (bench/copy.sh).
if [[ "${1:-}" == --bench ]]; then PACKAGES+=(pgcopydb pgloader); fi

missing=()
for pkg in "${PACKAGES[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
  if [[ "$status" != "install ok installed" ]]; then
    missing+=("$pkg")
  fi
done

if ((${#missing[@]} == 0)); then
  echo "install-deps: all ${#PACKAGES[@]} packages present"
  exit 0
fi

echo "install-deps: installing: ${missing[*]}"
if [[ $(id -u) -ne 0 ]]; then
  if command -v sudo >/dev/null 2>&1; then
    exec sudo -E bash "$0" "$@"
  fi
  echo "install-deps: must run as root (missing: ${missing[*]})" >&2
  exit 1
fi

# Keep package scripts from starting postgresql/mariadb: the demo and the tests run their
# own throwaway servers.
policy=/usr/sbin/policy-rc.d
created_policy=0
if [[ ! -e "$policy" ]]; then
  printf '#!/bin/sh\nexit 101\n' >"$policy"
  chmod 755 "$policy"
  created_policy=1
fi
cleanup() { if ((created_policy)); then rm -f "$policy"; fi; }
trap cleanup EXIT

export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends "${missing[@]}"
echo "install-deps: done"
