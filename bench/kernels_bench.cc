// Throughput of the CPU kernels on a ~100 MB float32 NCHW tensor against a
// plain memory copy, all cores. Bytes are counted as the kernel's minimal
// memory traffic: copy, BN eval, dropout without mask 8 B/elem (read +
// write), BN train 12 B/elem (stats read + read + write), dropout with mask
// 9 B/elem.
#include <malloc.h>

#include <cstring>

#include "benchmark/benchmark.h"
#include "kernels/cpu_kernels.h"
#include "kernels/tensor.h"
#include "kernels/thread_pool.h"

namespace rewire {
namespace {

// Every kernel call returns new tensors. Keep freed 100 MB blocks in the
// heap (as PyTorch's caching allocator does) instead of returning them to
// the OS, or each iteration would pay page faults and kernel zeroing of the
// whole output and measure the OS rather than the kernel.
const bool kMallocTuned = [] {
  mallopt(M_MMAP_THRESHOLD, 1 << 30);
  mallopt(M_TRIM_THRESHOLD, 1 << 30);
  return true;
}();

// 32 x 64 x 112 x 112 float32 = 25.7 M elements = 102.8 MB.
const std::vector<int64_t> kShape = {32, 64, 112, 112};

Tensor MakeInput() {
  Tensor t = *Tensor::Empty(ScalarType::kFloat32, kShape);
  float* d = t.data<float>();
  ThreadPool::Default().ParallelFor(t.numel(), 1 << 16, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) d[i] = static_cast<float>((i * 7919) % 1000) * 1e-3f;
  });
  return t;
}

void SetBytes(benchmark::State& state, int64_t numel, int bytes_per_elem) {
  state.counters["bytes_per_second"] = benchmark::Counter(
      static_cast<double>(numel) * bytes_per_elem * state.iterations(),
      benchmark::Counter::kIsRate);
}

void BM_Copy(benchmark::State& state) {
  Tensor x = MakeInput();
  Tensor y = *Tensor::Empty(ScalarType::kFloat32, kShape);
  const float* src = x.data<float>();
  float* dst = y.data<float>();
  for (auto _ : state) {
    ThreadPool::Default().ParallelFor(x.numel(), 1 << 16, [&](int64_t b, int64_t e) {
      std::memcpy(dst + b, src + b, (e - b) * sizeof(float));
    });
    benchmark::DoNotOptimize(dst);
  }
  SetBytes(state, x.numel(), 8);
}

void BM_BatchNormEval(benchmark::State& state) {
  Tensor x = MakeInput();
  Tensor w = *Tensor::Empty(ScalarType::kFloat32, {64});
  Tensor b = *Tensor::Zeros(ScalarType::kFloat32, {64});
  Tensor rm = *Tensor::Zeros(ScalarType::kFloat32, {64});
  Tensor rv = *Tensor::Empty(ScalarType::kFloat32, {64});
  for (int c = 0; c < 64; ++c) w.data<float>()[c] = rv.data<float>()[c] = 1.0f;
  for (auto _ : state) {
    auto r = NativeBatchNormLegitNoTraining(x, &w, &b, rm, rv, 0.1, 1e-5);
    benchmark::DoNotOptimize(r);
  }
  SetBytes(state, x.numel(), 8);
}

void BM_BatchNormTrain(benchmark::State& state) {
  Tensor x = MakeInput();
  Tensor w = *Tensor::Empty(ScalarType::kFloat32, {64});
  Tensor b = *Tensor::Zeros(ScalarType::kFloat32, {64});
  Tensor rm = *Tensor::Zeros(ScalarType::kFloat32, {64});
  Tensor rv = *Tensor::Empty(ScalarType::kFloat32, {64});
  for (int c = 0; c < 64; ++c) w.data<float>()[c] = rv.data<float>()[c] = 1.0f;
  for (auto _ : state) {
    auto r = NativeBatchNorm(x, &w, &b, &rm, &rv, true, 0.1, 1e-5);
    benchmark::DoNotOptimize(r);
  }
  SetBytes(state, x.numel(), 12);
}

void BM_Dropout(benchmark::State& state) {
  Tensor x = MakeInput();
  PhiloxGenerator gen(42);
  for (auto _ : state) {
    auto r = NativeDropout(x, 0.5, true, gen);
    benchmark::DoNotOptimize(r);
  }
  SetBytes(state, x.numel(), 9);
}

void BM_DropoutNoMask(benchmark::State& state) {
  Tensor x = MakeInput();
  PhiloxGenerator gen(42);
  for (auto _ : state) {
    auto r = Dropout(x, 0.5, true, gen);
    benchmark::DoNotOptimize(r);
  }
  SetBytes(state, x.numel(), 8);
}

BENCHMARK(BM_Copy)->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_BatchNormEval)->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_BatchNormTrain)->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Dropout)->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_DropoutNoMask)->UseRealTime()->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace rewire
