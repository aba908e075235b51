#!/usr/bin/env bash
# Runs the CUDA test and the CUDA benchmark from a bundle made by
# bench/bundle_cuda.sh, on a machine with a GPU and no Bazel.
#
#   bench/run_device_checks.sh BUNDLE_DIR [OUT_DIR]
#
# OUT_DIR (default $OUT, else ./device_out) receives the test's XML and log,
# the benchmark's JSON and log, and nvidia-smi's view of the GPU. Exits
# non-zero when the test fails or the benchmark reports errors other than a
# missing cuDNN.
set -uo pipefail

bundle="$(cd "${1:?usage: run_device_checks.sh BUNDLE_DIR [OUT_DIR]}" && pwd)"
out="${2:-${OUT:-./device_out}}"
mkdir -p "${out}"
out="$(cd "${out}" && pwd)"
export LD_LIBRARY_PATH="${bundle}/lib${LD_LIBRARY_PATH:+:${LD_LIBRARY_PATH}}"

nvidia-smi > "${out}/nvidia-smi.txt" 2>&1 || true

status=0
"${bundle}/kernels_cuda_test" --gtest_output="xml:${out}/kernels_cuda_test.xml" \
  > "${out}/kernels_cuda_test.log" 2>&1 || status=1
tail -n 30 "${out}/kernels_cuda_test.log"
if grep -q "Skipped" "${out}/kernels_cuda_test.log"; then
  echo "kernels_cuda_test skipped: no usable GPU" >&2
  status=1
fi

"${bundle}/kernels_cuda_bench" \
  --benchmark_filter="${BENCH_FILTER:-Cuda|Cudnn|Copy|Dropout}" \
  --benchmark_min_time="${BENCH_MIN_TIME:-0.2}" \
  --benchmark_out="${out}/kernels_cuda_bench.json" \
  --benchmark_out_format=json \
  > "${out}/kernels_cuda_bench.log" 2>&1 || status=1
cat "${out}/kernels_cuda_bench.log"
if grep "ERROR OCCURRED" "${out}/kernels_cuda_bench.log" | grep -vq "cuDNN"; then
  status=1
fi
exit "${status}"
