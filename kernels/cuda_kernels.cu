// Device code of the CUDA kernels (see kernels/cuda_launch.h for the
// contract and kernels/cuda_kernels.h for the public API).
//
// Numerics mirror kernels/cpu_kernels.cc operation by operation so CPU and
// CUDA agree: masks come from kernels/philox.h (bit-identical), products
// that the CPU rounds separately use __dmul_rn/__dadd_rn here so nvcc cannot
// contract them into FMAs, and the float batch norm output is one fmaf as
// the CPU's AVX fmadd. Half and bfloat16 conversions are copies of the CPU's
// (tensor.h/tensor.cc) rather than cuda_fp16's, so even NaN payloads match.
#include <cuda_runtime.h>

#include <cstdint>
#include <mutex>
#include <type_traits>

#include "kernels/cuda_launch.h"
#include "kernels/philox.h"

namespace rewire {
namespace cuda_internal {
namespace {

// ---------------------------------------------------------------- runtime

CudaResult Result(cudaError_t e) {
  CudaResult r;
  r.code = static_cast<int>(e);
  if (e != cudaSuccess) {
    r.what = cudaGetErrorString(e);
    r.out_of_memory = e == cudaErrorMemoryAllocation;
    r.no_device = e == cudaErrorNoDevice || e == cudaErrorInsufficientDriver;
  }
  return r;
}

// Makes `device` current for the scope and restores the previous one, so the
// caller's current device is never changed behind its back.
class DeviceGuard {
 public:
  explicit DeviceGuard(int device) {
    status_ = cudaGetDevice(&previous_);
    if (status_ == cudaSuccess && previous_ != device) {
      status_ = cudaSetDevice(device);
      switched_ = status_ == cudaSuccess;
    }
  }
  ~DeviceGuard() {
    if (switched_) cudaSetDevice(previous_);
  }
  cudaError_t status() const { return status_; }

 private:
  int previous_ = 0;
  bool switched_ = false;
  cudaError_t status_ = cudaSuccess;
};

constexpr int kMaxDevices = 64;

struct DeviceInfo {
  int sm_count = 1;
  bool pools = false;  // stream-ordered allocator available
};

// Per-device facts, looked up once. Must be called with the device current.
const DeviceInfo& Info(int device) {
  static std::once_flag once[kMaxDevices];
  static DeviceInfo info[kMaxDevices];
  const int d = device >= 0 && device < kMaxDevices ? device : 0;
  std::call_once(once[d], [d] {
    int v = 0;
    if (cudaDeviceGetAttribute(&v, cudaDevAttrMultiProcessorCount, d) ==
            cudaSuccess &&
        v > 0) {
      info[d].sm_count = v;
    }
    int pools = 0;
    if (cudaDeviceGetAttribute(&pools, cudaDevAttrMemoryPoolsSupported, d) ==
            cudaSuccess &&
        pools != 0) {
      cudaMemPool_t pool;
      if (cudaDeviceGetDefaultMemPool(&pool, d) == cudaSuccess) {
        // Keep freed blocks in the pool across synchronizations instead of
        // returning them to the driver: every kernel call allocates its
        // output, and re-mapping 100 MB per call would dominate.
        uint64_t threshold = UINT64_MAX;
        info[d].pools = cudaMemPoolSetAttribute(
                            pool, cudaMemPoolAttrReleaseThreshold,
                            &threshold) == cudaSuccess;
      }
    }
    cudaGetLastError();  // attribute queries must not leave a sticky error
  });
  return info[d];
}

// Blocks for a grid-stride loop over `work` items: enough to fill the device
// a few times over, no more (the loops cover the rest).
unsigned GridFor(int64_t work, int threads, int device, int waves = 8) {
  const int64_t needed = (work + threads - 1) / threads;
  const int64_t cap = static_cast<int64_t>(Info(device).sm_count) * waves;
  const int64_t blocks = needed < cap ? needed : cap;
  return static_cast<unsigned>(blocks > 0 ? blocks : 1);
}

// ------------------------------------------------------- dtype conversions

struct F16 {
  uint16_t bits;
};
struct BF16 {
  uint16_t bits;
};

// Copy of rewire::HalfToFloat (tensor.cc).
__device__ __forceinline__ float ToF(F16 h) {
  const uint32_t sign = static_cast<uint32_t>(h.bits & 0x8000u) << 16;
  const uint32_t exp = (h.bits >> 10) & 0x1fu;
  uint32_t mant = h.bits & 0x3ffu;
  uint32_t u;
  if (exp == 0x1f) {
    u = sign | 0x7f800000u | (mant << 13);
  } else if (exp != 0) {
    u = sign | ((exp + 112u) << 23) | (mant << 13);
  } else if (mant == 0) {
    u = sign;
  } else {
    int e = 113;
    while ((mant & 0x400u) == 0) {
      mant <<= 1;
      --e;
    }
    mant &= 0x3ffu;
    u = sign | (static_cast<uint32_t>(e) << 23) | (mant << 13);
  }
  return __uint_as_float(u);
}

// Copy of rewire::FloatToHalf (tensor.cc).
__device__ __forceinline__ F16 FromF16(float f) {
  const uint32_t u = __float_as_uint(f);
  const uint16_t sign = static_cast<uint16_t>((u >> 16) & 0x8000u);
  const uint32_t abs = u & 0x7fffffffu;
  if (abs > 0x7f800000u) return F16{static_cast<uint16_t>(sign | 0x7e00u)};
  if (abs >= 0x477ff000u) return F16{static_cast<uint16_t>(sign | 0x7c00u)};
  if (abs < 0x38800000u) {
    const float s = __fadd_rn(__uint_as_float(abs), 0.5f);
    return F16{static_cast<uint16_t>(sign | (__float_as_uint(s) - 0x3f000000u))};
  }
  const uint32_t m = abs + ((15u - 127u) << 23) + 0xfffu + ((abs >> 13) & 1u);
  return F16{static_cast<uint16_t>(sign | (m >> 13))};
}

__device__ __forceinline__ float ToF(BF16 b) {
  return __uint_as_float(static_cast<uint32_t>(b.bits) << 16);
}

// Copy of rewire::FloatToBFloat16 (tensor.h).
__device__ __forceinline__ BF16 FromBF16(float f) {
  uint32_t u = __float_as_uint(f);
  if ((u & 0x7fffffffu) > 0x7f800000u) {
    return BF16{static_cast<uint16_t>((u >> 16) | 0x40)};
  }
  u += 0x7fffu + ((u >> 16) & 1u);
  return BF16{static_cast<uint16_t>(u >> 16)};
}

__device__ __forceinline__ float ToF(float v) { return v; }

template <typename T>
__device__ __forceinline__ T FromF(float f);
template <>
__device__ __forceinline__ float FromF<float>(float f) { return f; }
template <>
__device__ __forceinline__ double FromF<double>(float f) { return f; }
template <>
__device__ __forceinline__ F16 FromF<F16>(float f) { return FromF16(f); }
template <>
__device__ __forceinline__ BF16 FromF<BF16>(float f) { return FromBF16(f); }

// The CPU's ToDouble: through float for the narrow types.
template <typename T>
__device__ __forceinline__ double ToD(T v) {
  return static_cast<double>(ToF(v));
}
template <>
__device__ __forceinline__ double ToD<double>(double v) { return v; }

// Per-channel parameters may each have their own dtype.
__device__ double LoadParam(const void* p, int dtype, int64_t i) {
  switch (dtype) {
    case kF64: return static_cast<const double*>(p)[i];
    case kF16: return ToD(static_cast<const F16*>(p)[i]);
    case kBF16: return ToD(static_cast<const BF16*>(p)[i]);
    default: return static_cast<const float*>(p)[i];
  }
}

// The CPU's SetParamAt: double stays double, others round through float.
__device__ void StoreParam(void* p, int dtype, int64_t i, double v) {
  switch (dtype) {
    case kF64: static_cast<double*>(p)[i] = v; break;
    case kF16: static_cast<F16*>(p)[i] = FromF16(static_cast<float>(v)); break;
    case kBF16: static_cast<BF16*>(p)[i] = FromBF16(static_cast<float>(v)); break;
    default: static_cast<float*>(p)[i] = static_cast<float>(v); break;
  }
}

// Calls f(T{}) for the device type of a floating dtype code.
template <typename F>
CudaResult VisitDtype(int dtype, F&& f) {
  switch (dtype) {
    case kF32: return f(float{});
    case kF64: return f(double{});
    case kF16: return f(F16{});
    case kBF16: return f(BF16{});
    default: return Result(cudaErrorInvalidValue);
  }
}

bool Aligned(const void* p, uintptr_t bytes) {
  return (reinterpret_cast<uintptr_t>(p) & (bytes - 1)) == 0;
}

constexpr int kThreads = 256;

// ------------------------------------------------------------------ dropout

// One thread per Philox counter, i.e. four consecutive elements: every
// output word of a block is used, and the four elements are one float4.
template <typename T>
__device__ __forceinline__ T DropOne(const T* x, int64_t i, bool keep,
                                     float scale_f, double scale_d) {
  if (x == nullptr) return FromF<T>(keep ? 1.0f : 0.0f);
  if constexpr (std::is_same_v<T, double>) {
    return keep ? __dmul_rn(x[i], scale_d) : 0.0;
  } else {
    return FromF<T>(keep ? __fmul_rn(ToF(x[i]), scale_f) : 0.0f);
  }
}

template <typename T, bool kVec>
__global__ void MaskKernel(const T* __restrict__ x, T* out, uint8_t* mask,
                           int64_t n, uint64_t seed, uint64_t offset,
                           uint32_t threshold, float scale_f, double scale_d) {
  const int64_t counters = (n + 3) / 4;
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t t = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
       t < counters; t += stride) {
    const philox::Block b = philox::BlockAt(seed, offset + static_cast<uint64_t>(t));
    bool keep[4];
#pragma unroll
    for (int k = 0; k < 4; ++k) keep[k] = philox::KeepWord(b.w[k], threshold);
    const int64_t e0 = t * 4;
    if (kVec && e0 + 4 <= n) {
      // float only: 16-byte loads/stores, one 4-byte mask store.
      if (out != nullptr) {
        float4 v = x != nullptr ? reinterpret_cast<const float4*>(x)[t]
                                : make_float4(1.0f, 1.0f, 1.0f, 1.0f);
        v.x = keep[0] ? __fmul_rn(v.x, scale_f) : 0.0f;
        v.y = keep[1] ? __fmul_rn(v.y, scale_f) : 0.0f;
        v.z = keep[2] ? __fmul_rn(v.z, scale_f) : 0.0f;
        v.w = keep[3] ? __fmul_rn(v.w, scale_f) : 0.0f;
        if (x == nullptr) {
          v = make_float4(keep[0] ? 1.0f : 0.0f, keep[1] ? 1.0f : 0.0f,
                          keep[2] ? 1.0f : 0.0f, keep[3] ? 1.0f : 0.0f);
        }
        reinterpret_cast<float4*>(out)[t] = v;
      }
      if (mask != nullptr) {
        reinterpret_cast<uchar4*>(mask)[t] =
            make_uchar4(keep[0], keep[1], keep[2], keep[3]);
      }
    } else {
      const int64_t m = n - e0 < 4 ? n - e0 : 4;
      for (int k = 0; k < m; ++k) {
        if (out != nullptr) out[e0 + k] = DropOne(x, e0 + k, keep[k], scale_f, scale_d);
        if (mask != nullptr) mask[e0 + k] = keep[k] ? 1 : 0;
      }
    }
  }
}

template <typename T>
__global__ void DivKernel(T* d, int64_t n, float div_f, double div_d) {
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
       i < n; i += stride) {
    if constexpr (std::is_same_v<T, double>) {
      d[i] = __ddiv_rn(d[i], div_d);
    } else {
      d[i] = FromF<T>(__fdiv_rn(ToF(d[i]), div_f));
    }
  }
}

template <typename T>
__global__ void MulKernel(const T* a, const T* b, const uint8_t* m, T* y,
                          int64_t n) {
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
       i < n; i += stride) {
    if constexpr (std::is_same_v<T, double>) {
      y[i] = __dmul_rn(a[i], m != nullptr ? (m[i] ? 1.0 : 0.0) : b[i]);
    } else {
      y[i] = FromF<T>(__fmul_rn(ToF(a[i]),
                                m != nullptr ? (m[i] ? 1.0f : 0.0f) : ToF(b[i])));
    }
  }
}

// --------------------------------------------------------------- batch norm

// Welford state of a set of values: count, mean and sum of squared
// deviations. Means are kept relative to the channel's shift (its first
// element), as the CPU does, so large offsets cost no precision.
struct Welford {
  double n;
  double mean;
  double m2;
};

// Chan et al.'s parallel combination; exact in exact arithmetic, and the
// order of combination is fixed by the launch shape, so results are
// deterministic.
__device__ __forceinline__ Welford Merge(const Welford& a, const Welford& b) {
  if (b.n == 0.0) return a;
  if (a.n == 0.0) return b;
  const double n = a.n + b.n;
  const double d = b.mean - a.mean;
  const double fb = b.n / n;
  return Welford{n, a.mean + d * fb, a.m2 + b.m2 + d * d * a.n * fb};
}

__device__ __forceinline__ Welford ShuffleMerge(Welford w) {
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) {
    Welford other;
    other.n = __shfl_down_sync(0xffffffffu, w.n, o);
    other.mean = __shfl_down_sync(0xffffffffu, w.mean, o);
    other.m2 = __shfl_down_sync(0xffffffffu, w.m2, o);
    w = Merge(w, other);
  }
  return w;
}

// Partial statistics of (channel, chunk) blocks: grid.x = chunks per
// channel, grid.y strides over channels. A chunk is a range of the
// channel's n * inner elements in (row, column) order; kVec reads float4
// quads (inner % 4 == 0, so a quad never straddles two rows). Within a thread
// the state is built from shifted sums in double (one add and one fma per
// element instead of a division per Welford step) and turned into a Welford
// state before the merges.
template <typename T, bool kVec, typename Index>
__global__ void BnPartialKernel(const T* __restrict__ x, int64_t rows,
                                int64_t channels, int64_t inner,
                                int64_t chunk_len, Welford* partial) {
  const int64_t chunks = gridDim.x;
  const int64_t k = blockIdx.x;
  const int64_t per_channel = rows * inner;
  __shared__ Welford warp_state[kThreads / 32];
  for (int64_t c = blockIdx.y; c < channels; c += gridDim.y) {
    const double shift = ToD(x[c * inner]);
    const int64_t j0 = k * chunk_len;
    const int64_t j1 = j0 + chunk_len < per_channel ? j0 + chunk_len : per_channel;
    double s = 0.0, q = 0.0, cnt = 0.0;
    if constexpr (kVec) {
      const Index inner4 = static_cast<Index>(inner / 4);
      const float4* xv = reinterpret_cast<const float4*>(x);
      for (Index qd = static_cast<Index>(j0 / 4) + threadIdx.x;
           qd < static_cast<Index>(j1 / 4); qd += blockDim.x) {
        const Index row = qd / inner4;
        const Index col = qd - row * inner4;
        const float4 v =
            xv[(static_cast<int64_t>(row) * channels + c) * inner4 + col];
        const double d0 = static_cast<double>(v.x) - shift;
        const double d1 = static_cast<double>(v.y) - shift;
        const double d2 = static_cast<double>(v.z) - shift;
        const double d3 = static_cast<double>(v.w) - shift;
        s += (d0 + d1) + (d2 + d3);
        q = fma(d0, d0, q);
        q = fma(d1, d1, q);
        q = fma(d2, d2, q);
        q = fma(d3, d3, q);
        cnt += 4.0;
      }
    } else {
      const Index in = static_cast<Index>(inner);
      for (Index j = static_cast<Index>(j0) + threadIdx.x;
           j < static_cast<Index>(j1); j += blockDim.x) {
        const Index row = j / in;
        const Index col = j - row * in;
        const double d =
            ToD(x[(static_cast<int64_t>(row) * channels + c) * inner + col]) - shift;
        s += d;
        q = fma(d, d, q);
        cnt += 1.0;
      }
    }
    Welford w{0.0, 0.0, 0.0};
    if (cnt > 0.0) {
      const double mean = s / cnt;
      const double m2 = q - s * mean;
      w = Welford{cnt, mean, m2 > 0.0 ? m2 : 0.0};
    }
    w = ShuffleMerge(w);
    const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
    if (lane == 0) warp_state[warp] = w;
    __syncthreads();
    if (warp == 0) {
      w = lane < static_cast<int>(blockDim.x / 32) ? warp_state[lane]
                                                    : Welford{0.0, 0.0, 0.0};
      w = ShuffleMerge(w);
      if (lane == 0) partial[c * chunks + k] = w;
    }
    __syncthreads();  // warp_state is reused by the next channel
  }
}

// The CPU's MakeAffine (cpu_kernels.cc), with explicit roundings.
__device__ __forceinline__ double2 MakeAffine(double mean, double invstd,
                                              double w, double b,
                                              bool float_params) {
  if (!float_params) {
    const double alpha = __dmul_rn(invstd, w);
    return make_double2(alpha,
                        __dsub_rn(b, __dmul_rn(__dmul_rn(mean, invstd), w)));
  }
  const float mf = static_cast<float>(mean);
  const float alpha = __fmul_rn(static_cast<float>(invstd), static_cast<float>(w));
  const float beta = static_cast<float>(
      __dsub_rn(b, __dmul_rn(static_cast<double>(mf), static_cast<double>(alpha))));
  return make_double2(alpha, beta);
}

struct BnParams {
  const void* weight;
  int weight_dtype;
  const void* bias;
  int bias_dtype;
  void* running_mean;
  int rm_dtype;
  void* running_var;
  int rv_dtype;
  void* save_mean;
  void* save_invstd;
  int stat_dtype;
  double momentum;
  double eps;
  bool float_params;
};

// One warp per channel: merges the channel's chunk partials in a fixed
// order, writes save_mean/save_invstd, updates the running stats and the
// per-channel affine (alpha, beta).
template <typename T>
__global__ void BnFinalizeKernel(const T* __restrict__ x, int64_t channels,
                                 int64_t inner, int64_t chunks,
                                 const Welford* partial, BnParams p,
                                 double2* affine) {
  const int64_t c = static_cast<int64_t>(blockIdx.x) * (blockDim.x / 32) +
                    threadIdx.x / 32;
  const int lane = threadIdx.x % 32;
  if (c >= channels) return;  // warp-uniform
  Welford w{0.0, 0.0, 0.0};
  for (int64_t k = lane; k < chunks; k += 32) w = Merge(w, partial[c * chunks + k]);
  w = ShuffleMerge(w);
  if (lane != 0) return;
  const double mean = ToD(x[c * inner]) + w.mean;
  const double var = w.n > 0.0 && w.m2 > 0.0 ? w.m2 / w.n : 0.0;
  const double invstd = 1.0 / sqrt(var + p.eps);
  StoreParam(p.save_mean, p.stat_dtype, c, mean);
  StoreParam(p.save_invstd, p.stat_dtype, c, invstd);
  const double wt = p.weight != nullptr ? LoadParam(p.weight, p.weight_dtype, c) : 1.0;
  const double bs = p.bias != nullptr ? LoadParam(p.bias, p.bias_dtype, c) : 0.0;
  affine[c] = MakeAffine(LoadParam(p.save_mean, p.stat_dtype, c),
                         LoadParam(p.save_invstd, p.stat_dtype, c), wt, bs,
                         p.float_params);
  if (p.running_mean != nullptr) {
    const double m = p.momentum;
    const double rm = LoadParam(p.running_mean, p.rm_dtype, c);
    const double rv = LoadParam(p.running_var, p.rv_dtype, c);
    StoreParam(p.running_mean, p.rm_dtype, c,
               __dadd_rn(__dmul_rn(1.0 - m, rm), __dmul_rn(m, mean)));
    StoreParam(p.running_var, p.rv_dtype, c,
               __dadd_rn(__dmul_rn(1.0 - m, rv),
                         __ddiv_rn(__dmul_rn(__dmul_rn(m, var), w.n), w.n - 1.0)));
  }
}

// Eval: affine from the running statistics, one thread per channel.
__global__ void BnEvalParamsKernel(int64_t channels, BnParams p, double2* affine) {
  const int64_t c = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (c >= channels) return;
  const double rv = LoadParam(p.running_var, p.rv_dtype, c);
  const double invstd = 1.0 / sqrt(rv + p.eps);
  const double wt = p.weight != nullptr ? LoadParam(p.weight, p.weight_dtype, c) : 1.0;
  const double bs = p.bias != nullptr ? LoadParam(p.bias, p.bias_dtype, c) : 0.0;
  affine[c] = MakeAffine(LoadParam(p.running_mean, p.rm_dtype, c), invstd, wt,
                         bs, p.float_params);
}

// float y = fmaf(x, alpha, beta) over the flat tensor in float4 quads;
// kQuadChannel: inner % 4 == 0, so the four elements share one channel.
template <bool kQuadChannel, typename Index>
__global__ void BnApplyF32Kernel(const float* __restrict__ x,
                                 float* __restrict__ y, int64_t numel,
                                 int64_t channels, int64_t inner,
                                 const double2* __restrict__ affine) {
  const Index quads = static_cast<Index>(numel / 4);
  const Index in = static_cast<Index>(inner);
  const Index ch = static_cast<Index>(channels);
  const Index stride = static_cast<Index>(gridDim.x) * blockDim.x;
  const float4* xv = reinterpret_cast<const float4*>(x);
  float4* yv = reinterpret_cast<float4*>(y);
  for (Index g = static_cast<Index>(blockIdx.x) * blockDim.x + threadIdx.x;
       g < quads; g += stride) {
    const float4 v = xv[g];
    float4 r;
    if (kQuadChannel) {
      const double2 a = affine[(g / (in / 4)) % ch];
      const float al = static_cast<float>(a.x), be = static_cast<float>(a.y);
      r = make_float4(fmaf(v.x, al, be), fmaf(v.y, al, be), fmaf(v.z, al, be),
                      fmaf(v.w, al, be));
    } else {
      const Index e = g * 4;
      const double2 a0 = affine[(e / in) % ch];
      const double2 a1 = affine[((e + 1) / in) % ch];
      const double2 a2 = affine[((e + 2) / in) % ch];
      const double2 a3 = affine[((e + 3) / in) % ch];
      r = make_float4(fmaf(v.x, static_cast<float>(a0.x), static_cast<float>(a0.y)),
                      fmaf(v.y, static_cast<float>(a1.x), static_cast<float>(a1.y)),
                      fmaf(v.z, static_cast<float>(a2.x), static_cast<float>(a2.y)),
                      fmaf(v.w, static_cast<float>(a3.x), static_cast<float>(a3.y)));
    }
    yv[g] = r;
  }
  // The last numel % 4 elements.
  const int64_t first = static_cast<int64_t>(quads) * 4;
  const int64_t t = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (first + t < numel) {
    const int64_t e = first + t;
    const double2 a = affine[(e / inner) % channels];
    y[e] = fmaf(x[e], static_cast<float>(a.x), static_cast<float>(a.y));
  }
}

// Any dtype, one element at a time: float as fmaf, the others as the CPU's
// scalar path (double product and sum, then one rounding to T).
template <typename T>
__global__ void BnApplyKernel(const T* __restrict__ x, T* __restrict__ y,
                              int64_t numel, int64_t channels, int64_t inner,
                              const double2* __restrict__ affine) {
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
       i < numel; i += stride) {
    const double2 a = affine[(i / inner) % channels];
    if constexpr (std::is_same_v<T, double>) {
      y[i] = __dadd_rn(__dmul_rn(x[i], a.x), a.y);
    } else if constexpr (std::is_same_v<T, float>) {
      y[i] = fmaf(x[i], static_cast<float>(a.x), static_cast<float>(a.y));
    } else {
      y[i] = FromF<T>(static_cast<float>(__dadd_rn(__dmul_rn(ToD(x[i]), a.x), a.y)));
    }
  }
}

// Chunking of the statistics pass: aim for this many (channel, chunk)
// blocks so that few channels with many elements still fill the GPU, but
// give each block at least kMinChunk elements. Fixed numbers (not derived
// from the SM count) keep the reduction order, hence the result, the same on
// every GPU.
constexpr int64_t kTargetBlocks = 2048;
constexpr int64_t kMinChunk = 4096;
constexpr int64_t kMaxGridY = 65535;

template <typename T>
CudaResult RunBatchNorm(const BatchNormArgs& a) {
  const T* x = static_cast<const T*>(a.x);
  T* y = static_cast<T*>(a.y);
  const int64_t numel = a.n * a.c * a.inner;
  if (a.c == 0) return Result(cudaSuccess);
  BnParams p;
  p.weight = a.weight;
  p.weight_dtype = a.weight_dtype;
  p.bias = a.bias;
  p.bias_dtype = a.bias_dtype;
  p.running_mean = a.running_mean;
  p.rm_dtype = a.running_mean_dtype;
  p.running_var = a.running_var;
  p.rv_dtype = a.running_var_dtype;
  p.save_mean = a.save_mean;
  p.save_invstd = a.save_invstd;
  p.stat_dtype = a.stat_dtype;
  p.momentum = a.momentum;
  p.eps = a.eps;
  p.float_params = a.dtype != kF64;

  const int64_t per_channel = a.n * a.inner;
  int64_t chunks = 1, chunk_len = per_channel;
  if (a.training && per_channel > 0) {
    const int64_t by_target = (kTargetBlocks + a.c - 1) / a.c;
    const int64_t by_size = (per_channel + kMinChunk - 1) / kMinChunk;
    chunks = by_target < by_size ? by_target : by_size;
    if (chunks < 1) chunks = 1;
    chunk_len = (per_channel + chunks - 1) / chunks;
    chunk_len = (chunk_len + 3) / 4 * 4;  // quads never straddle two chunks
    chunks = (per_channel + chunk_len - 1) / chunk_len;
  }
  const int64_t affine_bytes = a.c * static_cast<int64_t>(sizeof(double2));
  const int64_t partial_bytes =
      a.training ? a.c * chunks * static_cast<int64_t>(sizeof(Welford)) : 0;
  void* scratch = nullptr;
  CudaResult r = Allocate(a.device, affine_bytes + partial_bytes, &scratch);
  if (!r.ok()) return r;
  double2* affine = static_cast<double2*>(scratch);
  Welford* partial = reinterpret_cast<Welford*>(static_cast<char*>(scratch) + affine_bytes);

  cudaError_t e = cudaSuccess;
  if (a.training) {
    if (per_channel == 0) {
      // Cannot happen after validation (training needs > 1 value per
      // channel); kept so a bad call fails instead of reading garbage.
      Free(a.device, scratch);
      return Result(cudaErrorInvalidValue);
    }
    const dim3 grid(static_cast<unsigned>(chunks),
                    static_cast<unsigned>(a.c < kMaxGridY ? a.c : kMaxGridY));
    const bool vec = std::is_same_v<T, float> && a.inner % 4 == 0 && Aligned(x, 16);
    const bool small = per_channel < (int64_t{1} << 32) && a.inner < (int64_t{1} << 32);
    if constexpr (std::is_same_v<T, float>) {
      if (vec && small) {
        BnPartialKernel<T, true, uint32_t><<<grid, kThreads>>>(x, a.n, a.c, a.inner, chunk_len, partial);
      } else if (vec) {
        BnPartialKernel<T, true, uint64_t><<<grid, kThreads>>>(x, a.n, a.c, a.inner, chunk_len, partial);
      } else if (small) {
        BnPartialKernel<T, false, uint32_t><<<grid, kThreads>>>(x, a.n, a.c, a.inner, chunk_len, partial);
      } else {
        BnPartialKernel<T, false, uint64_t><<<grid, kThreads>>>(x, a.n, a.c, a.inner, chunk_len, partial);
      }
    } else if (small) {
      BnPartialKernel<T, false, uint32_t><<<grid, kThreads>>>(x, a.n, a.c, a.inner, chunk_len, partial);
    } else {
      BnPartialKernel<T, false, uint64_t><<<grid, kThreads>>>(x, a.n, a.c, a.inner, chunk_len, partial);
    }
    e = cudaGetLastError();
    if (e == cudaSuccess) {
      const int warps = kThreads / 32;
      BnFinalizeKernel<T><<<static_cast<unsigned>((a.c + warps - 1) / warps), kThreads>>>(
          x, a.c, a.inner, chunks, partial, p, affine);
      e = cudaGetLastError();
    }
  } else {
    BnEvalParamsKernel<<<static_cast<unsigned>((a.c + kThreads - 1) / kThreads), kThreads>>>(
        a.c, p, affine);
    e = cudaGetLastError();
  }
  if (e == cudaSuccess && numel > 0) {
    if constexpr (std::is_same_v<T, float>) {
      if (Aligned(x, 16) && Aligned(y, 16)) {
        const unsigned grid = GridFor(numel / 4 > 0 ? numel / 4 : 1, kThreads, a.device);
        const bool small = numel < (int64_t{1} << 32);
        if (a.inner % 4 == 0) {
          if (small) {
            BnApplyF32Kernel<true, uint32_t><<<grid, kThreads>>>(x, y, numel, a.c, a.inner, affine);
          } else {
            BnApplyF32Kernel<true, uint64_t><<<grid, kThreads>>>(x, y, numel, a.c, a.inner, affine);
          }
        } else if (small) {
          BnApplyF32Kernel<false, uint32_t><<<grid, kThreads>>>(x, y, numel, a.c, a.inner, affine);
        } else {
          BnApplyF32Kernel<false, uint64_t><<<grid, kThreads>>>(x, y, numel, a.c, a.inner, affine);
        }
      } else {
        BnApplyKernel<T><<<GridFor(numel, kThreads, a.device), kThreads>>>(x, y, numel, a.c, a.inner, affine);
      }
    } else {
      BnApplyKernel<T><<<GridFor(numel, kThreads, a.device), kThreads>>>(x, y, numel, a.c, a.inner, affine);
    }
    e = cudaGetLastError();
  }
  Free(a.device, scratch);  // stream-ordered: released after the kernels
  return Result(e);
}

}  // namespace

// ------------------------------------------------------------ entry points

CudaResult DeviceCount(int* count) {
  *count = 0;
  const cudaError_t e = cudaGetDeviceCount(count);
  if (e != cudaSuccess) {
    *count = 0;
    cudaGetLastError();
  }
  return Result(e);
}

CudaResult Synchronize(int device) {
  DeviceGuard g(device);
  if (g.status() != cudaSuccess) return Result(g.status());
  return Result(cudaDeviceSynchronize());
}

CudaResult Allocate(int device, int64_t bytes, void** ptr) {
  *ptr = nullptr;
  DeviceGuard g(device);
  if (g.status() != cudaSuccess) return Result(g.status());
  const size_t n = static_cast<size_t>(bytes > 0 ? bytes : 1);
  cudaError_t e = Info(device).pools ? cudaMallocAsync(ptr, n, 0) : cudaMalloc(ptr, n);
  if (e != cudaSuccess) {
    *ptr = nullptr;
    cudaGetLastError();  // an allocation failure is not sticky; clear it
  }
  return Result(e);
}

void Free(int device, void* ptr) {
  if (ptr == nullptr) return;
  DeviceGuard g(device);
  if (Info(device).pools) {
    cudaFreeAsync(ptr, 0);
  } else {
    cudaFree(ptr);
  }
}

CudaResult Copy(void* dst, const void* src, int64_t bytes, int kind, int device) {
  if (bytes <= 0) return Result(cudaSuccess);
  DeviceGuard g(device);
  if (g.status() != cudaSuccess) return Result(g.status());
  const size_t n = static_cast<size_t>(bytes);
  switch (kind) {
    case 0: return Result(cudaMemcpy(dst, src, n, cudaMemcpyHostToDevice));
    case 1: return Result(cudaMemcpy(dst, src, n, cudaMemcpyDeviceToHost));
    default:
      return Result(cudaMemcpyAsync(dst, src, n, cudaMemcpyDeviceToDevice, 0));
  }
}

CudaResult Memset(void* dst, int value, int64_t bytes, int device) {
  if (bytes <= 0) return Result(cudaSuccess);
  DeviceGuard g(device);
  if (g.status() != cudaSuccess) return Result(g.status());
  return Result(cudaMemsetAsync(dst, value, static_cast<size_t>(bytes), 0));
}

CudaResult LaunchMask(const MaskArgs& a) {
  if (a.n <= 0) return Result(cudaSuccess);
  DeviceGuard g(a.device);
  if (g.status() != cudaSuccess) return Result(g.status());
  const int64_t counters = (a.n + 3) / 4;
  // Philox is ~40 integer ops per counter: more waves than a copy needs.
  const unsigned grid = GridFor(counters, kThreads, a.device, 16);
  const float scale_f = static_cast<float>(a.scale);
  return VisitDtype(a.dtype, [&](auto tag) {
    using T = decltype(tag);
    const T* x = static_cast<const T*>(a.x);
    T* out = static_cast<T*>(a.out);
    const bool vec = std::is_same_v<T, float> && Aligned(x, 16) &&
                     Aligned(out, 16) && Aligned(a.mask, 4);
    if (vec) {
      MaskKernel<T, true><<<grid, kThreads>>>(x, out, a.mask, a.n, a.seed, a.offset,
                                              a.threshold, scale_f, a.scale);
    } else {
      MaskKernel<T, false><<<grid, kThreads>>>(x, out, a.mask, a.n, a.seed, a.offset,
                                               a.threshold, scale_f, a.scale);
    }
    return Result(cudaGetLastError());
  });
}

CudaResult LaunchDivScalar(void* data, int64_t n, int dtype, double divisor,
                           int device) {
  if (n <= 0) return Result(cudaSuccess);
  DeviceGuard g(device);
  if (g.status() != cudaSuccess) return Result(g.status());
  return VisitDtype(dtype, [&](auto tag) {
    using T = decltype(tag);
    DivKernel<T><<<GridFor(n, kThreads, device), kThreads>>>(
        static_cast<T*>(data), n, static_cast<float>(divisor), divisor);
    return Result(cudaGetLastError());
  });
}

CudaResult LaunchMul(const void* a, const void* b, bool b_is_mask, void* out,
                     int64_t n, int dtype, int device) {
  if (n <= 0) return Result(cudaSuccess);
  DeviceGuard g(device);
  if (g.status() != cudaSuccess) return Result(g.status());
  return VisitDtype(dtype, [&](auto tag) {
    using T = decltype(tag);
    MulKernel<T><<<GridFor(n, kThreads, device), kThreads>>>(
        static_cast<const T*>(a), b_is_mask ? nullptr : static_cast<const T*>(b),
        b_is_mask ? static_cast<const uint8_t*>(b) : nullptr, static_cast<T*>(out), n);
    return Result(cudaGetLastError());
  });
}

CudaResult LaunchBatchNorm(const BatchNormArgs& a) {
  DeviceGuard g(a.device);
  if (g.status() != cudaSuccess) return Result(g.status());
  return VisitDtype(a.dtype, [&](auto tag) { return RunBatchNorm<decltype(tag)>(a); });
}

}  // namespace cuda_internal
}  // namespace rewire
