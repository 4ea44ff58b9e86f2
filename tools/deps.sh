#!/usr/bin/env bash
# deps.sh - installs, as root on Debian 12, every package tandem needs to
# build and run, and (with --test) what its test suite uses as peers:
# Prometheus' promtool, curl, zstd, clang's libFuzzer, Python 3.
set -euo pipefail

pkgs=(build-essential cmake pkg-config libyaml-dev libmicrohttpd-dev
      libcjson-dev libzstd-dev zlib1g-dev libssl-dev netcat-openbsd curl
      protobuf-c-compiler libprotobuf-c-dev)
if [ "${1:-}" = "--test" ]; then
    pkgs+=(clang libclang-rt-14-dev prometheus zstd python3 procps strace)
fi

missing=()
for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
        grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "deps.sh: installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
