#!/usr/bin/env bash
# Sets everything up and runs every test.
#   scripts/test.sh              Release build in build/, all CTest suites
#   scripts/test.sh --sanitize   the same under AddressSanitizer + UndefinedBehaviorSanitizer, in build-asan/
#   scripts/test.sh --fuzz SECS  builds the libFuzzer targets with clang and runs each for SECS seconds
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh

mode=${1:-}
jobs=$(nproc)
case "$mode" in
    "")
        ./scripts/build.sh build
        ctest --test-dir build --output-on-failure -j"$jobs"
        ;;
    --sanitize)
        # -O1 with line tables only: half the compile time of -O2 -g under the sanitizers (the build is
        # most of CI's time), with file:line in every report.
        CMAKE_BUILD_TYPE=RelWithDebInfo ./scripts/build.sh build-asan -DTENPAK_SANITIZE=ON -DTENPAK_BUILD_BENCH=OFF \
            "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O1 -g1 -DNDEBUG" "-DCMAKE_C_FLAGS_RELWITHDEBINFO=-O1 -g1 -DNDEBUG"
        # Suites named Slow* (whole-sample perplexity runs) are left out here: they exercise no code
        # the other tests do not, and would take many minutes under the sanitizers.
        ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
            ctest --test-dir build-asan --output-on-failure -j"$jobs" -E 'Slow'
        ;;
    --fuzz)
        seconds=${2:-30}
        # -O1 -g1: quick to compile, with file:line in the reports.
        CC=clang CXX=clang++ BUILD_TARGET=fuzz_targets CMAKE_BUILD_TYPE=RelWithDebInfo ./scripts/build.sh build-fuzz \
            -DTENPAK_FUZZ=ON -DTENPAK_WERROR=OFF -DTENPAK_BUILD_TESTS=OFF -DTENPAK_BUILD_BENCH=OFF \
            "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O1 -g1 -DNDEBUG" "-DCMAKE_C_FLAGS_RELWITHDEBINFO=-O1 -g1 -DNDEBUG"
        for target in build-fuzz/fuzz/*_fuzz; do
            name=$(basename "$target" _fuzz)
            work=$(mktemp -d)
            cp -r "fuzz/corpus/$name/." "$work/"
            echo "fuzzing $name for ${seconds}s"
            "$target" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 "$work" \
                2>&1 | tail -n 12
            rm -rf "$work"
        done
        ;;
    *)
        echo "usage: $0 [--sanitize | --fuzz SECONDS]" >&2
        exit 2
        ;;
esac
