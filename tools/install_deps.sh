#!/usr/bin/env bash
# Installs what building and testing rewire needs on Debian 12, and nothing
# when it is all there already (a dpkg query, well under a second).
# Usage: tools/install_deps.sh [--python]   (--python adds the bridge's deps)
set -euo pipefail

packages=(
  bazel-bootstrap bazel-rules-java bazel-platforms bazel-skylib bazel-rules-proto
  libabsl-dev libprotobuf-dev protobuf-compiler libgtest-dev libgmock-dev
  libbenchmark-dev libboost-graph-dev libdnnl-dev g++ clang libclang-rt-14-dev lld
  libomp-dev libzip-dev nlohmann-json3-dev
  cmake make pkg-config
)
if [[ "${1:-}" == "--python" ]]; then
  packages+=(python3-protobuf python3-numpy)
fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if ((${#missing[@]})); then
  echo "installing: ${missing[*]}" >&2
  SUDO=""
  if [[ $(id -u) -ne 0 ]]; then SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get -o DPkg::Lock::Timeout=900 \
    install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
