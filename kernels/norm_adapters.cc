// Op adapters of kernels/norm_ops.h.
#include <utility>

#include "ir/status_macros.h"
#include "kernels/norm_ops.h"
#include "kernels/op_args.h"

namespace rewire {
namespace op_args {
namespace {

// native_group_norm: N, C and HxW must describe the input.
absl::StatusOr<RuntimeValue> OpNativeGroupNorm(Ctx&, Args& a) {
  ASSIGN_OR_RETURN(Tensor * x, a.T("input"));
  ASSIGN_OR_RETURN(Tensor * w, a.OptT("weight"));
  ASSIGN_OR_RETURN(Tensor * b, a.OptT("bias"));
  ASSIGN_OR_RETURN(int64_t n, a.I("N"));
  ASSIGN_OR_RETURN(int64_t c, a.I("C"));
  ASSIGN_OR_RETURN(int64_t hw, a.I("HxW"));
  ASSIGN_OR_RETURN(int64_t groups, a.I("group"));
  ASSIGN_OR_RETURN(double eps, a.D("eps"));
  int64_t nc;
  if (x->dim() < 2 || x->size(0) != n || x->size(1) != c ||
      __builtin_mul_overflow(n, c, &nc) || (nc != 0 && x->numel() / nc != hw)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "native_group_norm: N=", n, ", C=", c, ", HxW=", hw, " do not describe input ",
        ShapeToString(x->shape())));
  }
  ASSIGN_OR_RETURN(ops::GroupNormResult r, ops::GroupNorm(*x, w, b, groups, eps));
  return Tup({std::move(r.output), std::move(r.mean), std::move(r.rstd)});
}

absl::StatusOr<RuntimeValue> OpGroupNorm(Ctx&, Args& a) {
  ASSIGN_OR_RETURN(Tensor * x, a.T("input"));
  ASSIGN_OR_RETURN(int64_t groups, a.I("num_groups"));
  ASSIGN_OR_RETURN(Tensor * w, a.OptT("weight"));
  ASSIGN_OR_RETURN(Tensor * b, a.OptT("bias"));
  ASSIGN_OR_RETURN(double eps, a.D("eps"));
  ASSIGN_OR_RETURN(ops::GroupNormResult r, ops::GroupNorm(*x, w, b, groups, eps));
  return V(std::move(r.output));
}

}  // namespace

void RegisterNormOps(OpRegistry& t) {
  auto cpu = [&](const char* name, OpFn fn) {
    OpEntry e;
    e.fn = fn;
    t[name] = e;
  };
  cpu("aten.native_group_norm.default", OpNativeGroupNorm);
  cpu("aten.group_norm.default", OpGroupNorm);
}

}  // namespace op_args
}  // namespace rewire
