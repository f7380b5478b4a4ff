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

# shellcheck source-path=SCRIPTDIR/../.. source=bench/lib/bench_common.sh
source "$repo/bench/lib/bench_common.sh"
bench_init convert_bench

bench_require_built "$build" "$tenpak" "$make_model"
bench_require_gnu_time
bench_make_workdir tenpak-convert-bench
bench_require_free_kb "$work" $((largest_bytes * 22 / 10 / 1024))

cpu=$(bench_cpu)
build_type=$(bench_build_type "$build")
fs_type=$(bench_fs_type "$work")

declare -A input_mb cp_s cp_mbps tp_s tp_mbps ratio rss_mb anon_mb file_mb
kernels=unknown

for size in "${sizes[@]}"; do
    src=$work/src-$size
    bench_say "writing a random $size F32 Llama model ..."
    summary=$("$make_model" "$src" --bytes "$size" --dtype f32 --seed 1 --json)
    kernels=$(printf '%s\n' "$summary" | sed -n 's/^ *"kernels": "\(.*\)",*$/\1/p')
    bytes=$(folder_bytes "$src")
    warm "$src"

    best_cp=$(bench_best_cp_ns "$src" "$work/copy" "$runs")

    timed=$(bench_best_timed "$runs" "$src" "$work/out" "$work/convert.json" "tenpak convert failed" \
        "$tenpak" convert "$src" -o "$work/out" --dtype f16 --json)
    read -r best_tp peak_kb <<<"$timed"

    # The untimed run that splits the peak into heap and mapped file pages.
    rm -rf "$work/out"
    sync
    "$tenpak" convert "$src" -o "$work/out" --dtype f16 --json >/dev/null &
    bench_sample_rss $! >"$work/split.txt" || bench_die "tenpak convert failed in the sampling run"
    read -r max_anon max_file <"$work/split.txt"
    rm -rf "$work/out" "$src"

    input_mb[$size]=$(mb "$bytes")
    cp_s[$size]=$(secs "$best_cp")
    tp_s[$size]=$(secs "$best_tp")
    cp_mbps[$size]=$(mb_per_s "$bytes" "$best_cp")
    tp_mbps[$size]=$(mb_per_s "$bytes" "$best_tp")
    ratio[$size]=$(awk -v cp="$best_cp" -v tp="$best_tp" 'BEGIN { printf "%.2f", cp / tp }')
    rss_mb[$size]=$(kb_to_mb "$peak_kb")
    anon_mb[$size]=$(kb_to_mb "$max_anon")
    file_mb[$size]=$(kb_to_mb "$max_file")
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
