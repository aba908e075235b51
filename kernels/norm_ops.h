// Group normalization (aten.native_group_norm / aten.group_norm): the
// channels of each sample split into `groups`, each group normalized by its
// own mean and biased variance over its channels and spatial positions,
// then scaled and shifted per channel. Statistics accumulate in double;
// float32/float64 on the CPU. Layer norm is in common_ops.h, batch norm in
// cpu_kernels.h.
#ifndef REWIRE_KERNELS_NORM_OPS_H_
#define REWIRE_KERNELS_NORM_OPS_H_

#include <cstdint>

#include "absl/status/statusor.h"
#include "kernels/tensor.h"

namespace rewire {
namespace ops {

struct GroupNormResult {
  Tensor output;  // the input's shape
  Tensor mean;    // (N, groups)
  Tensor rstd;    // (N, groups): 1 / sqrt(var + eps)
};

// input (N, C, ...) with C divisible by groups; weight and bias (C) or null.
absl::StatusOr<GroupNormResult> GroupNorm(const Tensor& input, const Tensor* weight,
                                          const Tensor* bias, int64_t groups, double eps);

}  // namespace ops
}  // namespace rewire

#endif  // REWIRE_KERNELS_NORM_OPS_H_
