#!/usr/bin/env bash
# Sets everything up and runs TenPak's main job on the bundled model (models/stories260K):
# inspect it, convert it to GGUF and back, and check the round trip is bit-exact.
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
