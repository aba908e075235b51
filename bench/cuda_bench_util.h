// CUDA-side helpers of //bench:kernels_cuda_bench, behind a plain C++ API.
//
// Bazel refuses include paths outside the execution root, so C++ targets
// cannot include the toolkit's headers (cuda_runtime_api.h, cudnn.h) from
// /usr/local/cuda/include; nvcc finds them by itself. Everything that needs
// them for the benchmark (event timing, a raw device copy, cuDNN's batch norm
// forward) therefore lives in cuda_bench_util.cu. cuDNN is loaded with
// dlopen, not linked: its libraries are ~500 MB, too big to ship with the
// binary to a GPU machine, so its cases skip where it is not installed.
#ifndef REWIRE_BENCH_CUDA_BENCH_UTIL_H_
#define REWIRE_BENCH_CUDA_BENCH_UTIL_H_

#include <cstdint>
#include <string>

namespace rewire {
namespace bench_cuda {

// A pair of CUDA events on device 0's legacy default stream, where all of
// rewire's kernels run: StopMs() is the GPU time of the work launched since
// Start(), excluding host launch overhead.
class GpuTimer {
 public:
  GpuTimer();
  ~GpuTimer();
  GpuTimer(const GpuTimer&) = delete;
  GpuTimer& operator=(const GpuTimer&) = delete;
  void Start();
  // Waits for the stop event; returns milliseconds, or -1 on a CUDA error.
  float StopMs();

 private:
  void* start_ = nullptr;
  void* stop_ = nullptr;
};

// cudaMemcpyAsync device to device on the default stream; "" or the error.
std::string CopyDeviceToDevice(void* dst, const void* src, int64_t bytes);

// "" when cuDNN's legacy batch norm API can be used, else why not.
std::string CudnnAvailable();
// cudnnBatchNormalizationForward{Training,Inference} (spatial mode) on a
// float32 NCHW tensor; "" or the error. Descriptors are cached per shape so
// the timed region holds only the launch.
std::string CudnnBatchNormForward(bool training, int n, int c, int h, int w,
                                  const void* x, void* y, const void* scale,
                                  const void* bias, void* running_mean,
                                  void* running_var, void* save_mean,
                                  void* save_invvar, double momentum,
                                  double eps);

}  // namespace bench_cuda
}  // namespace rewire

#endif  // REWIRE_BENCH_CUDA_BENCH_UTIL_H_
