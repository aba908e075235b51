// PyTorch's view ops on rewire tensors: each result shares its input's
// storage with new sizes, strides and offset (Tensor::AsStrided), exactly as
// ATen lays them out, so that writing through a view writes the base and a
// later read of any alias sees it. Nothing here touches element data except
// the reshape-like ops (Reshape, Flatten), which copy only when the input's
// strides cannot express the new shape, as ATen's do.
//
// The functions are metadata-only and so work on any device. Arguments come
// from graphs, so every dim, index and size is checked and a bad one is an
// InvalidArgument naming it (never an out-of-bounds view: AsStrided checks
// every result against its storage).
#ifndef REWIRE_KERNELS_VIEW_OPS_H_
#define REWIRE_KERNELS_VIEW_OPS_H_

#include <cstdint>
#include <optional>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "kernels/tensor.h"

namespace rewire {
namespace ops {

// view: InvalidArgument when the strides cannot express `sizes` (one -1
// allowed).
absl::StatusOr<Tensor> View(const Tensor& x, absl::Span<const int64_t> sizes);
// reshape: a view when possible, else a contiguous copy.
absl::StatusOr<Tensor> Reshape(const Tensor& x, absl::Span<const int64_t> sizes);
// flatten.using_ints, reshape semantics.
absl::StatusOr<Tensor> Flatten(const Tensor& x, int64_t start, int64_t end);
absl::StatusOr<Tensor> Unflatten(const Tensor& x, int64_t dim,
                                 absl::Span<const int64_t> sizes);
absl::StatusOr<Tensor> Unsqueeze(const Tensor& x, int64_t dim);
// squeeze.dims (dims named but not of size 1 stay); squeeze() when `dims`
// is nullopt: every size-1 dim.
absl::StatusOr<Tensor> Squeeze(const Tensor& x,
                               std::optional<absl::Span<const int64_t>> dims);
absl::StatusOr<Tensor> Permute(const Tensor& x, absl::Span<const int64_t> dims);
absl::StatusOr<Tensor> Transpose(const Tensor& x, int64_t d0, int64_t d1);
// t(): 0-D and 1-D unchanged, 2-D transposed, more is an error.
absl::StatusOr<Tensor> T(const Tensor& x);
// -1 keeps a size; new leading dims allowed; broadcast dims get stride 0.
absl::StatusOr<Tensor> Expand(const Tensor& x, absl::Span<const int64_t> sizes);
// slice.Tensor: start/end clamped as Python slicing does; step > 0.
absl::StatusOr<Tensor> Slice(const Tensor& x, int64_t dim,
                             std::optional<int64_t> start,
                             std::optional<int64_t> end, int64_t step);
// narrow: start may be negative; start + length must fit.
absl::StatusOr<Tensor> Narrow(const Tensor& x, int64_t dim, int64_t start,
                              int64_t length);
// select.int: index in [-size, size).
absl::StatusOr<Tensor> Select(const Tensor& x, int64_t dim, int64_t index);
// storage_offset defaults to x's own.
absl::StatusOr<Tensor> AsStrided(const Tensor& x, absl::Span<const int64_t> size,
                                 absl::Span<const int64_t> stride,
                                 std::optional<int64_t> storage_offset);
absl::StatusOr<std::vector<Tensor>> Split(const Tensor& x, int64_t split_size,
                                          int64_t dim);
absl::StatusOr<std::vector<Tensor>> SplitWithSizes(
    const Tensor& x, absl::Span<const int64_t> sizes, int64_t dim);
absl::StatusOr<std::vector<Tensor>> Chunk(const Tensor& x, int64_t chunks,
                                          int64_t dim);
absl::StatusOr<std::vector<Tensor>> Unbind(const Tensor& x, int64_t dim);

}  // namespace ops
}  // namespace rewire

#endif  // REWIRE_KERNELS_VIEW_OPS_H_
