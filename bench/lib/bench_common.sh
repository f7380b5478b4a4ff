# Helpers shared by the benchmark scripts (bench/io/convert_bench.sh, bench/engine/engine_bench.sh,
# bench/quant/quantize_model_bench.sh, bench/quant/quantized_decode_bench.sh). Sourced, not run:
#
#   repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
#   source "$repo/bench/lib/bench_common.sh"
#   bench_init convert_bench
#
# The functions expect the script's `set -euo pipefail`. The bench_* checks exit the script through
# bench_die when they fail; messages go to stderr, prefixed with the name given to bench_init. Inside
# $(...) bench_die ends only that subshell, but the assignment it fails then ends the script (set -e),
# with the message already printed: `x=$(f)` on a line of its own, not `read ... <<<"$(f)"`.

# shellcheck shell=bash

# The prefix of every message, set by bench_init.
bench_name=bench

# bench_init NAME: the prefix of the messages of bench_say and bench_die ("NAME: ...").
bench_init() { bench_name=$1; }

# bench_say MSG...: prints "NAME: MSG" to stderr (progress and warnings).
bench_say() { echo "$bench_name: $*" >&2; }

# bench_die MSG...: prints "NAME: MSG" to stderr and exits 1.
bench_die() {
    bench_say "$@"
    exit 1
}

# bench_require_built BUILD_DIR TOOL...: exits unless every TOOL (a path) is an executable file.
bench_require_built() {
    local build=$1 tool
    shift
    for tool in "$@"; do
        [ -x "$tool" ] || bench_die "$tool not found: build first (scripts/build.sh $build)"
    done
}

# bench_require_gnu_time: exits unless /usr/bin/time is GNU time (it takes -v).
bench_require_gnu_time() {
    /usr/bin/time -v true >/dev/null 2>&1 ||
        bench_die "GNU time (/usr/bin/time -v) is needed: scripts/install-deps.sh installs it"
}

# bench_require_python3: exits unless python3 is on the PATH (the scripts that print their table with it).
bench_require_python3() {
    command -v python3 >/dev/null || bench_die "python3 is needed for the table: scripts/install-deps.sh installs it"
}

# bench_make_workdir PREFIX: creates a temporary folder ${TMPDIR:-/tmp}/PREFIX.XXXXXX, sets the global
# `work` to it and traps so that it is removed at exit; SIGINT and SIGTERM exit 130 and 143 (which
# runs the EXIT trap). Call it in the script itself, not in $(...): the variable and the traps are
# the caller's shell's.
bench_make_workdir() {
    work=$(mktemp -d "${TMPDIR:-/tmp}/$1.XXXXXX") || bench_die "cannot create a temporary folder"
    trap 'rm -rf "$work"' EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
}

# bench_require_free_kb DIR KB: exits unless the file system of DIR has at least KB KiB free.
bench_require_free_kb() {
    local avail_kb
    avail_kb=$(df -Pk "$1" | awk 'NR == 2 { print $4 }')
    [ "$avail_kb" -ge "$2" ] || bench_die "$1 has $((avail_kb / 1024)) MiB free, needs $(($2 / 1024)) MiB"
}

# bench_warn_mem_available_kb KB: warns (does not exit) when MemAvailable is below KB KiB: the models
# may then not stay in the page cache between runs.
bench_warn_mem_available_kb() {
    local mem_kb
    mem_kb=$(awk '/^MemAvailable:/ { print $2 }' /proc/meminfo)
    [ "$mem_kb" -ge "$1" ] ||
        bench_say "only $((mem_kb / 1024)) MiB available: the models may not stay in the page cache"
}

# now_ns: the wall clock in nanoseconds.
now_ns() { date +%s%N; }

# secs NS: seconds from a nanosecond count, 3 decimals.
secs() { awk -v ns="$1" 'BEGIN { printf "%.3f", ns / 1e9 }'; }

# mb BYTES: megabytes (1e6 bytes), 1 decimal.
mb() { awk -v b="$1" 'BEGIN { printf "%.1f", b / 1e6 }'; }

# mb_per_s BYTES NS: throughput in MB (1e6 bytes) per second, no decimals.
mb_per_s() { awk -v b="$1" -v ns="$2" 'BEGIN { printf "%.0f", b / 1e6 / (ns / 1e9) }'; }

# kb_to_mb KB: KiB to MiB, no decimals (the unit GNU time and /proc/PID/status count RSS in).
kb_to_mb() { awk -v kb="$1" 'BEGIN { printf "%.0f", kb / 1024 }'; }

# warm DIR: reads every file of the folder DIR once, into the page cache.
warm() { cat "$1"/* >/dev/null; }

# load: the load averages over 1, 5 and 15 minutes.
load() { cut -d' ' -f1-3 /proc/loadavg; }

# folder_bytes DIR: the bytes of all the files under DIR (0 for none).
folder_bytes() { find "$1" -type f -printf '%s\n' | awk '{ s += $1 } END { print s + 0 }'; }

# bench_cpu: this machine's CPU model name.
bench_cpu() { lscpu | sed -n 's/^Model name: *//p' | head -n 1; }

# bench_build_type BUILD_DIR: CMAKE_BUILD_TYPE of that build folder (empty when unknown).
bench_build_type() { sed -n 's/^CMAKE_BUILD_TYPE:[A-Z]*=//p' "$1/CMakeCache.txt" 2>/dev/null || true; }

# bench_fs_type DIR: the type of the file system DIR is on.
bench_fs_type() { df -PT "$1" | awk 'NR == 2 { print $2 }'; }

# bench_best_cp_ns SRC DEST RUNS: times `cp -r SRC DEST` RUNS times, each after removing DEST, `sync`
# (untimed, so that one run's writeback does not land in the next) and reading SRC into the page
# cache, and prints the fastest in nanoseconds. DEST is removed at the end. Meant for $(...), where
# bash turns errexit off: it turns it back on, so that a failing cp ends the script as before.
bench_best_cp_ns() {
    set -e
    local src=$1 dest=$2 runs=$3 run start elapsed best=""
    for ((run = 1; run <= runs; run++)); do
        rm -rf "$dest"
        sync
        warm "$src"
        start=$(now_ns)
        cp -r "$src" "$dest"
        elapsed=$(($(now_ns) - start))
        if [ -z "$best" ] || [ "$elapsed" -lt "$best" ]; then best=$elapsed; fi
    done
    rm -rf "$dest"
    echo "$best"
}

# bench_best_timed RUNS SRC OUT STDOUT_FILE FAIL_MSG CMD [ARG...]: runs CMD, which writes the folder
# OUT from SRC, RUNS times under `/usr/bin/time -v` (its report in OUT.time), each after removing
# OUT, `sync` (untimed) and reading SRC into the page cache, with CMD's stdout in STDOUT_FILE, and
# prints "BEST_NS PEAK_KB": the fastest wall time in nanoseconds and the largest peak RSS in KiB.
# OUT and STDOUT_FILE are those of the last run. When CMD fails it dies with "FAIL_MSG: REPORT".
# Meant for $(...), like bench_best_cp_ns (a bench_die there ends the script through set -e).
bench_best_timed() {
    set -e
    local runs=$1 src=$2 out=$3 stdout_file=$4 fail_msg=$5 run start elapsed kb best="" peak_kb=0
    shift 5
    for ((run = 1; run <= runs; run++)); do
        rm -rf "$out"
        sync
        warm "$src"
        start=$(now_ns)
        /usr/bin/time -v -o "$out.time" "$@" >"$stdout_file" || bench_die "$fail_msg: $(cat "$out.time")"
        elapsed=$(($(now_ns) - start))
        if [ -z "$best" ] || [ "$elapsed" -lt "$best" ]; then best=$elapsed; fi
        kb=$(bench_max_rss_kb "$out.time")
        if [ "$kb" -gt "$peak_kb" ]; then peak_kb=$kb; fi
    done
    echo "$best $peak_kb"
}

# bench_max_rss_kb TIME_FILE: the peak RSS in KiB from the output of `/usr/bin/time -v -o TIME_FILE`.
bench_max_rss_kb() {
    local kb
    kb=$(sed -n 's/^[[:space:]]*Maximum resident set size (kbytes): //p' "$1")
    [ -n "$kb" ] || bench_die "no 'Maximum resident set size' in the output of /usr/bin/time -v"
    echo "$kb"
}

# bench_sample_rss PID: samples /proc/PID/status every few ms until the process PID ends, prints
# "MAX_ANON_KB MAX_FILE_KB", the peaks of RssAnon (heap) and RssFile (mapped file pages), and returns
# the process's exit status. PID must be a child of the calling shell (started with &), so call it
# in that shell and redirect its output to a file, not in $(...) or <(...), where `wait` cannot
# reach the process.
bench_sample_rss() {
    local pid=$1 anon file state max_anon=0 max_file=0 status=0
    while [ -r "/proc/$pid/status" ]; do
        read -r anon file state < <(awk '/^RssAnon:/ { a = $2 } /^RssFile:/ { f = $2 } /^State:/ { s = $2 }
            END { print a + 0, f + 0, s }' "/proc/$pid/status" 2>/dev/null || echo "0 0")
        if [ "$anon" -gt "$max_anon" ]; then max_anon=$anon; fi
        if [ "$file" -gt "$max_file" ]; then max_file=$file; fi
        # A zombie (exited, not yet reaped) keeps its /proc entry but no memory.
        if [ "${state:-}" = Z ]; then break; fi
        sleep 0.005
    done
    wait "$pid" || status=$?
    echo "$max_anon $max_file"
    return "$status"
}
