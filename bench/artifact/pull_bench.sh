#!/usr/bin/env bash
# Artifacts over HTTP against a real nginx on loopback (bench/README.md, "pull_bench.sh"):
#   - `tenpak pull URL -o X.tnpk` (mirror: range requests, 4 connections, every chunk decompressed and
#     hashed) and `tenpak pull URL -o DIR` (unpack through a cold chunk cache) against a plain
#     whole-file download of the same artifact with `curl -o` (goal: pull >= 0.8 of curl's throughput);
#   - `tenpak stream URL --tensor NAME --no-cache` for a few tensors: bytes transferred for the tensor
#     over its stored bytes (goal <= 1.1), plus the bytes and requests of opening the artifact.
#
#   bench/artifact/pull_bench.sh [BUILD_DIR]       BUILD_DIR defaults to build/
#   SHAPE="--hidden 2048 --intermediate 5632 --heads 16 --vocab 32000 --layers 8"   (about 1 GB, F16)
#   CONNECTIONS=4 RUNS=3
#
# The artifact is packed from a random F16 model written by make_model (random weights barely
# compress, like real ones). Everything is warm in the page cache (caches cannot be dropped without
# root); each timed run writes into the page cache without sync, after an untimed sync. Nothing is
# asserted: figures only.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
build=${1:-$repo/build}
runs=${RUNS:-3}
connections=${CONNECTIONS:-4}
read -r -a shape <<<"${SHAPE:---hidden 2048 --intermediate 5632 --heads 16 --vocab 32000 --layers 8}"
tenpak=$build/tenpak
make_model=$build/bench/make_model

# shellcheck source-path=SCRIPTDIR/../.. source=bench/lib/bench_common.sh
source "$repo/bench/lib/bench_common.sh"
bench_init pull_bench
bench_require_built "$build" "$tenpak" "$make_model"
command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || bench_die "nginx is not installed (scripts/install-deps.sh)"
command -v curl >/dev/null || bench_die "curl is not installed (scripts/install-deps.sh)"
bench_make_workdir tenpak-pull-bench
bench_require_free_kb "$work" $((5 * 1024 * 1024))

bench_say "writing an F16 model (${shape[*]}) and packing it ..."
"$make_model" "$work/src" "${shape[@]}" --dtype f16 --seed 1 --json >/dev/null
mkdir -p "$work/www"
"$tenpak" pack "$work/src" -o "$work/www/m.tnpk" --json >"$work/pack.json"
bytes=$(stat -c %s "$work/www/m.tnpk")

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
mkdir -p "$work/nginx"
# Started by root, nginx's workers would run as nobody, who cannot reach a private temporary folder.
nginx_user=""
if [ "$(id -u)" -eq 0 ]; then nginx_user="user root;"; fi
cat >"$work/nginx/nginx.conf" <<CONF
$nginx_user
worker_processes 2;
daemon off;
pid $work/nginx/nginx.pid;
error_log $work/nginx/error.log;
events { worker_connections 256; }
http {
  access_log off;
  sendfile on;
  client_body_temp_path $work/nginx/body; proxy_temp_path $work/nginx/proxy; fastcgi_temp_path $work/nginx/fastcgi;
  uwsgi_temp_path $work/nginx/uwsgi; scgi_temp_path $work/nginx/scgi;
  server { listen 127.0.0.1:$port; root $work/www; }
}
CONF
/usr/sbin/nginx -c "$work/nginx/nginx.conf" -p "$work/nginx" -e "$work/nginx/error.log" &
nginx_pid=$!
trap 'kill -QUIT $nginx_pid 2>/dev/null || true; wait $nginx_pid 2>/dev/null || true; rm -rf "$work"' EXIT
url=http://127.0.0.1:$port/m.tnpk
for _ in $(seq 100); do curl -sfI "$url" >/dev/null && break; sleep 0.05; done
curl -sfI "$url" >/dev/null || bench_die "nginx did not start: $(cat "$work/nginx/error.log")"

# best_ns PREPARE CMD...: runs PREPARE (untimed) and CMD `runs` times; prints the fastest in ns.
best_ns() {
    local prepare=$1 best="" start elapsed
    shift
    for ((run = 1; run <= runs; run++)); do
        eval "$prepare"
        sync
        start=$(now_ns)
        "$@" >/dev/null || bench_die "failed: $*"
        elapsed=$(($(now_ns) - start))
        if [ -z "$best" ] || [ "$elapsed" -lt "$best" ]; then best=$elapsed; fi
    done
    echo "$best"
}

cat "$work/www/m.tnpk" >/dev/null
bench_say "curl, pull (mirror), pull (unpack, cold cache) of $((bytes / 1000000)) MB, $runs runs each (load $(load)) ..."
curl_ns=$(best_ns 'rm -f "$work/curl.tnpk"' curl -sf -o "$work/curl.tnpk" "$url")
mirror_ns=$(best_ns 'rm -f "$work/mirror.tnpk"' "$tenpak" pull "$url" -o "$work/mirror.tnpk" --connections "$connections" --json)
cmp -s "$work/mirror.tnpk" "$work/www/m.tnpk" || bench_die "the mirrored artifact differs from the served one"
unpack_ns=$(best_ns 'rm -rf "$work/out" "$work/cache"' "$tenpak" pull "$url" -o "$work/out" --cache "$work/cache" \
    --connections "$connections" --json)

rate() { awk -v b="$bytes" -v ns="$1" 'BEGIN { printf "%.0f", b / (ns / 1e9) / 1e6 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }

echo
echo "pull over loopback from nginx, $((bytes / 1000000)) MB artifact, best of $runs; --connections $connections"
echo "cpu: $(bench_cpu) ($(nproc) threads), build: $(bench_build_type "$build") ($build), $(date -u +%Y-%m-%d), load $(load)"
echo
printf '%-34s %10s %10s %14s\n' "download" "seconds" "MB/s" "vs curl"
printf '%-34s %10.3f %10s %14s\n' "curl -o (whole file)" "$(awk -v n="$curl_ns" 'BEGIN{print n/1e9}')" "$(rate "$curl_ns")" "1.00"
printf '%-34s %10.3f %10s %14s\n' "tenpak pull -o X.tnpk (mirror)" "$(awk -v n="$mirror_ns" 'BEGIN{print n/1e9}')" \
    "$(rate "$mirror_ns")" "$(ratio "$curl_ns" "$mirror_ns")"
printf '%-34s %10.3f %10s %14s\n' "tenpak pull -o DIR (cold cache)" "$(awk -v n="$unpack_ns" 'BEGIN{print n/1e9}')" \
    "$(rate "$unpack_ns")" "$(ratio "$curl_ns" "$unpack_ns")"
echo "goal: pull (mirror) >= 0.8 x curl: $(ratio "$curl_ns" "$mirror_ns") ($(awk -v r="$(ratio "$curl_ns" "$mirror_ns")" 'BEGIN { print (r >= 0.8 ? "met" : "NOT met") }'))"

echo
printf '%-44s %12s %12s %8s %12s\n' "stream --tensor (no cache)" "stored B" "fetched B" "ratio" "open B/req"
for tensor in model.embed_tokens.weight model.layers.0.self_attn.q_proj.weight model.layers.1.mlp.down_proj.weight \
    model.norm.weight; do
    "$tenpak" stream "$url" --tensor "$tensor" --no-cache --json >"$work/stream.json"
    python3 - "$work/stream.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
print("%-44s %12d %12d %8.3f %8d/%d" % (r["tensor"], r["stored_bytes"], r["tensor_bytes_transferred"],
                                        r["transfer_ratio"], r["open_bytes"], r["open_requests"]))
PY
done
echo "goal: fetched / stored <= 1.1 per tensor (plus the open: HEAD and one 64 KiB read of the footer and manifest)"
