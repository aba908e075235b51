// Convolution and matrix products with PyTorch's semantics: conv2d (groups,
// stride, padding, dilation, unbatched input), linear, mm, bmm, addmm,
// baddbmm and torch.matmul's broadcasting. float32 goes through oneDNN
// (kernels/dnnl_conv.h, kernels/gemm.h); float64, and window parameters no
// model has, through loops accumulating in double. Shapes and dtypes are
// checked first; errors are InvalidArgument naming the op.
#ifndef REWIRE_KERNELS_LINALG_OPS_H_
#define REWIRE_KERNELS_LINALG_OPS_H_

#include <array>
#include <cstdint>

#include "absl/status/statusor.h"
#include "kernels/tensor.h"

namespace rewire {
namespace ops {

// 2-D convolution: input (N, C, H, W) or (C, H, W), weight
// (O, C / groups, kH, kW), bias (O) or undefined.
absl::StatusOr<Tensor> Conv2d(const Tensor& input, const Tensor& weight,
                              const Tensor* bias, std::array<int64_t, 2> stride,
                              std::array<int64_t, 2> padding,
                              std::array<int64_t, 2> dilation, int64_t groups);
// input (..., in), weight (out, in), bias (out) or undefined.
absl::StatusOr<Tensor> Linear(const Tensor& input, const Tensor& weight,
                              const Tensor* bias);
absl::StatusOr<Tensor> Mm(const Tensor& a, const Tensor& b);
absl::StatusOr<Tensor> Bmm(const Tensor& a, const Tensor& b);
// beta * self (broadcast to (n, m)) + alpha * (m1 @ m2).
absl::StatusOr<Tensor> Addmm(const Tensor& self, const Tensor& m1,
                             const Tensor& m2, double beta, double alpha);
// beta * self (broadcast to (b, n, m)) + alpha * bmm(batch1, batch2).
absl::StatusOr<Tensor> Baddbmm(const Tensor& self, const Tensor& batch1,
                               const Tensor& batch2, double beta, double alpha);
// torch.matmul: 1-D operands as a row / column, broadcast batch dims.
absl::StatusOr<Tensor> Matmul(const Tensor& a, const Tensor& b);

}  // namespace ops
}  // namespace rewire

#endif  // REWIRE_KERNELS_LINALG_OPS_H_
