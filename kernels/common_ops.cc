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
#include "kernels/elementwise_util.h"

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
  // The result first: it is as large as the accumulators and bounded by the
  // same limits, so a hostile shape is refused before any temporary exists.
  ASSIGN_OR_RETURN(Tensor out, Tensor::Empty(dtype, out_shape));
  ASSIGN_OR_RETURN(auto io, Io(dtype));
  ASSIGN_OR_RETURN(Scratch<double> acc, Scratch<double>::Make(out_n, 0.0));
  const auto so = BroadcastStrides(kept_shape, x.shape());
  ASSIGN_OR_RETURN(auto ix, Io(x.dtype()));
  const void* px = x.raw_data();
  ForEachBroadcast(x.shape(), so, so, [&](int64_t i, int64_t o, int64_t) {
    acc[o] += ix.first(px, i);
  });
  const int64_t count = out_n == 0 ? 0 : x.numel() / std::max<int64_t>(out_n, 1);
  for (int64_t i = 0; i < out_n; ++i) {
    io.second(out.raw_data(), i,
              mean ? acc[i] / static_cast<double>(count) : acc[i]);
  }
  return out;
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
  if (out.numel() == 0) return out;  // the copy loop would still count the outer dims
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
  if (out.numel() == 0) return out;  // the loops below would still count the outer dims
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
