#!/usr/bin/env bash
# Lossless deltas at a realistic size: a random BF16 Llama model (make_model) and a synthetic dense
# fine-tune of it (make_finetune: every layer matrix moved by 1% of its RMS), bench/README.md,
# "delta_throughput_bench.sh".
#
#   bench/delta/delta_throughput_bench.sh [BUILD_DIR]   BUILD_DIR defaults to build/
#   SHAPE='--hidden 1024 --layers 4'                     make_model shapes (default: about 230 MB in BF16)
#
# Sizes: `tenpak delta` (zstd level 3, the default) against `zstd -19 -T2` of the fine-tune's
# model.safetensors and of the raw XOR of the two files. Throughput: `tenpak delta --threads 2` and
# `tenpak delta apply` in MB/s of the fine-tune's bytes, against `zstd -3 -T2` (compressing the fine-tune's
# file) and `zstd -d` (decompressing it) on the same bytes, warm page cache, best of 3. Figures only.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
build=${1:-$repo/build}
tenpak=$build/tenpak
read -r -a shape <<<"${SHAPE:---hidden 1024 --layers 4}"

# shellcheck source-path=SCRIPTDIR/../.. source=bench/lib/bench_common.sh
source "$repo/bench/lib/bench_common.sh"
bench_init delta_throughput_bench
bench_require_built "$build" "$tenpak" "$build/bench/make_model" "$build/bench/make_finetune"
bench_require_python3
command -v zstd >/dev/null || bench_die "zstd (the command) is needed: apt-get install zstd"
bench_make_workdir tenpak-delta-throughput

size() { stat -c %s "$1"; }
# best_of_3 CMD...: the smallest wall time of three runs, in seconds.
best_of_3() {
    local best="" start end t
    for _ in 1 2 3; do
        sync
        start=$(date +%s.%N)
        "$@" >/dev/null 2>&1 || bench_die "failed: $*"
        end=$(date +%s.%N)
        t=$(python3 -c "print($end - $start)")
        if [ -z "$best" ] || python3 -c "import sys; sys.exit(0 if $t < $best else 1)"; then best=$t; fi
    done
    echo "$best"
}

bench_say "writing a random BF16 model (${shape[*]}) and its fine-tune"
"$build/bench/make_model" "$work/base" "${shape[@]}" --dtype bf16 >/dev/null
"$build/bench/make_finetune" "$work/base" "$work/fine" --scale 0.01 >/dev/null
fine_file=$work/fine/model.safetensors
cat "$work/base/model.safetensors" "$fine_file" >/dev/null
bytes=$(size "$fine_file")

bench_say "sizes (zstd -19 of the fine-tune and of the XOR take a while)"
zstd -q -19 -T2 -c "$fine_file" >"$work/fine.zst19"
python3 - "$work/base/model.safetensors" "$fine_file" "$work/xor.bin" <<'PY'
import sys
a, b = open(sys.argv[1], "rb").read(), open(sys.argv[2], "rb").read()
assert len(a) == len(b)
open(sys.argv[3], "wb").write((int.from_bytes(a, "little") ^ int.from_bytes(b, "little")).to_bytes(len(a), "little"))
PY
zstd -q -19 -T2 -c "$work/xor.bin" >"$work/xor.zst19"
"$tenpak" delta "$work/fine" --base "$work/base" -o "$work/d.tnpk" --threads 2 --json >/dev/null

bench_say "throughput (best of 3)"
t_delta=$(best_of_3 "$tenpak" delta "$work/fine" --base "$work/base" -o "$work/d.tnpk" --threads 2 --json)
t_apply=$(best_of_3 bash -c "rm -rf '$work/out' && '$tenpak' delta apply '$work/d.tnpk' --base '$work/base' -o '$work/out' --json")
t_z3=$(best_of_3 zstd -q -3 -T2 -f "$fine_file" -o "$work/fine.zst3")
t_zd=$(best_of_3 zstd -q -d -f "$work/fine.zst3" -o "$work/fine.unz")
cmp -s "$work/out/model.safetensors" "$fine_file" || bench_die "the applied model differs from the fine-tune"

python3 - "$bytes" "$(size "$work/fine.zst19")" "$(size "$work/xor.zst19")" "$(size "$work/d.tnpk")" \
    "$t_delta" "$t_apply" "$t_z3" "$t_zd" "$(bench_cpu)" "$(bench_build_type "$build")" <<'PY'
import sys
n, fz, xz, d = (int(v) for v in sys.argv[1:5])
td, ta, t3, tdz = (float(v) for v in sys.argv[5:9])
mb = lambda t: n / t / 1e6
print(f"lossless delta of a synthetic dense BF16 fine-tune ({n / 1e6:.1f} MB), cpu: {sys.argv[9]}, build: {sys.argv[10]}")
print(f"{'':24}{'bytes':>12}{'delta / it':>12}")
print(f"{'fine-tune':24}{n:>12}")
print(f"{'zstd -19 of the fine-tune':24}{fz:>12}{d / fz:>12.2f}")
print(f"{'zstd -19 of the XOR':24}{xz:>12}{d / xz:>12.2f}")
print(f"{'tenpak delta':24}{d:>12}")
print(f"throughput (MB/s of the fine-tune, best of 3): delta {mb(td):.0f} vs zstd -3 -T2 {mb(t3):.0f} "
      f"(ratio {t3 / td:.2f}); apply {mb(ta):.0f} vs zstd -d {mb(tdz):.0f} (ratio {tdz / ta:.2f})")
PY
