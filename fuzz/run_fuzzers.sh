#!/usr/bin/env bash
# Builds the fuzz targets with --config=fuzz (libFuzzer + ASan + UBSan) and
# runs each for SECONDS (default 60), starting from the checked-in seed
# corpora. Exits non-zero if any target reports a finding (crash, sanitizer
# report, FUZZ_CHECK failure, timeout or out-of-memory) or fails to build.
#
# usage: fuzz/run_fuzzers.sh [SECONDS] [TARGET...]
#   FUZZ_WORK_DIR  where grown corpora, logs and crash artifacts go
#                  (default: a fresh temporary directory; kept and printed).
#   FUZZ_JOBS      targets run at once (default 1).
#
# The checked-in corpora are only read: new inputs go to the work directory,
# so a CI run never dirties the tree. -rss_limit_mb and -max_len bound each
# run; the loaders' own LoadOptions limits (fuzz/load_round_trip.h,
# fuzz/execute_case.h) are what keep a tiny input from claiming a huge graph
# or tensor, and ExecuteOptions' limits (per tensor, in total, and the work
# estimate per node) what keep a small graph from allocating or looping
# without bound when it runs.
set -euo pipefail
cd "$(dirname "$0")/.."

secs="${1:-60}"
shift || true
all_targets=(load_binary_fuzzer load_text_proto_fuzzer text_format_fuzzer
             rewrite_fuzzer pattern_matcher_fuzzer kernels_fuzzer
             execute_fuzzer load_pt2_fuzzer rules_file_fuzzer)
if [[ $# -gt 0 ]]; then targets=("$@"); else targets=("${all_targets[@]}"); fi
jobs="${FUZZ_JOBS:-1}"

bazel build --config=fuzz //fuzz:all
bin="$(bazel info --config=fuzz bazel-bin 2>/dev/null)/fuzz"
work="${FUZZ_WORK_DIR:-$(mktemp -d /tmp/rewire_fuzz.XXXXXX)}"
mkdir -p "$work"
echo "fuzz work directory: $work"
# libFuzzer takes one dictionary: the execute fuzzer's text-proto inputs want
# the .pbtxt grammar and its own literals and op names.
cat fuzz/pbtxt.dict fuzz/execute.dict >"$work/execute.dict"

# Per-target input size bound and dictionary.
max_len() {
  case "$1" in
    kernels_fuzzer) echo 2048 ;;
    pattern_matcher_fuzzer) echo 4096 ;;
    text_format_fuzzer) echo 16384 ;;
    *) echo 65536 ;;
  esac
}
dict() {
  case "$1" in
    load_text_proto_fuzzer) echo "-dict=fuzz/pbtxt.dict" ;;
    text_format_fuzzer | pattern_matcher_fuzzer) echo "-dict=fuzz/text_format.dict" ;;
    execute_fuzzer) echo "-dict=$work/execute.dict" ;;
    *) echo "" ;;
  esac
}

run_one() {
  local t="$1" dir="$work/$1"
  mkdir -p "$dir/corpus" "$dir/artifacts"
  # shellcheck disable=SC2046
  if "$bin/$t" -max_total_time="$secs" -max_len="$(max_len "$t")" \
      -rss_limit_mb=2048 -timeout=30 -print_final_stats=1 \
      -artifact_prefix="$dir/artifacts/" $(dict "$t") \
      "$dir/corpus" "fuzz/corpus/$t" >"$dir/log" 2>&1 \
      && [[ -z "$(ls -A "$dir/artifacts")" ]]; then
    echo "PASS $t: $(grep -m1 'stat::number_of_executed_units' "$dir/log" |
                     awk '{print $2}') execs in ${secs}s"
  else
    echo "FAIL $t: see $dir/log and $dir/artifacts/"
    tail -n 40 "$dir/log"
    return 1
  fi
}

failed=0
pids=()
for t in "${targets[@]}"; do
  run_one "$t" &
  pids+=($!)
  if [[ ${#pids[@]} -ge $jobs ]]; then
    wait "${pids[0]}" || failed=1
    pids=("${pids[@]:1}")
  fi
done
for p in "${pids[@]}"; do wait "$p" || failed=1; done
if [[ $failed -ne 0 ]]; then
  echo "fuzzing: findings (work directory $work)"
  exit 1
fi
echo "fuzzing: no findings"
