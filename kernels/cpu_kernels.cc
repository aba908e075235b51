#include "kernels/cpu_kernels.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>
#include <vector>

#include "absl/strings/str_cat.h"
#include "kernels/cpu_isa.h"
#include "kernels/thread_pool.h"

namespace rewire {

absl::Status CheckBatchNormScalars(absl::string_view op, bool has_running_mean,
                                   bool has_running_var, double eps,
                                   double momentum, bool training,
                                   int64_t values_per_channel, int64_t channels,
                                   absl::Span<const int64_t> input_shape) {
  if (has_running_mean != has_running_var) {
    return absl::InvalidArgumentError(absl::StrCat(
        op, ": running_mean and running_var must be both given or both "
            "absent"));
  }
  if (!std::isfinite(eps) || eps < 0.0) {
    return absl::InvalidArgumentError(
        absl::StrCat(op, ": eps must be finite and >= 0, got ", eps));
  }
  if (!std::isfinite(momentum)) {
    return absl::InvalidArgumentError(
        absl::StrCat(op, ": momentum must be finite, got ", momentum));
  }
  if (training) {
    if (values_per_channel <= 1 && channels > 0) {
      return absl::InvalidArgumentError(absl::StrCat(
          op, ": expected more than 1 value per channel when training, got "
              "input shape ",
          ShapeToString(input_shape)));
    }
  } else if (!has_running_mean) {
    return absl::InvalidArgumentError(absl::StrCat(
        op, ": running_mean and running_var are required in eval mode"));
  }
  return absl::OkStatus();
}

namespace {

// ------------------------------------------------------------ ISA dispatch

bool DetectIsa(CpuIsa isa) {
  switch (isa) {
    case CpuIsa::kScalar:
      return true;
    case CpuIsa::kAvx2:
      return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    case CpuIsa::kAvx512:
      return __builtin_cpu_supports("avx512f") &&
             __builtin_cpu_supports("avx512bw") &&
             __builtin_cpu_supports("bmi2");
  }
  return false;
}

CpuIsa BestIsa() {
  if (DetectIsa(CpuIsa::kAvx512)) return CpuIsa::kAvx512;
  if (DetectIsa(CpuIsa::kAvx2)) return CpuIsa::kAvx2;
  return CpuIsa::kScalar;
}

std::atomic<int>& ActiveIsaSlot() {
  static std::atomic<int> slot{static_cast<int>(BestIsa())};
  return slot;
}

// Outputs at least this large bypass the cache with streaming stores: they
// cannot stay cached anyway, and skipping the read-for-ownership saves a
// third of the traffic.
constexpr int64_t kStreamBytes = int64_t{8} << 20;

// ---------------------------------------------------------- dtype helpers

template <typename T>
inline float ToFloat(T v) { return static_cast<float>(v); }
template <>
inline float ToFloat<Half>(Half v) { return HalfToFloat(v); }
template <>
inline float ToFloat<BFloat16>(BFloat16 v) { return BFloat16ToFloat(v); }

template <typename T>
inline double ToDouble(T v) { return static_cast<double>(ToFloat(v)); }
template <>
inline double ToDouble<double>(double v) { return v; }

template <typename T>
inline T FromFloat(float f) { return static_cast<T>(f); }
template <>
inline Half FromFloat<Half>(float f) { return FloatToHalf(f); }
template <>
inline BFloat16 FromFloat<BFloat16>(float f) { return FloatToBFloat16(f); }

// Calls f(T{}) with T the C++ type of a floating dtype.
template <typename F>
absl::Status VisitFloating(ScalarType t, absl::string_view op, F&& f) {
  switch (t) {
    case ScalarType::kFloat32: f(float{}); return absl::OkStatus();
    case ScalarType::kFloat64: f(double{}); return absl::OkStatus();
    case ScalarType::kFloat16: f(Half{}); return absl::OkStatus();
    case ScalarType::kBFloat16: f(BFloat16{}); return absl::OkStatus();
    default:
      return absl::InvalidArgumentError(
          absl::StrCat(op, ": dtype ", ScalarTypeName(t),
                       " is not supported (float32, float64, float16, "
                       "bfloat16)"));
  }
}

absl::Status CheckCpuTensor(const Tensor& t, absl::string_view op,
                            absl::string_view name) {
  if (!t.defined()) {
    return absl::InvalidArgumentError(
        absl::StrCat(op, ": ", name, " is undefined"));
  }
  if (!t.is_cpu()) {
    return absl::InvalidArgumentError(
        absl::StrCat(op, ": ", name, " is on ", t.device().ToString(),
                     "; the CPU kernels need cpu tensors"));
  }
  return absl::OkStatus();
}

// ------------------------------------------------------------ dropout core

absl::Status CheckProbability(double p, absl::string_view op,
                              absl::string_view name) {
  if (!(p >= 0.0 && p <= 1.0)) {
    return absl::InvalidArgumentError(absl::StrCat(
        op, ": ", name, " must be in [0, 1], got ", p));
  }
  return absl::OkStatus();
}

// Elements per parallel task for the elementwise kernels.
constexpr int64_t kMaskGrain = 64 * 1024;
// The mask kernels split work in blocks of this many elements, so every task
// starts on a counter and vector-block boundary and runs the vector loop
// (ParallelFor's chunk is n / chunks, not a multiple of the grain).
constexpr int64_t kMaskBlock = 64;

// Scalar keep-mask loop over [begin, end) (begin % 4 == 0 not required).
// Writes out[i] = keep ? x[i] * scale : 0 (x == nullptr: 1), mask[i] = keep.
template <typename T, typename S>
void MaskRangeScalar(const T* x, T* out, uint8_t* mask, int64_t begin,
                     int64_t end, uint64_t seed, uint64_t offset,
                     uint32_t threshold, S scale) {
  int64_t i = begin;
  while (i < end) {
    const uint64_t counter = static_cast<uint64_t>(i) / philox::kWordsPerCounter;
    const philox::Block b = philox::BlockAt(seed, offset + counter);
    const int64_t stop =
        std::min<int64_t>(end, static_cast<int64_t>(counter + 1) * 4);
    for (; i < stop; ++i) {
      const bool keep = philox::KeepWord(b.w[i & 3], threshold);
      if (mask != nullptr) mask[i] = keep ? 1 : 0;
      if (out != nullptr) {
        if (x == nullptr) {
          out[i] = FromFloat<T>(keep ? 1.0f : 0.0f);
        } else if constexpr (std::is_same_v<T, double>) {
          out[i] = keep ? x[i] * scale : 0.0;
        } else {
          out[i] = FromFloat<T>(keep ? ToFloat(x[i]) * static_cast<float>(scale)
                                     : 0.0f);
        }
      }
    }
  }
}

// Runs the mask loop over n elements on all threads. T is the element type
// of x/out (either may be nullptr).
template <typename T>
void MaskParallel(const T* x, T* out, uint8_t* mask, int64_t n, uint64_t seed,
                  uint64_t offset, uint32_t threshold, double scale) {
  const CpuIsa isa = ActiveCpuIsa();
  const bool stream =
      n * static_cast<int64_t>(sizeof(T) + (mask != nullptr ? 1 : 0)) >=
      kStreamBytes;
  const int64_t blocks = (n + kMaskBlock - 1) / kMaskBlock;
  ThreadPool::Default().ParallelFor(
      blocks, kMaskGrain / kMaskBlock,
      [&](int64_t block_begin, int64_t block_end) {
        const int64_t begin = block_begin * kMaskBlock;
        const int64_t end = std::min(n, block_end * kMaskBlock);
        int64_t done = begin;
        if constexpr (std::is_same_v<T, float>) {
          if (isa != CpuIsa::kScalar) {
            cpu_isa::MaskSpan s;
            s.x = x != nullptr ? x + begin : nullptr;
            s.out = out != nullptr ? out + begin : nullptr;
            s.mask = mask != nullptr ? mask + begin : nullptr;
            s.n = end - begin;
            s.counter = offset + static_cast<uint64_t>(begin) / 4;
            s.key0 = static_cast<uint32_t>(seed);
            s.key1 = static_cast<uint32_t>(seed >> 32);
            s.threshold = threshold;
            s.scale = static_cast<float>(scale);
            s.stream = stream;
            done += isa == CpuIsa::kAvx512 ? cpu_isa::MaskSpanAvx512(s)
                                           : cpu_isa::MaskSpanAvx2(s);
          }
          MaskRangeScalar<float, float>(x, out, mask, done, end, seed, offset,
                                        threshold, static_cast<float>(scale));
        } else {
          MaskRangeScalar<T, double>(x, out, mask, done, end, seed, offset,
                                     threshold, scale);
        }
      });
}

// A bool-only mask (bernoulli_ into bool, or native_dropout without output).
void MaskOnlyParallel(uint8_t* mask, int64_t n, uint64_t seed, uint64_t offset,
                      uint32_t threshold) {
  MaskParallel<float>(nullptr, nullptr, mask, n, seed, offset, threshold, 1.0);
}

// out = dropout(x) (out may alias x), mask optional.
absl::Status DropoutInto(const Tensor& x, Tensor& out, uint8_t* mask, double p,
                         PhiloxGenerator& gen) {
  const int64_t n = x.numel();
  const double keep = 1.0 - p;
  // p = 1: everything dropped, no division by zero, nothing drawn.
  const double scale = keep > 0.0 ? 1.0 / keep : 0.0;
  const uint32_t threshold = philox::KeepThreshold(keep);
  uint64_t offset = 0;
  const bool draws = p > 0.0 && p < 1.0;
  if (draws) offset = gen.Reserve(n);
  return VisitFloating(x.dtype(), "dropout", [&](auto tag) {
    using T = decltype(tag);
    const T* xp = x.data<T>();
    T* op = out.data<T>();
    if (!draws) {
      // Deterministic: p = 0 copies, p = 1 zeroes; the mask is constant.
      if (p == 0.0) {
        if (op != xp) std::memcpy(op, xp, n * sizeof(T));
      } else {
        for (int64_t i = 0; i < n; ++i) op[i] = FromFloat<T>(0.0f);
      }
      if (mask != nullptr) std::memset(mask, p == 0.0 ? 1 : 0, n);
      return;
    }
    MaskParallel<T>(xp, op, mask, n, gen.seed(), offset, threshold, scale);
  });
}

// ------------------------------------------------------- batch norm core

// Validated view of a batch norm call.
struct BnArgs {
  const Tensor* input;
  const Tensor* weight = nullptr;  // nullptr when absent
  const Tensor* bias = nullptr;
  Tensor* running_mean = nullptr;
  Tensor* running_var = nullptr;
  int64_t n = 0, c = 0, inner = 0;  // input viewed as (n, c, inner)
};

absl::Status CheckParam(const Tensor* t, absl::string_view name, int64_t c,
                        absl::string_view op) {
  if (t == nullptr) return absl::OkStatus();
  RETURN_IF_ERROR(CheckCpuTensor(*t, op, name));
  if (!IsFloatingPoint(t->dtype()) || t->dtype() == ScalarType::kComplex64 ||
      t->dtype() == ScalarType::kComplex128) {
    return absl::InvalidArgumentError(absl::StrCat(
        op, ": ", name, " must be floating, got ", ScalarTypeName(t->dtype())));
  }
  if (t->dim() != 1 || t->size(0) != c) {
    return absl::InvalidArgumentError(absl::StrCat(
        op, ": ", name, " must have shape [", c,
        "] (the channel count, input dim 1), got ", ShapeToString(t->shape())));
  }
  return absl::OkStatus();
}

const Tensor* Present(const Tensor* t) {
  return t != nullptr && t->defined() ? t : nullptr;
}
Tensor* Present(Tensor* t) { return t != nullptr && t->defined() ? t : nullptr; }

absl::StatusOr<BnArgs> ValidateBatchNorm(const Tensor& input,
                                         const Tensor* weight,
                                         const Tensor* bias, Tensor* rm,
                                         Tensor* rv, bool training,
                                         double momentum, double eps) {
  constexpr absl::string_view op = "batch_norm";
  RETURN_IF_ERROR(CheckCpuTensor(input, op, "input"));
  RETURN_IF_ERROR(VisitFloating(input.dtype(), op, [](auto) {}));
  if (input.dim() < 2 || input.dim() > 5) {
    return absl::InvalidArgumentError(absl::StrCat(
        op, ": input must have 2 to 5 dims (N, C, ...), got shape ",
        ShapeToString(input.shape())));
  }
  BnArgs a;
  a.input = &input;
  a.weight = Present(weight);
  a.bias = Present(bias);
  a.running_mean = Present(rm);
  a.running_var = Present(rv);
  a.n = input.size(0);
  a.c = input.size(1);
  a.inner = 1;
  for (int d = 2; d < input.dim(); ++d) a.inner *= input.size(d);
  RETURN_IF_ERROR(CheckParam(a.weight, "weight", a.c, op));
  RETURN_IF_ERROR(CheckParam(a.bias, "bias", a.c, op));
  RETURN_IF_ERROR(CheckParam(a.running_mean, "running_mean", a.c, op));
  RETURN_IF_ERROR(CheckParam(a.running_var, "running_var", a.c, op));
  RETURN_IF_ERROR(CheckBatchNormScalars(
      op, a.running_mean != nullptr, a.running_var != nullptr, eps, momentum,
      training, a.n * a.inner, a.c, input.shape()));
  return a;
}

double ParamAt(const Tensor* t, int64_t c, double absent) {
  if (t == nullptr) return absent;
  double v = absent;
  // Dtype checked by CheckParam.
  (void)VisitFloating(t->dtype(), "", [&](auto tag) {
    using T = decltype(tag);
    v = ToDouble(t->data<T>()[c]);
  });
  return v;
}

void SetParamAt(Tensor* t, int64_t c, double v) {
  (void)VisitFloating(t->dtype(), "", [&](auto tag) {
    using T = decltype(tag);
    if constexpr (std::is_same_v<T, double>) {
      t->data<T>()[c] = v;
    } else {
      t->data<T>()[c] = FromFloat<T>(static_cast<float>(v));
    }
  });
}

// Elements per partial sum. Fixed (not derived from the thread count) so the
// reduction order, hence the result, is the same on every machine.
constexpr int64_t kBnChunk = 16 * 1024;

template <typename T>
void ShiftedSums(const T* x, int64_t len, double shift, double* s, double* q,
                 CpuIsa isa) {
  if constexpr (std::is_same_v<T, float>) {
    if (isa == CpuIsa::kAvx512) {
      cpu_isa::ShiftedSumsF32Avx512(x, len, shift, s, q);
      return;
    }
    if (isa == CpuIsa::kAvx2) {
      cpu_isa::ShiftedSumsF32Avx2(x, len, shift, s, q);
      return;
    }
  }
  double ss = 0.0, qq = 0.0;
  for (int64_t i = 0; i < len; ++i) {
    const double d = ToDouble(x[i]) - shift;
    ss += d;
    qq += d * d;
  }
  *s += ss;
  *q += qq;
}

// Per-channel affine form of batch norm, y = x * alpha + beta, as PyTorch's
// CPU kernel computes it: for float inputs alpha = float(invstd * w) and
// beta = float(b - mean * alpha) with mean and invstd as stored in float, and
// y rounded once (fma). PyTorch's reference outputs carry that rounding of
// beta (visible when |mean| >> std), so matching them needs the same form.
struct ChannelAffine {
  double alpha;
  double beta;
};

ChannelAffine MakeAffine(double mean, double invstd, double w, double b,
                         bool float_params) {
  if (!float_params) return ChannelAffine{invstd * w, b - mean * invstd * w};
  const float mf = static_cast<float>(mean);
  const float alpha = static_cast<float>(invstd) * static_cast<float>(w);
  const float beta = static_cast<float>(static_cast<double>(b) -
                                        static_cast<double>(mf) * alpha);
  return ChannelAffine{alpha, beta};
}

template <typename T>
void AffineRun(const T* x, T* y, int64_t len, const ChannelAffine& a,
               CpuIsa isa, bool stream) {
  if constexpr (std::is_same_v<T, double>) {
    for (int64_t i = 0; i < len; ++i) y[i] = x[i] * a.alpha + a.beta;
  } else {
    if constexpr (std::is_same_v<T, float>) {
      const float sc = static_cast<float>(a.alpha);
      const float bi = static_cast<float>(a.beta);
      if (isa == CpuIsa::kAvx512) {
        cpu_isa::AffineF32Avx512(x, y, len, sc, bi, stream);
        return;
      }
      if (isa == CpuIsa::kAvx2) {
        cpu_isa::AffineF32Avx2(x, y, len, sc, bi, stream);
        return;
      }
    }
    // The exact float product fits a double, so this rounds like an fma
    // (up to a double rounding) without needing FMA hardware.
    for (int64_t i = 0; i < len; ++i) {
      y[i] = FromFloat<T>(
          static_cast<float>(ToDouble(x[i]) * a.alpha + a.beta));
    }
  }
}

// Batch mean and biased variance per channel, in double.
template <typename T>
absl::Status BatchStats(const BnArgs& a, Scratch<double>& mean, Scratch<double>& var) {
  const T* x = a.input->data<T>();
  const CpuIsa isa = ActiveCpuIsa();
  const int64_t chunks = std::max<int64_t>(1, (a.inner + kBnChunk - 1) / kBnChunk);
  // No elements: no partial sums (a.n alone may be huge), and a mean of 0/0.
  const int64_t items_per_channel = a.n * a.inner == 0 ? 0 : a.n * chunks;
  ASSIGN_OR_RETURN(Scratch<double> shift, Scratch<double>::Make(a.c));
  for (int64_t c = 0; c < a.c; ++c) {
    shift[c] = a.n * a.inner > 0 ? ToDouble(x[c * a.inner]) : 0.0;
  }
  ASSIGN_OR_RETURN(Scratch<double> psum, Scratch<double>::Make(a.c * items_per_channel));
  ASSIGN_OR_RETURN(Scratch<double> psq, Scratch<double>::Make(a.c * items_per_channel));
  const int64_t item_len = std::min(a.inner, kBnChunk);
  const int64_t grain = std::max<int64_t>(1, kBnChunk / std::max<int64_t>(1, item_len));
  ThreadPool::Default().ParallelFor(
      a.c * items_per_channel, grain, [&](int64_t begin, int64_t end) {
        for (int64_t it = begin; it < end; ++it) {
          const int64_t c = it / items_per_channel;
          const int64_t r = it % items_per_channel;
          const int64_t n = r / chunks;
          const int64_t k = r % chunks;
          const int64_t start = k * kBnChunk;
          const int64_t len = std::min(kBnChunk, a.inner - start);
          ShiftedSums(x + (n * a.c + c) * a.inner + start, len, shift[c],
                      &psum[it], &psq[it], isa);
        }
      });
  const double count = static_cast<double>(a.n * a.inner);
  for (int64_t c = 0; c < a.c; ++c) {
    double s = 0.0, q = 0.0;
    for (int64_t r = 0; r < items_per_channel; ++r) {
      s += psum[c * items_per_channel + r];
      q += psq[c * items_per_channel + r];
    }
    const double m = s / count;
    mean[c] = shift[c] + m;
    var[c] = std::max(0.0, q / count - m * m);
  }
  return absl::OkStatus();
}

template <typename T>
void ApplyAffine(const BnArgs& a, const Scratch<ChannelAffine>& params,
                 Tensor& out) {
  const T* x = a.input->data<T>();
  T* y = out.data<T>();
  const CpuIsa isa = ActiveCpuIsa();
  const bool stream = out.nbytes() >= kStreamBytes;
  const int64_t chunks = std::max<int64_t>(1, (a.inner + kBnChunk - 1) / kBnChunk);
  const int64_t items = a.n * a.c * chunks;
  const int64_t item_len = std::min(a.inner, kBnChunk);
  const int64_t grain = std::max<int64_t>(1, kBnChunk / std::max<int64_t>(1, item_len));
  ThreadPool::Default().ParallelFor(items, grain, [&](int64_t begin, int64_t end) {
    for (int64_t it = begin; it < end; ++it) {
      const int64_t run = it / chunks;  // n * C + c
      const int64_t k = it % chunks;
      const int64_t c = run % a.c;
      const int64_t start = k * kBnChunk;
      const int64_t len = std::min(kBnChunk, a.inner - start);
      const int64_t off = run * a.inner + start;
      AffineRun(x + off, y + off, len, params[c], isa, stream);
    }
  });
}

absl::StatusOr<BatchNormResult> BatchNormImpl(const BnArgs& a, bool training,
                                              double momentum, double eps) {
  const Tensor& input = *a.input;
  const ScalarType stat_type =
      input.dtype() == ScalarType::kFloat64 ? ScalarType::kFloat64
                                            : ScalarType::kFloat32;
  const bool float_params = input.dtype() != ScalarType::kFloat64;
  BatchNormResult result;
  ASSIGN_OR_RETURN(result.output, Tensor::Empty(input.dtype(), input.shape()));
  ASSIGN_OR_RETURN(Scratch<ChannelAffine> params, Scratch<ChannelAffine>::Make(a.c));
  if (training) {
    ASSIGN_OR_RETURN(result.save_mean, Tensor::Empty(stat_type, {a.c}));
    ASSIGN_OR_RETURN(result.save_invstd, Tensor::Empty(stat_type, {a.c}));
    ASSIGN_OR_RETURN(Scratch<double> mean, Scratch<double>::Make(a.c));
    ASSIGN_OR_RETURN(Scratch<double> var, Scratch<double>::Make(a.c));
    absl::Status stats;
    RETURN_IF_ERROR(VisitFloating(input.dtype(), "batch_norm", [&](auto tag) {
      stats = BatchStats<decltype(tag)>(a, mean, var);
    }));
    RETURN_IF_ERROR(stats);
    const double count = static_cast<double>(a.n * a.inner);
    for (int64_t c = 0; c < a.c; ++c) {
      const double invstd = 1.0 / std::sqrt(var[c] + eps);
      SetParamAt(&result.save_mean, c, mean[c]);
      SetParamAt(&result.save_invstd, c, invstd);
      params[c] = MakeAffine(ParamAt(&result.save_mean, c, 0.0),
                             ParamAt(&result.save_invstd, c, 1.0),
                             ParamAt(a.weight, c, 1.0), ParamAt(a.bias, c, 0.0),
                             float_params);
      if (a.running_mean != nullptr) {
        const double rm = ParamAt(a.running_mean, c, 0.0);
        const double rv = ParamAt(a.running_var, c, 0.0);
        SetParamAt(a.running_mean, c, (1.0 - momentum) * rm + momentum * mean[c]);
        SetParamAt(a.running_var, c,
                   (1.0 - momentum) * rv +
                       momentum * var[c] * count / (count - 1.0));
      }
    }
  } else {
    ASSIGN_OR_RETURN(result.save_mean, Tensor::Empty(stat_type, {0}));
    ASSIGN_OR_RETURN(result.save_invstd, Tensor::Empty(stat_type, {0}));
    for (int64_t c = 0; c < a.c; ++c) {
      const double invstd =
          1.0 / std::sqrt(ParamAt(a.running_var, c, 1.0) + eps);
      params[c] = MakeAffine(ParamAt(a.running_mean, c, 0.0), invstd,
                             ParamAt(a.weight, c, 1.0), ParamAt(a.bias, c, 0.0),
                             float_params);
    }
  }
  if (result.output.numel() == 0) return result;  // a.n alone may be huge
  RETURN_IF_ERROR(VisitFloating(input.dtype(), "batch_norm", [&](auto tag) {
    ApplyAffine<decltype(tag)>(a, params, result.output);
  }));
  return result;
}

}  // namespace

// ------------------------------------------------------------- public API

const char* CpuIsaName(CpuIsa isa) {
  switch (isa) {
    case CpuIsa::kScalar: return "scalar";
    case CpuIsa::kAvx2: return "avx2";
    case CpuIsa::kAvx512: return "avx512";
  }
  return "unknown";
}

bool CpuIsaSupported(CpuIsa isa) { return DetectIsa(isa); }

CpuIsa ActiveCpuIsa() {
  return static_cast<CpuIsa>(ActiveIsaSlot().load(std::memory_order_relaxed));
}

absl::Status SetCpuIsaForTesting(CpuIsa isa) {
  if (!DetectIsa(isa)) {
    return absl::FailedPreconditionError(
        absl::StrCat("this CPU does not support ", CpuIsaName(isa)));
  }
  ActiveIsaSlot().store(static_cast<int>(isa), std::memory_order_relaxed);
  return absl::OkStatus();
}

absl::StatusOr<Tensor> Dropout(const Tensor& input, double p, bool train,
                               PhiloxGenerator& gen) {
  RETURN_IF_ERROR(CheckCpuTensor(input, "dropout", "input"));
  RETURN_IF_ERROR(CheckProbability(p, "dropout", "p"));
  RETURN_IF_ERROR(VisitFloating(input.dtype(), "dropout", [](auto) {}));
  if (!train) return input.Clone();
  ASSIGN_OR_RETURN(Tensor out, Tensor::Empty(input.dtype(), input.shape()));
  RETURN_IF_ERROR(DropoutInto(input, out, nullptr, p, gen));
  return out;
}

absl::Status Dropout_(Tensor& self, double p, bool train, PhiloxGenerator& gen) {
  RETURN_IF_ERROR(CheckCpuTensor(self, "dropout_", "self"));
  RETURN_IF_ERROR(CheckProbability(p, "dropout_", "p"));
  RETURN_IF_ERROR(VisitFloating(self.dtype(), "dropout_", [](auto) {}));
  if (!train) return absl::OkStatus();
  return DropoutInto(self, self, nullptr, p, gen);
}

absl::StatusOr<NativeDropoutResult> NativeDropout(const Tensor& input, double p,
                                                  bool train,
                                                  PhiloxGenerator& gen) {
  RETURN_IF_ERROR(CheckCpuTensor(input, "native_dropout", "input"));
  RETURN_IF_ERROR(CheckProbability(p, "native_dropout", "p"));
  RETURN_IF_ERROR(VisitFloating(input.dtype(), "native_dropout", [](auto) {}));
  NativeDropoutResult r;
  ASSIGN_OR_RETURN(r.mask, Tensor::Empty(ScalarType::kBool, input.shape()));
  if (!train) {
    ASSIGN_OR_RETURN(r.output, input.Clone());
    std::memset(r.mask.raw_data(), 1, r.mask.numel());
    return r;
  }
  ASSIGN_OR_RETURN(r.output, Tensor::Empty(input.dtype(), input.shape()));
  RETURN_IF_ERROR(DropoutInto(input, r.output,
                              static_cast<uint8_t*>(r.mask.raw_data()), p, gen));
  return r;
}

absl::Status Bernoulli_(Tensor& self, double q, PhiloxGenerator& gen) {
  RETURN_IF_ERROR(CheckCpuTensor(self, "bernoulli_", "self"));
  RETURN_IF_ERROR(CheckProbability(q, "bernoulli_", "p"));
  if (self.dtype() != ScalarType::kBool) {
    RETURN_IF_ERROR(VisitFloating(self.dtype(), "bernoulli_", [](auto) {}));
  }
  const int64_t n = self.numel();
  const uint64_t offset = gen.Reserve(n);
  const uint32_t threshold = philox::KeepThreshold(q);
  if (self.dtype() == ScalarType::kBool) {
    MaskOnlyParallel(static_cast<uint8_t*>(self.raw_data()), n, gen.seed(),
                     offset, threshold);
    return absl::OkStatus();
  }
  return VisitFloating(self.dtype(), "bernoulli_", [&](auto tag) {
    using T = decltype(tag);
    MaskParallel<T>(nullptr, self.data<T>(), nullptr, n, gen.seed(), offset,
                    threshold, 1.0);
  });
}

absl::Status DivScalar_(Tensor& self, double divisor) {
  RETURN_IF_ERROR(CheckCpuTensor(self, "div_", "self"));
  return VisitFloating(self.dtype(), "div_", [&](auto tag) {
    using T = decltype(tag);
    T* d = self.data<T>();
    ThreadPool::Default().ParallelFor(
        self.numel(), kMaskGrain, [&](int64_t b, int64_t e) {
          for (int64_t i = b; i < e; ++i) {
            if constexpr (std::is_same_v<T, double>) {
              d[i] /= divisor;
            } else {
              d[i] = FromFloat<T>(ToFloat(d[i]) / static_cast<float>(divisor));
            }
          }
        });
  });
}

absl::StatusOr<Tensor> Mul(const Tensor& a, const Tensor& b) {
  RETURN_IF_ERROR(CheckCpuTensor(a, "mul", "self"));
  RETURN_IF_ERROR(CheckCpuTensor(b, "mul", "other"));
  if (a.shape() != b.shape()) {
    return absl::InvalidArgumentError(
        absl::StrCat("mul: shapes differ: ", ShapeToString(a.shape()), " vs ",
                     ShapeToString(b.shape()), " (no broadcasting here)"));
  }
  if (b.dtype() != a.dtype() && b.dtype() != ScalarType::kBool) {
    return absl::InvalidArgumentError(absl::StrCat(
        "mul: other must have self's dtype ", ScalarTypeName(a.dtype()),
        " or be bool, got ", ScalarTypeName(b.dtype())));
  }
  ASSIGN_OR_RETURN(Tensor out, Tensor::Empty(a.dtype(), a.shape()));
  RETURN_IF_ERROR(VisitFloating(a.dtype(), "mul", [&](auto tag) {
    using T = decltype(tag);
    const T* x = a.data<T>();
    T* y = out.data<T>();
    const bool mask = b.dtype() == ScalarType::kBool;
    const uint8_t* m = static_cast<const uint8_t*>(b.raw_data());
    const T* z = mask ? nullptr : b.data<T>();
    ThreadPool::Default().ParallelFor(
        a.numel(), kMaskGrain, [&](int64_t lo, int64_t hi) {
          for (int64_t i = lo; i < hi; ++i) {
            if constexpr (std::is_same_v<T, double>) {
              y[i] = x[i] * (mask ? (m[i] ? 1.0 : 0.0) : z[i]);
            } else {
              y[i] = FromFloat<T>(ToFloat(x[i]) *
                                  (mask ? (m[i] ? 1.0f : 0.0f) : ToFloat(z[i])));
            }
          }
        });
  }));
  return out;
}

absl::StatusOr<BatchNormResult> NativeBatchNorm(
    const Tensor& input, const Tensor* weight, const Tensor* bias,
    Tensor* running_mean, Tensor* running_var, bool training, double momentum,
    double eps) {
  ASSIGN_OR_RETURN(BnArgs a,
                   ValidateBatchNorm(input, weight, bias, running_mean,
                                     running_var, training, momentum, eps));
  return BatchNormImpl(a, training, momentum, eps);
}

absl::StatusOr<BatchNormResult> NativeBatchNormLegitNoStats(
    const Tensor& input, const Tensor* weight, const Tensor* bias,
    bool training, double momentum, double eps) {
  return NativeBatchNorm(input, weight, bias, nullptr, nullptr, training,
                         momentum, eps);
}

absl::StatusOr<BatchNormResult> NativeBatchNormLegitNoTraining(
    const Tensor& input, const Tensor* weight, const Tensor* bias,
    const Tensor& running_mean, const Tensor& running_var, double momentum,
    double eps) {
  // Eval never writes the running stats, so dropping const is safe.
  return NativeBatchNorm(input, weight, bias,
                         const_cast<Tensor*>(&running_mean),
                         const_cast<Tensor*>(&running_var), false, momentum,
                         eps);
}

absl::StatusOr<BatchNormFunctionalResult> NativeBatchNormLegitFunctional(
    const Tensor& input, const Tensor* weight, const Tensor* bias,
    const Tensor& running_mean, const Tensor& running_var, bool training,
    double momentum, double eps) {
  RETURN_IF_ERROR(CheckCpuTensor(running_mean, "batch_norm", "running_mean"));
  RETURN_IF_ERROR(CheckCpuTensor(running_var, "batch_norm", "running_var"));
  BatchNormFunctionalResult r;
  ASSIGN_OR_RETURN(r.running_mean, running_mean.Clone());
  ASSIGN_OR_RETURN(r.running_var, running_var.Clone());
  ASSIGN_OR_RETURN(BatchNormResult b,
                   NativeBatchNorm(input, weight, bias, &r.running_mean,
                                   &r.running_var, training, momentum, eps));
  r.output = std::move(b.output);
  r.save_mean = std::move(b.save_mean);
  r.save_invstd = std::move(b.save_invstd);
  return r;
}

absl::StatusOr<Tensor> BatchNorm(const Tensor& input, const Tensor* weight,
                                 const Tensor* bias, Tensor* running_mean,
                                 Tensor* running_var, bool training,
                                 double momentum, double eps) {
  ASSIGN_OR_RETURN(BatchNormResult r,
                   NativeBatchNorm(input, weight, bias, running_mean,
                                   running_var, training, momentum, eps));
  return std::move(r.output);
}

}  // namespace rewire
