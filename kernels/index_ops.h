// Indexing and data movement by position: advanced indexing (index.Tensor,
// index_select), slice_scatter, masked_fill, where, roll and constant
// padding, with PyTorch's semantics (broadcast index tensors, bool masks as
// their nonzero positions, negative indices counted from the end, the
// result dims of non-adjacent index tensors in front). CPU; an index out of
// range or a shape that does not broadcast is an InvalidArgument naming the
// op, never a read outside a tensor.
#ifndef REWIRE_KERNELS_INDEX_OPS_H_
#define REWIRE_KERNELS_INDEX_OPS_H_

#include <cstdint>
#include <optional>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "kernels/common_ops.h"
#include "kernels/tensor.h"

namespace rewire {
namespace ops {

// x[indices...]: an undefined Tensor stands for None (the whole dim); index
// tensors are int64/int32, or bool/uint8 masks.
absl::StatusOr<Tensor> Index(const Tensor& x, absl::Span<const Tensor> indices);
// `index` 0-D or 1-D.
absl::StatusOr<Tensor> IndexSelect(const Tensor& x, int64_t dim, const Tensor& index);
// A copy of x with x[dim][start:end:step] replaced by src.
absl::StatusOr<Tensor> SliceScatter(const Tensor& x, const Tensor& src, int64_t dim,
                                    std::optional<int64_t> start,
                                    std::optional<int64_t> end, int64_t step);
// x where mask (bool, broadcast) is false, value where it is true.
absl::StatusOr<Tensor> MaskedFill(const Tensor& x, const Tensor& mask, Scalar value);
absl::Status MaskedFill_(Tensor& x, const Tensor& mask, Scalar value);
// condition ? a : b, broadcast; dtype promoted from a and b.
absl::StatusOr<Tensor> Where(const Tensor& condition, const Tensor& a, const Tensor& b);
// Elements shifted along dims (cyclically); no dims: over the flattened
// tensor.
absl::StatusOr<Tensor> Roll(const Tensor& x, absl::Span<const int64_t> shifts,
                            absl::Span<const int64_t> dims);
// pad = (left, right) pairs from the last dim backward; negative entries
// crop.
absl::StatusOr<Tensor> ConstantPadNd(const Tensor& x, absl::Span<const int64_t> pad,
                                     double value);

}  // namespace ops
}  // namespace rewire

#endif  // REWIRE_KERNELS_INDEX_OPS_H_
