#!/usr/bin/env bash
# Convert throughput and memory: `tenpak convert SRC -o OUT --dtype f16` (an F32 Hugging Face folder
# to an F16 one) against `cp -r` of the same folder, the fastest anything can move those bytes on
# this file system, on random Llama models of 256 MB and 1 GB written by make_model.
#
#   bench/io/convert_bench.sh [BUILD_DIR]     BUILD_DIR defaults to build/ (scripts/build.sh makes it)
#
# For each model: the source is read once into the page cache (cat > /dev/null; caches cannot be
# dropped without root, so every run is warm), then `cp -r` and `tenpak convert` are each timed
# 3 times, best kept, with `sync` before every run so that one run's writeback does not land in
# the next. Neither cp nor tenpak syncs its output, so both are timed into the page cache.
# Printed per model: seconds, MB/s of input bytes (1e6), tenpak/cp throughput ratio, and the peak
# RSS of convert from GNU time -v (the largest of the 3 runs); then the ratio of peak RSS between
# the 1 GB and the 256 MB models: streaming one tensor at a time should keep it near 1.
#
# Peak RSS counts the input's mmap'd pages that convert has touched as well as its own memory. An
# extra untimed run samples /proc/PID/status every few ms to split the peak into RssAnon (heap:
# what streaming bounds) and RssFile (mapped input pages, which the kernel can reclaim at will).
#
# Disk: at most one model, its copy and an output at a time (about 2 x 1 GB), in a temporary
# folder under $TMPDIR (else /tmp) that is removed at exit. Nothing is asserted: figures only.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
build=${1:-$repo/build}
tenpak=$build/tenpak
make_model=$build/bench/make_model
sizes=(256MB 1GB)
largest_bytes=1000000000
runs=3

die() {
    echo "convert_bench: $*" >&2
    exit 1
}

[ -x "$tenpak" ] || die "$tenpak not found: build first (scripts/build.sh $build)"
[ -x "$make_model" ] || die "$make_model not found: build first (scripts/build.sh $build)"
/usr/bin/time -v true >/dev/null 2>&1 || die "GNU time (/usr/bin/time -v) is needed: scripts/install-deps.sh installs it"

work=$(mktemp -d "${TMPDIR:-/tmp}/tenpak-convert-bench.XXXXXX") || die "cannot create a temporary folder"
cleanup() { rm -rf "$work"; }
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

avail_kb=$(df -Pk "$work" | awk 'NR == 2 { print $4 }')
need_kb=$((largest_bytes * 22 / 10 / 1024))
[ "$avail_kb" -ge "$need_kb" ] || die "$work has $((avail_kb / 1024)) MiB free, needs $((need_kb / 1024)) MiB"

now_ns() { date +%s%N; }
# Seconds from a nanosecond count, 3 decimals.
secs() { awk -v ns="$1" 'BEGIN { printf "%.3f", ns / 1e9 }'; }
warm() { cat "$1"/* >/dev/null; }

cpu=$(lscpu | sed -n 's/^Model name: *//p' | head -n 1)
build_type=$(sed -n 's/^CMAKE_BUILD_TYPE:[A-Z]*=//p' "$build/CMakeCache.txt" 2>/dev/null || true)
fs_type=$(df -PT "$work" | awk 'NR == 2 { print $2 }')

declare -A input_mb cp_s cp_mbps tp_s tp_mbps ratio rss_mb anon_mb file_mb
kernels=unknown

for size in "${sizes[@]}"; do
    src=$work/src-$size
    echo "convert_bench: writing a random $size F32 Llama model ..." >&2
    summary=$("$make_model" "$src" --bytes "$size" --dtype f32 --seed 1 --json)
    kernels=$(printf '%s\n' "$summary" | sed -n 's/^ *"kernels": "\(.*\)",*$/\1/p')
    bytes=$(find "$src" -type f -printf '%s\n' | awk '{ s += $1 } END { print s }')
    warm "$src"

    best_cp=
    for ((run = 1; run <= runs; run++)); do
        rm -rf "$work/copy"
        sync
        warm "$src"
        start=$(now_ns)
        cp -r "$src" "$work/copy"
        elapsed=$(($(now_ns) - start))
        if [ -z "$best_cp" ] || [ "$elapsed" -lt "$best_cp" ]; then best_cp=$elapsed; fi
    done
    rm -rf "$work/copy"

    best_tp=
    peak_kb=0
    for ((run = 1; run <= runs; run++)); do
        rm -rf "$work/out"
        sync
        warm "$src"
        start=$(now_ns)
        /usr/bin/time -v -o "$work/time.txt" "$tenpak" convert "$src" -o "$work/out" --dtype f16 --json >"$work/convert.json" ||
            die "tenpak convert failed: $(cat "$work/time.txt")"
        elapsed=$(($(now_ns) - start))
        if [ -z "$best_tp" ] || [ "$elapsed" -lt "$best_tp" ]; then best_tp=$elapsed; fi
        kb=$(sed -n 's/^[[:space:]]*Maximum resident set size (kbytes): //p' "$work/time.txt")
        [ -n "$kb" ] || die "no 'Maximum resident set size' in the output of /usr/bin/time -v"
        if [ "$kb" -gt "$peak_kb" ]; then peak_kb=$kb; fi
    done

    # The untimed run that splits the peak into heap and mapped file pages.
    rm -rf "$work/out"
    sync
    "$tenpak" convert "$src" -o "$work/out" --dtype f16 --json >/dev/null &
    pid=$!
    max_anon=0
    max_file=0
    while [ -r "/proc/$pid/status" ]; do
        read -r anon file < <(awk '/^RssAnon:/ { a = $2 } /^RssFile:/ { f = $2 } END { print a + 0, f + 0 }' \
            "/proc/$pid/status" 2>/dev/null || echo "0 0")
        if [ "$anon" -gt "$max_anon" ]; then max_anon=$anon; fi
        if [ "$file" -gt "$max_file" ]; then max_file=$file; fi
        sleep 0.005
    done
    wait "$pid" || die "tenpak convert failed in the sampling run"
    rm -rf "$work/out" "$src"

    input_mb[$size]=$(awk -v b="$bytes" 'BEGIN { printf "%.1f", b / 1e6 }')
    cp_s[$size]=$(secs "$best_cp")
    tp_s[$size]=$(secs "$best_tp")
    cp_mbps[$size]=$(awk -v b="$bytes" -v ns="$best_cp" 'BEGIN { printf "%.0f", b / 1e6 / (ns / 1e9) }')
    tp_mbps[$size]=$(awk -v b="$bytes" -v ns="$best_tp" 'BEGIN { printf "%.0f", b / 1e6 / (ns / 1e9) }')
    ratio[$size]=$(awk -v cp="$best_cp" -v tp="$best_tp" 'BEGIN { printf "%.2f", cp / tp }')
    rss_mb[$size]=$(awk -v kb="$peak_kb" 'BEGIN { printf "%.0f", kb / 1024 }')
    anon_mb[$size]=$(awk -v kb="$max_anon" 'BEGIN { printf "%.0f", kb / 1024 }')
    file_mb[$size]=$(awk -v kb="$max_file" 'BEGIN { printf "%.0f", kb / 1024 }')
done

echo
echo "tenpak convert --dtype f16 (F32 HF folder -> F16 HF folder) vs cp -r, warm page cache, best of $runs"
echo "cpu: $cpu ($(nproc) threads, load average $(cut -d' ' -f1 /proc/loadavg); tenpak convert uses 1), build: ${build_type:-unknown} ($build)," \
    "kernels: $kernels${TENPAK_KERNELS:+ (TENPAK_KERNELS=$TENPAK_KERNELS)}, file system: $fs_type, $(date -u +%Y-%m-%d)"
echo
printf '%-7s %9s %8s %8s %10s %10s %9s %12s %16s\n' model "input MB" "cp s" "cp MB/s" "convert s" "conv MB/s" \
    tenpak/cp "peak RSS MB" "anon/file MB"
for size in "${sizes[@]}"; do
    printf '%-7s %9s %8s %8s %10s %10s %9s %12s %16s\n' "$size" "${input_mb[$size]}" "${cp_s[$size]}" \
        "${cp_mbps[$size]}" "${tp_s[$size]}" "${tp_mbps[$size]}" "${ratio[$size]}" "${rss_mb[$size]}" \
        "${anon_mb[$size]}/${file_mb[$size]}"
done
echo
small=${sizes[0]}
large=${sizes[-1]}
awk -v a="${rss_mb[$large]}" -v b="${rss_mb[$small]}" -v aa="${anon_mb[$large]}" -v ba="${anon_mb[$small]}" \
    -v ia="${input_mb[$large]}" -v ib="${input_mb[$small]}" -v large="$large" -v small="$small" 'BEGIN {
        printf "peak RSS ratio %s / %s: %.2f for %.2fx the input (flat is ~1); RssAnon alone: %.2f\n",
            large, small, a / b, ia / ib, (ba > 0 ? aa / ba : 0)
    }'
