#!/usr/bin/env bash
# Sets everything up and runs TenPak's main job on the bundled model (models/stories260K): `tenpak optimize`
# quantizes it with the eight presets, measures each with the engine, projects them onto six GPU types and
# picks the cheapest that keeps perplexity within 2% at 3x smaller (report in out/demo/optimize). Then it
# converts the model to GGUF and back (checking the round trip is bit-exact) and compares GGUF Q4_0 and
# round-to-nearest / GPTQ / AWQ at group size 32.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
./scripts/build.sh build >/dev/null
tenpak=./build/tenpak
out=out/demo
mkdir -p "$out"

echo "== tenpak inspect models/stories260K"
$tenpak inspect models/stories260K
echo
# The calibrated presets use 32 windows of 256 tokens (the defaults, 128 x 512, take a few minutes more) and
# perplexity is scored on the first 128 windows of the bundled sample; a second run comes from the cache.
echo "== tenpak optimize models/stories260K --max-ppl-delta 2 --min-compression 3 (eight presets, six GPU types)"
$tenpak optimize models/stories260K --max-ppl-delta 2 --min-compression 3 --calib-samples 32 --calib-seqlen 256 \
    --eval-windows 128 --cache "$out/cache" -o "$out/optimize"
echo
echo "== tenpak convert models/stories260K -o $out/stories260K.gguf"
$tenpak convert models/stories260K -o "$out/stories260K.gguf"
echo
echo "== tenpak inspect $out/stories260K.gguf"
$tenpak inspect "$out/stories260K.gguf"
echo
echo "== tenpak convert $out/stories260K.gguf -o $out/stories260K-hf (and compare with the original)"
$tenpak convert "$out/stories260K.gguf" -o "$out/stories260K-hf" --force
if cmp -s models/stories260K/model.safetensors "$out/stories260K-hf/model.safetensors"; then
    echo "round trip HF -> GGUF -> HF: bit-exact ($(stat -c %s "$out/stories260K-hf/model.safetensors") bytes)"
else
    echo "round trip HF -> GGUF -> HF: DIFFERENT" >&2
    exit 1
fi
echo
echo "== quantize the bundled model seven ways and measure each with the engine (perplexity, TinyStories sample)"
text=models/text/tinystories_val.txt
head -c 200000 "$text" >"$out/sample.txt"
printf '%-34s %10s %12s\n' "model" "ppl" "bytes"
report() {
    local name=$1 path=$2
    local ppl bytes
    ppl=$($tenpak eval "$path" --text "$out/sample.txt" --ctx 256 --json | sed -n 's/^ *"ppl": \([0-9.]*\),*$/\1/p')
    bytes=$(du -sb "$path" | cut -f1)
    printf '%-34s %10.4f %12s\n' "$name" "$ppl" "$bytes"
}
report "F32 (original)" models/stories260K
$tenpak quantize models/stories260K --preset fp16 -o "$out/fp16" --force --json >/dev/null
report "fp16 preset" "$out/fp16"
$tenpak quantize models/stories260K --preset bnb_int8 -o "$out/int8" --force --json >/dev/null
report "bnb_int8 preset (bitsandbytes)" "$out/int8"
$tenpak quantize models/stories260K --preset bnb_nf4 -o "$out/nf4" --force --json >/dev/null
report "bnb_nf4 preset (bitsandbytes)" "$out/nf4"
$tenpak quantize models/stories260K --gguf-type Q4_0 -o "$out/stories260K-q4_0.gguf" --json >/dev/null
report "GGUF Q4_0 (llama.cpp's encoder)" "$out/stories260K-q4_0.gguf"
# 4-bit, groups of 32 (the model's hidden size is 64): round to nearest, then the calibrated methods on
# 32 windows of 256 tokens of the bundled training sample (the defaults, 128 x 512, take longer).
$tenpak quantize models/stories260K --method rtn --group-size 32 -o "$out/rtn4" --force --json >/dev/null
report "rtn 4-bit g32 (gptq layout)" "$out/rtn4"
$tenpak quantize models/stories260K --method gptq --group-size 32 --act-order --calib-samples 32 \
    --calib-seqlen 256 -o "$out/gptq4" --force --json >/dev/null
report "GPTQ 4-bit g32 act-order" "$out/gptq4"
$tenpak quantize models/stories260K --method awq --group-size 32 --calib-samples 32 --calib-seqlen 256 \
    -o "$out/awq4" --force --json >/dev/null
report "AWQ 4-bit g32 (awq gemm)" "$out/awq4"
