#!/usr/bin/env bash
# The test command: installs dependencies, builds, and runs the unit and integration tests
# (ctest; the integration tests start their own throwaway database servers).
# Expects the shared fixtures beside the repository (../shared/fixtures), as in CI.
set -euo pipefail
cd "$(dirname "$0")/.."

BUILD_DIR=${BUILD_DIR:-build}
TEST_JOBS=${TEST_JOBS:-2}

if [[ ! -d ../shared/fixtures ]]; then
  echo "test: warning: ../shared/fixtures not found beside the repository; fixture-based tests may fail" >&2
fi

BUILD_DIR=$BUILD_DIR bash deploy/build.sh
ctest --test-dir "$BUILD_DIR" --output-on-failure -j"$TEST_JOBS"
