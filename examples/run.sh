#!/usr/bin/env bash
# Builds examples/consumer/ against the rewire installed under PREFIX, with
# CMake (examples/cmake) and with pkg-config (examples/make), and runs each
# program on a model the installed `rewire gen` writes. Exits non-zero on any
# failure. Usage: examples/run.sh PREFIX [WORKDIR]
set -euo pipefail
prefix=$(cd "$1" && pwd)
work=${2:-$(mktemp -d)}
mkdir -p "$work"
here=$(cd "$(dirname "$0")" && pwd)

"$prefix/bin/rewire" gen --blocks 1 -o "$work/model.pb" >/dev/null

echo "== CMake: find_package(rewire), rewire::rewire"
cmake -S "$here/cmake" -B "$work/cmake" -DCMAKE_PREFIX_PATH="$prefix" \
  -DCMAKE_C_FLAGS="-Wall -Werror" -DCMAKE_CXX_FLAGS="-Wall -Werror" >/dev/null
cmake --build "$work/cmake" >/dev/null
"$work/cmake/consumer_c" "$work/model.pb"
"$work/cmake/consumer_cpp" "$work/model.pb"

echo "== pkg-config: make"
mkdir -p "$work/make"
PKG_CONFIG_PATH="$prefix/lib/pkgconfig" make -s -C "$here/make" OUT="$work/make"
"$work/make/consumer_c" "$work/model.pb"
"$work/make/consumer_cpp" "$work/model.pb"
