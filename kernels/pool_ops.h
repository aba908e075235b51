// 2-D pooling on NCHW (or CHW) tensors with PyTorch's semantics: max
// pooling (with or without indices; NaN propagates), average pooling with
// count_include_pad and divisor_override, adaptive average pooling, and
// ceil_mode output sizes. Window parameters come from graphs, so positions
// are computed in 128 bits and only taps inside the input are visited.
// float32/float64 on the CPU.
#ifndef REWIRE_KERNELS_POOL_OPS_H_
#define REWIRE_KERNELS_POOL_OPS_H_

#include <array>
#include <cstdint>
#include <optional>

#include "absl/status/statusor.h"
#include "kernels/tensor.h"

namespace rewire {
namespace ops {

struct Pool2dParams {
  std::array<int64_t, 2> kernel{1, 1};
  std::array<int64_t, 2> stride{1, 1};
  std::array<int64_t, 2> padding{0, 0};
  std::array<int64_t, 2> dilation{1, 1};
  bool ceil_mode = false;
};
struct MaxPoolResult {
  Tensor output;
  Tensor indices;  // int64, flat h * W + w into each input plane
};
// Input (N, C, H, W) or (C, H, W).
// `with_indices` false leaves MaxPoolResult::indices undefined.
absl::StatusOr<MaxPoolResult> MaxPool2d(const Tensor& input,
                                        const Pool2dParams& p, bool with_indices = true);
absl::StatusOr<Tensor> AvgPool2d(const Tensor& input, const Pool2dParams& p,
                                 bool count_include_pad,
                                 std::optional<int64_t> divisor_override);
absl::StatusOr<Tensor> AdaptiveAvgPool2d(const Tensor& input,
                                         std::array<int64_t, 2> output_size);
// PyTorch's pooling_output_shape.
int64_t PoolOutputSize(int64_t in, int64_t kernel, int64_t pad, int64_t stride,
                       int64_t dilation, bool ceil_mode);

}  // namespace ops
}  // namespace rewire

#endif  // REWIRE_KERNELS_POOL_OPS_H_
