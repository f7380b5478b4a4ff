#!/usr/bin/env bash
# Quantized models in the engine: `tenpak bench` on a ~1B-parameter F16 model and on the GPTQ
# (rtn 4-bit, group 128), bitsandbytes nf4 and bitsandbytes int8 folders `tenpak quantize` makes of
# it: decode tokens/s, decode weight bytes/s, prefill tokens/s and peak RSS, and the decode speed-up
# of int4 over F16 (bench/README.md, "quantized_decode_bench.sh").
#
#   bench/quant/quantized_decode_bench.sh [BUILD_DIR]     BUILD_DIR defaults to build/; THREADS=2 by default
#   SHAPE='--hidden 256 --layers 2' bench/quant/quantized_decode_bench.sh    other make_model shapes (a quick try)
#
# It builds nothing. With BUILD_DIR/bench/make_model it writes a random F16 model of TinyLlama-1.1B's
# shape (hidden 2048, intermediate 5632, 22 layers, 32 heads, 4 kv heads, vocab 32000, untied
# lm_head: 1.10e9 parameters, 2.2 GB) into a temporary folder under $TMPDIR (else /tmp; about 5 GB
# of disk with the three quantized folders, removed at exit), quantizes it three times with
# `tenpak quantize --threads THREADS` (timed once each, for information), reads every model into the
# page cache, then for each model runs
#   tenpak bench MODEL --prompt-tokens 128 --gen-tokens 64 --repetitions 3 --threads THREADS --json
# under GNU time -v (its figures and its peak RSS), and once more, untimed, with --repetitions 1
# while /proc/PID/status is sampled every few ms, to split the peak into RssAnon (heap: the engine's
# own buffers, and the repacked codes of a quantized model) and RssFile (the model file's mapped
# pages). The load average is printed before and after each run: the machine may be shared, and two
# threads on two vCPUs are slowed by anything else running. Nothing is asserted: figures only.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
build=${1:-$repo/build}
threads=${THREADS:-2}
make_model=$build/bench/make_model
tenpak=$build/tenpak
read -r -a shape <<<"${SHAPE:---hidden 2048 --intermediate 5632 --layers 22 --heads 32 --kv-heads 4 --vocab 32000 --context 2048}"
prompt_tokens=128
gen_tokens=64
repetitions=3
# name and the quantize arguments of each quantized model; f16 is the source itself.
models=(f16 rtn4-g128 nf4 int8)
declare -A method_args=(
    [rtn4-g128]="--method rtn --bits 4 --group-size 128 --format gptq"
    [nf4]="--preset bnb_nf4"
    [int8]="--preset bnb_int8"
)

# shellcheck source-path=SCRIPTDIR/../.. source=bench/lib/bench_common.sh
source "$repo/bench/lib/bench_common.sh"
bench_init quantized_decode_bench

bench_require_built "$build" "$make_model" "$tenpak"
bench_require_gnu_time
bench_require_python3
bench_make_workdir tenpak-quantized-decode-bench
# The F16 model (2.2 GB), rtn4 and nf4 (about 0.8 GB each), int8 (about 1.25 GB), with a margin.
bench_require_free_kb "$work" $((6000 * 1024))
bench_warn_mem_available_kb $((9 * 1024 * 1024))

loads=()

bench_say "writing the F16 model ..."
"$make_model" "$work/f16" "${shape[@]}" --dtype f16 --seed 1 --json >"$work/make.json"
warm "$work/f16"

for name in "${models[@]}"; do
    [ "$name" = f16 ] && continue
    read -r -a margs <<<"${method_args[$name]}"
    bench_say "quantizing to $name (load average $(load)) ..."
    sync
    start=$(now_ns)
    "$tenpak" quantize "$work/f16" "${margs[@]}" -o "$work/$name" --threads "$threads" --json >"$work/quantize-$name.json" ||
        bench_die "tenpak quantize ${margs[*]} failed"
    echo $((($(now_ns) - start) / 1000000)) >"$work/quantize-$name.ms"
done
sync

for name in "${models[@]}"; do
    warm "$work/$name"
    bench_say "tenpak bench on $name (load average $(load)) ..."
    loads+=("$name: $(load)")
    /usr/bin/time -v -o "$work/bench-$name.time" "$tenpak" bench "$work/$name" --prompt-tokens $prompt_tokens \
        --gen-tokens $gen_tokens --repetitions $repetitions --threads "$threads" --json >"$work/bench-$name.json" ||
        bench_die "tenpak bench $name failed: $(cat "$work/bench-$name.time")"
    loads[-1]+=" -> $(load)"
    cat "$work/bench-$name.json"

    # The untimed run that splits the peak into heap and mapped file pages.
    "$tenpak" bench "$work/$name" --prompt-tokens $prompt_tokens --gen-tokens $gen_tokens --repetitions 1 \
        --threads "$threads" --json >/dev/null &
    bench_sample_rss $! >"$work/split-$name.txt" || bench_die "tenpak bench $name failed in the sampling run"
done

printf '%s\n' "${loads[@]}" >"$work/loads.txt"
cpu=$(bench_cpu)
build_type=$(bench_build_type "$build")
python3 - "$work" "$threads" "$cpu ($(nproc) CPUs)" "${build_type:-unknown} ($build)" "${models[@]}" <<'EOF'
import json, os, re, sys, time

work, threads, cpu, build = sys.argv[1:5]
models = sys.argv[5:]


def folder_bytes(path):
    return sum(os.path.getsize(os.path.join(path, f)) for f in os.listdir(path)
               if os.path.isfile(os.path.join(path, f)))


rows = {}
for name in models:
    b = json.load(open(os.path.join(work, f"bench-{name}.json")))
    t = open(os.path.join(work, f"bench-{name}.time")).read()
    rss_kb = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", t).group(1))
    anon_kb, file_kb = (int(v) for v in open(os.path.join(work, f"split-{name}.txt")).read().split())
    q_ms = None
    if os.path.exists(os.path.join(work, f"quantize-{name}.ms")):
        q_ms = int(open(os.path.join(work, f"quantize-{name}.ms")).read())
    rows[name] = dict(bench=b, rss_mb=rss_kb * 1024 / 1e6, anon_mb=anon_kb * 1024 / 1e6, file_mb=file_kb * 1024 / 1e6,
                      file_bytes=folder_bytes(os.path.join(work, name)), quantize_ms=q_ms)

m = json.load(open(os.path.join(work, "make.json")))
first = rows[models[0]]["bench"]
print()
print(f"tenpak bench MODEL --prompt-tokens {first['prompt_tokens']} --gen-tokens {first['gen_tokens']} "
      f"--repetitions {first['repetitions']} --threads {threads}")
print(f"cpu: {cpu}; kernels {first.get('kernels')}; build {build}; {time.strftime('%Y-%m-%d', time.gmtime())}")
print(f"model: llama, hidden {m['hidden_size']}, intermediate {m['intermediate_size']}, {m['num_hidden_layers']} layers, "
      f"{m['num_attention_heads']} heads ({m['num_key_value_heads']} kv), vocab {m['vocab_size']}, "
      f"{m['parameters'] / 1e9:.3f}e9 parameters")
print("load average (1, 5, 15 min) before -> after each timed tenpak bench:")
for line in open(os.path.join(work, "loads.txt")):
    print("  " + line.rstrip())
print()
f16_decode = rows["f16"]["bench"]["decode_tokens_per_s"] if "f16" in rows else None
print("| model | file MB | quantize s | decode tokens/s | vs F16 | decode GB/s | weight MB/token | p50 ms | "
      "prefill tokens/s | peak RSS MB | anon / file MB |")
print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
for name in models:
    r = rows[name]
    b = r["bench"]
    dec = b["decode_tokens_per_s"]
    per_token = b["decode_weight_bytes_per_s"] / dec if dec > 0 else 0
    q = f"{r['quantize_ms'] / 1000:.1f}" if r["quantize_ms"] is not None else "-"
    vs = f"{dec / f16_decode:.2f}" if f16_decode else "-"
    print(f"| {name} | {r['file_bytes'] / 1e6:.0f} | {q} | {dec:.2f} | {vs} | {b['decode_weight_bytes_per_s'] / 1e9:.1f} | "
          f"{per_token / 1e6:.0f} | {b['latency_p50_ms']:.1f} | {b['prefill_tokens_per_s']:.1f} | {r['rss_mb']:.0f} | "
          f"{r['anon_mb']:.0f} / {r['file_mb']:.0f} |")
print()
if f16_decode and "rtn4-g128" in rows:
    ratio = rows["rtn4-g128"]["bench"]["decode_tokens_per_s"] / f16_decode
    print(f"goal: int4 (rtn4-g128) decode tokens/s / F16 > 1; measured {ratio:.2f}: {'met' if ratio > 1 else 'NOT met'}")
EOF
