#!/usr/bin/env bash
# The install tree (//tools:install_tree) as a non-Bazel user gets it: only
# rewire_* symbols exported, a SONAME carrying REWIRE_ABI_VERSION, the
# version from the header everywhere, and the CMake and pkg-config examples
# building and running against it.
# Usage: install_tree_test.sh TREE.tar HEADER EXAMPLES_RUN_SH
set -euo pipefail
tar_file=$1 header=$2 run_examples=$3
prefix="$TEST_TMPDIR/prefix"
mkdir -p "$prefix"
tar -C "$prefix" -xf "$tar_file"
fail() { echo "FAIL: $*" >&2; exit 1; }

version=$(sed -n 's/^#define REWIRE_VERSION "\(.*\)"$/\1/p' "$header")
abi=$(sed -n 's/^#define REWIRE_ABI_VERSION \([0-9]*\)$/\1/p' "$header")
lib="$prefix/lib/librewire.so.$abi"
[[ -f "$lib" ]] || fail "no $lib"
[[ "$(readlink "$prefix/lib/librewire.so")" == "librewire.so.$abi" ]] || fail "librewire.so link"
cmp -s "$header" "$prefix/include/rewire/rewire.h" || fail "installed header differs"

# Only the C API is exported.
others=$(nm -D --defined-only "$lib" | awk '{print $NF}' | grep -v '^rewire_' || true)
[[ -z "$others" ]] || fail "exported non-rewire_ symbols: $(echo "$others" | head -5)"
exported=$(nm -D --defined-only "$lib" | grep -c ' rewire_')
(( exported >= 50 )) || fail "only $exported rewire_ symbols exported"
readelf -d "$lib" | grep "Library soname: \[librewire.so.$abi\]" >/dev/null || fail "SONAME is not librewire.so.$abi"

# One version everywhere.
[[ "$("$prefix/bin/rewire" --version)" == "rewire $version" ]] || fail "rewire --version"
[[ "$("$prefix/bin/rewire" version)" == "rewire $version" ]] || fail "rewire version"
[[ "$(PKG_CONFIG_PATH="$prefix/lib/pkgconfig" pkg-config --modversion rewire)" == "$version" ]] ||
  fail "pkg-config --modversion"

# Under --config=asan the library itself is instrumented and needs the ASan
# runtime, which the plain consumers do not link first; ASan would refuse to
# start. Loaded late, the runtime does not intercept the library's
# pthread_create, so it cannot scan the worker threads' stacks and reports
# what they hold as leaks: leak checking stays with the Bazel-linked C API
# tests (tests:c_api_test, tests:c_api_ex_test), which run under ASan too.
if readelf -d "$lib" | grep 'NEEDED.*libasan' >/dev/null; then
  export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0:detect_leaks=0"
fi
out=$("$run_examples" "$prefix" "$TEST_TMPDIR/examples")
echo "$out"
[[ $(grep -c "^rewire $version (header $version)" <<<"$out") == 2 ]] || fail "consumer_c runs"
[[ $(grep -c "^eval output" <<<"$out") == 2 ]] || fail "consumer_cpp runs"
grep -q "rewrote 1 dropout site" <<<"$out" || fail "structured report"
echo "install tree test passed ($exported rewire_ symbols, SONAME librewire.so.$abi)"
