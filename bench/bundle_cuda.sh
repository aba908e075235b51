#!/usr/bin/env bash
# Builds the CUDA test and benchmark with -c opt --config=cuda and copies
# them, with the non-system shared libraries they load, into one folder
# (default device_bundle/, gitignored) that runs on a GPU machine without
# Bazel: bench/run_device_checks.sh BUNDLE runs it there.
#
# System libraries (glibc, libstdc++, libgcc, libm) are left out: the GPU
# machine has its own, and the NVIDIA driver (libcuda.so) must come from the
# machine anyway. The binaries find the copied libraries through
# LD_LIBRARY_PATH, which run_device_checks.sh sets.
set -euo pipefail

cd "$(dirname "$0")/.."
out="${1:-device_bundle}"
targets=(//tests:kernels_cuda_test //bench:kernels_cuda_bench)

bazel build -c opt --config=cuda "${targets[@]}"
bin="$(bazel info -c opt --config=cuda bazel-bin)"

rm -rf "${out}"
mkdir -p "${out}/lib"
cp "${bin}/tests/kernels_cuda_test" "${bin}/bench/kernels_cuda_bench" "${out}/"
cp bench/run_device_checks.sh "${out}/"
chmod u+w "${out}"/*

# Everything ldd resolves outside the C runtime and the dynamic loader.
system='^(linux-vdso|ld-linux|libc|libm|libdl|librt|libpthread|libgcc_s|libstdc\+\+)\.'
# ldd runs on the originals, whose $ORIGIN-relative rpaths still resolve.
for exe in "${bin}/tests/kernels_cuda_test" "${bin}/bench/kernels_cuda_bench"; do
  ldd "${exe}" | awk '$2 == "=>" && $3 ~ /^\// {print $1, $3}' |
    while read -r name path; do
      if [[ "${name}" =~ ${system} ]]; then continue; fi
      cp -L -n "${path}" "${out}/lib/${name}"
    done
done
chmod -R u+w "${out}"
echo "bundle in ${out}:"
ls -la "${out}" "${out}/lib"
du -sh "${out}"
