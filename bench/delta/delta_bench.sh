#!/usr/bin/env bash
# Fine-tune deltas on the real base / fine-tune pair of the bundled model (../shared/data/finetunes, also
# in tests/data/shared/finetunes): bench/README.md, "delta_bench.sh".
#
#   bench/delta/delta_bench.sh [BUILD_DIR]     BUILD_DIR defaults to build/
#   BUDGETS="0.05 0.1 0.2 0.3 0.5 0.7"  (the --rel-error values of the budgeted table)
#
# Lossless, for fp32 and bf16: the bytes of `tenpak delta` (zstd level 3, the default) and of `tenpak delta
# --zstd-level 19` against `zstd -19` of the fine-tune's model.safetensors and `zstd -19` of the raw XOR of
# the two model.safetensors files (same length: the pair's tensors have the same shapes); a ratio is delta
# bytes over the other's (below 1: the delta is smaller). Budgeted, bf16: for each budget the delta's bytes and
# the perplexity of the rebuilt model (`delta apply`, then `eval`) on held-out Shakespeare (the last 30 kB of
# tinyshakespeare, the fine-tune's domain) and on the bundled TinyStories sample, beside the fine-tune's own.
# The pair is small (0.5 - 1 MB), so the sizes include a manifest of a few tens of kB; throughput is not
# measured here. Nothing is asserted: figures only.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
build=${1:-$repo/build}
read -r -a budgets <<<"${BUDGETS:-0.05 0.1 0.2 0.3 0.5 0.7}"
tenpak=$build/tenpak
pair=$repo/tests/data/shared/finetunes

# shellcheck source-path=SCRIPTDIR/../.. source=bench/lib/bench_common.sh
source "$repo/bench/lib/bench_common.sh"
bench_init delta_bench
bench_require_built "$build" "$tenpak"
bench_require_python3
command -v zstd >/dev/null || bench_die "zstd (the command) is needed: apt-get install zstd"
bench_make_workdir tenpak-delta-bench

size() { stat -c %s "$1"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }

# xor_file A B OUT: OUT = A XOR B, byte by byte (equal lengths).
xor_file() {
    python3 - "$1" "$2" "$3" <<'PY'
import sys
a, b = open(sys.argv[1], "rb").read(), open(sys.argv[2], "rb").read()
assert len(a) == len(b), "the two files differ in length"
n = int.from_bytes(a, "little") ^ int.from_bytes(b, "little")
open(sys.argv[3], "wb").write(n.to_bytes(len(a), "little"))
PY
}

# A folder that `eval` takes: the weights and config of $1 with the bundled tokenizer.
with_tokenizer() {
    cp "$repo/models/stories260K/tokenizer.json" "$repo/models/stories260K/tokenizer_config.json" "$1/"
}

ppl() {
    "$tenpak" eval "$1" --text "$2" --json | python3 -c 'import json, sys; print("%.3f" % json.load(sys.stdin)["ppl"])'
}

echo "tenpak delta on the real stories260K fine-tune pair (layers 3 and 4 and the final norm trained)"
echo "cpu: $(bench_cpu), build: $(bench_build_type "$build") ($build), $(date -u +%Y-%m-%d)"
echo
echo "lossless: bytes (ratio = delta / other; below 1 the delta is smaller)"
printf '%-6s %10s %10s %12s %14s %16s %12s %12s\n' dtype fine "zstd -19" "xor zstd -19" "tenpak delta" "delta level 19" "/ zstd -19" "/ xor -19"
for dtype in fp32 bf16; do
    base_file=$pair/base/$dtype/model.safetensors
    fine_file=$pair/ft_partial/$dtype/model.safetensors
    zstd -q -19 -c "$fine_file" >"$work/fine.zst"
    xor_file "$base_file" "$fine_file" "$work/xor.bin"
    zstd -q -19 -c "$work/xor.bin" >"$work/xor.zst"
    "$tenpak" delta "$pair/ft_partial/$dtype" --base "$pair/base/$dtype" -o "$work/d3.tnpk" --json >/dev/null
    "$tenpak" delta "$pair/ft_partial/$dtype" --base "$pair/base/$dtype" -o "$work/d19.tnpk" --zstd-level 19 --json >/dev/null
    best=$(size "$work/d19.tnpk")
    printf '%-6s %10s %10s %12s %14s %16s %12s %12s\n' "$dtype" "$(size "$fine_file")" "$(size "$work/fine.zst")" \
        "$(size "$work/xor.zst")" "$(size "$work/d3.tnpk")" "$best" "$(ratio "$best" "$(size "$work/fine.zst")")" \
        "$(ratio "$best" "$(size "$work/xor.zst")")"
done

tail -c 30000 "$repo/tests/data/shared/text/tinyshakespeare_tail.txt" >"$work/shakespeare.txt" 2>/dev/null ||
    tail -c 30000 "$repo/../shared/data/text/tinyshakespeare/input.txt" >"$work/shakespeare.txt" 2>/dev/null ||
    bench_die "no Shakespeare text (../shared/data/text/tinyshakespeare/input.txt)"
head -c 30000 "$repo/models/text/tinystories_val.txt" >"$work/stories.txt"
mkdir -p "$work/fine" "$work/base"
cp "$pair/ft_partial/bf16/"* "$work/fine/" && with_tokenizer "$work/fine"
cp "$pair/base/bf16/"* "$work/base/" && with_tokenizer "$work/base"

echo
echo "budgeted (bf16): bytes and perplexity of the rebuilt model (30 kB of held-out Shakespeare; 30 kB of TinyStories)"
printf '%-12s %10s %28s %12s %12s\n' "--rel-error" bytes "approximated (encoders)" "ppl shakesp" "ppl stories"
printf '%-12s %10s %28s %12s %12s\n' "base" "-" "-" "$(ppl "$work/base" "$work/shakespeare.txt")" "$(ppl "$work/base" "$work/stories.txt")"
printf '%-12s %10s %28s %12s %12s\n' "fine-tune" "$(size "$pair/ft_partial/bf16/model.safetensors")" "-" \
    "$(ppl "$work/fine" "$work/shakespeare.txt")" "$(ppl "$work/fine" "$work/stories.txt")"
printf '%-12s %10s %28s %12s %12s\n' "lossless" "$(size "$work/d3.tnpk")" "0" "(= fine-tune)" "(= fine-tune)"
for budget in "${budgets[@]}"; do
    "$tenpak" delta "$pair/ft_partial/bf16" --base "$pair/base/bf16" -o "$work/b.tnpk" --rel-error "$budget" --json >"$work/b.json"
    encoders=$(python3 -c 'import json, sys
r = json.load(open(sys.argv[1]))
print("%d (%s)" % (r["approximated_tensors"], ", ".join("%d %s" % (n, e) for e, n in sorted(r["approximated_by_encoder"].items()))))' "$work/b.json")
    rm -rf "$work/rebuilt"
    "$tenpak" delta apply "$work/b.tnpk" --base "$pair/base/bf16" -o "$work/rebuilt" --json >/dev/null
    with_tokenizer "$work/rebuilt"
    printf '%-12s %10s %28s %12s %12s\n' "$budget" "$(size "$work/b.tnpk")" "$encoders" \
        "$(ppl "$work/rebuilt" "$work/shakespeare.txt")" "$(ppl "$work/rebuilt" "$work/stories.txt")"
done
