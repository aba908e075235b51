#!/usr/bin/env bash
# README.md's C++ example is examples/cpp/eval_once.cc, verbatim (so the
# documentation cannot drift from the API), and the program works: it moves
# a generated train-mode model to eval, runs it and saves an eval model.
# Usage: readme_example_test.sh README.md eval_once.cc EVAL_ONCE_BIN REWIRE_BIN
set -euo pipefail
readme=$1 source=$2 bin=$PWD/$3 rewire=$PWD/$4
fail() { echo "FAIL: $*" >&2; exit 1; }

# The first ```c++ block after "## C++ API".
awk '/^## C\+\+ API/{s=1} s&&/^```c\+\+$/{c=1;next} c&&/^```$/{exit} c{print}' "$readme" >"$TEST_TMPDIR/readme.cc"
[[ -s "$TEST_TMPDIR/readme.cc" ]] || fail "no c++ block under '## C++ API' in README.md"
diff -u "$source" "$TEST_TMPDIR/readme.cc" || fail "README.md's C++ example differs from examples/cpp/eval_once.cc"

cd "$TEST_TMPDIR"
"$rewire" gen --blocks 2 -o model.pb >/dev/null
"$bin" model.pb eval.pb >out.txt || fail "eval_once failed: $(cat out.txt)"
grep -q "train -> eval: 6 site(s) rewritten" out.txt || fail "report: $(cat out.txt)"
grep -q "^dropout_1: f32\[2, 4, 8, 8\]" out.txt || fail "output line: $(cat out.txt)"
"$rewire" info eval.pb >info.txt
grep -q "mode: *eval" info.txt || fail "saved model is not in eval mode: $(cat info.txt)"
# A failure is a status on stderr and exit 1, not a crash.
set +e
"$bin" missing.pb out.pb 2>err.txt; rc=$?
set -e
[[ $rc -eq 1 ]] || fail "missing file: exit $rc"
grep -q "^error: .*missing.pb" err.txt || fail "missing file: $(cat err.txt)"
[[ ! -e out.pb ]] || fail "a failed run wrote out.pb"
