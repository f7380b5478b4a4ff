#!/usr/bin/env bash
# Pack and unpack throughput and memory: `tenpak pack SRC -o X.tnpk --threads 2` against
# `zstd -3 -T2` of the same bytes and `cp -r`, and `tenpak unpack X.tnpk -o DIR` against `zstd -d`
# and `cp -r`, on a random ~1 GB F16 Llama model written by make_model (bench/README.md, "pack_bench.sh").
#
#   bench/artifact/pack_bench.sh [BUILD_DIR]     BUILD_DIR defaults to build/; THREADS=2, RUNS=3 by default
#
# zstd gets the folder as one tar stream, `tar -cf - -C SRC . | zstd -3 -T2 -o X.tar.zst`, and
# gives it back with `zstd -d -c X.tar.zst | tar -xf - -C DIR`: one file in, one file out, as pack
# and unpack do, at pack's default level (3) and threads. zstd has no multi-threaded decoder, so
# -T does not apply to `zstd -d`. pack does more than zstd: it splits at tensors, hashes every chunk
# (BLAKE2b-256), stores a chunk raw when compressing saves under 1/64, and writes a manifest; unpack
# checks every chunk's hash. cp -r of the folder is the floor for moving those bytes on this file
# system, for both directions (unpack writes the same folder).
#
# It builds nothing. The source, the artifact and the .tar.zst are read once into the page cache
# (cat > /dev/null; caches cannot be dropped without root, so every run is warm), and each command is
# timed RUNS times, best kept, with `sync` (untimed) before every run so that one run's writeback does
# not land in the next. Nothing syncs its output, so all are timed into the page cache. Throughput is
# in raw bytes of the model folder per second (MB = 1e6 bytes) in both directions; a ratio is the
# throughput of tenpak over that of the other tool. Peak RSS is GNU time -v's maximum resident set
# size, the largest of the runs (for the zstd pipelines: of the largest process in it); for pack and
# unpack an extra untimed run samples /proc/PID/status every few ms to split the peak into RssAnon
# (heap) and RssFile (mapped pages of the input model or artifact, which the kernel can reclaim).
#
# Disk: the model, the artifact, the .tar.zst and one output at a time (about 4 x 1 GB), in a
# temporary folder under $TMPDIR (else /tmp) that is removed at exit. Nothing is asserted: figures only.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
build=${1:-$repo/build}
threads=${THREADS:-2}
runs=${RUNS:-3}
tenpak=$build/tenpak
make_model=$build/bench/make_model
# About 1 GB of F16 (982 MB): TinyLlama-1.1B's widths (hidden 2048, intermediate 5632) with 7 layers
# and 16 heads of 128, vocab 32000, untied lm_head.
shape=(--hidden 2048 --intermediate 5632 --heads 16 --vocab 32000 --layers 7)
largest_bytes=1000000000
zstd_level=3

# shellcheck source-path=SCRIPTDIR/../.. source=bench/lib/bench_common.sh
source "$repo/bench/lib/bench_common.sh"
bench_init pack_bench

bench_require_built "$build" "$tenpak" "$make_model"
bench_require_gnu_time
command -v zstd >/dev/null || bench_die "zstd is needed: apt-get install zstd"
bench_make_workdir tenpak-pack-bench
bench_require_free_kb "$work" $((largest_bytes * 42 / 10 / 1024))

cpu=$(bench_cpu)
build_type=$(bench_build_type "$build")
fs_type=$(bench_fs_type "$work")

src=$work/src
bench_say "writing a random ~1 GB F16 Llama model ..."
"$make_model" "$src" "${shape[@]}" --dtype f16 --seed 1 --json >/dev/null
bytes=$(folder_bytes "$src")
# Each packed file in a folder of its own, so that `warm` (which reads a folder) reads it.
mkdir "$work/tnpk" "$work/zst"
tnpk=$work/tnpk/model.tnpk
zst=$work/zst/model.tar.zst
warm "$src"
load_before=$(load)

bench_say "cp -r (load average $(load)) ..."
best_cp=$(bench_best_cp_ns "$src" "$work/copy" "$runs")

bench_say "tenpak pack (load average $(load)) ..."
timed=$(bench_best_timed "$runs" "$src" "$tnpk" "$work/pack.json" "tenpak pack $src failed" \
    "$tenpak" pack "$src" -o "$tnpk" --threads "$threads" --zstd-level "$zstd_level" --json)
read -r best_pack pack_kb <<<"$timed"
# An untimed run that splits the peak into heap and mapped file pages (the input is mmap'd).
rm -rf "$tnpk"
sync
"$tenpak" pack "$src" -o "$tnpk" --threads "$threads" --zstd-level "$zstd_level" --json >"$work/pack.json" &
bench_sample_rss $! >"$work/split.txt" || bench_die "tenpak pack failed in the sampling run"
read -r pack_anon pack_file <"$work/split.txt"
chunks=$(sed -n 's/^ *"chunks": \([0-9]*\),*$/\1/p' "$work/pack.json")
compressed_chunks=$(sed -n 's/^ *"compressed_chunks": \([0-9]*\),*$/\1/p' "$work/pack.json")

bench_say "tar | zstd -$zstd_level -T$threads (load average $(load)) ..."
# shellcheck disable=SC2016 # the inner script's arguments, expanded by that bash
timed=$(bench_best_timed "$runs" "$src" "$zst" /dev/null "tar | zstd failed" \
    bash -c 'set -o pipefail; tar -cf - -C "$1" . | zstd -q "-$2" "-T$3" -o "$4"' _ "$src" "$zstd_level" "$threads" "$zst")
read -r best_zstd zstd_kb <<<"$timed"

bench_say "tenpak unpack (load average $(load)) ..."
timed=$(bench_best_timed "$runs" "$work/tnpk" "$work/unpacked" "$work/unpack.json" "tenpak unpack $tnpk failed" \
    "$tenpak" unpack "$tnpk" -o "$work/unpacked" --json)
read -r best_unpack unpack_kb <<<"$timed"
unpacked_bytes=$(folder_bytes "$work/unpacked")
[ "$unpacked_bytes" -eq "$bytes" ] || bench_die "unpack wrote $unpacked_bytes bytes, the model has $bytes"
rm -rf "$work/unpacked"
sync
"$tenpak" unpack "$tnpk" -o "$work/unpacked" --json >/dev/null &
bench_sample_rss $! >"$work/split.txt" || bench_die "tenpak unpack failed in the sampling run"
read -r unpack_anon unpack_file <"$work/split.txt"
rm -rf "$work/unpacked"

bench_say "zstd -d | tar -x (load average $(load)) ..."
# shellcheck disable=SC2016 # as above
timed=$(bench_best_timed "$runs" "$work/zst" "$work/untarred" /dev/null "zstd -d | tar -x failed" \
    bash -c 'set -o pipefail; mkdir "$2" && zstd -q -d -c "$1" | tar -xf - -C "$2"' _ "$zst" "$work/untarred")
read -r best_unzstd unzstd_kb <<<"$timed"
rm -rf "$work/untarred"
load_after=$(load)

tnpk_bytes=$(stat -c %s "$tnpk")
zst_bytes=$(stat -c %s "$zst")
# ratio A_NS B_NS: B's time over A's, i.e. A's throughput over B's.
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b / a }'; }
compression() { awk -v raw="$bytes" -v stored="$1" 'BEGIN { printf "%.3f", raw / stored }'; }

echo
echo "tenpak pack / unpack vs tar | zstd -$zstd_level -T$threads / zstd -d | tar -x vs cp -r, warm page cache, best of $runs"
echo "cpu: $cpu ($(nproc) threads; tenpak pack --threads $threads), build: ${build_type:-unknown} ($build)," \
    "file system: $fs_type, $(date -u +%Y-%m-%d)"
echo "load average (1, 5, 15 min): $load_before before -> $load_after after"
echo "model: $(mb "$bytes") MB of F16 (${shape[*]}); pack: $chunks chunks, $compressed_chunks compressed"
echo
row() { printf '%-18s %8s %8s %12s %12s %14s\n' "$@"; }
row command seconds "MB/s" "compression" "peak RSS MB" "anon/file MB"
row "tenpak pack" "$(secs "$best_pack")" "$(mb_per_s "$bytes" "$best_pack")" "$(compression "$tnpk_bytes")" \
    "$(kb_to_mb "$pack_kb")" "$(kb_to_mb "$pack_anon")/$(kb_to_mb "$pack_file")"
row "tar | zstd" "$(secs "$best_zstd")" "$(mb_per_s "$bytes" "$best_zstd")" "$(compression "$zst_bytes")" \
    "$(kb_to_mb "$zstd_kb")" ""
row "tenpak unpack" "$(secs "$best_unpack")" "$(mb_per_s "$bytes" "$best_unpack")" "" "$(kb_to_mb "$unpack_kb")" \
    "$(kb_to_mb "$unpack_anon")/$(kb_to_mb "$unpack_file")"
row "zstd -d | tar -x" "$(secs "$best_unzstd")" "$(mb_per_s "$bytes" "$best_unzstd")" "" "$(kb_to_mb "$unzstd_kb")" ""
row "cp -r" "$(secs "$best_cp")" "$(mb_per_s "$bytes" "$best_cp")" "1.000" "" ""
echo
echo "pack/zstd $(ratio "$best_pack" "$best_zstd"), pack/cp $(ratio "$best_pack" "$best_cp")," \
    "unpack/zstd-d $(ratio "$best_unpack" "$best_unzstd"), unpack/cp $(ratio "$best_unpack" "$best_cp")" \
    "(throughput ratios; 1 = as fast)"
