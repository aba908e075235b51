// Internal interface between kernels/cuda_kernels.cc (validation, tensors,
// absl::Status) and kernels/cuda_kernels.cu (device code, CUDA runtime).
//
// Only nvcc compiles the .cu file, and it compiles it in a genrule that sees
// nothing but its declared inputs, so this header is plain C++ with no absl,
// no Tensor and no CUDA types: raw device pointers, sizes and dtype codes in,
// a CudaResult (the cudaError_t value and its static message) out. Callers
// validate everything first; these functions trust their arguments. All work
// goes to the legacy default stream of the given device, and device memory
// comes from that device's stream-ordered pool (cudaMallocAsync), so a block
// freed after a kernel is only reused by work ordered after that kernel.
#ifndef REWIRE_KERNELS_CUDA_LAUNCH_H_
#define REWIRE_KERNELS_CUDA_LAUNCH_H_

#include <cstdint>

namespace rewire {
namespace cuda_internal {

// Element types the device code handles.
enum DtypeCode : int { kF32 = 0, kF64 = 1, kF16 = 2, kBF16 = 3, kBool = 4 };

// Outcome of a CUDA runtime call or launch. `what` is cudaGetErrorString's
// static string (nullptr on success); `code` the cudaError_t value.
struct CudaResult {
  int code = 0;
  const char* what = nullptr;
  // cudaErrorMemoryAllocation, cudaErrorNoDevice, cudaErrorInsufficientDriver.
  bool out_of_memory = false;
  bool no_device = false;
  bool ok() const { return code == 0; }
};

CudaResult DeviceCount(int* count);
CudaResult Synchronize(int device);
// Stream-ordered allocation on `device` from a pool that keeps freed memory
// cached (as PyTorch's caching allocator does).
CudaResult Allocate(int device, int64_t bytes, void** ptr);
void Free(int device, void* ptr);
// kind: 0 host->device, 1 device->host, 2 device->device. Synchronous with
// respect to the host for host memory, stream-ordered for device->device.
CudaResult Copy(void* dst, const void* src, int64_t bytes, int kind,
                int device);
CudaResult Memset(void* dst, int value, int64_t bytes, int device);

// Dropout / bernoulli over n elements of dtype `dtype` (kF32..kBF16):
//   x != nullptr: out[i] = keep ? x[i] * scale : +0 (out may equal x)
//   x == nullptr: out[i] = keep ? 1 : 0 (bernoulli_ into a floating tensor)
//   out == nullptr: only the mask.
// mask (bool bytes) may be nullptr. keep = philox::KeepElement(seed, offset,
// i, threshold), the scheme of kernels/philox.h.
struct MaskArgs {
  const void* x = nullptr;
  void* out = nullptr;
  uint8_t* mask = nullptr;
  int64_t n = 0;
  int dtype = kF32;
  uint64_t seed = 0;
  uint64_t offset = 0;
  uint32_t threshold = 0;
  double scale = 1.0;
  int device = 0;
};
CudaResult LaunchMask(const MaskArgs& a);

// data[i] /= divisor (float dtypes compute in float, double in double).
CudaResult LaunchDivScalar(void* data, int64_t n, int dtype, double divisor,
                           int device);
// out[i] = a[i] * b[i]; b is a bool mask when b_is_mask, else of dtype.
CudaResult LaunchMul(const void* a, const void* b, bool b_is_mask, void* out,
                     int64_t n, int dtype, int device);

// One batch norm call on input viewed as (n, c, inner). Optional parameters
// are nullptr when absent; each has its own dtype code. Training computes
// per-channel statistics with a split Welford reduction, writes save_mean and
// save_invstd (stat_dtype: kF32, or kF64 for double input) and updates the
// running stats when given; eval reads the running stats.
struct BatchNormArgs {
  const void* x = nullptr;
  void* y = nullptr;
  int dtype = kF32;
  int64_t n = 0, c = 0, inner = 0;
  const void* weight = nullptr;
  int weight_dtype = kF32;
  const void* bias = nullptr;
  int bias_dtype = kF32;
  void* running_mean = nullptr;
  int running_mean_dtype = kF32;
  void* running_var = nullptr;
  int running_var_dtype = kF32;
  void* save_mean = nullptr;
  void* save_invstd = nullptr;
  int stat_dtype = kF32;
  bool training = false;
  double momentum = 0.1;
  double eps = 1e-5;
  int device = 0;
};
CudaResult LaunchBatchNorm(const BatchNormArgs& a);

}  // namespace cuda_internal
}  // namespace rewire

#endif  // REWIRE_KERNELS_CUDA_LAUNCH_H_
