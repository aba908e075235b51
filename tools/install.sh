#!/usr/bin/env bash
# Builds rewire and installs it under PREFIX: include/rewire/rewire.h,
# lib/librewire.so.N (+ librewire.so), lib/pkgconfig/rewire.pc,
# lib/cmake/rewire/rewireConfig.cmake (rewire::rewire) and bin/rewire.
# The tree is relocatable. Usage: tools/install.sh PREFIX
set -euo pipefail
if [[ $# -ne 1 ]]; then
  echo "usage: tools/install.sh PREFIX" >&2
  exit 2
fi
prefix=$1
cd "$(dirname "$0")/.."
# Optimized: this is the library users ship.
bazel build -c opt //tools:install_tree
mkdir -p "$prefix"
tar -C "$prefix" --no-same-owner -xf bazel-bin/tools/rewire_install.tar
echo "installed rewire $("$prefix/bin/rewire" --version | cut -d' ' -f2) under $prefix"
