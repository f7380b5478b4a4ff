#!/usr/bin/env bash
# Quantization throughput and memory: `tenpak quantize` of an F16 Hugging Face folder into GPTQ
# (rtn 4-bit, group 128) and bitsandbytes (nf4 with double quantization, int8) folders, against
# `cp -r` of the same folder (the fastest anything can move those bytes on this file system), on
# random F16 Llama models of about 256 MB and 1 GB written by make_model (bench/README.md,
# "quantize_model_bench.sh").
#
#   bench/quant/quantize_model_bench.sh [BUILD_DIR]    BUILD_DIR defaults to build/; THREADS=2 by default
#   SIZES=256MB bench/quant/quantize_model_bench.sh     one model only (a quicker look; the RSS
#                                                       ratio then compares the model with itself)
#   METHODS="q4_k q6_k" bench/quant/quantize_model_bench.sh   other methods: rtn4-g128, nf4, int8 (the
#                                                       default, the goal's three), q4_k, q6_k (GGUF
#                                                       k-quants, for information: no goal)
#
# The models are given by their shapes, not by `make_model --bytes`: the shapes --bytes picks trim
# the MLP width (and, at 1 GB, hidden 1600) to sizes that are not multiples of 128, and GPTQ with
# group 128 would keep those layers in F16 (most of the 1 GB model), so rtn would be timed copying.
# Here every linear layer of both models is quantized by every method (the table shows the count).
# Both models have the same tensors (hidden 1024, intermediate 2816, vocab 32000), 5 and 33 layers:
# the 1 GB model is the 256 MB one with more layers, so a peak RSS that grows between them grows
# with the model's size, not with the size of its largest tensor.
#
# It builds nothing. For each model: the source is read once into the page cache (cat > /dev/null;
# caches cannot be dropped without root, so every run is warm), then `cp -r` and, for each method,
# `tenpak quantize --threads THREADS` are each timed 3 times, best kept, with `sync` (untimed) before
# every run so that one run's writeback does not land in the next. Neither cp nor tenpak syncs its
# output, so both are timed into the page cache. Throughput is in bytes of the F16 input folder per
# second (MB = 1e6 bytes); the ratio is quantize's throughput over cp's (goal >= 0.5 on 2 threads).
#
# Memory: the peak RSS of quantize from GNU time -v (the largest of the 3 runs), and the ratio of that
# peak between the 1 GB and the 256 MB models (goal: about 1, i.e. not growing with the model). The
# peak counts the input's mmap'd pages that quantize touched as well as its own memory: an extra
# untimed run per method samples /proc/PID/status every few ms to split it into RssAnon (heap: what
# streaming one tensor at a time bounds) and RssFile (mapped input pages, which the kernel can
# reclaim at will).
#
# Disk: at most one model, its copy and one output at a time (about 2.2 x 1 GB), in a temporary
# folder under $TMPDIR (else /tmp) that is removed at exit. Nothing is asserted: figures only.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
build=${1:-$repo/build}
threads=${THREADS:-2}
tenpak=$build/tenpak
make_model=$build/bench/make_model
read -r -a sizes <<<"${SIZES:-256MB 1GB}"
# make_model shapes of about 256 MB (259.6e6 bytes) and 1 GB (978.9e6 bytes): every dimension a
# multiple of 128, 16 heads of 64, kv heads = heads, vocab 32000, untied lm_head.
declare -A size_shape=(
    [256MB]="--hidden 1024 --intermediate 2816 --layers 5 --heads 16"
    [1GB]="--hidden 1024 --intermediate 2816 --layers 33 --heads 16"
)
for size in "${sizes[@]}"; do
    [[ -n ${size_shape[$size]:-} ]] || { echo "unknown size '$size' in SIZES (256MB, 1GB)" >&2; exit 2; }
done
largest_bytes=1000000000
runs=3
# name and the quantize arguments of each method.
read -r -a methods <<<"${METHODS:-rtn4-g128 nf4 int8}"
declare -A method_args=(
    [rtn4-g128]="--method rtn --bits 4 --group-size 128 --format gptq"
    [nf4]="--preset bnb_nf4"
    [int8]="--preset bnb_int8"
    [q4_k]="--gguf-type Q4_K"
    [q6_k]="--gguf-type Q6_K"
)
declare -A has_goal=([rtn4-g128]=1 [nf4]=1 [int8]=1)
for method in "${methods[@]}"; do
    [[ -n ${method_args[$method]:-} ]] || { echo "unknown method '$method' in METHODS (rtn4-g128 nf4 int8 q4_k q6_k)" >&2; exit 2; }
done

# shellcheck source-path=SCRIPTDIR/../.. source=bench/lib/bench_common.sh
source "$repo/bench/lib/bench_common.sh"
bench_init quantize_model_bench

bench_require_built "$build" "$tenpak" "$make_model"
bench_require_gnu_time
bench_make_workdir tenpak-quantize-bench
bench_require_free_kb "$work" $((largest_bytes * 22 / 10 / 1024))

cpu=$(bench_cpu)
build_type=$(bench_build_type "$build")
fs_type=$(bench_fs_type "$work")
loads=()

declare -A input_mb largest_mb cp_s cp_mbps q_s q_mbps ratio rss_mb anon_mb file_mb out_mb layers
kernels=unknown

for size in "${sizes[@]}"; do
    src=$work/src-$size
    bench_say "writing a random $size F16 Llama model ..."
    read -r -a shape <<<"${size_shape[$size]}"
    summary=$("$make_model" "$src" "${shape[@]}" --dtype f16 --seed 1 --json)
    kernels=$(printf '%s\n' "$summary" | sed -n 's/^ *"kernels": "\(.*\)",*$/\1/p')
    hidden=$(printf '%s\n' "$summary" | sed -n 's/^ *"hidden_size": \([0-9]*\),*$/\1/p')
    vocab=$(printf '%s\n' "$summary" | sed -n 's/^ *"vocab_size": \([0-9]*\),*$/\1/p')
    # The largest tensor, the embedding (= lm_head): what streaming one tensor at a time scales with.
    largest_mb[$size]=$(awk -v h="$hidden" -v v="$vocab" 'BEGIN { printf "%.1f", h * v * 2 / 1e6 }')
    bytes=$(folder_bytes "$src")
    input_mb[$size]=$(mb "$bytes")
    warm "$src"

    loads+=("$size: $(load)")
    best_cp=$(bench_best_cp_ns "$src" "$work/copy" "$runs")
    cp_s[$size]=$(secs "$best_cp")
    cp_mbps[$size]=$(mb_per_s "$bytes" "$best_cp")

    for method in "${methods[@]}"; do
        read -r -a margs <<<"${method_args[$method]}"
        key=$size/$method
        bench_say "$size, $method (load average $(load)) ..."
        timed=$(bench_best_timed "$runs" "$src" "$work/out" "$work/quantize.json" \
            "tenpak quantize $src ${margs[*]} failed" \
            "$tenpak" quantize "$src" "${margs[@]}" -o "$work/out" --threads "$threads" --json)
        read -r best_q peak_kb <<<"$timed"
        out_mb[$key]=$(mb "$(folder_bytes "$work/out")")
        quantized=$(sed -n 's/^ *"quantized_layers": \([0-9]*\),*$/\1/p' "$work/quantize.json")
        layers[$key]="$quantized/$(grep -c '"layer":' "$work/quantize.json" || true)"

        # The untimed run that splits the peak into heap and mapped file pages.
        rm -rf "$work/out"
        sync
        warm "$src"
        "$tenpak" quantize "$src" "${margs[@]}" -o "$work/out" --threads "$threads" --json >/dev/null &
        bench_sample_rss $! >"$work/split.txt" || bench_die "tenpak quantize failed in the sampling run"
        read -r max_anon max_file <"$work/split.txt"
        rm -rf "$work/out"

        q_s[$key]=$(secs "$best_q")
        q_mbps[$key]=$(mb_per_s "$bytes" "$best_q")
        ratio[$key]=$(awk -v cp="$best_cp" -v q="$best_q" 'BEGIN { printf "%.2f", cp / q }')
        rss_mb[$key]=$(kb_to_mb "$peak_kb")
        anon_mb[$key]=$(kb_to_mb "$max_anon")
        file_mb[$key]=$(kb_to_mb "$max_file")
    done
    loads[-1]+=" -> $(load)"
    rm -rf "$src"
done

echo
echo "tenpak quantize (F16 HF folder -> gptq / bnb folder) vs cp -r, warm page cache, best of $runs"
echo "cpu: $cpu ($(nproc) threads; tenpak quantize --threads $threads), build: ${build_type:-unknown} ($build)," \
    "kernels: $kernels${TENPAK_KERNELS:+ (TENPAK_KERNELS=$TENPAK_KERNELS)}, file system: $fs_type, $(date -u +%Y-%m-%d)"
echo "load average (1, 5, 15 min) before -> after each model:"
printf '  %s\n' "${loads[@]}"
echo
printf '%-6s %-10s %9s %7s %8s %7s %8s %6s %10s %9s %12s %14s\n' model method "input MB" "cp s" "cp MB/s" "quant s" \
    "q MB/s" "q/cp" "q/kept" "output MB" "peak RSS MB" "anon/file MB"
for size in "${sizes[@]}"; do
    for method in "${methods[@]}"; do
        key=$size/$method
        printf '%-6s %-10s %9s %7s %8s %7s %8s %6s %10s %9s %12s %14s\n' "$size" "$method" "${input_mb[$size]}" \
            "${cp_s[$size]}" "${cp_mbps[$size]}" "${q_s[$key]}" "${q_mbps[$key]}" "${ratio[$key]}" "${layers[$key]}" \
            "${out_mb[$key]}" "${rss_mb[$key]}" "${anon_mb[$key]}/${file_mb[$key]}"
    done
done
echo "q/kept: linear layers quantized / kept in F16 (a shape the format cannot hold)"
echo
small=${sizes[0]}
large=${sizes[-1]}
awk -v a="${largest_mb[$large]}" -v b="${largest_mb[$small]}" -v large="$large" -v small="$small" 'BEGIN {
    printf "largest tensor (embedding, F16): %.1f MB at %s, %.1f MB at %s (ratio %.2f)\n", b, small, a, large, a / b
}'
for method in "${methods[@]}"; do
    awk -v m="$method" -v goal="${has_goal[$method]:-0}" -v a="${rss_mb[$large/$method]}" -v b="${rss_mb[$small/$method]}" \
        -v aa="${anon_mb[$large/$method]}" -v ba="${anon_mb[$small/$method]}" \
        -v ra="${ratio[$large/$method]}" -v rb="${ratio[$small/$method]}" \
        -v ia="${input_mb[$large]}" -v ib="${input_mb[$small]}" -v large="$large" -v small="$small" 'BEGIN {
            if (goal) printf "%-10s throughput goal q/cp >= 0.5: %s at %s, %s at %s; ", m,
                (rb >= 0.5 ? "met" : "NOT met"), small, (ra >= 0.5 ? "met" : "NOT met"), large
            else printf "%-10s no throughput goal (q/cp %s at %s, %s at %s); ", m, rb, small, ra, large
            printf "peak RSS %s / %s: %.2f for %.2fx the input (flat is ~1), RssAnon alone %.2f\n",
                large, small, a / b, ia / ib, (ba > 0 ? aa / ba : 0)
        }'
done
