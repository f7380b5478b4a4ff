#!/usr/bin/env bash
# The engine's performance on a ~1B-parameter model, against this machine's own limits measured in
# the same run: prefill FLOP/s against cblas_sgemm, decode weight bandwidth against a streaming
# read, and the peak RSS of decode against the model's size (bench/README.md, "engine_bench").
#
#   bench/engine/engine_bench.sh [BUILD_DIR]      BUILD_DIR defaults to build/; THREADS=2 by default
#   SHAPE='--hidden 256 --layers 2' bench/engine/engine_bench.sh    other make_model shapes (a quick try)
#
# It builds nothing. With BUILD_DIR/bench/make_model it writes two random models of TinyLlama-1.1B's
# shape (hidden 2048, intermediate 5632, 22 layers, 32 heads, 4 kv heads, vocab 32000, untied
# lm_head: 1.10e9 parameters), one F32 (4.4 GB) and one F16 (2.2 GB), into a temporary folder under
# $TMPDIR (else /tmp) removed at exit, reads them once into the page cache, then runs
#   1. engine_bench Prefill/* Linear/* Decode/* on both models, in one process;
#   2. engine_bench Memory/F16/* in a fresh process, so that nothing before it counts in its peak;
#   3. `tenpak bench` on the F16 model (512-token prompt, 64 generated) under GNU time -v: the CLI's
#      own figures and its peak RSS, a cross-check of 2;
# and prints a table with the goals. The raw output (Google Benchmark JSON, the goal lines) stays in
# the console above the table. The load average is printed before and after each run: the machine
# may be shared, and two threads on two vCPUs are slowed by anything else running.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
build=${1:-$repo/build}
threads=${THREADS:-2}
engine_bench=$build/bench/engine_bench
make_model=$build/bench/make_model
tenpak=$build/tenpak
read -r -a shape <<<"${SHAPE:---hidden 2048 --intermediate 5632 --layers 22 --heads 32 --kv-heads 4 --vocab 32000 --context 2048}"
window=512
decode_tokens=64

# shellcheck source-path=SCRIPTDIR/../.. source=bench/lib/bench_common.sh
source "$repo/bench/lib/bench_common.sh"
bench_init engine_bench.sh

bench_require_built "$build" "$engine_bench" "$make_model" "$tenpak"
bench_require_gnu_time
bench_require_python3
bench_make_workdir tenpak-engine-bench
bench_require_free_kb "$work" $((6700 * 1024))
bench_warn_mem_available_kb $((9 * 1024 * 1024))

loads=()

for dtype in f32 f16; do
    bench_say "writing the $dtype model ..."
    "$make_model" "$work/$dtype" "${shape[@]}" --dtype "$dtype" --seed 1 --json >"$work/make_$dtype.json"
    warm "$work/$dtype"
done

bench_say "prefill and decode (load average $(load)) ..."
loads+=("speed: $(load)")
"$engine_bench" --model_f32="$work/f32" --model_f16="$work/f16" --threads="$threads" --window=$window \
    --decode_tokens=$decode_tokens --benchmark_filter='^(Prefill|Linear|Decode)/' \
    --benchmark_out="$work/speed.json" --benchmark_out_format=json 2> >(tee "$work/speed.err" >&2)
loads[-1]+=" -> $(load)"

bench_say "memory, in a process of its own (load average $(load)) ..."
loads+=("memory: $(load)")
"$engine_bench" --model_f16="$work/f16" --threads="$threads" --window=$window --decode_tokens=$decode_tokens \
    --benchmark_filter='^Memory/F16/' --benchmark_out="$work/memory.json" --benchmark_out_format=json \
    2> >(tee "$work/memory.err" >&2)
loads[-1]+=" -> $(load)"

bench_say "tenpak bench on the F16 model (load average $(load)) ..."
loads+=("tenpak bench: $(load)")
/usr/bin/time -v -o "$work/cli.time" "$tenpak" bench "$work/f16" --prompt-tokens $window --gen-tokens $decode_tokens \
    --repetitions 1 --threads "$threads" --json >"$work/cli.json"
loads[-1]+=" -> $(load)"
cat "$work/cli.json"

sleep 1 # let the tee processes flush
printf '%s\n' "${loads[@]}" >"$work/loads.txt"
python3 - "$work" "$threads" <<'EOF'
import json, os, re, sys

work, threads = sys.argv[1], sys.argv[2]
speed = json.load(open(os.path.join(work, "speed.json")))
memory = json.load(open(os.path.join(work, "memory.json")))
cli = json.load(open(os.path.join(work, "cli.json")))
ctx = speed["context"]
runs = {re.sub(r"/(iterations:\d+|manual_time)", "", b["name"]): b
        for b in speed["benchmarks"] + memory["benchmarks"] if b.get("run_type") == "iteration"}
for name, b in runs.items():
    b["name"] = name


def find(prefix):
    return [b for name, b in runs.items() if name.startswith(prefix)]


def verdict(value, goal, at_most=False):
    ok = value <= goal if at_most else value >= goal
    return "met" if ok else "NOT met"


print()
print(f"CPU: {ctx.get('tenpak_cpu')} ({ctx.get('num_cpus')} CPUs); kernels {ctx.get('tenpak_kernels_selected')}; "
      f"build {ctx.get('tenpak_build')}; {ctx.get('tenpak_openblas')}; threads {threads}; {ctx.get('date')}")
print("OPENBLAS_THREAD_TIMEOUT=" + os.environ.get("OPENBLAS_THREAD_TIMEOUT", "(unset)"))
print("load average (1, 5, 15 min) before -> after each run:")
for line in open(os.path.join(work, "loads.txt")):
    print("  " + line.rstrip())
m = json.load(open(os.path.join(work, "make_f16.json")))
print(f"model: llama, hidden {m['hidden_size']}, intermediate {m['intermediate_size']}, {m['num_hidden_layers']} layers, "
      f"{m['num_attention_heads']} heads ({m['num_key_value_heads']} kv), vocab {m['vocab_size']}, "
      f"{m['parameters'] / 1e9:.3f}e9 parameters")
print()
print("| benchmark | engine | baseline (same run) | ratio | goal |")
print("| --- | --- | --- | --- | --- |")
for b in find("Prefill/"):
    print(f"| {b['name']} | {b['GFLOPs']:.1f} GFLOP/s ({b['tokens_per_s']:.0f} tokens/s, {b['pass_ms']:.0f} ms/pass) "
          f"| sgemm {b['sgemm_GFLOPs']:.1f} GFLOP/s | {b['ratio']:.2f} | >= 0.6: {verdict(b['ratio'], 0.6)} |")
for b in find("Linear/"):
    print(f"| {b['name']} | {b['GFLOPs']:.1f} GFLOP/s | sgemm {b['sgemm_GFLOPs']:.1f} GFLOP/s | {b['ratio']:.2f} | |")
for b in find("Decode/"):
    goal = f">= 0.7: {verdict(b['ratio'], 0.7)}" if "/F16/" in b["name"] else "(no goal)"
    print(f"| {b['name']} | {b['weight_GBps']:.1f} GB/s ({b['tokens_per_s']:.2f} tokens/s, p50 {b['p50_ms']:.1f} ms) "
          f"| read {b['stream_GBps']:.1f} GB/s (THP anon read {b['thp_GBps']:.1f}) | {b['ratio']:.2f} | {goal} |")
for b in find("Memory/"):
    print(f"| {b['name']} | peak RSS {b['peak_MB']:.0f} MB (anon {b['anon_MB']:.0f}, mapped {b['mapped_MB']:.0f}) "
          f"| file {b['file_MB']:.0f} MB + KV {b['kv_MB']:.1f} MB | {b['ratio']:.3f} | <= 1.1: {verdict(b['ratio'], 1.1, True)} |")
rss_kb = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", open(os.path.join(work, "cli.time")).read()).group(1))
file_bytes = m["file_bytes"]
kv = m["num_hidden_layers"] * 2 * (512 + 64) * m["num_key_value_heads"] * m["head_dim"] * 4
ratio = rss_kb * 1024 / (file_bytes + kv)
print(f"| tenpak bench F16 (CLI, prompt 512 + 64) | peak RSS {rss_kb * 1024 / 1e6:.0f} MB; decode {cli['decode_tokens_per_s']:.2f} tokens/s, "
      f"{cli['decode_weight_bytes_per_s'] / 1e9:.1f} GB/s; prefill {cli['prefill_tokens_per_s']:.0f} tokens/s "
      f"| file {file_bytes / 1e6:.0f} MB + KV {kv / 1e6:.1f} MB | {ratio:.3f} | <= 1.1: {verdict(ratio, 1.1, True)} |")
EOF
