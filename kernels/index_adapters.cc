// Op adapters of kernels/index_ops.h.
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "ir/status_macros.h"
#include "kernels/index_ops.h"
#include "kernels/op_args.h"

namespace rewire {
namespace op_args {
namespace {

absl::StatusOr<RuntimeValue> OpIndex(Ctx&, Args& a) {
  ASSIGN_OR_RETURN(Tensor * x, a.T("self"));
  ASSIGN_OR_RETURN(std::vector<Tensor> indices, a.OptTensors("indices"));
  ASSIGN_OR_RETURN(Tensor r, ops::Index(*x, indices));
  return V(std::move(r));
}

absl::StatusOr<RuntimeValue> OpIndexSelect(Ctx&, Args& a) {
  ASSIGN_OR_RETURN(Tensor * x, a.T("self"));
  ASSIGN_OR_RETURN(int64_t dim, a.I("dim"));
  ASSIGN_OR_RETURN(Tensor * index, a.T("index"));
  ASSIGN_OR_RETURN(Tensor r, ops::IndexSelect(*x, dim, *index));
  return V(std::move(r));
}

absl::StatusOr<RuntimeValue> OpSliceScatter(Ctx&, Args& a) {
  ASSIGN_OR_RETURN(Tensor * x, a.T("self"));
  ASSIGN_OR_RETURN(Tensor * src, a.T("src"));
  ASSIGN_OR_RETURN(int64_t dim, a.I("dim"));
  ASSIGN_OR_RETURN(std::optional<int64_t> start, a.OptI("start"));
  ASSIGN_OR_RETURN(std::optional<int64_t> end, a.OptI("end"));
  ASSIGN_OR_RETURN(int64_t step, a.I("step"));
  ASSIGN_OR_RETURN(Tensor r, ops::SliceScatter(*x, *src, dim, start, end, step));
  return V(std::move(r));
}

absl::StatusOr<RuntimeValue> OpMaskedFill(Ctx&, Args& a) {
  ASSIGN_OR_RETURN(Tensor * x, a.T("self"));
  ASSIGN_OR_RETURN(Tensor * mask, a.T("mask"));
  ASSIGN_OR_RETURN(ops::Scalar v, a.S("value"));
  ASSIGN_OR_RETURN(Tensor r, ops::MaskedFill(*x, *mask, v));
  return V(std::move(r));
}

absl::StatusOr<RuntimeValue> OpMaskedFill_(Ctx&, Args& a) {
  ASSIGN_OR_RETURN(Tensor * x, a.T("self"));
  ASSIGN_OR_RETURN(Tensor * mask, a.T("mask"));
  ASSIGN_OR_RETURN(ops::Scalar v, a.S("value"));
  RETURN_IF_ERROR(ops::MaskedFill_(*x, *mask, v));
  return V(*x);
}

absl::StatusOr<RuntimeValue> OpWhere(Ctx&, Args& a) {
  ASSIGN_OR_RETURN(Tensor * c, a.T("condition"));
  ASSIGN_OR_RETURN(Tensor * x, a.T("self"));
  ASSIGN_OR_RETURN(Tensor * y, a.T("other"));
  ASSIGN_OR_RETURN(Tensor r, ops::Where(*c, *x, *y));
  return V(std::move(r));
}

absl::StatusOr<RuntimeValue> OpRoll(Ctx&, Args& a) {
  ASSIGN_OR_RETURN(Tensor * x, a.T("self"));
  ASSIGN_OR_RETURN(std::vector<int64_t> shifts, a.Ints("shifts"));
  ASSIGN_OR_RETURN(std::vector<int64_t> dims, a.Ints("dims"));
  ASSIGN_OR_RETURN(Tensor r, ops::Roll(*x, shifts, dims));
  return V(std::move(r));
}

absl::StatusOr<RuntimeValue> OpConstantPadNd(Ctx&, Args& a) {
  ASSIGN_OR_RETURN(Tensor * x, a.T("self"));
  ASSIGN_OR_RETURN(std::vector<int64_t> pad, a.Ints("pad"));
  ASSIGN_OR_RETURN(double v, a.D("value"));
  ASSIGN_OR_RETURN(Tensor r, ops::ConstantPadNd(*x, pad, v));
  return V(std::move(r));
}

// pad.default: the constant mode only.
absl::StatusOr<RuntimeValue> OpPad(Ctx&, Args& a) {
  ASSIGN_OR_RETURN(Tensor * x, a.T("self"));
  ASSIGN_OR_RETURN(std::vector<int64_t> pad, a.Ints("pad"));
  ASSIGN_OR_RETURN(std::string mode, a.Str("mode"));
  ASSIGN_OR_RETURN(std::optional<double> v, a.OptD("value"));
  if (mode != "constant") {
    return absl::UnimplementedError(absl::StrCat(
        "pad mode '", mode, "' has no kernel (constant only)"));
  }
  ASSIGN_OR_RETURN(Tensor r, ops::ConstantPadNd(*x, pad, v.value_or(0.0)));
  return V(std::move(r));
}

}  // namespace

void RegisterIndexOps(OpRegistry& t) {
  auto cpu = [&](const char* name, OpFn fn) {
    OpEntry e;
    e.fn = fn;
    t[name] = e;
  };
  cpu("aten.index.Tensor", OpIndex);
  cpu("aten._unsafe_index.Tensor", OpIndex);
  cpu("aten.index_select.default", OpIndexSelect);
  cpu("aten.slice_scatter.default", OpSliceScatter);
  cpu("aten.masked_fill.Scalar", OpMaskedFill);
  cpu("aten.masked_fill_.Scalar", OpMaskedFill_);
  cpu("aten.where.self", OpWhere);
  cpu("aten.roll.default", OpRoll);
  cpu("aten.constant_pad_nd.default", OpConstantPadNd);
  cpu("aten.pad.default", OpPad);
}

}  // namespace op_args
}  // namespace rewire
