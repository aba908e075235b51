#include "kernels/index_ops.h"

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "ir/status_macros.h"
#include "kernels/elementwise_util.h"
#include "kernels/view_ops.h"

namespace rewire {
namespace ops {
namespace {

using namespace elementwise_util;  // NOLINT(build/namespaces): this file's toolkit

bool IsMask(ScalarType t) { return t == ScalarType::kBool || t == ScalarType::kUInt8; }

// An element of an int64 or int32 index tensor (checked by the caller).
int64_t LoadIndex(const Tensor& t, int64_t i) {
  return t.dtype() == ScalarType::kInt64 ? t.data<int64_t>()[i] : t.data<int32_t>()[i];
}

// The positions where a mask covering x's dims [d, d + mask.dim()) is set,
// one int64 1-D tensor per covered dim, in row-major order.
absl::StatusOr<std::vector<Tensor>> MaskPositions(const Tensor& x, int d, const Tensor& mask) {
  if (d + mask.dim() > x.dim()) {
    return absl::InvalidArgumentError("index: too many indices for the tensor's dimensions");
  }
  for (int k = 0; k < mask.dim(); ++k) {
    if (mask.size(k) != x.size(d + k)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "index: the shape of the mask ", ShapeToString(mask.shape()), " at index ", k,
          " does not match the shape of the indexed tensor ", ShapeToString(x.shape()),
          " at index ", d + k));
    }
  }
  const uint8_t* m = static_cast<const uint8_t*>(mask.raw_data());
  int64_t n = 0;
  for (int64_t i = 0; i < mask.numel(); ++i) n += m[i] != 0;
  ASSIGN_OR_RETURN(Scratch<int64_t> hits, Scratch<int64_t>::Make(n));
  for (int64_t i = 0, j = 0; i < mask.numel(); ++i) {
    if (m[i] != 0) hits[j++] = i;
  }
  std::vector<Tensor> out;
  const std::vector<int64_t> strides = ContiguousStrides(mask.shape());
  for (int k = 0; k < mask.dim(); ++k) {
    ASSIGN_OR_RETURN(Tensor t, Tensor::Empty(ScalarType::kInt64, {n}));
    int64_t* p = t.data<int64_t>();
    for (int64_t j = 0; j < n; ++j) p[j] = (hits[j] / strides[k]) % mask.size(k);
    out.push_back(std::move(t));
  }
  return out;
}

// Element offsets (in elements of a contiguous tensor of `shape`) of every
// index tuple of the dims in `dims`, in row-major order.
absl::StatusOr<Scratch<int64_t>> Offsets(absl::Span<const int64_t> shape,
                                         absl::Span<const int> dims) {
  const std::vector<int64_t> strides = ContiguousStrides(shape);
  std::vector<int64_t> sizes, steps;
  for (int d : dims) {
    sizes.push_back(shape[d]);
    steps.push_back(strides[d]);
  }
  // No dims: one empty tuple, at offset 0.
  ASSIGN_OR_RETURN(const int64_t n, CheckedNumel(sizes));
  ASSIGN_OR_RETURN(Scratch<int64_t> out, Scratch<int64_t>::Make(n));
  ForEachBroadcast(sizes, steps, steps, [&](int64_t i, int64_t o, int64_t) { out[i] = o; });
  return out;
}

}  // namespace

absl::StatusOr<Tensor> Index(const Tensor& x, absl::Span<const Tensor> indices) {
  RETURN_IF_ERROR(CheckCpu(x, "index"));
  std::vector<Tensor> idx;  // one per dim of x; undefined for a whole dim
  int d = 0;
  for (const Tensor& t : indices) {
    if (!t.defined()) {
      idx.emplace_back();
      ++d;
      continue;
    }
    RETURN_IF_ERROR(CheckCpu(t, "index: an index tensor"));
    if (IsMask(t.dtype())) {
      ASSIGN_OR_RETURN(std::vector<Tensor> pos, MaskPositions(x, d, t));
      d += t.dim();
      for (Tensor& p : pos) idx.push_back(std::move(p));
      continue;
    }
    if (t.dtype() != ScalarType::kInt64 && t.dtype() != ScalarType::kInt32) {
      return absl::InvalidArgumentError(absl::StrCat(
          "index: tensors used as indices must be long, int, bool or uint8, not ",
          ScalarTypeName(t.dtype())));
    }
    idx.push_back(t);
    ++d;
  }
  if (static_cast<int>(idx.size()) > x.dim()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "index: too many indices for a tensor of dimension ", x.dim()));
  }
  idx.resize(x.dim());
  std::vector<int> indexed, rest;
  for (int i = 0; i < x.dim(); ++i) (idx[i].defined() ? indexed : rest).push_back(i);
  if (indexed.empty()) return x.Clone();
  std::vector<int64_t> b_shape;
  for (int i : indexed) {
    ASSIGN_OR_RETURN(b_shape, BroadcastShapes(b_shape, idx[i].shape()));
  }
  const bool adjacent = indexed.back() - indexed.front() + 1 == static_cast<int>(indexed.size());
  std::vector<int> pre, post;
  for (int r : rest) (adjacent && r < indexed.front() ? pre : post).push_back(r);
  std::vector<int64_t> out_shape;
  for (int r : pre) out_shape.push_back(x.size(r));
  out_shape.insert(out_shape.end(), b_shape.begin(), b_shape.end());
  for (int r : post) out_shape.push_back(x.size(r));
  ASSIGN_OR_RETURN(Tensor out, Tensor::Empty(x.dtype(), out_shape));
  if (out.numel() == 0) return out;

  ASSIGN_OR_RETURN(const int64_t nb, CheckedNumel(b_shape));
  ASSIGN_OR_RETURN(Scratch<int64_t> b_off, Scratch<int64_t>::Make(nb, 0));
  const std::vector<int64_t> x_strides = ContiguousStrides(x.shape());
  for (int i : indexed) {
    const Tensor& t = idx[i];
    const auto st = BroadcastStrides(t.shape(), b_shape);
    absl::Status bad;
    ForEachBroadcast(b_shape, st, st, [&](int64_t b, int64_t o, int64_t) {
      if (!bad.ok()) return;
      int64_t k = LoadIndex(t, o);
      if (k < -x.size(i) || k >= x.size(i)) {
        bad = absl::InvalidArgumentError(absl::StrCat(
            "index ", k, " is out of bounds for dimension ", i, " with size ", x.size(i)));
        return;
      }
      if (k < 0) k += x.size(i);
      b_off[b] += k * x_strides[i];
    });
    RETURN_IF_ERROR(bad);
  }
  ASSIGN_OR_RETURN(Scratch<int64_t> pre_off, Offsets(x.shape(), pre));
  ASSIGN_OR_RETURN(Scratch<int64_t> post_off, Offsets(x.shape(), post));
  const int64_t item = x.itemsize();
  const char* src = static_cast<const char*>(x.raw_data());
  char* dst = static_cast<char*>(out.raw_data());
  for (int64_t p : pre_off) {
    for (int64_t b : b_off) {
      for (int64_t q : post_off) {
        std::memcpy(dst, src + (p + b + q) * item, item);
        dst += item;
      }
    }
  }
  return out;
}

absl::StatusOr<Tensor> IndexSelect(const Tensor& x, int64_t dim, const Tensor& index) {
  if (index.dim() > 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        "index_select: index must be 0-D or 1-D, got ", ShapeToString(index.shape())));
  }
  if (index.dtype() != ScalarType::kInt64 && index.dtype() != ScalarType::kInt32) {
    return absl::InvalidArgumentError("index_select: index must be int64 or int32");
  }
  if (x.dim() == 0) {
    ASSIGN_OR_RETURN(Tensor one, x.Reshape({1}));
    ASSIGN_OR_RETURN(Tensor r, IndexSelect(one, dim, index));
    return r.Reshape({});
  }
  ASSIGN_OR_RETURN(int d, NormalizeDim(dim, x.dim()));
  ASSIGN_OR_RETURN(Tensor flat, index.Reshape({index.numel()}));
  std::vector<Tensor> indices(d);
  indices.push_back(flat);
  return Index(x, indices);
}

absl::StatusOr<Tensor> SliceScatter(const Tensor& x, const Tensor& src, int64_t dim,
                                    std::optional<int64_t> start,
                                    std::optional<int64_t> end, int64_t step) {
  RETURN_IF_ERROR(CheckCpu(x, "slice_scatter"));
  RETURN_IF_ERROR(CheckCpu(src, "slice_scatter src"));
  ASSIGN_OR_RETURN(Tensor out, x.Clone());
  ASSIGN_OR_RETURN(Tensor view, Slice(out, dim, start, end, step));
  if (view.shape() != src.shape()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "slice_scatter: src ", ShapeToString(src.shape()), " does not match the slice ",
        ShapeToString(view.shape())));
  }
  Tensor s = src;
  if (s.dtype() != x.dtype()) {
    ASSIGN_OR_RETURN(s, Cast(src, x.dtype()));
  }
  RETURN_IF_ERROR(view.CopyFrom(s));
  return out;
}

absl::StatusOr<Tensor> MaskedFill(const Tensor& x, const Tensor& mask, Scalar value) {
  RETURN_IF_ERROR(CheckCpu(x, "masked_fill"));
  ASSIGN_OR_RETURN(std::vector<int64_t> shape, BroadcastShapes(x.shape(), mask.shape()));
  ASSIGN_OR_RETURN(Tensor out, Tensor::Empty(x.dtype(), shape));
  RETURN_IF_ERROR(CopyInto(out, x));
  RETURN_IF_ERROR(MaskedFill_(out, mask, value));
  return out;
}

absl::Status MaskedFill_(Tensor& x, const Tensor& mask, Scalar value) {
  RETURN_IF_ERROR(CheckCpu(x, "masked_fill_"));
  RETURN_IF_ERROR(CheckCpu(mask, "masked_fill_ mask"));
  if (!IsMask(mask.dtype())) {
    return absl::InvalidArgumentError(absl::StrCat(
        "masked_fill_: the mask must be bool, not ", ScalarTypeName(mask.dtype())));
  }
  ASSIGN_OR_RETURN(std::vector<int64_t> shape, BroadcastShapes(x.shape(), mask.shape()));
  if (shape != x.shape()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "masked_fill_: mask ", ShapeToString(mask.shape()), " does not broadcast to ",
        ShapeToString(x.shape())));
  }
  ASSIGN_OR_RETURN(auto io, Io(x.dtype()));
  const auto sm = BroadcastStrides(mask.shape(), shape);
  const uint8_t* m = static_cast<const uint8_t*>(mask.raw_data());
  void* dst = x.raw_data();
  ForEachBroadcast(shape, sm, sm, [&](int64_t i, int64_t o, int64_t) {
    if (m[o] != 0) io.second(dst, i, value.value);
  });
  return absl::OkStatus();
}

absl::StatusOr<Tensor> Where(const Tensor& condition, const Tensor& a, const Tensor& b) {
  RETURN_IF_ERROR(CheckCpu(condition, "where condition"));
  RETURN_IF_ERROR(CheckCpu(a, "where self"));
  RETURN_IF_ERROR(CheckCpu(b, "where other"));
  if (!IsMask(condition.dtype())) {
    return absl::InvalidArgumentError(absl::StrCat(
        "where: the condition must be bool, not ", ScalarTypeName(condition.dtype())));
  }
  ASSIGN_OR_RETURN(std::vector<int64_t> ab, BroadcastShapes(a.shape(), b.shape()));
  ASSIGN_OR_RETURN(std::vector<int64_t> shape, BroadcastShapes(condition.shape(), ab));
  const ScalarType dt = PromoteTypes(a, b);
  ASSIGN_OR_RETURN(auto la, Io(a.dtype()));
  ASSIGN_OR_RETURN(auto lb, Io(b.dtype()));
  ASSIGN_OR_RETURN(auto io, Io(dt));
  ASSIGN_OR_RETURN(Tensor out, Tensor::Empty(dt, shape));
  const auto sc = BroadcastStrides(condition.shape(), shape);
  const auto sa = BroadcastStrides(a.shape(), shape);
  const auto sb = BroadcastStrides(b.shape(), shape);
  const uint8_t* c = static_cast<const uint8_t*>(condition.raw_data());
  const void* pa = a.raw_data();
  const void* pb = b.raw_data();
  void* dst = out.raw_data();
  // Two walks: condition with a, then b where the condition is false.
  ForEachBroadcast(shape, sc, sa, [&](int64_t i, int64_t oc, int64_t oa) {
    if (c[oc] != 0) io.second(dst, i, la.first(pa, oa));
  });
  ForEachBroadcast(shape, sc, sb, [&](int64_t i, int64_t oc, int64_t ob) {
    if (c[oc] == 0) io.second(dst, i, lb.first(pb, ob));
  });
  return out;
}

absl::StatusOr<Tensor> Roll(const Tensor& x, absl::Span<const int64_t> shifts,
                            absl::Span<const int64_t> dims) {
  RETURN_IF_ERROR(CheckCpu(x, "roll"));
  if (dims.empty()) {
    if (shifts.size() != 1) {
      return absl::InvalidArgumentError("roll: without dims, exactly one shift");
    }
    ASSIGN_OR_RETURN(Tensor flat, x.Reshape({x.numel()}));
    const int64_t zero = 0;
    ASSIGN_OR_RETURN(Tensor r, Roll(flat, shifts, absl::MakeConstSpan(&zero, 1)));
    return r.Reshape(x.shape());
  }
  if (shifts.size() != dims.size()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "roll: ", shifts.size(), " shifts for ", dims.size(), " dims"));
  }
  std::vector<int64_t> shift(x.dim(), 0);
  for (size_t k = 0; k < dims.size(); ++k) {
    ASSIGN_OR_RETURN(int d, NormalizeDim(dims[k], x.dim()));
    const int64_t n = x.size(d);
    if (n == 0) continue;
    shift[d] = ((shift[d] + shifts[k] % n) % n + n) % n;
  }
  ASSIGN_OR_RETURN(Tensor out, Tensor::Empty(x.dtype(), x.shape()));
  if (out.numel() == 0) return out;
  // Source offset of each output index per dim, then an odometer.
  const std::vector<int64_t> strides = ContiguousStrides(x.shape());
  // from[first[d] + i]: the source offset of index i of dim d.
  std::vector<int64_t> first(x.dim(), 0);
  int64_t total = 0;
  for (int d = 0; d < x.dim(); ++d) {
    first[d] = total;
    total += x.size(d);
  }
  ASSIGN_OR_RETURN(Scratch<int64_t> from, Scratch<int64_t>::Make(total));
  for (int d = 0; d < x.dim(); ++d) {
    const int64_t n = x.size(d);
    for (int64_t i = 0; i < n; ++i) from[first[d] + i] = ((i - shift[d] + n) % n) * strides[d];
  }
  const int64_t item = x.itemsize();
  const char* src = static_cast<const char*>(x.raw_data());
  char* dst = static_cast<char*>(out.raw_data());
  std::vector<int64_t> idx(x.dim(), 0);
  for (int64_t i = 0; i < out.numel(); ++i) {
    int64_t off = 0;
    for (int d = 0; d < x.dim(); ++d) off += from[first[d] + idx[d]];
    std::memcpy(dst + i * item, src + off * item, item);
    for (int d = x.dim() - 1; d >= 0; --d) {
      if (++idx[d] < x.size(d)) break;
      idx[d] = 0;
    }
  }
  return out;
}

absl::StatusOr<Tensor> ConstantPadNd(const Tensor& x, absl::Span<const int64_t> pad,
                                     double value) {
  RETURN_IF_ERROR(CheckCpu(x, "constant_pad_nd"));
  if (pad.size() % 2 != 0 || static_cast<int>(pad.size() / 2) > x.dim()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "constant_pad_nd: ", pad.size(), " pad entries for a ", x.dim(),
        "-D tensor (need pairs, at most two per dim)"));
  }
  std::vector<int64_t> shape = x.shape();
  Tensor src = x;
  std::vector<std::pair<int64_t, int64_t>> place(x.dim(), {0, 0});  // (dst start, len)
  for (size_t k = 0; k < pad.size() / 2; ++k) {
    const int d = x.dim() - 1 - static_cast<int>(k);
    const int64_t lo = pad[2 * k], hi = pad[2 * k + 1];
    int64_t size;
    if (__builtin_add_overflow(x.size(d), lo, &size) || __builtin_add_overflow(size, hi, &size) ||
        size < 0) {
      return absl::InvalidArgumentError(absl::StrCat(
          "constant_pad_nd: padding (", lo, ", ", hi, ") of dim ", d, " of size ", x.size(d),
          " gives a negative or overflowing size"));
    }
    shape[d] = size;
  }
  ASSIGN_OR_RETURN(Tensor out, Full(shape, value, x.dtype()));
  Tensor dst = out;
  for (size_t k = 0; k < pad.size() / 2; ++k) {
    const int d = x.dim() - 1 - static_cast<int>(k);
    const int64_t lo = pad[2 * k], hi = pad[2 * k + 1];
    const int64_t s0 = std::max<int64_t>(0, -lo);
    const int64_t len = x.size(d) - s0 - std::max<int64_t>(0, -hi);
    if (len <= 0) return out;  // everything cropped: all padding
    ASSIGN_OR_RETURN(src, Slice(src, d, s0, s0 + len, 1));
    const int64_t d0 = std::max<int64_t>(0, lo);
    ASSIGN_OR_RETURN(dst, Slice(dst, d, d0, d0 + len, 1));
  }
  RETURN_IF_ERROR(dst.CopyFrom(src));
  return out;
}

}  // namespace ops
}  // namespace rewire
