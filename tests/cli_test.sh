#!/usr/bin/env bash
# End-to-end tests of the `rewire` program: every subcommand on the files in
# tests/testdata/ (cli_small.pb was written by `rewire gen --blocks 2
# --channels 2 --height 4 --width 4 --p 0.25 --eps 0.001 --momentum 0.05`;
# cli_corrupt.pb is garbage), checking stdout, stderr and exit codes,
# including every error path and the atomic-write guarantee. Usage:
# cli_test.sh PATH_TO_REWIRE (Bazel passes $(rootpath //tools:rewire)).
set -uo pipefail

REWIRE="$1"
DATA=tests/testdata
TMP="${TEST_TMPDIR:-$(mktemp -d)}/cli"
rm -rf "$TMP" && mkdir -p "$TMP"
failures=0

# run_cmd EXPECTED_RC ARGS...: runs rewire, keeps stdout/stderr in $out/$err.
run_cmd() {
  local want="$1"
  shift
  "$REWIRE" "$@" >"$TMP/stdout" 2>"$TMP/stderr"
  rc=$?
  out="$(cat "$TMP/stdout")"
  err="$(cat "$TMP/stderr")"
  if [[ "$rc" != "$want" ]]; then
    echo "FAIL: rewire $* exited $rc, want $want" >&2
    echo "  stdout: ${out:0:2000}" >&2
    echo "  stderr: $err" >&2
    failures=$((failures + 1))
    return 1
  fi
  # Failures and usage errors: exactly one line on stderr, starting "error:".
  if [[ "$want" != 0 ]]; then
    local first
    first="$(grep -v '^note:\|^warning:' "$TMP/stderr" | head -1)"
    local lines
    lines="$(grep -c '^error:' "$TMP/stderr")"
    if [[ "$first" != error:* || "$lines" != 1 ]]; then
      echo "FAIL: rewire $*: stderr is not one 'error:' line: $err" >&2
      failures=$((failures + 1))
      return 1
    fi
  fi
  return 0
}

expect_out() {  # expect_out TEXT: stdout contains TEXT
  if [[ "$out" != *"$1"* ]]; then
    echo "FAIL: stdout lacks '$1'; stdout was: ${out:0:3000}" >&2
    failures=$((failures + 1))
  fi
}
expect_no_out() {
  if [[ "$out" == *"$1"* ]]; then
    echo "FAIL: stdout unexpectedly contains '$1'" >&2
    failures=$((failures + 1))
  fi
}
expect_err() {  # expect_err TEXT: stderr contains TEXT
  if [[ "$err" != *"$1"* ]]; then
    echo "FAIL: stderr lacks '$1'; stderr was: $err" >&2
    failures=$((failures + 1))
  fi
}
check() {  # check DESCRIPTION COMMAND...
  local what="$1"
  shift
  if ! "$@"; then
    echo "FAIL: $what" >&2
    failures=$((failures + 1))
  fi
}

# --- help and usage -------------------------------------------------------
run_cmd 0 --help && expect_out "usage: rewire <command>"
run_cmd 2
run_cmd 2 frobnicate && expect_err "unknown command 'frobnicate'"
for c in demo info eval train rewrite print dot run validate gen; do
  run_cmd 0 "$c" --help && expect_out "usage: rewire"
done
run_cmd 0 help run && expect_out "usage: rewire run"

# --- demo -----------------------------------------------------------------
run_cmd 0 demo && {
  expect_out "MoveExportedModelToEval"
  expect_out "train -> eval: 5 site(s) rewritten"
  expect_out "batch_counter [training_ir]: 2"
  expect_out "eps 0.001, momentum 0.03, p 0.3 survived the round trip: yes"
  expect_out "running_mean/running_var unchanged by eval runs: yes"
  expect_out "All checks passed."
}
run_cmd 2 demo extra
run_cmd 2 demo --seed=abc

# --- info -----------------------------------------------------------------
run_cmd 0 info "$DATA/cli_small.pb" && {
  expect_out "exported:  yes"
  expect_out "device:    cpu"
  expect_out "mode:      train"
  expect_out "dialect:   training_ir"
  expect_out "aten.batch_norm.default"
  expect_out "blocks.0.bn.running_mean"
  expect_out "%x : f32[2, 2, 4, 4]"
  expect_out "verifier:  OK"
}
run_cmd 1 info "$TMP/missing.pb" && expect_err "missing.pb"
run_cmd 1 info "$DATA/cli_corrupt.pb" && expect_err "cli_corrupt.pb"
run_cmd 2 info
run_cmd 2 info "$DATA/cli_small.pb" "$DATA/cli_small.pb"
run_cmd 1 info model.onnx && expect_err "model.onnx"
run_cmd 2 info --bogus "$DATA/cli_small.pb" && expect_err "unknown flag '--bogus'"

# --- print, and the text form as input -------------------------------------
run_cmd 0 print "$DATA/cli_small.pb" && {
  expect_out "graph():"
  expect_out "aten.dropout.default(%relu, 0.25, True)"
  printf '%s\n' "$out" >"$TMP/graph.txt"
}
run_cmd 0 info "$TMP/graph.txt" && expect_out "graph only"
printf 'graph():\n    %%x = placeholder[target=x]\n    %%y = aten.relu.default(%%nope)\n    return (%%y,)\n' >"$TMP/bad.txt"
run_cmd 1 print "$TMP/bad.txt" && expect_err "bad.txt"

# --- eval / train ---------------------------------------------------------
run_cmd 0 eval "$DATA/cli_small.pb" -o "$TMP/eval.pb" && {
  expect_out "train -> eval: 6 site(s) rewritten"
  expect_out "wrote $TMP/eval.pb"
}
run_cmd 0 info "$TMP/eval.pb" && expect_out "mode:      eval"
run_cmd 0 validate "$TMP/eval.pb" && expect_out "eval-form"
run_cmd 0 eval "$TMP/eval.pb" -o "$TMP/eval2.pbtxt" && expect_out "already in eval mode"
# One dialect detection for info and the switch: a training-IR drop path
# (bernoulli_ on new_empty) is not make_fx; make_fx's empty_like ->
# bernoulli_ is.
run_cmd 0 info "$DATA/constructs/timm_drop_path.training_ir.torch2.pbtxt" &&
  expect_out "dialect:   training_ir"
run_cmd 0 eval "$DATA/constructs/timm_drop_path.training_ir.torch2.pbtxt" -o "$TMP/dp.pb" &&
  expect_out "drop_path [training_ir]: 1"
run_cmd 0 info "$DATA/constructs/dropout_inplace.make_fx.torch1.pbtxt" &&
  expect_out "dialect:   make_fx"
run_cmd 0 eval "$DATA/constructs/dropout_inplace.make_fx.torch1.pbtxt" -o "$TMP/di.pb" &&
  expect_out "dropout_ [make_fx]: 1"
# A random mask rewire does not know as a dropout: reported, refused by --strict.
cat >"$TMP/odd.txt" <<'GRAPH'
graph():
    %x : f32[2, 3] = placeholder[target=x]
    %b : f32[2, 3] = aten.bernoulli.p(%x, 0.5)
    %y : f32[2, 3] = aten.mul.Tensor(%x, %b)
    return (%y,)
GRAPH
run_cmd 1 eval "$TMP/odd.txt" -o "$TMP/odd_strict.pb" --strict && {
  expect_err "strict eval: 1 node(s)"
  expect_err "%b (aten.bernoulli.p)"
  check "--strict failure writes nothing" test ! -e "$TMP/odd_strict.pb"
}
run_cmd 0 eval "$TMP/odd.txt" -o "$TMP/odd.pb" && {
  expect_out "[differs from eager eval]"
  expect_err "warning:"
}
run_cmd 2 train "$TMP/eval.pb" -o "$TMP/t.pb" --strict && expect_err "eval only"
run_cmd 0 train "$TMP/eval.pb" -o "$TMP/train.pbtxt" && expect_out "eval -> train: 6 site(s) rewritten"
run_cmd 0 print "$TMP/train.pbtxt" && {
  expect_out "aten.dropout.default(%relu, 0.25, True)"
  expect_out "True, 0.05, 0.001, True)"
}
run_cmd 0 eval "$DATA/cli_small.pb" -o "$TMP/eval.rwir" && expect_err "graph only"
run_cmd 0 print "$TMP/eval.rwir" && expect_out "aten.dropout.default(%relu, 0.25, False)"
run_cmd 2 eval "$DATA/cli_small.pb"
run_cmd 2 eval "$DATA/cli_small.pb" -o "$TMP/out.onnx" && expect_err "out.onnx"
run_cmd 2 eval "$DATA/cli_small.pb" --dialect core_aten -o "$TMP/x.pb" && expect_err "--dialect is not supported"
run_cmd 2 train -o
check "usage errors write nothing" test ! -e "$TMP/x.pb"
# A failed switch leaves an existing output untouched.
echo "precious" >"$TMP/keep.pb"
run_cmd 1 eval "$DATA/cli_corrupt.pb" -o "$TMP/keep.pb" && expect_err "cli_corrupt.pb"
check "failed eval left keep.pb untouched" grep -qx precious "$TMP/keep.pb"

# --- dot --------------------------------------------------------------------
run_cmd 0 dot "$DATA/cli_small.pb" && {
  expect_out "digraph rewire"
  expect_out "TRAIN"
  expect_out 'label="f32[2, 2, 4, 4]"'
}
run_cmd 0 dot "$TMP/eval.pb" -o "$TMP/eval.dot"
check "eval.dot written" grep -q "digraph rewire" "$TMP/eval.dot"
check "eval graph has no training-form node" bash -c "! grep -q TRAIN '$TMP/eval.dot'"
run_cmd 2 dot "$DATA/cli_small.pb" --svg --png
if command -v dot >/dev/null; then
  run_cmd 0 dot "$DATA/cli_small.pb" --svg -o "$TMP/g.svg"
  check "svg rendered" grep -q "<svg" "$TMP/g.svg"
else
  run_cmd 1 dot "$DATA/cli_small.pb" --svg -o "$TMP/g.svg" && expect_err "Graphviz"
  check "no svg without graphviz" test ! -e "$TMP/g.svg"
fi

# --- .pt2 archives ---------------------------------------------------------------
PT2="$DATA/pt2/conv_bn_dropout.train.pt2"
run_cmd 0 info "$PT2" && expect_out "mode:      train"
run_cmd 0 eval "$PT2" -o "$TMP/e.pt2" && expect_out "wrote $TMP/e.pt2"
run_cmd 0 info "$TMP/e.pt2" && expect_out "mode:      eval"
run_cmd 0 run "$TMP/e.pt2" --input x="$DATA/pt2/conv_bn_dropout.x.npy" -o "$TMP/pt2out"
run_cmd 0 train "$TMP/e.pt2" -o "$TMP/t.pb" && expect_out "wrote $TMP/t.pb"
# Recognized by content whatever the name; anything else of an unknown kind
# is named.
cp "$PT2" "$TMP/archive.bin"
run_cmd 0 info "$TMP/archive.bin" && expect_out "mode:      train"
cp "$PT2" "$TMP/archive_named.pb"
run_cmd 0 eval "$TMP/archive_named.pb" -o "$TMP/e2.pt2"
echo "hello" >"$TMP/hello.bin"
run_cmd 1 info "$TMP/hello.bin" && expect_err "not a .pt2 archive"
# A hostile archive is an error and writes nothing.
run_cmd 1 eval "$DATA/pt2/bomb.zip" -o "$TMP/bomb_out.pt2" && expect_err "bomb"
check "no output from a refused archive" test ! -e "$TMP/bomb_out.pt2"

# --- run ----------------------------------------------------------------------
run_cmd 0 run "$DATA/cli_small.pb" -o "$TMP/out1" && {
  expect_out "output dropout_1: f32[2, 2, 4, 4]"
  expect_out "state updated by the run"
}
check ".npy magic" bash -c "head -c 6 '$TMP/out1/dropout_1.npy' | grep -q NUMPY"
check ".npy header" grep -q "'descr': '<f4', 'fortran_order': False, 'shape': (2, 2, 4, 4), }" "$TMP/out1/dropout_1.npy"
# Eval mode is deterministic: the same input file gives identical outputs.
run_cmd 0 run "$TMP/eval.pb" --input x="$TMP/out1/dropout_1.npy" --seed 1 -o "$TMP/out2"
run_cmd 0 run "$TMP/eval.pb" --input "x=$TMP/out1/dropout_1.npy" --seed 2 -o "$TMP/out3"
check "eval outputs identical" cmp -s "$TMP/out2/dropout_1.npy" "$TMP/out3/dropout_1.npy"
run_cmd 0 run "$TMP/eval.pb" && expect_out "output dropout_1"
# --save-inputs keeps the drawn inputs; passing them back reproduces the run.
run_cmd 0 run "$DATA/cli_small.pb" --seed 5 --save-inputs "$TMP/in5" -o "$TMP/out5" && expect_out "saved input x as $TMP/in5/x.npy"
run_cmd 0 run "$DATA/cli_small.pb" --seed 5 --input x="$TMP/in5/x.npy" -o "$TMP/out5b"
check "saved inputs reproduce the run" cmp -s "$TMP/out5/dropout_1.npy" "$TMP/out5b/dropout_1.npy"
run_cmd 2 run "$DATA/cli_small.pb" --save-inputs "$TMP/same" -o "$TMP/same" && expect_err "same directory"
check "no directory for a refused --save-inputs" test ! -e "$TMP/same"
run_cmd 1 run "$DATA/cli_small.pb" --input y="$TMP/out1/dropout_1.npy" && expect_err "no input placeholder named 'y'"
run_cmd 1 run "$DATA/cli_small.pb" --input x="$TMP/none.npy" && expect_err "none.npy"
run_cmd 1 run "$DATA/cli_small.pb" --input x="$DATA/cli_corrupt.pb" && expect_err "cli_corrupt.pb"
run_cmd 0 gen --blocks 1 --channels 3 --height 4 --width 4 -o "$TMP/c3.pb"
run_cmd 0 run "$TMP/c3.pb" -o "$TMP/c3out"
run_cmd 1 run "$DATA/cli_small.pb" --input x="$TMP/c3out/dropout.npy" && expect_err "shape [2, 3, 4, 4]"
run_cmd 2 run "$DATA/cli_small.pb" --input x
run_cmd 2 run "$DATA/cli_small.pb" --input x=a.npy --input x=b.npy
run_cmd 2 run "$DATA/cli_small.pb" --seed -3
run_cmd 2 run "$DATA/cli_small.pb" --device tpu && expect_err "--device 'tpu'"
run_cmd 1 run "$DATA/cli_corrupt.pb"
echo "not a dir" >"$TMP/afile"
run_cmd 1 run "$DATA/cli_small.pb" -o "$TMP/afile" && expect_err "not a directory"
# Outputs that share a node name get distinct files, none overwritten.
cat >"$TMP/dup_out.txt" <<'GRAPH'
graph():
    %a : f32[2] = placeholder[target=a]
    %a_2 : f32[2] = aten.relu.default(%a)
    return (%a, %a_2, %a)
GRAPH
run_cmd 0 run "$TMP/dup_out.txt" -o "$TMP/dup_out" && {
  expect_out "wrote $TMP/dup_out/a.npy"
  expect_out "wrote $TMP/dup_out/a_2.npy"
  expect_out "wrote $TMP/dup_out/a_2_1.npy"
}
check "three distinct output files" test "$(ls "$TMP/dup_out" | wc -l)" = 3
check "a_2.npy holds relu(a), not a" bash -c "! cmp -s '$TMP/dup_out/a.npy' '$TMP/dup_out/a_2.npy'"
check "the repeated output equals the first" cmp -s "$TMP/dup_out/a.npy" "$TMP/dup_out/a_2_1.npy"
# A run that fails creates no output directory.
cat >"$TMP/fails.txt" <<'GRAPH'
graph():
    %a : f32[2] = placeholder[target=a]
    %b : f32[3] = placeholder[target=b]
    %c : f32[2] = aten.add.Tensor(%a, %b)
    return (%a, %c)
GRAPH
run_cmd 1 run "$TMP/fails.txt" -o "$TMP/fails_out"
check "failed run created no directory" test ! -e "$TMP/fails_out"
run_cmd 1 run "$DATA/cli_small.pb" -o "$TMP/no/such/dir" && expect_err "no/such"
check "missing parent is not created" test ! -e "$TMP/no"
# Limits (docs/RELIABILITY.md): on by default, each refusal immediate and
# naming the placeholder or node and the limit.
printf 'graph():\n    %%a : f32[3000000000] = placeholder[target=a]\n    return (%%a,)\n' >"$TMP/big.txt"
printf 'graph():\n    %%a : f32[5000000000] = placeholder[target=a]\n    return (%%a,)\n' >"$TMP/huge.txt"
cat >"$TMP/conv.txt" <<'GRAPH'
graph():
    %x : f32[1, 1, 1000, 1000] = aten.ones.default([1, 1, 1000, 1000])
    %w : f32[1, 1, 1000, 1000] = aten.ones.default([1, 1, 1000, 1000])
    %c : f32[1, 1, 2999, 2999] = aten.conv2d.default(%x, %w, None, [1, 1], [999, 999])
    return (%c,)
GRAPH
run_cmd 1 run "$TMP/big.txt" --max-memory 1G && {
  expect_err "random input for placeholder %a"
  expect_err "limit of 1073741824 bytes in total"
}
# 20 GB: over the 16 GiB per-tensor default or half the memory, whatever
# the machine.
run_cmd 1 run "$TMP/huge.txt" && expect_err "random input for placeholder %a"
run_cmd 1 run "$TMP/conv.txt" && expect_err "node %c (aten.conv2d.default): estimated work of"
run_cmd 1 validate "$TMP/conv.txt" && expect_err "estimated work of"
run_cmd 1 run "$TMP/conv.txt" --max-node-work 1T && expect_err "limit of 1099511627776 per node"
run_cmd 1 run "$DATA/cli_small.pb" --max-memory 2K && expect_err "limit of 2048 bytes in total"
run_cmd 1 run "$DATA/cli_small.pb" --max-node-work 100 && expect_err "limit of 100 per node"
run_cmd 0 run "$DATA/cli_small.pb" --max-memory unlimited --max-node-work unlimited
run_cmd 0 validate "$DATA/cli_small.pb" --max-memory 64M
run_cmd 2 run "$DATA/cli_small.pb" --max-memory 0 && expect_err "'unlimited'"
run_cmd 2 run "$DATA/cli_small.pb" --max-node-work 12X
run_cmd 2 validate "$DATA/cli_small.pb" --max-memory -5
run_cmd 0 run --help && expect_out "--max-memory" && expect_out "--max-node-work"

# --device cuda works in a CUDA build on a GPU machine, else fails cleanly.
"$REWIRE" run "$DATA/cli_small.pb" --device cuda >/dev/null 2>"$TMP/stderr"
rc=$?
if [[ $rc != 0 ]]; then
  check "cuda failure is one error line" grep -q "^error:" "$TMP/stderr"
  check "cuda failure exits 1" test "$rc" = 1
fi

# --- validate -------------------------------------------------------------------
run_cmd 0 validate "$DATA/cli_small.pb" && {
  expect_out "PASS %dropout"
  expect_out "train-form"
  expect_out "OK"
}
run_cmd 1 validate "$DATA/cli_corrupt.pb"
run_cmd 2 validate

# --- gen --------------------------------------------------------------------------
run_cmd 0 gen --blocks 3 -o "$TMP/g3.pbtxt" && expect_out "38 nodes"
run_cmd 0 info "$TMP/g3.pbtxt" && expect_out "nodes:     38"
run_cmd 2 gen -o "$TMP/g.pb"
run_cmd 2 gen --blocks 0 -o "$TMP/g.pb"
run_cmd 2 gen --blocks 2 -o "$TMP/g.bin"
run_cmd 2 gen --blocks 2
check "usage errors write nothing" test ! -e "$TMP/g.pb"

# --- one set of loader checks whatever the format ------------------------------
# A text-form graph over the rank limit used to load (the text loader skipped
# the .pb loader's checks), so eval wrote a .pb that info then refused.
{
  printf '%%x : f32['
  for ((i = 1; i < 100000; i++)); do printf "1, "; done
  printf '1] = placeholder[target=x]\nreturn (%%x,)\n'
} >"$TMP/rank_100000.txt"
run_cmd 1 eval "$TMP/rank_100000.txt" -o "$TMP/rank.pb" &&
  expect_err "rank 100000 exceeds the limit of 64"
check "a refused load writes no output" test ! -e "$TMP/rank.pb"

# --- names from input never reach the terminal as control bytes ---------------
# A node named ESC [2J NUL: in the error of a failed load and in info's
# listing of a valid graph, it is shown escaped.
printf '%%x = placeholder[target=x]\n%%"\\x1b[2J\\x00" = aten.relu.default(%%x, 1)\nreturn (%%"\\x1b[2J\\x00",)\n' >"$TMP/ctl_bad.txt"
printf '%%"\\x1b[2J\\x00" = placeholder[target=x]\nreturn (%%"\\x1b[2J\\x00",)\n' >"$TMP/ctl_ok.txt"
no_control_bytes() {  # no_control_bytes FILE: nothing but text, newlines and tabs
  ! LC_ALL=C grep -q $'[\x01-\x08\x0b-\x1f\x7f]' "$1" &&
    test "$(tr -d -c '\000' <"$1" | wc -c)" = 0
}
run_cmd 1 info "$TMP/ctl_bad.txt" && expect_err '%\x1b[2J\x00'
check "a failed load's error has no control bytes" no_control_bytes "$TMP/stderr"
run_cmd 0 info "$TMP/ctl_ok.txt" && expect_out '%\x1b[2J\x00'
check "info's listing has no control bytes" no_control_bytes "$TMP/stdout"
run_cmd 1 info "$TMP/"$'\x1b[2J'"missing.pb" && expect_err '\x1b[2Jmissing.pb'
check "a path is escaped too" no_control_bytes "$TMP/stderr"

# --- inputs that are not regular files are refused at once, naming the path ----
mkfifo "$TMP/pipe.txt" "$TMP/pipe.npy"
ln -s /dev/zero "$TMP/zero.txt"
ln -s /dev/zero "$TMP/zero.npy"
run_cmd 1 info "$TMP/pipe.txt" && expect_err "$TMP/pipe.txt': a FIFO"
run_cmd 1 print "$TMP/zero.txt" && expect_err "$TMP/zero.txt': a device"
run_cmd 1 run "$DATA/cli_small.pb" --input x="$TMP/pipe.npy" &&
  expect_err "$TMP/pipe.npy': a FIFO"
run_cmd 1 run "$DATA/cli_small.pb" --input x="$TMP/zero.npy" &&
  expect_err "$TMP/zero.npy': a device"

# --- rewrite: the user's own rules ------------------------------------------
RULES=examples/rules/example.rules
SMALL="$DATA/rewrite_small.txt"
run_cmd 0 rewrite "$SMALL" --rules "$RULES" --dry-run &&
  expect_out "rule double_neg: 1 site(s) would be replaced" &&
  expect_out "    at %b" &&
  expect_out "rule hardtanh_to_clamp: 1 site(s) would be replaced" &&
  expect_out "2 site(s) would be replaced in 1 sweep(s)"
check "a dry run writes nothing" test ! -e "$TMP/rw.txt"
run_cmd 0 rewrite "$SMALL" --rules "$RULES" --verify-run -o "$TMP/rw.txt" &&
  expect_out "verify-run output r: agrees" && expect_out "wrote $TMP/rw.txt"
check "the rewrite replaced both negs" test "$(grep -c 'aten.neg' "$TMP/rw.txt")" = 0
check "the model's own bound (3.0) was carried into the clamp" \
  grep -q "aten.clamp.default(%b_1, 0.0, 3.0)" "$TMP/rw.txt"
# Nothing left to match: the rules report no sites.
run_cmd 0 rewrite "$TMP/rw.txt" --rules "$RULES" --dry-run &&
  expect_out "rule double_neg: no match (an op of its pattern is not in the graph)"
# One pair from two files.
printf '%%x = placeholder\n%%r = aten.relu.default(%%x)\nreturn (%%r,)\n' >"$TMP/p.txt"
printf '%%x = placeholder\n%%r = aten.clamp.default(%%x, 0.0)\nreturn (%%r,)\n' >"$TMP/r.txt"
run_cmd 0 rewrite "$DATA/cli_small.pb" --pattern "$TMP/p.txt" --replacement "$TMP/r.txt" \
  --verify-run -o "$TMP/clamped.pb" &&
  expect_out "rule pattern: 2 site(s) replaced" && expect_out "agrees"
# A rule that changes what the model computes fails --verify-run and writes nothing.
printf '%%x = placeholder\n%%r = aten.neg.default(%%x)\nreturn (%%r,)\n' >"$TMP/neg.txt"
echo precious >"$TMP/keep_rw.pb"
run_cmd 1 rewrite "$DATA/cli_small.pb" --pattern "$TMP/p.txt" --replacement "$TMP/neg.txt" \
  --verify-run -o "$TMP/keep_rw.pb" &&
  expect_out "DIFFERS" && expect_err "output(s) differ after the rewrite"
check "a failed --verify-run left the old file" grep -qx precious "$TMP/keep_rw.pb"
# Filters: a neg pair whose result is read twice is not single-use.
printf '%%x : f32[2] = placeholder\n%%a : f32[2] = aten.neg.default(%%x)\n%%b : f32[2] = aten.neg.default(%%a)\n%%s : f32[2] = aten.add.Tensor(%%b, %%b)\nreturn (%%s,)\n' >"$TMP/twice.txt"
run_cmd 0 rewrite "$TMP/twice.txt" --rules "$RULES" --dry-run &&
  expect_out "0 site(s) would be replaced, 1 match(es) rejected by filters (single_use 1)"
# Fixed point: neg -> relu and relu -> neg never settle.
printf 'rule a:\npattern:\n%%x = placeholder\n%%r = aten.relu.default(%%x)\nreturn (%%r,)\nreplacement:\n%%x = placeholder\n%%r = aten.neg.default(%%x)\nreturn (%%r,)\nend\nrule b:\npattern:\n%%x = placeholder\n%%r = aten.neg.default(%%x)\nreturn (%%r,)\nreplacement:\n%%x = placeholder\n%%r = aten.relu.default(%%x)\nreturn (%%r,)\nend\n' >"$TMP/loop.rules"
run_cmd 0 rewrite "$SMALL" --rules "$TMP/loop.rules" --fixed-point --max-iterations 3 --dry-run &&
  expect_out "in 3 sweep(s) (stopped at --max-iterations before a fixed point)"
# Usage and input errors.
run_cmd 2 rewrite "$SMALL" -o "$TMP/x.txt" && expect_err "give either --rules RULES or --pattern P --replacement R"
run_cmd 2 rewrite "$SMALL" --rules "$RULES" && expect_err "needs -o OUT (or --dry-run)"
run_cmd 2 rewrite "$SMALL" --rules "$RULES" --dry-run -o "$TMP/x.txt" && expect_err "--dry-run writes nothing"
run_cmd 2 rewrite "$SMALL" --pattern "$TMP/p.txt" -o "$TMP/x.txt" && expect_err "--pattern and --replacement go together"
run_cmd 2 rewrite "$SMALL" --rules "$RULES" -o "$TMP/x.zzz" && expect_err "unknown output extension"
run_cmd 2 rewrite "$SMALL" --rules "$RULES" --max-iterations 3 --dry-run && expect_err "--max-iterations needs --fixed-point"
run_cmd 2 rewrite "$SMALL" --rules "$RULES" --verify-run --tolerance -1 --dry-run && expect_err "--tolerance '-1'"
printf 'rule a:\n  colour = red\n' >"$TMP/bad.rules"
run_cmd 1 rewrite "$SMALL" --rules "$TMP/bad.rules" -o "$TMP/x.txt" &&
  expect_err "$TMP/bad.rules:2: unknown option 'colour'"
run_cmd 1 rewrite "$SMALL" --rules "$TMP/missing.rules" -o "$TMP/x.txt" && expect_err "missing.rules"
check "failed rewrites wrote nothing" test ! -e "$TMP/x.txt"

# --- atomic writes: a write that fails midway leaves the old file -------------------
# RLIMIT_FSIZE 0 makes every write() fail (EFBIG; SIGXFSZ ignored), even as root.
cp "$DATA/cli_small.pb" "$TMP/atomic.pb"
mkdir -p "$TMP/atomic_npy"
echo "old npy" >"$TMP/atomic_npy/dropout_1.npy"
# stderr goes through a pipe (command substitution): RLIMIT_FSIZE does not
# limit pipes, so the error line still arrives.
aerr="$( (trap '' XFSZ; ulimit -f 0; "$REWIRE" gen --blocks 4 -o "$TMP/atomic.pb" 2>&1 >/dev/null) )"
check "gen under a write failure exits 1" test $? = 1
check "gen's error names the file" grep -q "^error: .*atomic.pb" <<<"$aerr"
check "failed gen left the old model" cmp -s "$DATA/cli_small.pb" "$TMP/atomic.pb"
aerr="$( (trap '' XFSZ; ulimit -f 0; "$REWIRE" run "$DATA/cli_small.pb" -o "$TMP/atomic_npy" 2>&1 >/dev/null) )"
check "run under a write failure exits 1" test $? = 1
check "run's error names the file" grep -q "^error: .*dropout_1.npy" <<<"$aerr"
check "failed run left the old .npy" grep -qx "old npy" "$TMP/atomic_npy/dropout_1.npy"
aerr="$( (trap '' XFSZ; ulimit -f 0; "$REWIRE" dot "$DATA/cli_small.pb" -o "$TMP/keep.pb" 2>&1 >/dev/null) )"
check "dot under a write failure exits 1" test $? = 1
check "failed dot left keep.pb untouched" grep -qx precious "$TMP/keep.pb"
check "no temp files left behind" test -z "$(find "$TMP" -name '.*.tmp.*')"

if ((failures)); then
  echo "$failures failure(s)" >&2
  exit 1
fi
echo "all cli tests passed"
