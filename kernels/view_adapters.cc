// Op adapters of the view ops (kernels/view_ops.h) and of the copies that
// take strided tensors (contiguous, clone). Views are metadata-only, so they
// are marked device-native and strided: the executor hands them the very
// tensors of the graph, never host or contiguous copies, which would lose
// the aliasing.
#include <optional>
#include <utility>
#include <vector>

#include "ir/status_macros.h"
#include "kernels/common_ops.h"
#include "kernels/op_args.h"
#include "kernels/view_ops.h"

namespace rewire {
namespace op_args {
namespace {

absl::StatusOr<RuntimeValue> OpT(Ctx&, Args& a) {
  ASSIGN_OR_RETURN(Tensor * x, a.T("self"));
  ASSIGN_OR_RETURN(Tensor r, ops::T(*x));
  return V(std::move(r));
}

absl::StatusOr<RuntimeValue> OpTranspose(Ctx&, Args& a) {
  ASSIGN_OR_RETURN(Tensor * x, a.T("self"));
  const bool swap = a.Has("axis0");
  ASSIGN_OR_RETURN(int64_t d0, a.I(swap ? "axis0" : "dim0"));
  ASSIGN_OR_RETURN(int64_t d1, a.I(swap ? "axis1" : "dim1"));
  ASSIGN_OR_RETURN(Tensor r, ops::Transpose(*x, d0, d1));
  return V(std::move(r));
}

absl::StatusOr<RuntimeValue> OpPermute(Ctx&, Args& a) {
  ASSIGN_OR_RETURN(Tensor * x, a.T("self"));
  ASSIGN_OR_RETURN(std::vector<int64_t> dims, a.Ints("dims"));
  ASSIGN_OR_RETURN(Tensor r, ops::Permute(*x, dims));
  return V(std::move(r));
}

absl::StatusOr<RuntimeValue> OpView(Ctx&, Args& a) {
  ASSIGN_OR_RETURN(Tensor * x, a.T("self"));
  ASSIGN_OR_RETURN(std::vector<int64_t> sizes, a.Ints("size"));
  ASSIGN_OR_RETURN(Tensor r, ops::View(*x, sizes));
  return V(std::move(r));
}

absl::StatusOr<RuntimeValue> OpReshape(Ctx&, Args& a) {
  ASSIGN_OR_RETURN(Tensor * x, a.T("self"));
  ASSIGN_OR_RETURN(std::vector<int64_t> sizes, a.Ints("shape"));
  ASSIGN_OR_RETURN(Tensor r, ops::Reshape(*x, sizes));
  return V(std::move(r));
}

// _reshape_alias is as_strided at the input's own offset.
absl::StatusOr<RuntimeValue> OpReshapeAlias(Ctx&, Args& a) {
  ASSIGN_OR_RETURN(Tensor * x, a.T("self"));
  ASSIGN_OR_RETURN(std::vector<int64_t> size, a.Ints("size"));
  ASSIGN_OR_RETURN(std::vector<int64_t> stride, a.Ints("stride"));
  ASSIGN_OR_RETURN(Tensor r, ops::AsStrided(*x, size, stride, std::nullopt));
  return V(std::move(r));
}

absl::StatusOr<RuntimeValue> OpAsStrided(Ctx&, Args& a) {
  ASSIGN_OR_RETURN(Tensor * x, a.T("self"));
  ASSIGN_OR_RETURN(std::vector<int64_t> size, a.Ints("size"));
  ASSIGN_OR_RETURN(std::vector<int64_t> stride, a.Ints("stride"));
  ASSIGN_OR_RETURN(std::optional<int64_t> offset, a.OptI("storage_offset"));
  ASSIGN_OR_RETURN(Tensor r, ops::AsStrided(*x, size, stride, offset));
  return V(std::move(r));
}

absl::StatusOr<RuntimeValue> OpFlatten(Ctx&, Args& a) {
  ASSIGN_OR_RETURN(Tensor * x, a.T("self"));
  ASSIGN_OR_RETURN(int64_t s, a.I("start_dim"));
  ASSIGN_OR_RETURN(int64_t e, a.I("end_dim"));
  ASSIGN_OR_RETURN(Tensor r, ops::Flatten(*x, s, e));
  return V(std::move(r));
}

absl::StatusOr<RuntimeValue> OpUnflatten(Ctx&, Args& a) {
  ASSIGN_OR_RETURN(Tensor * x, a.T("self"));
  ASSIGN_OR_RETURN(int64_t d, a.I("dim"));
  ASSIGN_OR_RETURN(std::vector<int64_t> sizes, a.Ints("sizes"));
  ASSIGN_OR_RETURN(Tensor r, ops::Unflatten(*x, d, sizes));
  return V(std::move(r));
}

absl::StatusOr<RuntimeValue> OpUnsqueeze(Ctx&, Args& a) {
  ASSIGN_OR_RETURN(Tensor * x, a.T("self"));
  ASSIGN_OR_RETURN(int64_t d, a.I("dim"));
  ASSIGN_OR_RETURN(Tensor r, ops::Unsqueeze(*x, d));
  return V(std::move(r));
}

// squeeze(), squeeze.dim and squeeze.dims.
absl::StatusOr<RuntimeValue> OpSqueeze(Ctx&, Args& a) {
  ASSIGN_OR_RETURN(Tensor * x, a.T("self"));
  std::optional<std::vector<int64_t>> dims;
  if (a.Has("dim")) {
    ASSIGN_OR_RETURN(dims, a.Ints("dim"));
  }
  ASSIGN_OR_RETURN(Tensor r, ops::Squeeze(*x, dims.has_value()
                                                  ? std::optional<absl::Span<const int64_t>>(*dims)
                                                  : std::nullopt));
  return V(std::move(r));
}

absl::StatusOr<RuntimeValue> OpExpand(Ctx&, Args& a) {
  ASSIGN_OR_RETURN(Tensor * x, a.T("self"));
  ASSIGN_OR_RETURN(std::vector<int64_t> sizes, a.Ints("size"));
  ASSIGN_OR_RETURN(Tensor r, ops::Expand(*x, sizes));
  return V(std::move(r));
}

absl::StatusOr<RuntimeValue> OpSlice(Ctx&, Args& a) {
  ASSIGN_OR_RETURN(Tensor * x, a.T("self"));
  ASSIGN_OR_RETURN(int64_t dim, a.I("dim"));
  ASSIGN_OR_RETURN(std::optional<int64_t> start, a.OptI("start"));
  ASSIGN_OR_RETURN(std::optional<int64_t> end, a.OptI("end"));
  ASSIGN_OR_RETURN(int64_t step, a.I("step"));
  ASSIGN_OR_RETURN(Tensor r, ops::Slice(*x, dim, start, end, step));
  return V(std::move(r));
}

absl::StatusOr<RuntimeValue> OpNarrow(Ctx&, Args& a) {
  ASSIGN_OR_RETURN(Tensor * x, a.T("self"));
  ASSIGN_OR_RETURN(int64_t dim, a.I("dim"));
  ASSIGN_OR_RETURN(int64_t start, a.I("start"));
  ASSIGN_OR_RETURN(int64_t length, a.I("length"));
  ASSIGN_OR_RETURN(Tensor r, ops::Narrow(*x, dim, start, length));
  return V(std::move(r));
}

absl::StatusOr<RuntimeValue> OpSelect(Ctx&, Args& a) {
  ASSIGN_OR_RETURN(Tensor * x, a.T("self"));
  ASSIGN_OR_RETURN(int64_t dim, a.I("dim"));
  ASSIGN_OR_RETURN(int64_t index, a.I("index"));
  ASSIGN_OR_RETURN(Tensor r, ops::Select(*x, dim, index));
  return V(std::move(r));
}

absl::StatusOr<RuntimeValue> OpSplit(Ctx&, Args& a) {
  ASSIGN_OR_RETURN(Tensor * x, a.T("self"));
  ASSIGN_OR_RETURN(int64_t size, a.I("split_size"));
  ASSIGN_OR_RETURN(int64_t dim, a.I("dim"));
  ASSIGN_OR_RETURN(std::vector<Tensor> parts, ops::Split(*x, size, dim));
  return Tup(std::move(parts));
}

absl::StatusOr<RuntimeValue> OpSplitWithSizes(Ctx&, Args& a) {
  ASSIGN_OR_RETURN(Tensor * x, a.T("self"));
  ASSIGN_OR_RETURN(std::vector<int64_t> sizes, a.Ints("split_sizes"));
  ASSIGN_OR_RETURN(int64_t dim, a.I("dim"));
  ASSIGN_OR_RETURN(std::vector<Tensor> parts, ops::SplitWithSizes(*x, sizes, dim));
  return Tup(std::move(parts));
}

absl::StatusOr<RuntimeValue> OpChunk(Ctx&, Args& a) {
  ASSIGN_OR_RETURN(Tensor * x, a.T("self"));
  ASSIGN_OR_RETURN(int64_t chunks, a.I("chunks"));
  ASSIGN_OR_RETURN(int64_t dim, a.I("dim"));
  ASSIGN_OR_RETURN(std::vector<Tensor> parts, ops::Chunk(*x, chunks, dim));
  return Tup(std::move(parts));
}

absl::StatusOr<RuntimeValue> OpUnbind(Ctx&, Args& a) {
  ASSIGN_OR_RETURN(Tensor * x, a.T("self"));
  ASSIGN_OR_RETURN(int64_t dim, a.I("dim"));
  ASSIGN_OR_RETURN(std::vector<Tensor> parts, ops::Unbind(*x, dim));
  return Tup(std::move(parts));
}

// detach and alias: the same tensor.
absl::StatusOr<RuntimeValue> OpAlias(Ctx&, Args& a) {
  ASSIGN_OR_RETURN(Tensor * x, a.T("self"));
  return V(*x);
}

// contiguous: the same tensor when contiguous already, else a copy. Every
// memory format is row-major here; values are what matter.
absl::StatusOr<RuntimeValue> OpContiguous(Ctx&, Args& a) {
  ASSIGN_OR_RETURN(Tensor * x, a.T("self"));
  ASSIGN_OR_RETURN(Tensor r, x->Contiguous());
  return V(std::move(r));
}

absl::StatusOr<RuntimeValue> OpClone(Ctx&, Args& a) {
  ASSIGN_OR_RETURN(Tensor * x, a.T("self"));
  ASSIGN_OR_RETURN(Tensor r, x->Clone());
  return V(std::move(r));
}

// to.dtype / to.dtype_layout / type_as: the tensor itself when nothing
// converts (and no copy is asked for), as ATen returns self; else a cast.
absl::StatusOr<RuntimeValue> OpTo(Ctx&, Args& a) {
  ASSIGN_OR_RETURN(Tensor * x, a.T("self"));
  std::optional<ScalarType> dt;
  bool copy = false;
  if (a.Has("other")) {
    ASSIGN_OR_RETURN(Tensor * other, a.T("other"));
    dt = other->dtype();
  } else {
    ASSIGN_OR_RETURN(dt, a.Dtype("dtype"));
    ASSIGN_OR_RETURN(copy, a.B("copy"));
  }
  if (a.Has("device")) {
    ASSIGN_OR_RETURN(RuntimeValue * dv, a.Get("device"));
    if (dv->kind == RuntimeValue::Kind::kLiteral && dv->literal.kind() == Argument::Kind::kDevice &&
        dv->literal.as_device() != x->device() && !dv->literal.as_device().is_meta()) {
      return absl::UnimplementedError(absl::StrCat(
          "to(", dv->literal.as_device().ToString(), ") of a ", x->device().ToString(),
          " tensor: the executor runs a graph on one device"));
    }
  }
  if ((!dt.has_value() || *dt == x->dtype()) && !copy) return V(*x);
  if (!x->is_cpu()) {
    return absl::UnimplementedError("dtype conversion of a device tensor has no kernel");
  }
  ASSIGN_OR_RETURN(Tensor c, x->Contiguous());
  ASSIGN_OR_RETURN(Tensor r, ops::Cast(c, dt.value_or(x->dtype())));
  return V(std::move(r));
}

// _assert_tensor_metadata: the dtype and sizes a graph asserts. Strides are
// not compared: the executor's layouts may differ from eager's (views are
// real, but every kernel result is row-major).
absl::StatusOr<RuntimeValue> OpAssertTensorMetadata(Ctx&, Args& a) {
  ASSIGN_OR_RETURN(Tensor * x, a.T("a"));
  ASSIGN_OR_RETURN(std::optional<ScalarType> dt, a.Dtype("dtype"));
  ASSIGN_OR_RETURN(RuntimeValue * size, a.Get("size"));
  if (dt.has_value() && *dt != x->dtype()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "tensor metadata assertion failed: dtype ", ScalarTypeName(x->dtype()), ", expected ",
        ScalarTypeName(*dt)));
  }
  if (!size->is_none()) {
    ASSIGN_OR_RETURN(std::vector<int64_t> want, a.Ints("size"));
    if (want != x->shape()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "tensor metadata assertion failed: size ", ShapeToString(x->shape()), ", expected ",
          ShapeToString(want)));
    }
  }
  return RuntimeValue::None();
}

}  // namespace

void RegisterViewOps(OpRegistry& t) {
  auto view = [&](const char* name, OpFn fn) {
    OpEntry e;
    e.fn = fn;
    e.device_native = true;
    e.strided = true;
    e.aliases = true;
    t[name] = e;
  };
  view("aten.t.default", OpT);
  view("aten.transpose.int", OpTranspose);
  view("aten.swapaxes.default", OpTranspose);
  view("aten.permute.default", OpPermute);
  view("aten.view.default", OpView);
  view("aten._unsafe_view.default", OpView);
  view("aten.reshape.default", OpReshape);
  view("aten._reshape_alias.default", OpReshapeAlias);
  view("aten.as_strided.default", OpAsStrided);
  view("aten.as_strided_.default", OpAsStrided);
  t["aten.as_strided_.default"].rebinds_self = true;
  for (const char* name : {"aten._reshape_alias.default", "aten.as_strided.default",
                           "aten.as_strided_.default"}) {
    t[name].layout_sensitive = true;
  }
  view("aten.flatten.using_ints", OpFlatten);
  view("aten.unflatten.int", OpUnflatten);
  view("aten.unsqueeze.default", OpUnsqueeze);
  view("aten.squeeze.default", OpSqueeze);
  view("aten.squeeze.dim", OpSqueeze);
  view("aten.squeeze.dims", OpSqueeze);
  view("aten.expand.default", OpExpand);
  view("aten.slice.Tensor", OpSlice);
  view("aten.narrow.default", OpNarrow);
  view("aten.select.int", OpSelect);
  view("aten.split.Tensor", OpSplit);
  view("aten.split_with_sizes.default", OpSplitWithSizes);
  view("aten.chunk.default", OpChunk);
  view("aten.unbind.int", OpUnbind);
  // In-place forms change their argument's geometry (rebinds_self).
  for (const auto& [name, fn] : std::vector<std::pair<const char*, OpFn>>{
           {"aten.squeeze_.default", OpSqueeze},   {"aten.squeeze_.dim", OpSqueeze},
           {"aten.squeeze_.dims", OpSqueeze},      {"aten.unsqueeze_.default", OpUnsqueeze},
           {"aten.transpose_.default", OpTranspose}, {"aten.t_.default", OpT}}) {
    view(name, fn);
    t[name].rebinds_self = true;
  }
  view("aten._assert_tensor_metadata.default", OpAssertTensorMetadata);
  view("aten.to.dtype", OpTo);
  view("aten.to.dtype_layout", OpTo);
  view("aten.type_as.default", OpTo);
  view("aten.detach.default", OpAlias);
  view("aten.alias.default", OpAlias);
  view("aten.contiguous.default", OpContiguous);
  view("aten.clone.default", OpClone);
  view("aten.lift_fresh_copy.default", OpClone);
}

}  // namespace op_args
}  // namespace rewire
