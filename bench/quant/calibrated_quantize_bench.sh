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
# --calib-samples SAMPLES --calib-seqlen SEQLEN` once, under GNU time -v (peak RSS), and an
# untimed /proc sampling of the same run is not repeated: at these run times one run is the figure.
# Seconds per block come from the command's own report; the peak of each block from RSS sampled each
# second beside the time-stamped progress lines. The generated models have no
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
declare -A rss_mb per_block total_s block_peaks

# stamp_lines: copies stdin to stdout with each line prefixed by the Unix time in seconds.
stamp_lines() {
    local line
    while IFS= read -r line; do printf '%s %s\n' "$(date +%s.%N)" "$line"; done
}

# sample_rss_timeline TIME_PID: "UNIX_TIME RSS_KB" lines, once a second, of the tenpak child of TIME_PID
# (the quantize command that /usr/bin/time started; its other child is the time stamper) until it ends.
sample_rss_timeline() {
    local time_pid=$1 child="" pid pids
    while [ -r "/proc/$time_pid/status" ]; do
        if [ -z "$child" ]; then
            # (The file has no final newline, so read fails after filling pids: ignore its status.)
            pids=()
            read -r -a pids <"/proc/$time_pid/task/$time_pid/children" 2>/dev/null || true
            for pid in "${pids[@]}"; do
                if [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = tenpak ]; then child=$pid; fi
            done
        fi
        if [ -n "$child" ] && [ -r "/proc/$child/status" ]; then
            awk -v t="$(date +%s.%N)" '/^VmRSS:/ { print t, $2 }' "/proc/$child/status" 2>/dev/null || true
        fi
        sleep 1
    done
}

# block_peaks_mb STDERR RSS: the peak RSS in MB between consecutive finished blocks ("calibrating ...
# k/N" progress lines), then after the last one; "n/a" without progress lines.
block_peaks_mb() {
    python3 - "$1" "$2" <<'PY'
import re, sys
ends = {}
for line in open(sys.argv[1]):
    t, _, text = line.partition(" ")
    m = re.search(r"calibrating.* (\d+)/(\d+) ", text)
    if m and int(m.group(1)) > 0:
        ends.setdefault(int(m.group(1)), float(t))
samples = [tuple(map(float, l.split())) for l in open(sys.argv[2]) if len(l.split()) == 2]
if not ends or not samples:
    print("n/a")
    sys.exit()
bounds = [ends[k] for k in sorted(ends)] + [float("inf")]
peaks, start = [], 0.0
for end in bounds:
    inside = [kb for t, kb in samples if start < t <= end]
    peaks.append("%.0f" % (max(inside) / 1024) if inside else "-")
    start = end
print(" ".join(peaks))
PY
}

for layers in "${layer_counts[@]}"; do
    src=$work/src-$layers
    bench_say "writing an F16 Llama (${shape[*]}) with $layers layers ..."
    "$make_model" "$src" "${shape[@]}" --layers "$layers" --context 4096 --dtype f16 --seed 1 --json >/dev/null
    cp "$repo/models/stories260K/tokenizer.json" "$repo/models/stories260K/tokenizer_config.json" "$src/"
    for method in "${methods[@]}"; do
        key=$method/$layers
        bench_say "$method, $layers layers, $samples x $seqlen tokens (load average $(load)) ..."
        rm -rf "$work/out"
        # stderr (one progress line per finished block when not a terminal) gets a time stamp per line, and
        # RSS is sampled once a second beside it: the peak of each block, which shows within one run
        # whether memory grows with depth.
        # (In a subshell that execs time: `$!` of a command with a process substitution can name the
        # substitution.)
        (TENPAK_PROGRESS=1 exec /usr/bin/time -v -o "$work/time.txt" "$tenpak" quantize "$src" --method "$method" \
            --bits 4 --group-size 128 --calib-samples "$samples" --calib-seqlen "$seqlen" --threads "$threads" \
            -o "$work/out" >"$work/report.txt" 2> >(stamp_lines >"$work/stderr.txt")) &
        time_pid=$!
        sample_rss_timeline "$time_pid" >"$work/rss.txt"
        wait "$time_pid" || { cat "$work/stderr.txt" >&2; bench_die "tenpak quantize --method $method failed"; }
        block_peaks[$key]=$(block_peaks_mb "$work/stderr.txt" "$work/rss.txt")
        rss_mb[$key]=$(awk -v kb="$(bench_max_rss_kb "$work/time.txt")" 'BEGIN { printf "%.0f", kb / 1024 }')
        # Without --json (which turns the progress lines off; TENPAK_PROGRESS=1 keeps them when not a terminal): "... in T s" and "...: S s per block".
        per_block[$key]=$(sed -n 's/^calibrated on .*: \([0-9.]*\) s per block$/\1/p' "$work/report.txt")
        total_s[$key]=$(sed -n 's/^quantized .* in \([0-9.]*\) s$/\1/p' "$work/report.txt")
        # Each result as soon as it is known: a run of hours should not lose its figures to a later failure.
        bench_say "$method, $layers layers: peak RSS ${rss_mb[$key]} MB, ${per_block[$key]} s per block, ${total_s[$key]} s in all"
        bench_say "$method, $layers layers: peak RSS MB by block (sampled each second; the last figure is the writing of the rest): ${block_peaks[$key]}"
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
    for layers in "${layer_counts[@]}"; do
        echo "$method, $layers layers: peak RSS MB by block, then the rest: ${block_peaks[$method/$layers]}"
    done
    if [ "${#layer_counts[@]}" -ge 2 ]; then
        first=${layer_counts[0]}
        last=${layer_counts[-1]}
        awk -v a="${rss_mb[$method/$first]}" -v b="${rss_mb[$method/$last]}" -v m="$method" -v f="$first" -v l="$last" \
            'BEGIN { printf "%s: peak RSS %d layers / %d layers = %.2f (goal: within 10%%; under 4096 MB)\n", m, l, f, b / a }'
    fi
done
