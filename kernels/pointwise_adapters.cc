// Op adapters of kernels/pointwise_ops.h and the creation ops that take a
// number or copy a tensor's dtype (full_like, new_zeros, scalar_tensor).
#include <optional>
#include <utility>
#include <vector>

#include "ir/status_macros.h"
#include "kernels/op_args.h"
#include "kernels/pointwise_ops.h"

namespace rewire {
namespace op_args {
namespace {

using ops::CompareKind;

template <CompareKind K>
absl::StatusOr<RuntimeValue> OpCompareScalar(Ctx&, Args& a) {
  ASSIGN_OR_RETURN(Tensor * x, a.T("self"));
  ASSIGN_OR_RETURN(ops::Scalar s, a.S("other"));
  ASSIGN_OR_RETURN(Tensor r, ops::CompareScalar(K, *x, s));
  return V(std::move(r));
}

template <CompareKind K>
absl::StatusOr<RuntimeValue> OpCompare(Ctx&, Args& a) {
  ASSIGN_OR_RETURN(Tensor * x, a.T("self"));
  ASSIGN_OR_RETURN(Tensor * y, a.T("other"));
  ASSIGN_OR_RETURN(Tensor r, ops::Compare(K, *x, *y));
  return V(std::move(r));
}

absl::StatusOr<RuntimeValue> OpLogicalNot(Ctx&, Args& a) {
  ASSIGN_OR_RETURN(Tensor * x, a.T("self"));
  ASSIGN_OR_RETURN(Tensor r, ops::LogicalNot(*x));
  return V(std::move(r));
}

template <ops::LogicalKind K>
absl::StatusOr<RuntimeValue> OpLogical(Ctx&, Args& a) {
  ASSIGN_OR_RETURN(Tensor * x, a.T("self"));
  ASSIGN_OR_RETURN(Tensor * y, a.T("other"));
  ASSIGN_OR_RETURN(Tensor r, ops::Logical(K, *x, *y));
  return V(std::move(r));
}

template <bool kLower>
absl::StatusOr<RuntimeValue> OpTriangle(Ctx&, Args& a) {
  ASSIGN_OR_RETURN(Tensor * x, a.T("self"));
  ASSIGN_OR_RETURN(int64_t d, a.I("diagonal"));
  ASSIGN_OR_RETURN(Tensor r, ops::Triangle(*x, d, kLower));
  return V(std::move(r));
}

absl::StatusOr<RuntimeValue> OpAnyDim(Ctx&, Args& a) {
  ASSIGN_OR_RETURN(Tensor * x, a.T("self"));
  ASSIGN_OR_RETURN(int64_t dim, a.I("dim"));
  ASSIGN_OR_RETURN(bool keepdim, a.B("keepdim"));
  ASSIGN_OR_RETURN(Tensor r, ops::AnyDim(*x, dim, keepdim));
  return V(std::move(r));
}

// clamp, clamp_min and clamp_max (whichever bounds the schema has).
absl::StatusOr<std::pair<std::optional<ops::Scalar>, std::optional<ops::Scalar>>> Bounds(
    Args& a) {
  std::optional<ops::Scalar> lo, hi;
  if (a.Has("min")) {
    ASSIGN_OR_RETURN(lo, a.OptS("min"));
  }
  if (a.Has("max")) {
    ASSIGN_OR_RETURN(hi, a.OptS("max"));
  }
  return std::make_pair(lo, hi);
}

absl::StatusOr<RuntimeValue> OpClamp(Ctx&, Args& a) {
  ASSIGN_OR_RETURN(Tensor * x, a.T("self"));
  ASSIGN_OR_RETURN(auto b, Bounds(a));
  ASSIGN_OR_RETURN(Tensor r, ops::Clamp(*x, b.first, b.second));
  return V(std::move(r));
}

absl::StatusOr<RuntimeValue> OpClamp_(Ctx&, Args& a) {
  ASSIGN_OR_RETURN(Tensor * x, a.T("self"));
  ASSIGN_OR_RETURN(auto b, Bounds(a));
  RETURN_IF_ERROR(ops::Clamp_(*x, b.first, b.second));
  return V(*x);
}

absl::StatusOr<RuntimeValue> OpFmodScalar(Ctx&, Args& a) {
  ASSIGN_OR_RETURN(Tensor * x, a.T("self"));
  ASSIGN_OR_RETURN(ops::Scalar s, a.S("other"));
  ASSIGN_OR_RETURN(Tensor r, ops::FmodScalar(*x, s));
  return V(std::move(r));
}

absl::StatusOr<RuntimeValue> OpFillScalar_(Ctx&, Args& a) {
  ASSIGN_OR_RETURN(Tensor * x, a.T("self"));
  ASSIGN_OR_RETURN(ops::Scalar s, a.S("value"));
  RETURN_IF_ERROR(ops::Fill_(*x, s));
  return V(*x);
}

// fill_.Tensor: the value is a 0-D tensor.
absl::StatusOr<RuntimeValue> OpFillTensor_(Ctx&, Args& a) {
  ASSIGN_OR_RETURN(Tensor * x, a.T("self"));
  ASSIGN_OR_RETURN(Tensor * v, a.T("value"));
  if (v->dim() != 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "fill_ only supports a 0-dimension value tensor, got ", v->DebugString()));
  }
  ASSIGN_OR_RETURN(Tensor d, ops::Cast(*v, ScalarType::kFloat64));
  const bool integral = !IsFloatingPoint(v->dtype());
  RETURN_IF_ERROR(ops::Fill_(*x, ops::Scalar{d.data<double>()[0], integral}));
  return V(*x);
}

absl::StatusOr<RuntimeValue> OpFullLike(Ctx&, Args& a) {
  ASSIGN_OR_RETURN(Tensor * x, a.T("self"));
  ASSIGN_OR_RETURN(double v, a.D("fill_value"));
  ASSIGN_OR_RETURN(std::optional<ScalarType> dt, a.Dtype("dtype"));
  ASSIGN_OR_RETURN(Tensor r, ops::Full(x->shape(), v, dt.value_or(x->dtype())));
  return V(std::move(r));
}

template <int kFill>
absl::StatusOr<RuntimeValue> OpNewFilled(Ctx&, Args& a) {
  ASSIGN_OR_RETURN(Tensor * x, a.T("self"));
  ASSIGN_OR_RETURN(std::vector<int64_t> size, a.Ints("size"));
  ASSIGN_OR_RETURN(std::optional<ScalarType> dt, a.Dtype("dtype"));
  ASSIGN_OR_RETURN(Tensor r, ops::Full(size, kFill, dt.value_or(x->dtype())));
  return V(std::move(r));
}

absl::StatusOr<RuntimeValue> OpScalarTensor(Ctx&, Args& a) {
  ASSIGN_OR_RETURN(double v, a.D("s"));
  ASSIGN_OR_RETURN(std::optional<ScalarType> dt, a.Dtype("dtype"));
  ASSIGN_OR_RETURN(Tensor r, ops::Full({}, v, dt.value_or(ScalarType::kFloat32)));
  return V(std::move(r));
}

absl::StatusOr<RuntimeValue> OpArange(Ctx&, Args& a) {
  ops::Scalar start = ops::Scalar::Int(0), step = ops::Scalar::Int(1);
  if (a.Has("start")) {
    ASSIGN_OR_RETURN(start, a.S("start"));
  }
  if (a.Has("step")) {
    ASSIGN_OR_RETURN(step, a.S("step"));
  }
  ASSIGN_OR_RETURN(ops::Scalar end, a.S("end"));
  ASSIGN_OR_RETURN(std::optional<ScalarType> dt, a.Dtype("dtype"));
  ASSIGN_OR_RETURN(Tensor r, ops::Arange(start, end, step, dt));
  return V(std::move(r));
}

}  // namespace

void RegisterPointwiseOps(OpRegistry& t) {
  auto cpu = [&](const char* name, OpFn fn) {
    OpEntry e;
    e.fn = fn;
    t[name] = e;
  };
  cpu("aten.eq.Scalar", OpCompareScalar<CompareKind::kEq>);
  cpu("aten.ne.Scalar", OpCompareScalar<CompareKind::kNe>);
  cpu("aten.lt.Scalar", OpCompareScalar<CompareKind::kLt>);
  cpu("aten.le.Scalar", OpCompareScalar<CompareKind::kLe>);
  cpu("aten.gt.Scalar", OpCompareScalar<CompareKind::kGt>);
  cpu("aten.ge.Scalar", OpCompareScalar<CompareKind::kGe>);
  cpu("aten.eq.Tensor", OpCompare<CompareKind::kEq>);
  cpu("aten.ne.Tensor", OpCompare<CompareKind::kNe>);
  cpu("aten.lt.Tensor", OpCompare<CompareKind::kLt>);
  cpu("aten.le.Tensor", OpCompare<CompareKind::kLe>);
  cpu("aten.gt.Tensor", OpCompare<CompareKind::kGt>);
  cpu("aten.ge.Tensor", OpCompare<CompareKind::kGe>);
  cpu("aten.logical_not.default", OpLogicalNot);
  cpu("aten.logical_and.default", OpLogical<ops::LogicalKind::kAnd>);
  cpu("aten.logical_or.default", OpLogical<ops::LogicalKind::kOr>);
  cpu("aten.logical_xor.default", OpLogical<ops::LogicalKind::kXor>);
  cpu("aten.tril.default", OpTriangle<true>);
  cpu("aten.triu.default", OpTriangle<false>);
  cpu("aten.any.dim", OpAnyDim);
  cpu("aten.clamp.default", OpClamp);
  cpu("aten.clamp_.default", OpClamp_);
  cpu("aten.clamp_min.default", OpClamp);
  cpu("aten.clamp_max.default", OpClamp);
  cpu("aten.fmod.Scalar", OpFmodScalar);
  cpu("aten.fill_.Scalar", OpFillScalar_);
  cpu("aten.fill_.Tensor", OpFillTensor_);
  cpu("aten.full_like.default", OpFullLike);
  cpu("aten.new_zeros.default", OpNewFilled<0>);
  cpu("aten.new_ones.default", OpNewFilled<1>);
  cpu("aten.scalar_tensor.default", OpScalarTensor);
  cpu("aten.arange.default", OpArange);
  cpu("aten.arange.start", OpArange);
  cpu("aten.arange.start_step", OpArange);
}

}  // namespace op_args
}  // namespace rewire
