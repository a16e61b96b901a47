#!/usr/bin/env bash
# Installs the build dependencies (deploy/install-deps.sh) and builds build/stagesync, with
# warnings as errors.
# BUILD_DIR (default build) and BUILD_JOBS (default nproc) may be overridden.
set -euo pipefail
cd "$(dirname "$0")/.."

BUILD_DIR=${BUILD_DIR:-build}
BUILD_JOBS=${BUILD_JOBS:-$(nproc)}

bash deploy/install-deps.sh
cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSTAGESYNC_WERROR=ON
cmake --build "$BUILD_DIR" -j"$BUILD_JOBS"
if [[ ! -x "$BUILD_DIR/stagesync" ]]; then
  echo "build: $BUILD_DIR/stagesync was not produced" >&2
  exit 1
fi
echo "build: $BUILD_DIR/stagesync"
