// Straightforward CPU loops for the common ops (see common_ops.h). Values go
// through double via per-dtype load/store functions so one loop serves every
// dtype; the compute-heavy ops (convolution, matrix products, pooling) are
// templated on float/double instead.
#include "kernels/common_ops.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <numeric>
#include <type_traits>
#include <utility>

#include "absl/numeric/int128.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "ir/status_macros.h"
#include "kernels/dnnl_conv.h"
#include "kernels/elementwise_util.h"
#include "kernels/gemm.h"

namespace rewire {
namespace ops {
namespace {

using namespace elementwise_util;  // NOLINT(build/namespaces): this file's toolkit

double Apply(BinaryKind k, double a, double b, double alpha) {
  switch (k) {
    case BinaryKind::kAdd: return a + alpha * b;
    case BinaryKind::kSub: return a - alpha * b;
    case BinaryKind::kMul: return a * b;
    case BinaryKind::kDiv: return a / b;
  }
  return 0;
}

const char* BinaryName(BinaryKind k) {
  switch (k) {
    case BinaryKind::kAdd: return "add";
    case BinaryKind::kSub: return "sub";
    case BinaryKind::kMul: return "mul";
    case BinaryKind::kDiv: return "div";
  }
  return "?";
}

// int64 arithmetic that wraps around in two's complement, as PyTorch's
// integer tensors do; computed on uint64_t because signed overflow is
// undefined behaviour.
int64_t WrapAdd(int64_t a, int64_t b) {
  return static_cast<int64_t>(static_cast<uint64_t>(a) + static_cast<uint64_t>(b));
}
int64_t WrapSub(int64_t a, int64_t b) {
  return static_cast<int64_t>(static_cast<uint64_t>(a) - static_cast<uint64_t>(b));
}
int64_t WrapMul(int64_t a, int64_t b) {
  return static_cast<int64_t>(static_cast<uint64_t>(a) * static_cast<uint64_t>(b));
}

// Whether a double converts to int64_t without undefined behaviour.
bool FitsInt64(double v) { return v >= -0x1p63 && v < 0x1p63; }

// out = a op b with broadcasting into out's (already checked) shape.
absl::Status BinaryInto(BinaryKind kind, const Tensor& a, const Tensor& b,
                        Scalar alpha, Tensor& out) {
  const auto sa = BroadcastStrides(a.shape(), out.shape());
  const auto sb = BroadcastStrides(b.shape(), out.shape());
  if (a.dtype() == ScalarType::kInt64 && b.dtype() == ScalarType::kInt64 &&
      out.dtype() == ScalarType::kInt64 && kind != BinaryKind::kDiv &&
      alpha.integral && FitsInt64(alpha.value)) {
    // Exact integer path (num_batches_tracked += 1 must not round).
    const int64_t* x = a.data<int64_t>();
    const int64_t* y = b.data<int64_t>();
    int64_t* z = out.data<int64_t>();
    const int64_t al = static_cast<int64_t>(alpha.value);
    ForEachBroadcast(out.shape(), sa, sb, [&](int64_t i, int64_t ia, int64_t ib) {
      switch (kind) {
        case BinaryKind::kAdd: z[i] = WrapAdd(x[ia], WrapMul(al, y[ib])); break;
        case BinaryKind::kSub: z[i] = WrapSub(x[ia], WrapMul(al, y[ib])); break;
        default: z[i] = WrapMul(x[ia], y[ib]); break;
      }
    });
    return absl::OkStatus();
  }
  if (a.dtype() == ScalarType::kFloat32 && out.dtype() == ScalarType::kFloat32 &&
      (b.dtype() == ScalarType::kFloat32 || b.numel() == 1)) {
    // float32, the models' dtype: typed loops (each result computed in
    // double and rounded once, as the generic path does).
    const float* x = a.data<float>();
    float* z = out.data<float>();
    const int64_t n = out.numel();
    if (b.numel() == 1 && a.numel() == n) {
      double y;
      if (b.dtype() == ScalarType::kFloat32) {
        y = b.data<float>()[0];
      } else {
        ASSIGN_OR_RETURN(auto ib, Io(b.dtype()));
        y = ib.first(b.raw_data(), 0);
      }
      for (int64_t i = 0; i < n; ++i) z[i] = static_cast<float>(Apply(kind, x[i], y, alpha.value));
      return absl::OkStatus();
    }
    if (b.dtype() == ScalarType::kFloat32) {
      const float* y = b.data<float>();
      if (a.numel() == n && b.numel() == n) {
        // The op chosen outside the loop, so each loop vectorizes.
        const double al = alpha.value;
        auto run = [&](auto op) {
          ParallelElements(n, [&](int64_t lo, int64_t hi) {
            for (int64_t i = lo; i < hi; ++i) z[i] = op(x[i], y[i]);
          });
        };
        switch (kind) {
          case BinaryKind::kAdd:
            if (al == 1) {
              run([](float u, float v) { return u + v; });
            } else {
              run([al](float u, float v) { return static_cast<float>(u + al * v); });
            }
            break;
          case BinaryKind::kSub:
            run([al](float u, float v) { return static_cast<float>(u - al * v); });
            break;
          case BinaryKind::kMul:
            run([](float u, float v) { return u * v; });
            break;
          case BinaryKind::kDiv:
            run([](float u, float v) { return u / v; });
            break;
        }
        return absl::OkStatus();
      }
      ForEachBroadcast(out.shape(), sa, sb, [&](int64_t i, int64_t oa, int64_t ob) {
        z[i] = static_cast<float>(Apply(kind, x[oa], y[ob], alpha.value));
      });
      return absl::OkStatus();
    }
  }
  ASSIGN_OR_RETURN(auto ia, Io(a.dtype()));
  ASSIGN_OR_RETURN(auto ib, Io(b.dtype()));
  ASSIGN_OR_RETURN(auto io, Io(out.dtype()));
  const void* pa = a.raw_data();
  const void* pb = b.raw_data();
  void* po = out.raw_data();
  ForEachBroadcast(out.shape(), sa, sb, [&](int64_t i, int64_t oa, int64_t ob) {
    io.second(po, i, Apply(kind, ia.first(pa, oa), ib.first(pb, ob), alpha.value));
  });
  return absl::OkStatus();
}

absl::StatusOr<Tensor> ScalarTensor(Scalar s, ScalarType dtype) {
  return Full({}, s.value, dtype);
}

template <typename F>
absl::Status MapInto(const Tensor& x, Tensor& out, F&& f) {
  if (x.dtype() == ScalarType::kFloat32 && out.dtype() == ScalarType::kFloat32) {
    const float* px = x.data<float>();
    float* po = out.data<float>();
    for (int64_t i = 0; i < x.numel(); ++i) po[i] = static_cast<float>(f(px[i]));
    return absl::OkStatus();
  }
  ASSIGN_OR_RETURN(auto ix, Io(x.dtype()));
  ASSIGN_OR_RETURN(auto io, Io(out.dtype()));
  const void* px = x.raw_data();
  void* po = out.raw_data();
  for (int64_t i = 0; i < x.numel(); ++i) io.second(po, i, f(ix.first(px, i)));
  return absl::OkStatus();
}

double UnaryValue(UnaryKind k, double v) {
  switch (k) {
    case UnaryKind::kRelu: return v > 0 ? v : (std::isnan(v) ? v : 0.0);
    case UnaryKind::kSigmoid: return 1.0 / (1.0 + std::exp(-v));
    case UnaryKind::kTanh: return std::tanh(v);
    case UnaryKind::kSilu: return v / (1.0 + std::exp(-v));
    case UnaryKind::kGelu: return 0.5 * v * (1.0 + std::erf(v / std::sqrt(2.0)));
    case UnaryKind::kGeluTanh: {
      const double c = std::sqrt(2.0 / M_PI);
      return 0.5 * v * (1.0 + std::tanh(c * (v + 0.044715 * v * v * v)));
    }
    case UnaryKind::kNeg: return -v;
    case UnaryKind::kExp: return std::exp(v);
    case UnaryKind::kSqrt: return std::sqrt(v);
    case UnaryKind::kRsqrt: return 1.0 / std::sqrt(v);
    case UnaryKind::kHardswish: return v * std::min(std::max(v + 3.0, 0.0), 6.0) / 6.0;
    case UnaryKind::kHardsigmoid: return std::min(std::max(v + 3.0, 0.0), 6.0) / 6.0;
    case UnaryKind::kAbs: return std::fabs(v);
    case UnaryKind::kLog: return std::log(v);
    case UnaryKind::kErf: return std::erf(v);
    case UnaryKind::kReciprocal: return 1.0 / v;
  }
  return v;
}

absl::Status CheckUnaryDtype(UnaryKind k, const Tensor& x) {
  RETURN_IF_ERROR(CheckCpu(x, "unary op input"));
  if (IsFloatingPoint(x.dtype())) return absl::OkStatus();
  if ((k == UnaryKind::kRelu || k == UnaryKind::kNeg || k == UnaryKind::kAbs) && IsIntegral(x.dtype()) &&
      x.dtype() != ScalarType::kBool) {
    return absl::OkStatus();
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "dtype ", ScalarTypeName(x.dtype()), " is not supported by this activation"));
}

absl::StatusOr<std::vector<int64_t>> ReducedShape(
    const Tensor& x, absl::Span<const int64_t> dims, bool keepdim,
    std::vector<bool>* reduced) {
  reduced->assign(x.dim(), dims.empty());
  for (int64_t d : dims) {
    ASSIGN_OR_RETURN(int nd, NormalizeDim(d, x.dim()));
    if ((*reduced)[nd]) {
      return absl::InvalidArgumentError(absl::StrCat("dim ", d, " appears twice"));
    }
    (*reduced)[nd] = true;
  }
  std::vector<int64_t> out;
  for (int i = 0; i < x.dim(); ++i) {
    if (!(*reduced)[i]) {
      out.push_back(x.size(i));
    } else if (keepdim) {
      out.push_back(1);
    }
  }
  return out;
}

absl::StatusOr<Tensor> Reduce(const Tensor& x, absl::Span<const int64_t> dims,
                              bool keepdim, ScalarType dtype, bool mean) {
  RETURN_IF_ERROR(CheckCpu(x, mean ? "mean" : "sum"));
  std::vector<bool> reduced;
  ASSIGN_OR_RETURN(std::vector<int64_t> out_shape,
                   ReducedShape(x, dims, keepdim, &reduced));
  // Output index of each input element: strides of the kept dims.
  std::vector<int64_t> kept_shape(x.dim());
  for (int i = 0; i < x.dim(); ++i) kept_shape[i] = reduced[i] ? 1 : x.size(i);
  ASSIGN_OR_RETURN(int64_t out_n, CheckedNumel(kept_shape));
  std::vector<double> acc(out_n, 0.0);
  const auto so = BroadcastStrides(kept_shape, x.shape());
  ASSIGN_OR_RETURN(auto ix, Io(x.dtype()));
  const void* px = x.raw_data();
  ForEachBroadcast(x.shape(), so, so, [&](int64_t i, int64_t o, int64_t) {
    acc[o] += ix.first(px, i);
  });
  const int64_t count = out_n == 0 ? 0 : x.numel() / std::max<int64_t>(out_n, 1);
  ASSIGN_OR_RETURN(Tensor out, Tensor::Empty(dtype, out_shape));
  ASSIGN_OR_RETURN(auto io, Io(dtype));
  for (int64_t i = 0; i < out_n; ++i) {
    io.second(out.raw_data(), i,
              mean ? acc[i] / static_cast<double>(count) : acc[i]);
  }
  return out;
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
Taps ValidTaps(int64_t o, int64_t k, int64_t s, int64_t pad, int64_t d,
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

absl::StatusOr<int64_t> CheckedProduct(int64_t a, int64_t b) {
  int64_t r;
  if (__builtin_mul_overflow(a, b, &r)) {
    return absl::InvalidArgumentError("size overflows int64");
  }
  return r;
}

}  // namespace

// ------------------------------------------------------------ shape helpers

absl::StatusOr<int> NormalizeDim(int64_t dim, int rank) {
  const int64_t r = std::max(rank, 1);
  if (dim < -r || dim >= r) {
    return absl::InvalidArgumentError(absl::StrCat(
        "dimension ", dim, " out of range for a ", rank, "-D tensor"));
  }
  return static_cast<int>(dim < 0 ? dim + r : dim);
}

absl::StatusOr<std::vector<int64_t>> BroadcastShapes(
    absl::Span<const int64_t> a, absl::Span<const int64_t> b) {
  const size_t n = std::max(a.size(), b.size());
  std::vector<int64_t> out(n);
  for (size_t i = 0; i < n; ++i) {
    const int64_t x = i < n - a.size() ? 1 : a[i - (n - a.size())];
    const int64_t y = i < n - b.size() ? 1 : b[i - (n - b.size())];
    if (x != y && x != 1 && y != 1) {
      return absl::InvalidArgumentError(
          absl::StrCat("shapes ", ShapeToString(a), " and ", ShapeToString(b),
                       " do not broadcast (dim ", i, ")"));
    }
    out[i] = x == 1 ? y : x;
  }
  return out;
}

absl::StatusOr<std::vector<int64_t>> InferShape(absl::Span<const int64_t> sizes,
                                                int64_t numel) {
  std::vector<int64_t> out(sizes.begin(), sizes.end());
  int infer = -1;
  int64_t known = 1;
  for (size_t i = 0; i < out.size(); ++i) {
    if (out[i] == -1) {
      if (infer >= 0) return absl::InvalidArgumentError("only one dimension can be -1");
      infer = static_cast<int>(i);
    } else if (out[i] < 0) {
      return absl::InvalidArgumentError(absl::StrCat("invalid size ", out[i]));
    } else {
      ASSIGN_OR_RETURN(known, CheckedProduct(known, out[i]));
    }
  }
  if (infer >= 0) {
    if (known == 0 || numel % known != 0) {
      return absl::InvalidArgumentError(absl::StrCat(
          "shape ", ShapeToString(sizes), " is invalid for input of size ", numel));
    }
    out[infer] = numel / known;
  } else if (known != numel) {
    return absl::InvalidArgumentError(absl::StrCat(
        "shape ", ShapeToString(sizes), " is invalid for input of size ", numel));
  }
  return out;
}

// ------------------------------------------------------------- elementwise

absl::StatusOr<Tensor> Binary(BinaryKind kind, const Tensor& a, const Tensor& b,
                              Scalar alpha) {
  RETURN_IF_ERROR(CheckCpu(a, BinaryName(kind)));
  RETURN_IF_ERROR(CheckCpu(b, BinaryName(kind)));
  ASSIGN_OR_RETURN(std::vector<int64_t> shape, BroadcastShapes(a.shape(), b.shape()));
  ScalarType dtype = PromoteTypes(a, b);
  if (kind == BinaryKind::kDiv && !IsFloatingPoint(dtype)) dtype = ScalarType::kFloat32;
  if (!IsFloatingPoint(dtype) && !alpha.integral) {
    return absl::InvalidArgumentError(
        absl::StrCat(BinaryName(kind), ": a float alpha needs a floating result"));
  }
  ASSIGN_OR_RETURN(Tensor out, Tensor::Empty(dtype, shape));
  RETURN_IF_ERROR(BinaryInto(kind, a, b, alpha, out));
  return out;
}

absl::StatusOr<Tensor> BinaryScalar(BinaryKind kind, const Tensor& a, Scalar b,
                                    Scalar alpha) {
  RETURN_IF_ERROR(CheckCpu(a, BinaryName(kind)));
  ScalarType dtype = a.dtype();
  if (!IsFloatingPoint(dtype) && (!b.integral || kind == BinaryKind::kDiv)) {
    dtype = ScalarType::kFloat32;
  }
  ASSIGN_OR_RETURN(Tensor bt, ScalarTensor(b, IsFloatingPoint(dtype) ? ScalarType::kFloat64 : ScalarType::kInt64));
  ASSIGN_OR_RETURN(Tensor out, Tensor::Empty(dtype, a.shape()));
  RETURN_IF_ERROR(BinaryInto(kind, a, bt, alpha, out));
  return out;
}

absl::Status BinaryInPlace(BinaryKind kind, Tensor& self, const Tensor& other,
                           Scalar alpha) {
  RETURN_IF_ERROR(CheckCpu(self, BinaryName(kind)));
  RETURN_IF_ERROR(CheckCpu(other, BinaryName(kind)));
  ASSIGN_OR_RETURN(std::vector<int64_t> shape,
                   BroadcastShapes(self.shape(), other.shape()));
  if (shape != self.shape()) {
    return absl::InvalidArgumentError(absl::StrCat(
        BinaryName(kind), "_: output with shape ", ShapeToString(self.shape()),
        " doesn't match the broadcast shape ", ShapeToString(shape)));
  }
  const bool float_result = IsFloatingPoint(other.dtype()) ||
                            kind == BinaryKind::kDiv || !alpha.integral;
  if (!IsFloatingPoint(self.dtype()) && float_result) {
    return absl::InvalidArgumentError(absl::StrCat(
        BinaryName(kind), "_: result type float can't be cast to ",
        ScalarTypeName(self.dtype())));
  }
  return BinaryInto(kind, self, other, alpha, self);
}

absl::Status BinaryScalarInPlace(BinaryKind kind, Tensor& self, Scalar other,
                                 Scalar alpha) {
  ASSIGN_OR_RETURN(Tensor bt, ScalarTensor(other, other.integral ? ScalarType::kInt64
                                                                 : ScalarType::kFloat64));
  return BinaryInPlace(kind, self, bt, alpha);
}

absl::StatusOr<Tensor> RsubScalar(const Tensor& self, Scalar other, Scalar alpha) {
  RETURN_IF_ERROR(CheckCpu(self, "rsub"));
  ScalarType dtype = self.dtype();
  if (!IsFloatingPoint(dtype) && !(other.integral && alpha.integral)) dtype = ScalarType::kFloat32;
  ASSIGN_OR_RETURN(Tensor out, Tensor::Empty(dtype, self.shape()));
  RETURN_IF_ERROR(MapInto(self, out, [&](double v) { return other.value - alpha.value * v; }));
  return out;
}

// float32 relu (one loop the compiler vectorizes) and gelu (in float: the
// double erf was most of a ViT's activation time).
bool UnaryFloat(UnaryKind kind, const Tensor& x, Tensor& out) {
  if (x.dtype() != ScalarType::kFloat32) return false;
  const float* px = x.data<float>();
  float* po = out.data<float>();
  switch (kind) {
    case UnaryKind::kRelu:
      ParallelElements(x.numel(), [&](int64_t b, int64_t e) {
        for (int64_t i = b; i < e; ++i) {
          const float v = px[i];
          po[i] = v < 0.0f ? 0.0f : v;  // NaN compares false and stays NaN
        }
      });
      return true;
    case UnaryKind::kGelu:
      ParallelElements(x.numel(), [&](int64_t b, int64_t e) {
        for (int64_t i = b; i < e; ++i) {
          const float v = px[i];
          po[i] = 0.5f * v * (1.0f + std::erf(v * 0.70710678118654752f));
        }
      });
      return true;
    default:
      return false;
  }
}

absl::StatusOr<Tensor> Unary(UnaryKind kind, const Tensor& x) {
  RETURN_IF_ERROR(CheckUnaryDtype(kind, x));
  ASSIGN_OR_RETURN(Tensor out, Tensor::Empty(x.dtype(), x.shape()));
  if (UnaryFloat(kind, x, out)) return out;
  RETURN_IF_ERROR(MapInto(x, out, [kind](double v) { return UnaryValue(kind, v); }));
  return out;
}

absl::Status UnaryInPlace(UnaryKind kind, Tensor& x) {
  RETURN_IF_ERROR(CheckUnaryDtype(kind, x));
  if (UnaryFloat(kind, x, x)) return absl::OkStatus();
  return MapInto(x, x, [kind](double v) { return UnaryValue(kind, v); });
}

absl::StatusOr<Tensor> Hardtanh(const Tensor& x, double lo, double hi) {
  ASSIGN_OR_RETURN(Tensor out, x.Clone());
  RETURN_IF_ERROR(Hardtanh_(out, lo, hi));
  return out;
}

absl::Status Hardtanh_(Tensor& x, double lo, double hi) {
  RETURN_IF_ERROR(CheckCpu(x, "hardtanh"));
  if (x.dtype() == ScalarType::kBool) {
    return absl::InvalidArgumentError("hardtanh: bool is not supported");
  }
  if (x.dtype() == ScalarType::kFloat32) {
    // One vectorizable loop; NaN compares false both ways and stays.
    float* p = x.data<float>();
    const float l = static_cast<float>(lo), h = static_cast<float>(hi);
    ParallelElements(x.numel(), [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i) {
        const float v = p[i];
        p[i] = v < l ? l : (v > h ? h : v);
      }
    });
    return absl::OkStatus();
  }
  return MapInto(x, x, [lo, hi](double v) {
    return std::isnan(v) ? v : std::min(std::max(v, lo), hi);
  });
}

absl::StatusOr<Tensor> PowScalar(const Tensor& x, double e) {
  RETURN_IF_ERROR(CheckCpu(x, "pow"));
  if (!IsFloatingPoint(x.dtype())) {
    return absl::InvalidArgumentError("pow: floating input required");
  }
  ASSIGN_OR_RETURN(Tensor out, Tensor::Empty(x.dtype(), x.shape()));
  RETURN_IF_ERROR(MapInto(x, out, [e](double v) { return std::pow(v, e); }));
  return out;
}

// ----------------------------------------------------- creation and copies

absl::StatusOr<Tensor> Full(std::vector<int64_t> shape, double value,
                            ScalarType dtype) {
  ASSIGN_OR_RETURN(auto io, Io(dtype));
  ASSIGN_OR_RETURN(Tensor out, Tensor::Empty(dtype, std::move(shape)));
  if (value == 0.0 && !std::signbit(value)) {
    std::memset(out.raw_data(), 0, out.nbytes());
  } else {
    for (int64_t i = 0; i < out.numel(); ++i) io.second(out.raw_data(), i, value);
  }
  return out;
}

absl::StatusOr<Tensor> Cast(const Tensor& x, ScalarType dtype) {
  RETURN_IF_ERROR(CheckCpu(x, "cast"));
  if (dtype == x.dtype()) return x.Clone();
  ASSIGN_OR_RETURN(Tensor out, Tensor::Empty(dtype, x.shape()));
  RETURN_IF_ERROR(MapInto(x, out, [](double v) { return v; }));
  return out;
}

absl::Status CopyInto(Tensor& dst, const Tensor& src) {
  RETURN_IF_ERROR(CheckCpu(dst, "copy_ self"));
  RETURN_IF_ERROR(CheckCpu(src, "copy_ src"));
  ASSIGN_OR_RETURN(std::vector<int64_t> shape, BroadcastShapes(dst.shape(), src.shape()));
  if (shape != dst.shape()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "copy_: src of shape ", ShapeToString(src.shape()),
        " does not broadcast to self's shape ", ShapeToString(dst.shape())));
  }
  if (src.dtype() == dst.dtype() && src.shape() == dst.shape()) {
    if (!src.SharesStorageWith(dst) || src.raw_data() != dst.raw_data()) {
      std::memmove(dst.raw_data(), src.raw_data(), dst.nbytes());
    }
    return absl::OkStatus();
  }
  ASSIGN_OR_RETURN(auto is, Io(src.dtype()));
  ASSIGN_OR_RETURN(auto io, Io(dst.dtype()));
  const auto ss = BroadcastStrides(src.shape(), dst.shape());
  const void* ps = src.raw_data();
  void* pd = dst.raw_data();
  ForEachBroadcast(dst.shape(), ss, ss, [&](int64_t i, int64_t o, int64_t) {
    io.second(pd, i, is.first(ps, o));
  });
  return absl::OkStatus();
}

// ---------------------------------------------------------------- shapes

absl::StatusOr<Tensor> Cat(absl::Span<const Tensor> tensors, int64_t dim) {
  if (tensors.empty()) return absl::InvalidArgumentError("cat: no tensors");
  // Legacy: 1-D empty tensors are skipped.
  std::vector<const Tensor*> parts;
  for (const Tensor& t : tensors) {
    RETURN_IF_ERROR(CheckCpu(t, "cat input"));
    if (t.dim() == 1 && t.numel() == 0) continue;
    parts.push_back(&t);
  }
  if (parts.empty()) return tensors[0].Clone();
  const Tensor& first = *parts[0];
  // NormalizeDim accepts dim 0 of a 0-D tensor (as a 1-D view would), but a
  // scalar has no dim to concatenate along; PyTorch refuses it too.
  if (first.dim() == 0) {
    return absl::InvalidArgumentError(
        "cat: zero-dimensional tensor cannot be concatenated");
  }
  ASSIGN_OR_RETURN(int d, NormalizeDim(dim, first.dim()));
  std::vector<int64_t> shape = first.shape();
  shape[d] = 0;
  for (const Tensor* t : parts) {
    if (t->dim() != first.dim() || t->dtype() != first.dtype()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "cat: tensors must share rank and dtype: ", first.DebugString(), " vs ",
          t->DebugString()));
    }
    for (int i = 0; i < first.dim(); ++i) {
      if (i != d && t->size(i) != first.size(i)) {
        return absl::InvalidArgumentError(absl::StrCat(
            "cat: sizes must match except in dim ", d, ": ",
            ShapeToString(first.shape()), " vs ", ShapeToString(t->shape())));
      }
    }
    shape[d] += t->size(d);
  }
  ASSIGN_OR_RETURN(Tensor out, Tensor::Empty(first.dtype(), shape));
  int64_t outer = 1, inner = first.itemsize();
  for (int i = 0; i < d; ++i) outer *= shape[i];
  for (int i = d + 1; i < first.dim(); ++i) inner *= shape[i];
  char* dst = static_cast<char*>(out.raw_data());
  const int64_t row = shape[d] * inner;
  int64_t col = 0;
  for (const Tensor* t : parts) {
    const int64_t chunk = t->size(d) * inner;
    const char* src = static_cast<const char*>(t->raw_data());
    for (int64_t o = 0; o < outer; ++o) {
      std::memcpy(dst + o * row + col, src + o * chunk, chunk);
    }
    col += chunk;
  }
  return out;
}


// ------------------------------------------------------ linear algebra

absl::StatusOr<Tensor> Conv2d(const Tensor& input_in, const Tensor& weight,
                              const Tensor* bias, std::array<int64_t, 2> stride,
                              std::array<int64_t, 2> padding,
                              std::array<int64_t, 2> dilation, int64_t groups) {
  RETURN_IF_ERROR(CheckFloat(input_in, "conv2d"));
  RETURN_IF_ERROR(CheckFloat(weight, "conv2d weight"));
  const bool unbatched = input_in.dim() == 3;
  if (input_in.dim() != 4 && !unbatched) {
    return absl::InvalidArgumentError(absl::StrCat(
        "conv2d: expected 3-D or 4-D input, got ", ShapeToString(input_in.shape())));
  }
  Tensor input = input_in;
  if (unbatched) {
    std::vector<int64_t> batched = input_in.shape();
    batched.insert(batched.begin(), 1);
    ASSIGN_OR_RETURN(input, input_in.Reshape(std::move(batched)));
  }
  if (weight.dim() != 4 || weight.dtype() != input.dtype()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "conv2d: weight must be 4-D of the input's dtype, got ", weight.DebugString()));
  }
  for (int i = 0; i < 2; ++i) {
    if (stride[i] < 1 || padding[i] < 0 || dilation[i] < 1) {
      return absl::InvalidArgumentError("conv2d: stride and dilation must be >= 1, padding >= 0");
    }
  }
  const int64_t n = input.size(0), c = input.size(1), h = input.size(2), w = input.size(3);
  const int64_t o = weight.size(0), kh = weight.size(2), kw = weight.size(3);
  if (groups < 1 || c % groups != 0 || o % groups != 0 || weight.size(1) * groups != c) {
    return absl::InvalidArgumentError(absl::StrCat(
        "conv2d: input ", ShapeToString(input.shape()), ", weight ",
        ShapeToString(weight.shape()), " and groups=", groups, " do not agree"));
  }
  if (bias != nullptr && bias->defined() &&
      (bias->dim() != 1 || bias->size(0) != o || bias->dtype() != input.dtype())) {
    return absl::InvalidArgumentError(absl::StrCat(
        "conv2d: bias must be [", o, "] of the input's dtype, got ", bias->DebugString()));
  }
  // In 128 bits: paddings and dilations come from the graph, and their
  // products need not fit in int64.
  auto out_size = [&](int64_t in, int i, int64_t k) {
    const absl::int128 num =
        absl::int128(in) + absl::int128(2) * padding[i] -
        absl::int128(dilation[i]) * (absl::int128(k) - 1) - 1;
    // Floor division, as PyTorch: truncation turned a kernel one larger than
    // the padded input (num == -1) with stride > 1 into one output row.
    const absl::int128 s = stride[i];
    return (num >= 0 ? num / s : -((-num + s - 1) / s)) + 1;
  };
  const absl::int128 oh_wide = out_size(h, 0, kh);
  const absl::int128 ow_wide = out_size(w, 1, kw);
  if (oh_wide <= 0 || ow_wide <= 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "conv2d: kernel larger than padded input ", ShapeToString(input.shape())));
  }
  if (oh_wide > std::numeric_limits<int64_t>::max() ||
      ow_wide > std::numeric_limits<int64_t>::max()) {
    return absl::InvalidArgumentError(
        "conv2d: padding too large (the output size overflows int64)");
  }
  const int64_t oh = static_cast<int64_t>(oh_wide);
  const int64_t ow = static_cast<int64_t>(ow_wide);
  std::vector<int64_t> out_shape = {n, o, oh, ow};
  if (unbatched) out_shape.erase(out_shape.begin());
  ASSIGN_OR_RETURN(Tensor out, Tensor::Empty(input.dtype(), out_shape));
  if (out.numel() == 0) return out;
  const bool has_bias = bias != nullptr && bias->defined();
  // oneDNN takes the shapes models have; window parameters far beyond any
  // model's (which a hostile graph may hold, and which oneDNN refuses) and
  // the no-input-channel case go to the loop below, exact for any size.
  bool dnnl_shape = input.numel() > 0 && weight.numel() > 0;
  for (int i = 0; i < 2; ++i) {
    constexpr int64_t kMax = int64_t{1} << 16;
    dnnl_shape = dnnl_shape && stride[i] <= kMax && padding[i] <= kMax && dilation[i] <= kMax;
  }
  if (input.dtype() == ScalarType::kFloat32 && dnnl_shape) {
    const Conv2dGeometry geo{n, c, h, w, o, kh, kw, oh, ow, groups, stride, padding, dilation};
    RETURN_IF_ERROR(DnnlConv2d(geo, input.data<float>(), weight.data<float>(),
                               has_bias ? bias->data<float>() : nullptr, out.data<float>()));
    return out;
  }
  // float64 (oneDNN has no f64 convolution) and the shapes above: a direct
  // loop accumulating in double.
  const int64_t cg = c / groups, og = o / groups;
  VisitFloat(input.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* x = input.data<T>();
    const T* k = weight.data<T>();
    const T* b = (bias != nullptr && bias->defined()) ? bias->data<T>() : nullptr;
    T* y = out.data<T>();
    for (int64_t ni = 0; ni < n; ++ni) {
      for (int64_t oc = 0; oc < o; ++oc) {
        const int64_t g = oc / og;
        for (int64_t y0 = 0; y0 < oh; ++y0) {
          const Taps ty = ValidTaps(y0, kh, stride[0], padding[0], dilation[0], h);
          for (int64_t x0 = 0; x0 < ow; ++x0) {
            const Taps tx = ValidTaps(x0, kw, stride[1], padding[1], dilation[1], w);
            double acc = b ? static_cast<double>(b[oc]) : 0.0;
            for (int64_t ic = 0; ic < cg; ++ic) {
              const T* plane = x + ((ni * c) + g * cg + ic) * h * w;
              const T* kern = k + ((oc * cg) + ic) * kh * kw;
              for (int64_t i = ty.first; i < ty.last; ++i) {
                const int64_t yy = ty.first_pos + (i - ty.first) * dilation[0];
                for (int64_t j = tx.first; j < tx.last; ++j) {
                  const int64_t xx = tx.first_pos + (j - tx.first) * dilation[1];
                  acc += static_cast<double>(plane[yy * w + xx]) * kern[i * kw + j];
                }
              }
            }
            y[((ni * o + oc) * oh + y0) * ow + x0] = static_cast<T>(acc);
          }
        }
      }
    }
  });
  return out;
}

namespace {
// c[m, n] = alpha * a[m, k] @ b[k, n] (+ beta * c0 broadcast) into out.
absl::Status CheckMatmulPair(const Tensor& a, const Tensor& b, const char* op) {
  RETURN_IF_ERROR(CheckFloat(a, op));
  RETURN_IF_ERROR(CheckFloat(b, op));
  if (a.dtype() != b.dtype()) {
    return absl::InvalidArgumentError(absl::StrCat(
        op, ": dtypes differ: ", ScalarTypeName(a.dtype()), " vs ",
        ScalarTypeName(b.dtype())));
  }
  return absl::OkStatus();
}
}  // namespace

absl::StatusOr<Tensor> Mm(const Tensor& a, const Tensor& b) {
  RETURN_IF_ERROR(CheckMatmulPair(a, b, "mm"));
  if (a.dim() != 2 || b.dim() != 2 || a.size(1) != b.size(0)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "mm: shapes ", ShapeToString(a.shape()), " and ", ShapeToString(b.shape()),
        " cannot be multiplied"));
  }
  ASSIGN_OR_RETURN(Tensor out, Tensor::Empty(a.dtype(), {a.size(0), b.size(1)}));
  absl::Status st;
  VisitFloat(a.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const int64_t m = a.size(0), k = a.size(1), n = b.size(1);
    st = Gemm(false, false, m, n, k, T{1}, a.data<T>(), k, b.data<T>(), n, T{0},
              out.data<T>(), n);
  });
  RETURN_IF_ERROR(st);
  return out;
}

absl::StatusOr<Tensor> Bmm(const Tensor& a, const Tensor& b) {
  RETURN_IF_ERROR(CheckMatmulPair(a, b, "bmm"));
  if (a.dim() != 3 || b.dim() != 3 || a.size(0) != b.size(0) || a.size(2) != b.size(1)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "bmm: shapes ", ShapeToString(a.shape()), " and ", ShapeToString(b.shape()),
        " cannot be multiplied"));
  }
  const int64_t bs = a.size(0), m = a.size(1), k = a.size(2), n = b.size(2);
  ASSIGN_OR_RETURN(Tensor out, Tensor::Empty(a.dtype(), {bs, m, n}));
  absl::Status st;
  VisitFloat(a.dtype(), [&](auto tag) {
    using T = decltype(tag);
    for (int64_t i = 0; i < bs && st.ok(); ++i) {
      st = Gemm(false, false, m, n, k, T{1}, a.data<T>() + i * m * k, k,
                b.data<T>() + i * k * n, n, T{0}, out.data<T>() + i * m * n, n);
    }
  });
  RETURN_IF_ERROR(st);
  return out;
}

absl::StatusOr<Tensor> Linear(const Tensor& input, const Tensor& weight,
                              const Tensor* bias) {
  RETURN_IF_ERROR(CheckMatmulPair(input, weight, "linear"));
  if (input.dim() < 1 || weight.dim() != 2 ||
      input.size(input.dim() - 1) != weight.size(1)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "linear: input ", ShapeToString(input.shape()), " and weight ",
        ShapeToString(weight.shape()), " do not agree (in_features)"));
  }
  const int64_t k = weight.size(1), n = weight.size(0);
  const int64_t m = k == 0 ? 0 : input.numel() / k;
  const bool has_bias = bias != nullptr && bias->defined();
  if (has_bias && (bias->dtype() != input.dtype() || bias->numel() != n)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "linear: bias must have ", n, " elements of the input's dtype, got ",
        bias->DebugString()));
  }
  std::vector<int64_t> shape = input.shape();
  shape.back() = n;
  ASSIGN_OR_RETURN(Tensor out, Tensor::Empty(input.dtype(), shape));
  absl::Status st;
  VisitFloat(input.dtype(), [&](auto tag) {
    using T = decltype(tag);
    T* y = out.data<T>();
    st = Gemm(false, true, m, n, k, T{1}, input.data<T>(), k, weight.data<T>(), k, T{0}, y, n);
    if (has_bias) {
      const T* b = bias->data<T>();
      for (int64_t i = 0; i < m; ++i) {
        for (int64_t j = 0; j < n; ++j) y[i * n + j] += b[j];
      }
    }
  });
  RETURN_IF_ERROR(st);
  return out;
}

namespace {
// beta * self (broadcast to prod's shape) + alpha * prod, in prod's dtype.
absl::StatusOr<Tensor> ScaleAdd(const Tensor& self, const Tensor& prod, double beta,
                                double alpha, const char* op) {
  RETURN_IF_ERROR(CheckFloat(self, op));
  ASSIGN_OR_RETURN(std::vector<int64_t> shape, BroadcastShapes(self.shape(), prod.shape()));
  if (shape != prod.shape()) {
    return absl::InvalidArgumentError(absl::StrCat(
        op, ": self ", ShapeToString(self.shape()), " does not broadcast to ",
        ShapeToString(prod.shape())));
  }
  ASSIGN_OR_RETURN(Tensor out, Tensor::Empty(prod.dtype(), prod.shape()));
  const auto ss = BroadcastStrides(self.shape(), shape);
  const auto sp = BroadcastStrides(shape, shape);
  ASSIGN_OR_RETURN(auto is, Io(self.dtype()));
  ASSIGN_OR_RETURN(auto io, Io(prod.dtype()));
  ForEachBroadcast(shape, ss, sp, [&](int64_t i, int64_t os, int64_t op_i) {
    // beta == 0 ignores self entirely (NaN included), as in PyTorch.
    const double s = beta == 0.0 ? 0.0 : beta * is.first(self.raw_data(), os);
    io.second(out.raw_data(), i, s + alpha * io.first(prod.raw_data(), op_i));
  });
  return out;
}
}  // namespace

absl::StatusOr<Tensor> Addmm(const Tensor& self, const Tensor& m1,
                             const Tensor& m2, double beta, double alpha) {
  ASSIGN_OR_RETURN(Tensor prod, Mm(m1, m2));
  return ScaleAdd(self, prod, beta, alpha, "addmm");
}

absl::StatusOr<Tensor> Baddbmm(const Tensor& self, const Tensor& batch1,
                               const Tensor& batch2, double beta, double alpha) {
  ASSIGN_OR_RETURN(Tensor prod, Bmm(batch1, batch2));
  return ScaleAdd(self, prod, beta, alpha, "baddbmm");
}

absl::StatusOr<Tensor> Matmul(const Tensor& a, const Tensor& b) {
  if (a.dim() == 2 && b.dim() == 2) return Mm(a, b);
  if (a.dim() == 1 && b.dim() == 1) {
    ASSIGN_OR_RETURN(Tensor a2, a.Reshape({1, a.numel()}));
    ASSIGN_OR_RETURN(Tensor b2, b.Reshape({b.numel(), 1}));
    ASSIGN_OR_RETURN(Tensor r, Mm(a2, b2));
    return r.Reshape({});
  }
  if (a.dim() == 1 && b.dim() == 2) {
    ASSIGN_OR_RETURN(Tensor a2, a.Reshape({1, a.numel()}));
    ASSIGN_OR_RETURN(Tensor r, Mm(a2, b));
    return r.Reshape({b.size(1)});
  }
  if (a.dim() == 2 && b.dim() == 1) {
    ASSIGN_OR_RETURN(Tensor b2, b.Reshape({b.numel(), 1}));
    ASSIGN_OR_RETURN(Tensor r, Mm(a, b2));
    return r.Reshape({a.size(0)});
  }
  if (a.dim() == 3 && b.dim() == 3) return Bmm(a, b);
  if (a.dim() >= 3 && b.dim() == 2) {
    // Folding the batch dims into rows is exact for a shared right operand.
    const int64_t k = a.size(a.dim() - 1);
    ASSIGN_OR_RETURN(Tensor a2, a.Reshape({k == 0 ? 0 : a.numel() / k, k}));
    ASSIGN_OR_RETURN(Tensor r, Mm(a2, b));
    std::vector<int64_t> shape = a.shape();
    shape.back() = b.size(1);
    return r.Reshape(shape);
  }
  if (a.dim() == 0 || b.dim() == 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "matmul: both arguments need at least 1 dimension, got ", ShapeToString(a.shape()),
        " and ", ShapeToString(b.shape())));
  }
  // Batched: 1-D operands become a row / a column, the batch dims broadcast,
  // and the product is one bmm.
  ASSIGN_OR_RETURN(Tensor a2, a.dim() == 1 ? a.Reshape({1, a.numel()}) : absl::StatusOr<Tensor>(a));
  ASSIGN_OR_RETURN(Tensor b2, b.dim() == 1 ? b.Reshape({b.numel(), 1}) : absl::StatusOr<Tensor>(b));
  const int64_t m = a2.size(a2.dim() - 2), k = a2.size(a2.dim() - 1);
  const int64_t k2 = b2.size(b2.dim() - 2), n = b2.size(b2.dim() - 1);
  if (k != k2) {
    return absl::InvalidArgumentError(absl::StrCat(
        "matmul: shapes ", ShapeToString(a.shape()), " and ", ShapeToString(b.shape()),
        " cannot be multiplied"));
  }
  ASSIGN_OR_RETURN(std::vector<int64_t> batch,
                   BroadcastShapes(absl::MakeConstSpan(a2.shape()).subspan(0, a2.dim() - 2),
                                   absl::MakeConstSpan(b2.shape()).subspan(0, b2.dim() - 2)));
  ASSIGN_OR_RETURN(const int64_t nb, CheckedNumel(batch));
  auto batched = [&](const Tensor& t, int64_t rows, int64_t cols) -> absl::StatusOr<Tensor> {
    std::vector<int64_t> full = batch;
    full.push_back(rows);
    full.push_back(cols);
    Tensor e = t;
    if (t.shape() != full) {
      ASSIGN_OR_RETURN(e, Tensor::Empty(t.dtype(), full));
      RETURN_IF_ERROR(CopyInto(e, t));
    }
    return e.Reshape({nb, rows, cols});
  };
  ASSIGN_OR_RETURN(Tensor a3, batched(a2, m, k));
  ASSIGN_OR_RETURN(Tensor b3, batched(b2, k, n));
  ASSIGN_OR_RETURN(Tensor r, Bmm(a3, b3));
  std::vector<int64_t> shape = batch;
  if (a.dim() > 1) shape.push_back(m);
  if (b.dim() > 1) shape.push_back(n);
  return r.Reshape(std::move(shape));
}

// -------------------------------------------------------------- pooling

int64_t PoolOutputSize(int64_t in, int64_t k, int64_t pad, int64_t s,
                       int64_t d, bool ceil_mode) {
  // In 128 bits: the parameters come from the graph, and their products need
  // not fit in int64 (nor need the result; it saturates).
  const absl::int128 wide_s = s;
  const absl::int128 num = absl::int128(in) + absl::int128(2) * pad -
                           absl::int128(d) * (absl::int128(k) - 1) - 1 +
                           (ceil_mode ? wide_s - 1 : absl::int128(0));
  // Floor division (num may be negative for too-small inputs).
  absl::int128 out = (num >= 0 ? num / wide_s : -((-num + wide_s - 1) / wide_s)) + 1;
  if (ceil_mode && (out - 1) * wide_s >= absl::int128(in) + pad) --out;
  return static_cast<int64_t>(std::max(
      absl::int128(std::numeric_limits<int64_t>::min()),
      std::min(out, absl::int128(std::numeric_limits<int64_t>::max()))));
}

namespace {
struct PoolGeom {
  int64_t planes, h, w, oh, ow;
  std::vector<int64_t> out_shape;
};

absl::StatusOr<PoolGeom> PoolSetup(const Tensor& x, const Pool2dParams& p,
                                   const char* op) {
  RETURN_IF_ERROR(CheckFloat(x, op));
  if (x.dim() != 3 && x.dim() != 4) {
    return absl::InvalidArgumentError(absl::StrCat(
        op, ": expected 3-D or 4-D input, got ", ShapeToString(x.shape())));
  }
  for (int i = 0; i < 2; ++i) {
    if (p.kernel[i] < 1 || p.stride[i] < 1 || p.dilation[i] < 1 || p.padding[i] < 0) {
      return absl::InvalidArgumentError(absl::StrCat(
          op, ": kernel, stride and dilation must be positive, padding >= 0"));
    }
    if (p.padding[i] > p.kernel[i] / 2) {  // pad * 2 > kernel, without overflow
      return absl::InvalidArgumentError(absl::StrCat(
          op, ": pad should be at most half of the effective kernel size"));
    }
  }
  PoolGeom g;
  g.h = x.size(x.dim() - 2);
  g.w = x.size(x.dim() - 1);
  g.planes = g.h * g.w == 0 ? 0 : x.numel() / (g.h * g.w);
  g.oh = PoolOutputSize(g.h, p.kernel[0], p.padding[0], p.stride[0], p.dilation[0], p.ceil_mode);
  g.ow = PoolOutputSize(g.w, p.kernel[1], p.padding[1], p.stride[1], p.dilation[1], p.ceil_mode);
  if (g.oh <= 0 || g.ow <= 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        op, ": output size is too small for input ", ShapeToString(x.shape())));
  }
  g.out_shape = x.shape();
  g.out_shape[x.dim() - 2] = g.oh;
  g.out_shape[x.dim() - 1] = g.ow;
  return g;
}
}  // namespace

absl::StatusOr<MaxPoolResult> MaxPool2d(const Tensor& x, const Pool2dParams& p,
                                        bool with_indices) {
  ASSIGN_OR_RETURN(PoolGeom g, PoolSetup(x, p, "max_pool2d"));
  MaxPoolResult r;
  ASSIGN_OR_RETURN(r.output, Tensor::Empty(x.dtype(), g.out_shape));
  if (with_indices) {
    ASSIGN_OR_RETURN(r.indices, Tensor::Empty(ScalarType::kInt64, g.out_shape));
  }
  // The window taps of each output column, computed once for every row.
  std::vector<Taps> cols(g.ow);
  for (int64_t ox = 0; ox < g.ow; ++ox) {
    cols[ox] = ValidTaps(ox, p.kernel[1], p.stride[1], p.padding[1], p.dilation[1], g.w);
  }
  VisitFloat(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* in = x.data<T>();
    T* out = r.output.data<T>();
    int64_t* idx = with_indices ? r.indices.data<int64_t>() : nullptr;
    // Planes are independent: split them over the threads.
    ParallelElements(g.planes, [&](int64_t p0, int64_t p1) {
    for (int64_t pl = p0; pl < p1; ++pl) {
      const T* plane = in + pl * g.h * g.w;
      for (int64_t oy = 0; oy < g.oh; ++oy) {
        const Taps ty = ValidTaps(oy, p.kernel[0], p.stride[0], p.padding[0],
                                  p.dilation[0], g.h);
        for (int64_t ox = 0; ox < g.ow; ++ox) {
          const Taps& tx = cols[ox];
          T best = -std::numeric_limits<T>::infinity();
          int64_t best_i = -1;
          bool nan = false;
          for (int64_t i = ty.first; i < ty.last && !nan; ++i) {
            const int64_t yy = ty.first_pos + (i - ty.first) * p.dilation[0];
            const T* row = plane + yy * g.w;
            for (int64_t j = tx.first; j < tx.last; ++j) {
              const int64_t xx = tx.first_pos + (j - tx.first) * p.dilation[1];
              const T v = row[xx];
              // NaN propagates, as in PyTorch.
              if (v > best || best_i < 0 || std::isnan(v)) {
                best = v;
                best_i = yy * g.w + xx;
                if (std::isnan(v)) {
                  nan = true;
                  break;
                }
              }
            }
          }
          const int64_t o = (pl * g.oh + oy) * g.ow + ox;
          out[o] = best;
          if (idx != nullptr) idx[o] = best_i;
        }
      }
    }
    }, /*grain=*/1);
  });
  return r;
}

absl::StatusOr<Tensor> AvgPool2d(const Tensor& x, const Pool2dParams& p,
                                 bool count_include_pad,
                                 std::optional<int64_t> divisor_override) {
  ASSIGN_OR_RETURN(PoolGeom g, PoolSetup(x, p, "avg_pool2d"));
  if (divisor_override.has_value() && *divisor_override == 0) {
    return absl::InvalidArgumentError("avg_pool2d: divisor must be non-zero");
  }
  ASSIGN_OR_RETURN(Tensor out, Tensor::Empty(x.dtype(), g.out_shape));
  VisitFloat(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* in = x.data<T>();
    T* y = out.data<T>();
    for (int64_t pl = 0; pl < g.planes; ++pl) {
      const T* plane = in + pl * g.h * g.w;
      for (int64_t oy = 0; oy < g.oh; ++oy) {
        for (int64_t ox = 0; ox < g.ow; ++ox) {
          // Window bounds in 128 bits (graph parameters), then clamped to
          // the input, so that the loops below stay within it.
          const absl::int128 hs_pad = absl::int128(oy) * p.stride[0] - p.padding[0];
          const absl::int128 ws_pad = absl::int128(ox) * p.stride[1] - p.padding[1];
          const absl::int128 he_pad =
              std::min(hs_pad + p.kernel[0], absl::int128(g.h) + p.padding[0]);
          const absl::int128 we_pad =
              std::min(ws_pad + p.kernel[1], absl::int128(g.w) + p.padding[1]);
          const double pool = static_cast<double>(he_pad - hs_pad) *
                              static_cast<double>(we_pad - ws_pad);
          auto clamp = [](absl::int128 v, int64_t hi) {
            return static_cast<int64_t>(
                std::max(absl::int128(0), std::min(v, absl::int128(hi))));
          };
          const int64_t hs = clamp(hs_pad, g.h), he = clamp(he_pad, g.h);
          const int64_t ws = clamp(ws_pad, g.w), we = clamp(we_pad, g.w);
          double acc = 0;
          for (int64_t yy = hs; yy < he; ++yy) {
            for (int64_t xx = ws; xx < we; ++xx) acc += plane[yy * g.w + xx];
          }
          const double div = divisor_override.has_value()
                                 ? static_cast<double>(*divisor_override)
                                 : count_include_pad
                                       ? pool
                                       : static_cast<double>(he - hs) *
                                             static_cast<double>(we - ws);
          y[(pl * g.oh + oy) * g.ow + ox] = static_cast<T>(acc / div);
        }
      }
    }
  });
  return out;
}

absl::StatusOr<Tensor> AdaptiveAvgPool2d(const Tensor& x,
                                         std::array<int64_t, 2> os) {
  RETURN_IF_ERROR(CheckFloat(x, "adaptive_avg_pool2d"));
  if ((x.dim() != 3 && x.dim() != 4) || os[0] < 0 || os[1] < 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "adaptive_avg_pool2d: expected 3-D or 4-D input and output_size >= 0, got ",
        ShapeToString(x.shape())));
  }
  const int64_t h = x.size(x.dim() - 2), w = x.size(x.dim() - 1);
  if ((h == 0 || w == 0) && x.numel() != 0) {
    return absl::InvalidArgumentError("adaptive_avg_pool2d: empty spatial dims");
  }
  const int64_t planes = h * w == 0 ? 0 : x.numel() / (h * w);
  std::vector<int64_t> shape = x.shape();
  shape[x.dim() - 2] = os[0];
  shape[x.dim() - 1] = os[1];
  ASSIGN_OR_RETURN(Tensor out, Tensor::Empty(x.dtype(), shape));
  VisitFloat(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* in = x.data<T>();
    T* y = out.data<T>();
    for (int64_t pl = 0; pl < planes; ++pl) {
      for (int64_t oy = 0; oy < os[0]; ++oy) {
        const int64_t hs = (oy * h) / os[0];
        const int64_t he = ((oy + 1) * h + os[0] - 1) / os[0];
        for (int64_t ox = 0; ox < os[1]; ++ox) {
          const int64_t ws = (ox * w) / os[1];
          const int64_t we = ((ox + 1) * w + os[1] - 1) / os[1];
          double acc = 0;
          for (int64_t yy = hs; yy < he; ++yy) {
            for (int64_t xx = ws; xx < we; ++xx) acc += in[(pl * h + yy) * w + xx];
          }
          y[(pl * os[0] + oy) * os[1] + ox] =
              static_cast<T>(acc / static_cast<double>((he - hs) * (we - ws)));
        }
      }
    }
  });
  return out;
}

// ----------------------------------------------------------- reductions

absl::StatusOr<Tensor> Sum(const Tensor& x, absl::Span<const int64_t> dims,
                           bool keepdim, std::optional<ScalarType> dtype) {
  ScalarType t = dtype.value_or(IsFloatingPoint(x.dtype()) ? x.dtype() : ScalarType::kInt64);
  return Reduce(x, dims, keepdim, t, /*mean=*/false);
}

absl::StatusOr<Tensor> Mean(const Tensor& x, absl::Span<const int64_t> dims,
                            bool keepdim, std::optional<ScalarType> dtype) {
  ScalarType t = dtype.value_or(x.dtype());
  if (!IsFloatingPoint(t)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "mean: could not infer output dtype; input dtype ",
        ScalarTypeName(x.dtype()), " is not floating"));
  }
  return Reduce(x, dims, keepdim, t, /*mean=*/true);
}

absl::StatusOr<Tensor> Softmax(const Tensor& x, int64_t dim, bool log, bool safe) {
  RETURN_IF_ERROR(CheckFloat(x, log ? "log_softmax" : "softmax"));
  ASSIGN_OR_RETURN(int d, NormalizeDim(dim, x.dim()));
  ASSIGN_OR_RETURN(Tensor out, Tensor::Empty(x.dtype(), x.shape()));
  int64_t outer = 1, inner = 1;
  const int64_t len = x.dim() == 0 ? 1 : x.size(d);
  for (int i = 0; i < d; ++i) outer *= x.size(i);
  for (int i = d + 1; i < x.dim(); ++i) inner *= x.size(i);
  VisitFloat(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* in = x.data<T>();
    T* y = out.data<T>();
    for (int64_t o = 0; o < outer; ++o) {
      for (int64_t i = 0; i < inner; ++i) {
        const int64_t base = o * len * inner + i;
        double mx = -std::numeric_limits<double>::infinity();
        for (int64_t k = 0; k < len; ++k) mx = std::max<double>(mx, in[base + k * inner]);
        if (safe && mx == -std::numeric_limits<double>::infinity()) {
          for (int64_t k = 0; k < len; ++k) y[base + k * inner] = 0;
          continue;
        }
        double sum = 0;
        for (int64_t k = 0; k < len; ++k) sum += std::exp(in[base + k * inner] - mx);
        for (int64_t k = 0; k < len; ++k) {
          const double v = in[base + k * inner] - mx;
          y[base + k * inner] = static_cast<T>(log ? v - std::log(sum) : std::exp(v) / sum);
        }
      }
    }
  });
  return out;
}

absl::StatusOr<LayerNormResult> LayerNorm(const Tensor& input,
                                          absl::Span<const int64_t> normalized_shape,
                                          const Tensor* weight, const Tensor* bias,
                                          double eps) {
  RETURN_IF_ERROR(CheckFloat(input, "layer_norm"));
  const int nd = static_cast<int>(normalized_shape.size());
  if (nd < 1 || nd > input.dim()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "layer_norm: normalized_shape ", ShapeToString(normalized_shape),
        " does not fit input ", ShapeToString(input.shape())));
  }
  const int axis = input.dim() - nd;
  int64_t inner = 1;
  for (int i = 0; i < nd; ++i) {
    if (input.size(axis + i) != normalized_shape[i]) {
      return absl::InvalidArgumentError(absl::StrCat(
          "layer_norm: normalized_shape ", ShapeToString(normalized_shape),
          " does not match the trailing dims of input ", ShapeToString(input.shape())));
    }
    inner *= normalized_shape[i];
  }
  for (const Tensor* p : {weight, bias}) {
    if (p != nullptr && p->defined() &&
        (p->numel() != inner || p->dtype() != input.dtype())) {
      return absl::InvalidArgumentError(absl::StrCat(
          "layer_norm: weight/bias must have ", inner,
          " elements of the input's dtype, got ", p->DebugString()));
    }
  }
  const int64_t outer = inner == 0 ? 0 : input.numel() / inner;
  std::vector<int64_t> stat_shape = input.shape();
  for (int i = axis; i < input.dim(); ++i) stat_shape[i] = 1;
  LayerNormResult r;
  ASSIGN_OR_RETURN(r.output, Tensor::Empty(input.dtype(), input.shape()));
  ASSIGN_OR_RETURN(r.mean, Tensor::Empty(input.dtype(), stat_shape));
  ASSIGN_OR_RETURN(r.rstd, Tensor::Empty(input.dtype(), stat_shape));
  VisitFloat(input.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* x = input.data<T>();
    const T* w = (weight != nullptr && weight->defined()) ? weight->data<T>() : nullptr;
    const T* b = (bias != nullptr && bias->defined()) ? bias->data<T>() : nullptr;
    T* y = r.output.data<T>();
    for (int64_t o = 0; o < outer; ++o) {
      const T* row = x + o * inner;
      const auto [mean, rstd] = MeanAndRstd(row, inner, eps);
      for (int64_t i = 0; i < inner; ++i) {
        double v = (row[i] - mean) * rstd;
        if (w) v *= w[i];
        if (b) v += b[i];
        y[o * inner + i] = static_cast<T>(v);
      }
      r.mean.data<T>()[o] = static_cast<T>(mean);
      r.rstd.data<T>()[o] = static_cast<T>(rstd);
    }
  });
  return r;
}

}  // namespace ops
}  // namespace rewire
