// Throughput of the CPU kernels on a ~100 MB float32 NCHW tensor against a
// plain memory copy, all cores. Bytes are counted as the kernel's minimal
// memory traffic: copy, BN eval, dropout without mask 8 B/elem (read +
// write), BN train 12 B/elem (stats read + read + write), dropout with mask
// 9 B/elem.
//
// Built as //bench:kernels_cuda_bench (--config=cuda), REWIRE_BENCH_CUDA adds
// the same cases on the GPU, timed with CUDA events (UseManualTime) at the
// same byte counts, plus cuDNN's batch norm forward for comparison (skipped
// where cuDNN is not installed; see bench/cuda_bench_util.h).
#include <malloc.h>

#include <cstring>

#include "benchmark/benchmark.h"
#include "kernels/cpu_kernels.h"
#include "kernels/tensor.h"
#include "kernels/thread_pool.h"

#ifdef REWIRE_BENCH_CUDA
#include <string>

#include "bench/cuda_bench_util.h"
#include "kernels/cuda_kernels.h"
#endif

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

#ifdef REWIRE_BENCH_CUDA

bool HaveGpu(benchmark::State& state) {
  absl::StatusOr<int> count = CudaDeviceCount();
  if (count.ok()) return true;
  state.SkipWithError("no CUDA device");
  return false;
}

// Runs body() once per iteration and times it with CUDA events on the
// legacy default stream (where all of rewire's kernels run), so the time is
// the GPU's, not the launch overhead's. One untimed warm-up call loads the
// modules and fills the memory pool.
template <typename F>
void RunGpuTimed(benchmark::State& state, F&& body) {
  absl::Status st = body();
  if (st.ok()) st = CudaSynchronize(0);
  if (!st.ok()) {
    state.SkipWithError(std::string(st.message()).c_str());
    return;
  }
  bench_cuda::GpuTimer timer;
  for (auto _ : state) {
    timer.Start();
    st = body();
    const float ms = timer.StopMs();
    if (st.ok() && ms < 0.0f) st = CudaSynchronize(0);
    if (!st.ok() || ms < 0.0f) {
      state.SkipWithError(st.ok() ? "CUDA event error"
                                  : std::string(st.message()).c_str());
      break;
    }
    state.SetIterationTime(ms * 1e-3);
  }
  st = CudaSynchronize(0);
  if (!st.ok()) state.SkipWithError(std::string(st.message()).c_str());
}

Tensor Gpu(const Tensor& t) { return *t.CopyTo(Device::Cuda(0)); }

struct BnParamsGpu {
  Tensor w, b, rm, rv;
};
BnParamsGpu MakeBnParams() {
  Tensor w = *Tensor::Empty(ScalarType::kFloat32, {64});
  Tensor rv = *Tensor::Empty(ScalarType::kFloat32, {64});
  for (int c = 0; c < 64; ++c) w.data<float>()[c] = rv.data<float>()[c] = 1.0f;
  const Tensor zeros = *Tensor::Zeros(ScalarType::kFloat32, {64});
  return BnParamsGpu{Gpu(w), Gpu(zeros), Gpu(zeros), Gpu(rv)};
}

void BM_CudaCopy(benchmark::State& state) {
  if (!HaveGpu(state)) return;
  const Tensor x = Gpu(MakeInput());
  Tensor y = *Tensor::Empty(ScalarType::kFloat32, kShape, Device::Cuda(0));
  RunGpuTimed(state, [&] {
    const std::string e =
        bench_cuda::CopyDeviceToDevice(y.raw_data(), x.raw_data(), x.nbytes());
    return e.empty() ? absl::OkStatus() : absl::InternalError(e);
  });
  SetBytes(state, x.numel(), 8);
}

void BM_CudaBatchNormEval(benchmark::State& state) {
  if (!HaveGpu(state)) return;
  const Tensor x = Gpu(MakeInput());
  BnParamsGpu p = MakeBnParams();
  RunGpuTimed(state, [&] {
    return CudaNativeBatchNormLegitNoTraining(x, &p.w, &p.b, p.rm, p.rv, 0.1, 1e-5)
        .status();
  });
  SetBytes(state, x.numel(), 8);
}

void BM_CudaBatchNormTrain(benchmark::State& state) {
  if (!HaveGpu(state)) return;
  const Tensor x = Gpu(MakeInput());
  BnParamsGpu p = MakeBnParams();
  RunGpuTimed(state, [&] {
    return CudaNativeBatchNorm(x, &p.w, &p.b, &p.rm, &p.rv, true, 0.1, 1e-5)
        .status();
  });
  SetBytes(state, x.numel(), 12);
}

void BM_CudaDropout(benchmark::State& state) {
  if (!HaveGpu(state)) return;
  const Tensor x = Gpu(MakeInput());
  PhiloxGenerator gen(42);
  RunGpuTimed(state, [&] { return CudaNativeDropout(x, 0.5, true, gen).status(); });
  SetBytes(state, x.numel(), 9);
}

void BM_CudaDropoutNoMask(benchmark::State& state) {
  if (!HaveGpu(state)) return;
  const Tensor x = Gpu(MakeInput());
  PhiloxGenerator gen(42);
  RunGpuTimed(state, [&] { return CudaDropout(x, 0.5, true, gen).status(); });
  SetBytes(state, x.numel(), 8);
}

void BM_CudnnBatchNorm(benchmark::State& state, bool training) {
  if (!HaveGpu(state)) return;
  const std::string why = bench_cuda::CudnnAvailable();
  if (!why.empty()) {
    state.SkipWithError(why.c_str());
    return;
  }
  const Tensor x = Gpu(MakeInput());
  BnParamsGpu p = MakeBnParams();
  Tensor save_mean = *Tensor::Empty(ScalarType::kFloat32, {64}, Device::Cuda(0));
  Tensor save_invvar = *Tensor::Empty(ScalarType::kFloat32, {64}, Device::Cuda(0));
  RunGpuTimed(state, [&]() -> absl::Status {
    // A fresh output per call, as rewire's kernels allocate theirs.
    ASSIGN_OR_RETURN(Tensor y, Tensor::Empty(ScalarType::kFloat32, kShape,
                                             Device::Cuda(0)));
    const std::string e = bench_cuda::CudnnBatchNormForward(
        training, static_cast<int>(kShape[0]), static_cast<int>(kShape[1]),
        static_cast<int>(kShape[2]), static_cast<int>(kShape[3]), x.raw_data(),
        y.raw_data(), p.w.raw_data(), p.b.raw_data(), p.rm.raw_data(),
        p.rv.raw_data(), save_mean.raw_data(), save_invvar.raw_data(), 0.1,
        1e-5);
    return e.empty() ? absl::OkStatus() : absl::InternalError(e);
  });
  SetBytes(state, x.numel(), training ? 12 : 8);
}

void BM_CudnnBatchNormTrain(benchmark::State& state) { BM_CudnnBatchNorm(state, true); }
void BM_CudnnBatchNormEval(benchmark::State& state) { BM_CudnnBatchNorm(state, false); }

BENCHMARK(BM_CudaCopy)->UseManualTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_CudaBatchNormEval)->UseManualTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_CudaBatchNormTrain)->UseManualTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_CudaDropout)->UseManualTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_CudaDropoutNoMask)->UseManualTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_CudnnBatchNormEval)->UseManualTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_CudnnBatchNormTrain)->UseManualTime()->Unit(benchmark::kMicrosecond);

#endif  // REWIRE_BENCH_CUDA

}  // namespace
}  // namespace rewire
