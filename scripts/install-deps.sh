#!/usr/bin/env bash
# Installs every Debian 12 package TenPak needs to build, test and benchmark.
# Idempotent: packages already present are skipped, and `apt-get update` runs at most once.
# Nothing is downloaded from anywhere but Debian's package archive.
set -euo pipefail

packages=(
    # toolchain
    build-essential cmake ninja-build pkg-config git clang clang-format clang-tidy libclang-rt-14-dev
    # libraries
    nlohmann-json3-dev libzstd-dev zstd libsodium-dev libssl-dev libcurl4-openssl-dev libcpp-httplib-dev
    libsqlite3-dev libcli11-dev libopenblas-dev liblapacke-dev libsentencepiece-dev libpcre2-dev
    # tests and benchmarks
    googletest libgtest-dev libgmock-dev libbenchmark-dev curl nginx-light python3 time
)

missing=()
for pkg in "${packages[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$pkg")
    fi
done

if [ ${#missing[@]} -eq 0 ]; then
    echo "install-deps: all ${#packages[@]} packages already installed"
    exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
