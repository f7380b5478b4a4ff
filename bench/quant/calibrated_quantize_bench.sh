#!/usr/bin/env bash
# Memory and time of the calibrated quantizers (GPTQ, AWQ) on generated 7B-shaped models: hidden
# 4096, intermediate 11008, 32 heads, vocab 32000, F16, with 2 and with 4 layers (bench/README.md,
# "calibrated_quantize_bench.sh"). The issue's question: does peak memory stay under 4 GB with 32 x
# 512 calibration tokens, and stay the same for 2 and 4 layers (memory of one block, not of the
# model)? And how many seconds does a block take?
#
#   bench/quant/calibrated_quantize_bench.sh [BUILD_DIR]     BUILD_DIR defaults to build/
#   METHODS="gptq awq" LAYERS="2 4" SAMPLES=32 SEQLEN=512 THREADS=2   (the defaults)
#   SHAPE="--hidden 4096 --intermediate 11008 --heads 32 --vocab 32000"  (make_model's shape flags; a
#   smaller one makes a quick check of the script)
#
# For each method and layer count: `tenpak quantize MODEL --method M --bits 4 --group-size 128
# --calib-samples SAMPLES --calib-seqlen SEQLEN --json` once, under GNU time -v (peak RSS), and an
# untimed /proc sampling of the same run is not repeated: at these run times one run is the figure.
# Seconds per block come from the command's own `layer_seconds`. The generated models have no
# tokenizer; the bundled model's (vocab 512, whose ids all exist in a 32000 vocabulary) is copied in
# and the calibration text is the bundled sample.
#
# On a 2-core VM expect minutes per block for GPTQ and tens of minutes for AWQ, whose scale search
# runs the attention and the MLP 20 times each over all calibration tokens (as AutoAWQ does). Disk:
# about 1.6 GB per model plus the output, in a temporary folder removed at exit. Nothing is
# asserted: figures only.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
build=${1:-$repo/build}
threads=${THREADS:-2}
samples=${SAMPLES:-32}
seqlen=${SEQLEN:-512}
read -r -a methods <<<"${METHODS:-gptq awq}"
read -r -a layer_counts <<<"${LAYERS:-2 4}"
read -r -a shape <<<"${SHAPE:---hidden 4096 --intermediate 11008 --heads 32 --vocab 32000}"
tenpak=$build/tenpak
make_model=$build/bench/make_model

# shellcheck source-path=SCRIPTDIR/../.. source=bench/lib/bench_common.sh
source "$repo/bench/lib/bench_common.sh"
bench_init calibrated_quantize_bench

bench_require_built "$build" "$tenpak" "$make_model"
bench_require_gnu_time
bench_require_python3
bench_make_workdir tenpak-calibrated-bench
bench_require_free_kb "$work" $((4 * 1024 * 1024))

cpu=$(bench_cpu)
build_type=$(bench_build_type "$build")
declare -A rss_mb per_block total_s

for layers in "${layer_counts[@]}"; do
    src=$work/src-$layers
    bench_say "writing an F16 Llama (${shape[*]}) with $layers layers ..."
    "$make_model" "$src" "${shape[@]}" --layers "$layers" --context 4096 --dtype f16 --seed 1 --json >/dev/null
    cp "$repo/models/stories260K/tokenizer.json" "$repo/models/stories260K/tokenizer_config.json" "$src/"
    for method in "${methods[@]}"; do
        key=$method/$layers
        bench_say "$method, $layers layers, $samples x $seqlen tokens (load average $(load)) ..."
        rm -rf "$work/out"
        /usr/bin/time -v -o "$work/time.txt" "$tenpak" quantize "$src" --method "$method" --bits 4 --group-size 128 \
            --calib-samples "$samples" --calib-seqlen "$seqlen" --threads "$threads" -o "$work/out" --json \
            >"$work/report.json" || bench_die "tenpak quantize --method $method failed"
        rss_mb[$key]=$(awk -v kb="$(bench_max_rss_kb "$work/time.txt")" 'BEGIN { printf "%.0f", kb / 1024 }')
        read -r per_block[$key] total_s[$key] < <(python3 -c '
import json, sys
r = json.load(open(sys.argv[1]))
s = r["layer_seconds"]
print("%.1f %.1f" % (sum(s) / len(s), r["seconds"]))' "$work/report.json")
        # Each result as soon as it is known: a run of hours should not lose its figures to a later failure.
        bench_say "$method, $layers layers: peak RSS ${rss_mb[$key]} MB, ${per_block[$key]} s per block, ${total_s[$key]} s in all"
        rm -rf "$work/out"
    done
    rm -rf "$src"
done

echo
echo "tenpak quantize --method gptq|awq, 4-bit g128, $samples x $seqlen calibration tokens, 7B-shaped F16 models"
echo "cpu: $cpu ($(nproc) threads; --threads $threads), build: ${build_type:-unknown} ($build), $(date -u +%Y-%m-%d)"
echo
printf '%-6s %7s %14s %12s %9s\n' method layers "peak RSS MB" "s per block" "total s"
for method in "${methods[@]}"; do
    for layers in "${layer_counts[@]}"; do
        key=$method/$layers
        printf '%-6s %7s %14s %12s %9s\n' "$method" "$layers" "${rss_mb[$key]}" "${per_block[$key]}" "${total_s[$key]}"
    done
    if [ "${#layer_counts[@]}" -ge 2 ]; then
        first=${layer_counts[0]}
        last=${layer_counts[-1]}
        awk -v a="${rss_mb[$method/$first]}" -v b="${rss_mb[$method/$last]}" -v m="$method" -v f="$first" -v l="$last" \
            'BEGIN { printf "%s: peak RSS %d layers / %d layers = %.2f (goal: within 10%%; under 4096 MB)\n", m, l, f, b / a }'
    fi
done
