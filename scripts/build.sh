#!/usr/bin/env bash
# Configures and builds TenPak. Usage: scripts/build.sh [BUILD_DIR] [extra cmake args...]
# Release by default, warnings as errors, Ninja, all cores. BUILD_TARGET=NAME builds that target only.
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=${1:-build}
shift || true
cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE="${CMAKE_BUILD_TYPE:-Release}" -DTENPAK_WERROR=ON "$@" >/dev/null
cmake --build "$build_dir" -j"$(nproc)" ${BUILD_TARGET:+--target "$BUILD_TARGET"}
