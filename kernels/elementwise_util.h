// Helpers shared by the files of CPU ops (common_ops.cc, pointwise_ops.cc,
// index_ops.cc, attention_ops.cc, pool_ops.cc, linalg_ops.cc): per-dtype loads and stores through
// double, device and dtype checks, numpy broadcasting walks and PyTorch's
// type promotion of two tensors. Internal to //kernels.
#ifndef REWIRE_KERNELS_ELEMENTWISE_UTIL_H_
#define REWIRE_KERNELS_ELEMENTWISE_UTIL_H_

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <type_traits>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/numeric/int128.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "ir/status_macros.h"
#include "ir/types.h"
#include "kernels/tensor.h"

namespace rewire {
namespace ops {
namespace elementwise_util {

using LoadFn = double (*)(const void*, int64_t);
using StoreFn = void (*)(void*, int64_t, double);

template <typename T>
double LoadT(const void* p, int64_t i) {
  const T v = static_cast<const T*>(p)[i];
  if constexpr (std::is_same_v<T, Half>) {
    return HalfToFloat(v);
  } else if constexpr (std::is_same_v<T, BFloat16>) {
    return BFloat16ToFloat(v);
  } else {
    return static_cast<double>(v);
  }
}

template <typename T>
void StoreT(void* p, int64_t i, double v) {
  T* d = static_cast<T*>(p);
  if constexpr (std::is_same_v<T, Half>) {
    d[i] = FloatToHalf(static_cast<float>(v));
  } else if constexpr (std::is_same_v<T, BFloat16>) {
    d[i] = FloatToBFloat16(static_cast<float>(v));
  } else if constexpr (std::is_same_v<T, bool>) {
    d[i] = v != 0;
  } else if constexpr (std::is_integral_v<T>) {
    // Truncation as in PyTorch's casts; NaN and values outside T's range
    // become 0, since converting them is undefined behaviour (the old bound
    // only held for int64). Both bounds are powers of two, exact in a double.
    constexpr double kLo =
        std::is_signed_v<T> ? static_cast<double>(std::numeric_limits<T>::min())
                            : 0.0;
    constexpr double kHi =
        std::is_signed_v<T>
            ? -kLo
            : static_cast<double>(std::numeric_limits<T>::max()) + 1.0;
    const double t = std::trunc(v);
    d[i] = (t >= kLo && t < kHi) ? static_cast<T>(t) : 0;
  } else {
    d[i] = static_cast<T>(v);
  }
}

inline absl::StatusOr<std::pair<LoadFn, StoreFn>> Io(ScalarType t) {
  switch (t) {
    case ScalarType::kFloat32: return std::make_pair(&LoadT<float>, &StoreT<float>);
    case ScalarType::kFloat64: return std::make_pair(&LoadT<double>, &StoreT<double>);
    case ScalarType::kFloat16: return std::make_pair(&LoadT<Half>, &StoreT<Half>);
    case ScalarType::kBFloat16: return std::make_pair(&LoadT<BFloat16>, &StoreT<BFloat16>);
    case ScalarType::kInt64: return std::make_pair(&LoadT<int64_t>, &StoreT<int64_t>);
    case ScalarType::kInt32: return std::make_pair(&LoadT<int32_t>, &StoreT<int32_t>);
    case ScalarType::kInt16: return std::make_pair(&LoadT<int16_t>, &StoreT<int16_t>);
    case ScalarType::kInt8: return std::make_pair(&LoadT<int8_t>, &StoreT<int8_t>);
    case ScalarType::kUInt8: return std::make_pair(&LoadT<uint8_t>, &StoreT<uint8_t>);
    case ScalarType::kBool: return std::make_pair(&LoadT<bool>, &StoreT<bool>);
    default:
      return absl::InvalidArgumentError(
          absl::StrCat("dtype ", ScalarTypeName(t), " has no CPU kernel"));
  }
}

inline absl::Status CheckCpu(const Tensor& t, absl::string_view what) {
  if (!t.defined()) return absl::InvalidArgumentError(absl::StrCat(what, " is undefined"));
  if (!t.is_cpu()) {
    return absl::InvalidArgumentError(absl::StrCat(
        what, " is on ", t.device().ToString(), "; these kernels need cpu"));
  }
  return absl::OkStatus();
}

inline absl::Status CheckFloat(const Tensor& t, absl::string_view op) {
  RETURN_IF_ERROR(CheckCpu(t, op));
  if (t.dtype() != ScalarType::kFloat32 && t.dtype() != ScalarType::kFloat64) {
    return absl::InvalidArgumentError(
        absl::StrCat(op, ": dtype ", ScalarTypeName(t.dtype()),
                     " is not supported (float32, float64)"));
  }
  return absl::OkStatus();
}

// Calls f(T{}) for float32/float64.
template <typename F>
void VisitFloat(ScalarType t, F&& f) {
  if (t == ScalarType::kFloat64) {
    f(double{});
  } else {
    f(float{});
  }
}

inline bool IsIntegral(ScalarType t) { return !IsFloatingPoint(t) && t != ScalarType::kComplex64 && t != ScalarType::kComplex128; }

// Row-major strides of `shape`, with 0 for dims broadcast into `out` (which
// has rank >= shape's; leading dims align right).
inline std::vector<int64_t> BroadcastStrides(absl::Span<const int64_t> shape,
                                      absl::Span<const int64_t> out) {
  std::vector<int64_t> s(out.size(), 0);
  int64_t stride = 1;
  const size_t off = out.size() - shape.size();
  for (size_t i = shape.size(); i-- > 0;) {
    s[off + i] = shape[i] == 1 ? 0 : stride;
    stride *= shape[i];
  }
  return s;
}

// Calls f(out_index, offset_a, offset_b) over `out` in row-major order with
// an odometer, so no division per element.
template <typename F>
void ForEachBroadcast(absl::Span<const int64_t> out,
                      const std::vector<int64_t>& sa,
                      const std::vector<int64_t>& sb, F&& f) {
  int64_t n = 1;
  for (int64_t d : out) n *= d;
  if (n == 0) return;
  const int rank = static_cast<int>(out.size());
  std::vector<int64_t> idx(rank, 0);
  int64_t oa = 0, ob = 0;
  for (int64_t i = 0; i < n; ++i) {
    f(i, oa, ob);
    for (int d = rank - 1; d >= 0; --d) {
      if (++idx[d] < out[d]) {
        oa += sa[d];
        ob += sb[d];
        break;
      }
      oa -= sa[d] * (out[d] - 1);
      ob -= sb[d] * (out[d] - 1);
      idx[d] = 0;
    }
  }
}

inline ScalarType PromoteTypes(const Tensor& a, const Tensor& b) {
  const ScalarType x = a.dtype(), y = b.dtype();
  if (x == y) return x;
  const bool fx = IsFloatingPoint(x), fy = IsFloatingPoint(y);
  // A 0-dim tensor only decides the result when its category is higher.
  if (fx == fy) {
    if (a.dim() == 0 && b.dim() != 0) return y;
    if (b.dim() == 0 && a.dim() != 0) return x;
  }
  if (fx && !fy) return x;
  if (fy && !fx) return y;
  if (fx) {
    if (x == ScalarType::kFloat64 || y == ScalarType::kFloat64) return ScalarType::kFloat64;
    return ScalarType::kFloat32;
  }
  if (x == ScalarType::kBool) return y;
  if (y == ScalarType::kBool) return x;
  return ScalarType::kInt64;
}

// The taps i in [0, k) of a sliding window (convolution, max pooling) at
// output position o whose input position o * s - pad + i * d lies in
// [0, in), as [first, last), with the input position of tap `first`. Kernel
// sizes, strides, paddings and dilations come from the graph: the positions
// are computed in 128 bits, where their products cannot overflow, and only
// the taps that land in the input are visited, so a window of 10^12 taps
// over a 2-pixel input costs two steps, not 10^12.
struct Taps {
  int64_t first = 0;
  int64_t last = 0;
  int64_t first_pos = 0;
};
inline Taps ValidTaps(int64_t o, int64_t k, int64_t s, int64_t pad, int64_t d,
               int64_t in) {
  const absl::int128 base = absl::int128(o) * s - pad;
  const absl::int128 first = base >= 0 ? absl::int128(0) : (-base + d - 1) / d;
  const absl::int128 last = base >= in ? absl::int128(0) : (in - base + d - 1) / d;
  Taps t;
  t.first = static_cast<int64_t>(std::min(first, absl::int128(k)));
  t.last = std::max(t.first, static_cast<int64_t>(std::min(last, absl::int128(k))));
  if (t.first < t.last) t.first_pos = static_cast<int64_t>(base + absl::int128(t.first) * d);
  return t;
}

// Mean and 1 / sqrt(biased variance + eps) of x[0..n), two passes in
// double (layer and group norm); 0 and 1 / sqrt(eps) for n == 0.
template <typename T>
std::pair<double, double> MeanAndRstd(const T* x, int64_t n, double eps) {
  double mean = 0;
  for (int64_t i = 0; i < n; ++i) mean += x[i];
  mean = n == 0 ? 0 : mean / static_cast<double>(n);
  double var = 0;
  for (int64_t i = 0; i < n; ++i) var += (x[i] - mean) * (x[i] - mean);
  var = n == 0 ? 0 : var / static_cast<double>(n);
  return {mean, 1.0 / std::sqrt(var + eps)};
}

// Runs f(begin, end) over [0, n) in chunks of at least `grain` elements
// on OpenMP's threads: the runtime oneDNN's convolutions and GEMMs already
// use (Debian's libdnnl is built with GNU OpenMP), so the two share one set
// of threads instead of a second pool contending with OpenMP's spinning
// workers. Small ranges stay on the calling thread. For loops whose
// elements are independent, so the split does not matter.
template <typename F>
void ParallelElements(int64_t n, F&& f, int64_t grain = 32768) {
  if (n <= grain) {
    f(int64_t{0}, n);
    return;
  }
  const int64_t chunks = (n + grain - 1) / grain;
#ifdef _OPENMP  // the files built without -fopenmp run the chunks in turn
#pragma omp parallel for schedule(static)
#endif
  for (int64_t c = 0; c < chunks; ++c) {
    f(c * grain, std::min(n, (c + 1) * grain));
  }
}

}  // namespace elementwise_util
}  // namespace ops
}  // namespace rewire

#endif  // REWIRE_KERNELS_ELEMENTWISE_UTIL_H_
