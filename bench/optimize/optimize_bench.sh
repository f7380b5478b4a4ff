#!/usr/bin/env bash
# End-to-end time of `tenpak optimize` with the eight presets on the bundled model, from an empty cache and
# again with the cache the first run filled: bench/README.md, "optimize_bench.sh".
#
#   bench/optimize/optimize_bench.sh [BUILD_DIR]     BUILD_DIR defaults to build/
#   OPTIMIZE_ARGS="--eval-windows 64"               extra flags for both runs (default: none, every default)
#
# Prints each run's wall time and the ratio first / second (the goal: at least 10), the per-candidate
# quantize and measure seconds of the first run (from its report.json), and that both runs chose the same
# winner. Nothing is asserted beyond the runs succeeding: figures only.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
build=${1:-$repo/build}
tenpak=$build/tenpak
read -r -a extra <<<"${OPTIMIZE_ARGS:-}"

# shellcheck source-path=SCRIPTDIR/../.. source=bench/lib/bench_common.sh
source "$repo/bench/lib/bench_common.sh"
bench_init optimize_bench
bench_require_built "$build" "$tenpak"
bench_require_python3
bench_make_workdir tenpak-optimize-bench

run() {
    local name=$1 start end
    start=$(date +%s.%N)
    "$tenpak" optimize "$repo/models/stories260K" --max-ppl-delta 2 --min-compression 3 --cache "$work/cache" \
        -o "$work/$name" --json "${extra[@]}" >"$work/$name.json" 2>"$work/$name.log" ||
        bench_die "optimize failed ($name): $(tail -3 "$work/$name.log")"
    end=$(date +%s.%N)
    python3 -c "print(f'{$end - $start:.3f}')"
}

bench_say "first run (empty cache): eight presets quantized and measured"
first=$(run first)
bench_say "second run (cached)"
second=$(run second)
python3 - "$work/first.json" "$work/second.json" "$first" "$second" <<'PY'
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
first, second = float(sys.argv[3]), float(sys.argv[4])
print(f"optimize, 8 presets, bundled model: first run {first:.2f} s, cached run {second:.3f} s, "
      f"ratio {first / second:.0f}x (goal >= 10x)")
print(f"{'preset':16} {'quantize s':>10} {'measure s':>10}")
for m in a["measured"]:
    print(f"{m['preset']:16} {m['quantize_seconds']:10.2f} {m['local']['seconds']:10.2f}")
print(f"{'(unquantized)':16} {'':>10} {a['reference']['local']['seconds']:10.2f}")
wa, wb = a["winner"], b["winner"]
same = wa == wb
print("winner: " + (f"{wa['preset']} on {wa['gpu_count']} x {wa['hardware']}" if wa else "none") +
      ("; the cached run chose the same" if same else "; THE CACHED RUN CHOSE DIFFERENTLY"))
cached = all(m["quantize_cached"] and m["measure_cached"] for m in b["measured"])
print("cached run reused every quantization and measurement: " + ("yes" if cached else "NO"))
PY
