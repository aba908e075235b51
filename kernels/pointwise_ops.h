// Elementwise comparisons, clamping, logical ops, fmod, any and fill, with
// PyTorch's semantics: numpy broadcasting, bool results for comparisons and
// logical ops, type promotion between a tensor and a Python number (an
// integer tensor with a float number gives float32), NaN propagating through
// clamp. Also the creation ops that take a number (arange). CPU, contiguous
// inputs (the executor stages views); errors are InvalidArgument naming the
// op.
#ifndef REWIRE_KERNELS_POINTWISE_OPS_H_
#define REWIRE_KERNELS_POINTWISE_OPS_H_

#include <optional>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "kernels/common_ops.h"
#include "kernels/tensor.h"

namespace rewire {
namespace ops {

enum class CompareKind { kEq, kNe, kLt, kLe, kGt, kGe };

// Bool tensors.
absl::StatusOr<Tensor> CompareScalar(CompareKind kind, const Tensor& x, Scalar other);
absl::StatusOr<Tensor> Compare(CompareKind kind, const Tensor& a, const Tensor& b);
absl::StatusOr<Tensor> LogicalNot(const Tensor& x);
enum class LogicalKind { kAnd, kOr, kXor };
absl::StatusOr<Tensor> Logical(LogicalKind kind, const Tensor& a, const Tensor& b);
// tril / triu over the last two dims: elements with col - row above
// (tril) or below (triu) `diagonal` become 0.
absl::StatusOr<Tensor> Triangle(const Tensor& x, int64_t diagonal, bool lower);
// any over one dim: bool (uint8 for a uint8 input, as PyTorch).
absl::StatusOr<Tensor> AnyDim(const Tensor& x, int64_t dim, bool keepdim);

// clamp(min, max): at least one bound; a NaN input stays NaN, and with
// min > max every element becomes max.
absl::StatusOr<Tensor> Clamp(const Tensor& x, std::optional<Scalar> min,
                             std::optional<Scalar> max);
absl::Status Clamp_(Tensor& x, std::optional<Scalar> min, std::optional<Scalar> max);
// C's fmod (the remainder has the dividend's sign); integer division by zero
// is an error.
absl::StatusOr<Tensor> FmodScalar(const Tensor& x, Scalar other);

// Every element of x set to `value` (cast to x's dtype).
absl::Status Fill_(Tensor& x, Scalar value);

// arange(start, end, step): int64 when all three are integers, else
// float32, unless `dtype` says otherwise; step must be non-zero and point
// from start to end (or the range is empty).
absl::StatusOr<Tensor> Arange(Scalar start, Scalar end, Scalar step,
                              std::optional<ScalarType> dtype);

}  // namespace ops
}  // namespace rewire

#endif  // REWIRE_KERNELS_POINTWISE_OPS_H_
