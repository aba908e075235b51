// CPU implementations of the elementwise and general ops real models put
// around dropout and batch norm: arithmetic with numpy broadcasting and
// PyTorch's type promotion, activations, casts and copies, concatenation,
// reductions, softmax and layer norm. Convolution and matrix products are in
// linalg_ops.h, pooling in pool_ops.h, views in view_ops.h, the other op
// families in their own files.
//
// float32 elementwise ops run as vectorized loops split over OpenMP's
// threads; other dtypes go through one generic loop that computes in
// double. Every function validates shapes and dtypes before allocating and
// returns an absl::Status (InvalidArgument for bad shapes or dtypes) instead
// of crashing, because graphs and inputs come from outside. They take
// contiguous tensors (kernels/tensor.h).
#ifndef REWIRE_KERNELS_COMMON_OPS_H_
#define REWIRE_KERNELS_COMMON_OPS_H_

#include <array>
#include <cstdint>
#include <optional>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "kernels/tensor.h"

namespace rewire {
namespace ops {

// ------------------------------------------------------------ shape helpers
// `dim` in [-rank, rank) -> [0, rank); InvalidArgument otherwise.
absl::StatusOr<int> NormalizeDim(int64_t dim, int rank);
// numpy broadcasting of two shapes.
absl::StatusOr<std::vector<int64_t>> BroadcastShapes(
    absl::Span<const int64_t> a, absl::Span<const int64_t> b);
// Resolves one -1 in `sizes` against `numel` (view/reshape semantics).
absl::StatusOr<std::vector<int64_t>> InferShape(
    absl::Span<const int64_t> sizes, int64_t numel);

// A Python number argument of an aten call (`Scalar`): its value and whether
// it was written as an integer (or bool), which decides type promotion.
struct Scalar {
  double value = 0;
  bool integral = false;
  static Scalar Int(int64_t v) { return {static_cast<double>(v), true}; }
  static Scalar Float(double v) { return {v, false}; }
};

// ------------------------------------------------------------- elementwise
enum class BinaryKind { kAdd, kSub, kMul, kDiv };

// out = a (op) alpha * b for add/sub, a * b, a / b (true division), with
// broadcasting. Result dtype: the common dtype of a and b where a 0-dim
// tensor does not promote a non-0-dim one of the same category; integer
// division gives float32.
absl::StatusOr<Tensor> Binary(BinaryKind kind, const Tensor& a,
                              const Tensor& b, Scalar alpha = Scalar::Int(1));
absl::StatusOr<Tensor> BinaryScalar(BinaryKind kind, const Tensor& a,
                                    Scalar b, Scalar alpha = Scalar::Int(1));
// In place into `self`: the broadcast shape must be self's shape; the result
// is cast to self's dtype (an integer self with a float result is an error,
// as in PyTorch).
absl::Status BinaryInPlace(BinaryKind kind, Tensor& self, const Tensor& other,
                           Scalar alpha = Scalar::Int(1));
absl::Status BinaryScalarInPlace(BinaryKind kind, Tensor& self, Scalar other,
                                 Scalar alpha = Scalar::Int(1));
// other - alpha * self.
absl::StatusOr<Tensor> RsubScalar(const Tensor& self, Scalar other,
                                  Scalar alpha);

enum class UnaryKind {
  kRelu,
  kSigmoid,
  kTanh,
  kSilu,
  kGelu,      // exact (erf)
  kGeluTanh,  // approximate='tanh'
  kNeg,
  kExp,
  kSqrt,
  kRsqrt,
  kHardswish,
  kHardsigmoid,
  kAbs,
  kLog,
  kErf,
  kReciprocal,
};
// Floating dtypes (relu, neg and abs also integers).
absl::StatusOr<Tensor> Unary(UnaryKind kind, const Tensor& x);
absl::Status UnaryInPlace(UnaryKind kind, Tensor& x);
absl::StatusOr<Tensor> Hardtanh(const Tensor& x, double min_val,
                                double max_val);
absl::Status Hardtanh_(Tensor& x, double min_val, double max_val);
absl::StatusOr<Tensor> PowScalar(const Tensor& x, double exponent);

// ----------------------------------------------------- creation and copies
// A tensor of `shape` filled with `value` (cast to dtype).
absl::StatusOr<Tensor> Full(std::vector<int64_t> shape, double value,
                            ScalarType dtype);
// A deep copy converted to `dtype`.
absl::StatusOr<Tensor> Cast(const Tensor& x, ScalarType dtype);
// dst[...] = src broadcast to dst's shape, converted to dst's dtype.
absl::Status CopyInto(Tensor& dst, const Tensor& src);

// ---------------------------------------------------------------- shapes
absl::StatusOr<Tensor> Cat(absl::Span<const Tensor> tensors, int64_t dim);

// ----------------------------------------------------------- reductions
// Over `dims` (empty: all), keeping reduced dims as 1 when keepdim. `dtype`
// defaults to the input's (integers: float32 for mean, int64 for sum).
absl::StatusOr<Tensor> Sum(const Tensor& x, absl::Span<const int64_t> dims,
                           bool keepdim, std::optional<ScalarType> dtype);
absl::StatusOr<Tensor> Mean(const Tensor& x, absl::Span<const int64_t> dims,
                            bool keepdim, std::optional<ScalarType> dtype);
// `safe` (_safe_softmax): a row of only -inf gives zeros instead of NaN.
absl::StatusOr<Tensor> Softmax(const Tensor& x, int64_t dim, bool log, bool safe = false);

struct LayerNormResult {
  Tensor output;
  Tensor mean;  // input shape with the normalized dims set to 1
  Tensor rstd;
};
absl::StatusOr<LayerNormResult> LayerNorm(
    const Tensor& input, absl::Span<const int64_t> normalized_shape,
    const Tensor* weight, const Tensor* bias, double eps);

}  // namespace ops
}  // namespace rewire

#endif  // REWIRE_KERNELS_COMMON_OPS_H_
