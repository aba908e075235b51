#include "kernels/pointwise_ops.h"

#include <cmath>
#include <cstdint>
#include <cstring>
#include <functional>
#include <vector>

#include "absl/strings/str_cat.h"
#include "ir/status_macros.h"
#include "kernels/elementwise_util.h"

namespace rewire {
namespace ops {
namespace {

using namespace elementwise_util;  // NOLINT(build/namespaces): this file's toolkit

bool FitsInt64(double v) { return v >= -0x1p63 && v < 0x1p63; }

const char* CompareName(CompareKind k) {
  switch (k) {
    case CompareKind::kEq: return "eq";
    case CompareKind::kNe: return "ne";
    case CompareKind::kLt: return "lt";
    case CompareKind::kLe: return "le";
    case CompareKind::kGt: return "gt";
    case CompareKind::kGe: return "ge";
  }
  return "?";
}

template <typename T>
bool Cmp(CompareKind k, T a, T b) {
  switch (k) {
    case CompareKind::kEq: return a == b;
    case CompareKind::kNe: return a != b;
    case CompareKind::kLt: return a < b;
    case CompareKind::kLe: return a <= b;
    case CompareKind::kGt: return a > b;
    case CompareKind::kGe: return a >= b;
  }
  return false;
}

// Integer elements read exactly (a double loses int64 precision).
int64_t LoadInt(const Tensor& t, int64_t i) {
  const void* p = t.raw_data();
  switch (t.dtype()) {
    case ScalarType::kInt64: return static_cast<const int64_t*>(p)[i];
    case ScalarType::kInt32: return static_cast<const int32_t*>(p)[i];
    case ScalarType::kInt16: return static_cast<const int16_t*>(p)[i];
    case ScalarType::kInt8: return static_cast<const int8_t*>(p)[i];
    case ScalarType::kUInt8: return static_cast<const uint8_t*>(p)[i];
    case ScalarType::kBool: return static_cast<const uint8_t*>(p)[i] != 0;
    default: return 0;
  }
}

// The dtype of `x (op) number`: a float number makes an integer tensor
// float32 (PyTorch's default dtype); otherwise x's dtype.
ScalarType WithScalar(ScalarType x, const Scalar& s) {
  if (!s.integral && IsIntegral(x)) return ScalarType::kFloat32;
  return x;
}

absl::StatusOr<Tensor> Map(const Tensor& x, ScalarType out_dtype,
                           const std::function<double(double)>& f, const char* op) {
  RETURN_IF_ERROR(CheckCpu(x, op));
  ASSIGN_OR_RETURN(auto in, Io(x.dtype()));
  ASSIGN_OR_RETURN(auto out_io, Io(out_dtype));
  ASSIGN_OR_RETURN(Tensor out, Tensor::Empty(out_dtype, x.shape()));
  const void* src = x.raw_data();
  void* dst = out.raw_data();
  for (int64_t i = 0; i < x.numel(); ++i) out_io.second(dst, i, f(in.first(src, i)));
  return out;
}

}  // namespace

absl::StatusOr<Tensor> CompareScalar(CompareKind kind, const Tensor& x, Scalar other) {
  RETURN_IF_ERROR(CheckCpu(x, CompareName(kind)));
  ASSIGN_OR_RETURN(Tensor out, Tensor::Empty(ScalarType::kBool, x.shape()));
  bool* o = out.data<bool>();
  if (IsIntegral(x.dtype()) && other.integral && FitsInt64(other.value)) {
    const int64_t b = static_cast<int64_t>(other.value);
    for (int64_t i = 0; i < x.numel(); ++i) o[i] = Cmp(kind, LoadInt(x, i), b);
    return out;
  }
  ASSIGN_OR_RETURN(auto in, Io(x.dtype()));
  const void* src = x.raw_data();
  for (int64_t i = 0; i < x.numel(); ++i) o[i] = Cmp(kind, in.first(src, i), other.value);
  return out;
}

absl::StatusOr<Tensor> Compare(CompareKind kind, const Tensor& a, const Tensor& b) {
  RETURN_IF_ERROR(CheckCpu(a, CompareName(kind)));
  RETURN_IF_ERROR(CheckCpu(b, CompareName(kind)));
  ASSIGN_OR_RETURN(std::vector<int64_t> shape, BroadcastShapes(a.shape(), b.shape()));
  ASSIGN_OR_RETURN(Tensor out, Tensor::Empty(ScalarType::kBool, shape));
  const auto sa = BroadcastStrides(a.shape(), shape);
  const auto sb = BroadcastStrides(b.shape(), shape);
  bool* o = out.data<bool>();
  if (IsIntegral(a.dtype()) && IsIntegral(b.dtype())) {
    ForEachBroadcast(shape, sa, sb, [&](int64_t i, int64_t ia, int64_t ib) {
      o[i] = Cmp(kind, LoadInt(a, ia), LoadInt(b, ib));
    });
    return out;
  }
  ASSIGN_OR_RETURN(auto la, Io(a.dtype()));
  ASSIGN_OR_RETURN(auto lb, Io(b.dtype()));
  const void* pa = a.raw_data();
  const void* pb = b.raw_data();
  ForEachBroadcast(shape, sa, sb, [&](int64_t i, int64_t ia, int64_t ib) {
    o[i] = Cmp(kind, la.first(pa, ia), lb.first(pb, ib));
  });
  return out;
}

absl::StatusOr<Tensor> LogicalNot(const Tensor& x) {
  return Map(x, ScalarType::kBool, [](double v) { return v == 0 ? 1.0 : 0.0; }, "logical_not");
}

absl::StatusOr<Tensor> Logical(LogicalKind kind, const Tensor& a, const Tensor& b) {
  RETURN_IF_ERROR(CheckCpu(a, "logical op"));
  RETURN_IF_ERROR(CheckCpu(b, "logical op"));
  ASSIGN_OR_RETURN(std::vector<int64_t> shape, BroadcastShapes(a.shape(), b.shape()));
  ASSIGN_OR_RETURN(Tensor out, Tensor::Empty(ScalarType::kBool, shape));
  ASSIGN_OR_RETURN(auto la, Io(a.dtype()));
  ASSIGN_OR_RETURN(auto lb, Io(b.dtype()));
  const auto sa = BroadcastStrides(a.shape(), shape);
  const auto sb = BroadcastStrides(b.shape(), shape);
  const void* pa = a.raw_data();
  const void* pb = b.raw_data();
  bool* o = out.data<bool>();
  ForEachBroadcast(shape, sa, sb, [&](int64_t i, int64_t ia, int64_t ib) {
    const bool x = la.first(pa, ia) != 0, y = lb.first(pb, ib) != 0;
    o[i] = kind == LogicalKind::kAnd ? (x && y) : kind == LogicalKind::kOr ? (x || y) : (x != y);
  });
  return out;
}

absl::StatusOr<Tensor> Triangle(const Tensor& x, int64_t diagonal, bool lower) {
  const char* op = lower ? "tril" : "triu";
  RETURN_IF_ERROR(CheckCpu(x, op));
  if (x.dim() < 2) {
    return absl::InvalidArgumentError(absl::StrCat(op, ": the input must have at least 2 dims"));
  }
  ASSIGN_OR_RETURN(Tensor out, x.Clone());
  if (out.numel() == 0) return out;
  const int64_t rows = x.size(x.dim() - 2), cols = x.size(x.dim() - 1);
  const int64_t mats = rows * cols == 0 ? 0 : x.numel() / (rows * cols);
  const int64_t item = x.itemsize();
  char* p = static_cast<char*>(out.raw_data());
  for (int64_t m = 0; m < mats; ++m) {
    for (int64_t i = 0; i < rows; ++i) {
      for (int64_t j = 0; j < cols; ++j) {
        const bool keep = lower ? j - i <= diagonal : j - i >= diagonal;
        if (!keep) std::memset(p + ((m * rows + i) * cols + j) * item, 0, item);
      }
    }
  }
  return out;
}

absl::StatusOr<Tensor> AnyDim(const Tensor& x, int64_t dim, bool keepdim) {
  RETURN_IF_ERROR(CheckCpu(x, "any"));
  ASSIGN_OR_RETURN(int d, NormalizeDim(dim, x.dim()));
  ASSIGN_OR_RETURN(auto in, Io(x.dtype()));
  std::vector<int64_t> shape = x.shape();
  int64_t outer = 1, len = 1, inner = 1;
  if (x.dim() > 0) {
    for (int i = 0; i < d; ++i) outer *= x.size(i);
    len = x.size(d);
    for (int i = d + 1; i < x.dim(); ++i) inner *= x.size(i);
    if (keepdim) {
      shape[d] = 1;
    } else {
      shape.erase(shape.begin() + d);
    }
  }
  const ScalarType dt = x.dtype() == ScalarType::kUInt8 ? ScalarType::kUInt8 : ScalarType::kBool;
  ASSIGN_OR_RETURN(Tensor out, Tensor::Zeros(dt, shape));
  if (x.numel() == 0) return out;  // the loops would still count the other dims
  uint8_t* o = static_cast<uint8_t*>(out.raw_data());
  const void* src = x.raw_data();
  for (int64_t a = 0; a < outer; ++a) {
    for (int64_t k = 0; k < len; ++k) {
      for (int64_t b = 0; b < inner; ++b) {
        // NaN is non-zero, so it counts as true.
        if (in.first(src, (a * len + k) * inner + b) != 0) o[a * inner + b] = 1;
      }
    }
  }
  return out;
}

absl::StatusOr<Tensor> Clamp(const Tensor& x, std::optional<Scalar> min,
                             std::optional<Scalar> max) {
  if (!min.has_value() && !max.has_value()) {
    return absl::InvalidArgumentError("clamp: at least one of 'min' or 'max' must not be None");
  }
  ScalarType dt = x.dtype();
  if (min.has_value()) dt = WithScalar(dt, *min);
  if (max.has_value()) dt = WithScalar(dt, *max);
  if (dt == ScalarType::kBool) {
    return absl::InvalidArgumentError("clamp: bool tensors are not supported");
  }
  const double lo = min.has_value() ? min->value : 0;
  const double hi = max.has_value() ? max->value : 0;
  const bool has_lo = min.has_value(), has_hi = max.has_value();
  return Map(x, dt, [=](double v) {
    if (has_lo && v < lo) v = lo;  // NaN compares false and stays
    if (has_hi && v > hi) v = hi;
    return v;
  }, "clamp");
}

absl::Status Clamp_(Tensor& x, std::optional<Scalar> min, std::optional<Scalar> max) {
  ASSIGN_OR_RETURN(Tensor r, Clamp(x, min, max));
  if (r.dtype() != x.dtype()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "clamp_: result type ", ScalarTypeName(r.dtype()), " can't be cast to ",
        ScalarTypeName(x.dtype())));
  }
  std::memcpy(x.raw_data(), r.raw_data(), r.nbytes());
  return absl::OkStatus();
}

absl::StatusOr<Tensor> FmodScalar(const Tensor& x, Scalar other) {
  const ScalarType dt = WithScalar(x.dtype(), other);
  if (IsIntegral(dt)) {
    RETURN_IF_ERROR(CheckCpu(x, "fmod"));
    if (!FitsInt64(other.value) || other.value == 0) {
      return absl::InvalidArgumentError(absl::StrCat(
          "fmod: integer division by ", other.value));
    }
    const int64_t b = static_cast<int64_t>(other.value);
    ASSIGN_OR_RETURN(Tensor out, Tensor::Empty(dt, x.shape()));
    ASSIGN_OR_RETURN(auto io, Io(dt));
    for (int64_t i = 0; i < x.numel(); ++i) {
      const int64_t a = LoadInt(x, i);
      // INT64_MIN % -1 traps; its remainder is 0.
      io.second(out.raw_data(), i, static_cast<double>(b == -1 ? 0 : a % b));
    }
    return out;
  }
  const double b = other.value;
  return Map(x, dt, [b](double v) { return std::fmod(v, b); }, "fmod");
}

absl::Status Fill_(Tensor& x, Scalar value) {
  RETURN_IF_ERROR(CheckCpu(x, "fill_"));
  ASSIGN_OR_RETURN(auto io, Io(x.dtype()));
  void* dst = x.raw_data();
  for (int64_t i = 0; i < x.numel(); ++i) io.second(dst, i, value.value);
  return absl::OkStatus();
}

absl::StatusOr<Tensor> Arange(Scalar start, Scalar end, Scalar step,
                              std::optional<ScalarType> dtype) {
  const bool integral = start.integral && end.integral && step.integral;
  const ScalarType dt =
      dtype.value_or(integral ? ScalarType::kInt64 : ScalarType::kFloat32);
  if (!std::isfinite(start.value) || !std::isfinite(end.value) || !std::isfinite(step.value)) {
    return absl::InvalidArgumentError("arange: start, end and step must be finite");
  }
  if (step.value == 0) return absl::InvalidArgumentError("arange: step must be non-zero");
  if ((step.value > 0 && end.value < start.value) ||
      (step.value < 0 && end.value > start.value)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "arange: upper bound and larger bound inconsistent with step sign (start ",
        start.value, ", end ", end.value, ", step ", step.value, ")"));
  }
  const double n = std::ceil((end.value - start.value) / step.value);
  if (!(n < 0x1p62)) return absl::InvalidArgumentError("arange: too many elements");
  ASSIGN_OR_RETURN(Tensor out, Tensor::Empty(dt, {static_cast<int64_t>(n)}));
  ASSIGN_OR_RETURN(auto io, Io(dt));
  for (int64_t i = 0; i < out.numel(); ++i) {
    io.second(out.raw_data(), i, start.value + static_cast<double>(i) * step.value);
  }
  return out;
}

}  // namespace ops
}  // namespace rewire
