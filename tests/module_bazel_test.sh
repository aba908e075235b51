#!/usr/bin/env bash
# MODULE.bazel (Bazel 7+) and WORKSPACE (the tested Bazel 4 build) declare the
# same repositories: each name WORKSPACE declares is a bazel_dep or a
# repository rule in MODULE.bazel, or is named there as one Bazel provides.
# The module version is REWIRE_VERSION.
# Usage: module_bazel_test.sh WORKSPACE MODULE.bazel REWIRE_C_H
set -euo pipefail
workspace=$1 module=$2
fail=0
names=$(grep -oE 'name = "[A-Za-z0-9_.-]+"' "$workspace" | sed 's/name = "\(.*\)"/\1/' | grep -vx rewire)
[[ -n "$names" ]] || { echo "FAIL: no repositories found in $workspace" >&2; exit 1; }
for n in $names; do
  if grep -qE "(bazel_dep\(name = \"$n\"|^    name = \"$n\",|^# $n: Bazel [0-9]+ provides it)" "$module"; then
    continue
  fi
  echo "FAIL: WORKSPACE declares '$n', MODULE.bazel does not" >&2
  fail=1
done
grep -q '^module(' "$module" || { echo "FAIL: no module() in $module" >&2; fail=1; }
# The module's version is the library's.
version=$(sed -n 's/^    version = "\(.*\)",$/\1/p' "$module")
header_version=$(sed -n 's/^#define REWIRE_VERSION "\(.*\)"$/\1/p' "$3")
[[ "$version" == "$header_version" ]] || { echo "FAIL: MODULE.bazel version '$version' != REWIRE_VERSION '$header_version'" >&2; fail=1; }
exit $fail
