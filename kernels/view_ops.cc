#include "kernels/view_ops.h"

#include <algorithm>
#include <numeric>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "ir/status_macros.h"
#include "kernels/common_ops.h"

namespace rewire {
namespace ops {
namespace {

absl::StatusOr<Tensor> Restride(const Tensor& x, std::vector<int64_t> shape,
                                std::vector<int64_t> strides, int64_t offset) {
  return x.AsStrided(std::move(shape), std::move(strides), offset);
}

// Dim `dim` of x, where a 0-D tensor has one dim of size 1 as ATen's
// maybe_wrap_dim allows for squeeze/unsqueeze-like ops.
absl::StatusOr<int> Dim(const Tensor& x, int64_t dim, const char* op) {
  absl::StatusOr<int> d = NormalizeDim(dim, x.dim());
  if (!d.ok()) return absl::InvalidArgumentError(absl::StrCat(op, ": ", d.status().message()));
  return *d;
}

absl::Status NeedsDims(const Tensor& x, const char* op) {
  if (x.dim() == 0) {
    return absl::InvalidArgumentError(absl::StrCat(op, ": the tensor has no dimensions"));
  }
  return absl::OkStatus();
}

// More results than any model makes: a 0-size tensor may have a dim of
// 10^15 whose pieces would exhaust memory as Tensor objects alone, which no
// byte limit counts (2^24 pieces of a [2^24, 0] tensor took 5 GB and 40 s;
// 2^20 take about 300 MB and two seconds).
constexpr int64_t kMaxPieces = int64_t{1} << 20;

absl::Status CheckPieces(int64_t n, const char* op) {
  if (n > kMaxPieces) {
    return absl::InvalidArgumentError(absl::StrCat(
        op, ": ", n, " results, more than the limit of ", kMaxPieces));
  }
  return absl::OkStatus();
}

// Pieces of dim d of the given lengths, in order.
absl::StatusOr<std::vector<Tensor>> Pieces(const Tensor& x, int d,
                                           absl::Span<const int64_t> lengths) {
  RETURN_IF_ERROR(CheckPieces(static_cast<int64_t>(lengths.size()), "split"));
  std::vector<Tensor> out;
  out.reserve(lengths.size());
  int64_t start = 0;
  for (int64_t n : lengths) {
    std::vector<int64_t> shape = x.shape();
    shape[d] = n;
    ASSIGN_OR_RETURN(Tensor t, Restride(x, std::move(shape), x.strides(),
                                        x.storage_offset() + start * x.strides()[d]));
    out.push_back(std::move(t));
    start += n;
  }
  return out;
}

}  // namespace

absl::StatusOr<Tensor> View(const Tensor& x, absl::Span<const int64_t> sizes) {
  ASSIGN_OR_RETURN(std::vector<int64_t> shape, InferShape(sizes, x.numel()));
  return x.Reshape(std::move(shape));
}

absl::StatusOr<Tensor> Reshape(const Tensor& x, absl::Span<const int64_t> sizes) {
  ASSIGN_OR_RETURN(std::vector<int64_t> shape, InferShape(sizes, x.numel()));
  absl::StatusOr<Tensor> v = x.Reshape(shape);
  if (v.ok() || x.is_contiguous()) return v;
  ASSIGN_OR_RETURN(Tensor c, x.Contiguous());
  return c.Reshape(std::move(shape));
}

absl::StatusOr<Tensor> Flatten(const Tensor& x, int64_t start, int64_t end) {
  if (x.dim() == 0) return Reshape(x, {1});
  ASSIGN_OR_RETURN(int s, Dim(x, start, "flatten"));
  ASSIGN_OR_RETURN(int e, Dim(x, end, "flatten"));
  if (s > e) return absl::InvalidArgumentError("flatten: start_dim after end_dim");
  if (s == e) return x;
  std::vector<int64_t> shape;
  for (int i = 0; i < s; ++i) shape.push_back(x.size(i));
  int64_t m = 1;
  for (int i = s; i <= e; ++i) m *= x.size(i);
  shape.push_back(m);
  for (int i = e + 1; i < x.dim(); ++i) shape.push_back(x.size(i));
  return Reshape(x, shape);
}

absl::StatusOr<Tensor> Unflatten(const Tensor& x, int64_t dim,
                                 absl::Span<const int64_t> sizes) {
  RETURN_IF_ERROR(NeedsDims(x, "unflatten"));
  ASSIGN_OR_RETURN(int d, Dim(x, dim, "unflatten"));
  if (sizes.empty()) return absl::InvalidArgumentError("unflatten: sizes must be non-empty");
  absl::StatusOr<std::vector<int64_t>> inner = InferShape(sizes, x.size(d));
  if (!inner.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "unflatten: sizes ", ShapeToString(sizes), " do not multiply to size ",
        x.size(d), " of dim ", d));
  }
  std::vector<int64_t> shape(x.shape().begin(), x.shape().begin() + d);
  std::vector<int64_t> strides(x.strides().begin(), x.strides().begin() + d);
  std::vector<int64_t> sub(inner->size());
  int64_t step = x.strides()[d];
  for (int i = static_cast<int>(inner->size()) - 1; i >= 0; --i) {
    sub[i] = step;
    step *= std::max<int64_t>((*inner)[i], 1);
  }
  shape.insert(shape.end(), inner->begin(), inner->end());
  strides.insert(strides.end(), sub.begin(), sub.end());
  shape.insert(shape.end(), x.shape().begin() + d + 1, x.shape().end());
  strides.insert(strides.end(), x.strides().begin() + d + 1, x.strides().end());
  return Restride(x, std::move(shape), std::move(strides), x.storage_offset());
}

absl::StatusOr<Tensor> Unsqueeze(const Tensor& x, int64_t dim) {
  absl::StatusOr<int> d = NormalizeDim(dim, x.dim() + 1);
  if (!d.ok()) return absl::InvalidArgumentError(absl::StrCat("unsqueeze: ", d.status().message()));
  std::vector<int64_t> shape = x.shape();
  std::vector<int64_t> strides = x.strides();
  const int64_t stride = *d < x.dim() ? shape[*d] * strides[*d] : 1;
  shape.insert(shape.begin() + *d, 1);
  strides.insert(strides.begin() + *d, stride);
  return Restride(x, std::move(shape), std::move(strides), x.storage_offset());
}

absl::StatusOr<Tensor> Squeeze(const Tensor& x,
                               std::optional<absl::Span<const int64_t>> dims) {
  std::vector<bool> drop(x.dim(), !dims.has_value());
  if (dims.has_value()) {
    for (int64_t dim : *dims) {
      if (x.dim() == 0) {
        RETURN_IF_ERROR(Dim(x, dim, "squeeze").status());
        continue;
      }
      ASSIGN_OR_RETURN(int d, Dim(x, dim, "squeeze"));
      drop[d] = true;
    }
  }
  std::vector<int64_t> shape, strides;
  for (int d = 0; d < x.dim(); ++d) {
    if (drop[d] && x.size(d) == 1) continue;
    shape.push_back(x.size(d));
    strides.push_back(x.strides()[d]);
  }
  return Restride(x, std::move(shape), std::move(strides), x.storage_offset());
}

absl::StatusOr<Tensor> Permute(const Tensor& x, absl::Span<const int64_t> dims) {
  if (static_cast<int>(dims.size()) != x.dim()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "permute: ", dims.size(), " dims for a ", x.dim(), "-D tensor"));
  }
  std::vector<bool> seen(dims.size(), false);
  std::vector<int64_t> shape(dims.size()), strides(dims.size());
  for (size_t i = 0; i < dims.size(); ++i) {
    ASSIGN_OR_RETURN(int p, Dim(x, dims[i], "permute"));
    if (seen[p]) return absl::InvalidArgumentError("permute: repeated dim");
    seen[p] = true;
    shape[i] = x.size(p);
    strides[i] = x.strides()[p];
  }
  return Restride(x, std::move(shape), std::move(strides), x.storage_offset());
}

absl::StatusOr<Tensor> Transpose(const Tensor& x, int64_t d0, int64_t d1) {
  if (x.dim() == 0) {
    RETURN_IF_ERROR(Dim(x, d0, "transpose").status());
    RETURN_IF_ERROR(Dim(x, d1, "transpose").status());
    return x;
  }
  ASSIGN_OR_RETURN(int a, Dim(x, d0, "transpose"));
  ASSIGN_OR_RETURN(int b, Dim(x, d1, "transpose"));
  std::vector<int64_t> shape = x.shape();
  std::vector<int64_t> strides = x.strides();
  std::swap(shape[a], shape[b]);
  std::swap(strides[a], strides[b]);
  return Restride(x, std::move(shape), std::move(strides), x.storage_offset());
}

absl::StatusOr<Tensor> T(const Tensor& x) {
  if (x.dim() > 2) {
    return absl::InvalidArgumentError(
        absl::StrCat("t() expects a tensor with <= 2 dims, got ", x.dim()));
  }
  if (x.dim() < 2) return x;
  return Transpose(x, 0, 1);
}

absl::StatusOr<Tensor> Expand(const Tensor& x, absl::Span<const int64_t> sizes) {
  if (static_cast<int>(sizes.size()) < x.dim()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "expand: ", sizes.size(), " sizes for a ", x.dim(), "-D tensor"));
  }
  std::vector<int64_t> shape(sizes.begin(), sizes.end());
  std::vector<int64_t> strides(sizes.size(), 0);
  const size_t off = sizes.size() - x.dim();
  for (size_t i = 0; i < shape.size(); ++i) {
    const int64_t have = i < off ? 1 : x.size(static_cast<int>(i - off));
    const int64_t stride = i < off ? 0 : x.strides()[i - off];
    if (shape[i] == -1) {
      if (i < off) return absl::InvalidArgumentError("expand: -1 in a new leading dim");
      shape[i] = have;
    } else if (shape[i] < 0) {
      return absl::InvalidArgumentError("expand: negative size");
    } else if (have != 1 && have != shape[i]) {
      return absl::InvalidArgumentError(absl::StrCat(
          "expand: size ", have, " of dim ", i - off, " cannot expand to ", shape[i]));
    }
    strides[i] = (have == shape[i]) ? stride : 0;
  }
  return Restride(x, std::move(shape), std::move(strides), x.storage_offset());
}

absl::StatusOr<Tensor> Slice(const Tensor& x, int64_t dim,
                             std::optional<int64_t> start_in,
                             std::optional<int64_t> end_in, int64_t step) {
  RETURN_IF_ERROR(NeedsDims(x, "slice"));
  ASSIGN_OR_RETURN(int d, Dim(x, dim, "slice"));
  if (step <= 0) {
    return absl::InvalidArgumentError(absl::StrCat("slice: step must be positive, got ", step));
  }
  const int64_t size = x.size(d);
  auto clamp = [size](int64_t v) {
    if (v < 0) v = v < -size ? 0 : v + size;
    return std::min(v, size);
  };
  const int64_t start = clamp(start_in.value_or(0));
  const int64_t end = std::max(start, clamp(end_in.value_or(size)));
  const int64_t len = end - start;
  std::vector<int64_t> shape = x.shape();
  std::vector<int64_t> strides = x.strides();
  shape[d] = len == 0 ? 0 : (len - 1) / step + 1;
  int64_t stride;
  if (__builtin_mul_overflow(strides[d], step, &stride)) {
    return absl::InvalidArgumentError(absl::StrCat("slice: step ", step, " overflows the stride"));
  }
  strides[d] = shape[d] <= 1 ? strides[d] : stride;
  return Restride(x, std::move(shape), std::move(strides),
                  x.storage_offset() + start * x.strides()[d]);
}

absl::StatusOr<Tensor> Narrow(const Tensor& x, int64_t dim, int64_t start,
                              int64_t length) {
  RETURN_IF_ERROR(NeedsDims(x, "narrow"));
  ASSIGN_OR_RETURN(int d, Dim(x, dim, "narrow"));
  const int64_t size = x.size(d);
  if (start < -size || start > size) {
    return absl::InvalidArgumentError(absl::StrCat(
        "narrow: start ", start, " out of range for dim ", d, " of size ", size));
  }
  if (start < 0) start += size;
  if (length < 0 || length > size - start) {
    return absl::InvalidArgumentError(absl::StrCat(
        "narrow: start ", start, " + length ", length, " exceeds size ", size, " of dim ", d));
  }
  return Slice(x, d, start, start + length, 1);
}

absl::StatusOr<Tensor> Select(const Tensor& x, int64_t dim, int64_t index) {
  RETURN_IF_ERROR(NeedsDims(x, "select"));
  ASSIGN_OR_RETURN(int d, Dim(x, dim, "select"));
  const int64_t size = x.size(d);
  if (index < -size || index >= size) {
    return absl::InvalidArgumentError(absl::StrCat(
        "select: index ", index, " out of range for dim ", d, " of size ", size));
  }
  if (index < 0) index += size;
  std::vector<int64_t> shape = x.shape();
  std::vector<int64_t> strides = x.strides();
  shape.erase(shape.begin() + d);
  strides.erase(strides.begin() + d);
  return Restride(x, std::move(shape), std::move(strides),
                  x.storage_offset() + index * x.strides()[d]);
}

absl::StatusOr<Tensor> AsStrided(const Tensor& x, absl::Span<const int64_t> size,
                                 absl::Span<const int64_t> stride,
                                 std::optional<int64_t> storage_offset) {
  return x.AsStrided(std::vector<int64_t>(size.begin(), size.end()),
                     std::vector<int64_t>(stride.begin(), stride.end()),
                     storage_offset.value_or(x.storage_offset()));
}

absl::StatusOr<std::vector<Tensor>> Split(const Tensor& x, int64_t split_size,
                                          int64_t dim) {
  RETURN_IF_ERROR(NeedsDims(x, "split"));
  ASSIGN_OR_RETURN(int d, Dim(x, dim, "split"));
  const int64_t len = x.size(d);
  if (split_size < 0 || (split_size == 0 && len != 0)) {
    return absl::InvalidArgumentError(
        absl::StrCat("split: invalid split_size ", split_size));
  }
  // Rounded up without len + split_size - 1, which overflows for a
  // split_size near int64's range.
  const int64_t pieces =
      len == 0 ? 1 : len / split_size + (len % split_size != 0 ? 1 : 0);
  RETURN_IF_ERROR(CheckPieces(pieces, "split"));
  std::vector<int64_t> lengths;
  for (int64_t p = 0; p < pieces; ++p) {
    lengths.push_back(std::min(split_size, len - p * split_size));
  }
  return Pieces(x, d, lengths);
}

absl::StatusOr<std::vector<Tensor>> SplitWithSizes(
    const Tensor& x, absl::Span<const int64_t> sizes, int64_t dim) {
  RETURN_IF_ERROR(NeedsDims(x, "split_with_sizes"));
  ASSIGN_OR_RETURN(int d, Dim(x, dim, "split_with_sizes"));
  int64_t total = 0;
  for (int64_t s : sizes) {
    if (s < 0 || __builtin_add_overflow(total, s, &total)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "split_with_sizes: invalid split sizes ", ShapeToString(sizes)));
    }
  }
  if (total != x.size(d)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "split_with_sizes: sizes ", ShapeToString(sizes), " sum to ", total,
        ", not to size ", x.size(d), " of dim ", d));
  }
  return Pieces(x, d, sizes);
}

absl::StatusOr<std::vector<Tensor>> Chunk(const Tensor& x, int64_t chunks,
                                          int64_t dim) {
  RETURN_IF_ERROR(NeedsDims(x, "chunk"));
  if (chunks <= 0) {
    return absl::InvalidArgumentError(absl::StrCat("chunk: chunks must be positive, got ", chunks));
  }
  ASSIGN_OR_RETURN(int d, Dim(x, dim, "chunk"));
  const int64_t len = x.size(d);
  const int64_t split_size = len / chunks + (len % chunks != 0 ? 1 : 0);
  if (split_size == 0 && len == 0) {
    // As ATen: `chunks` empty pieces rather than split's single one.
    RETURN_IF_ERROR(CheckPieces(chunks, "chunk"));
    return Pieces(x, d, std::vector<int64_t>(chunks, 0));
  }
  return Split(x, split_size, d);
}

absl::StatusOr<std::vector<Tensor>> Unbind(const Tensor& x, int64_t dim) {
  RETURN_IF_ERROR(NeedsDims(x, "unbind"));
  ASSIGN_OR_RETURN(int d, Dim(x, dim, "unbind"));
  RETURN_IF_ERROR(CheckPieces(x.size(d), "unbind"));
  std::vector<Tensor> out;
  out.reserve(x.size(d));
  for (int64_t i = 0; i < x.size(d); ++i) {
    ASSIGN_OR_RETURN(Tensor t, Select(x, d, i));
    out.push_back(std::move(t));
  }
  return out;
}

}  // namespace ops
}  // namespace rewire
