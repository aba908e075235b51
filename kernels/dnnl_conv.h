// float32 2-D convolution through oneDNN (the library PyTorch's CPU
// convolution uses): NCHW input and output, OIHW weights, groups, stride,
// padding and dilation as aten.convolution has them. oneDNN picks blocked
// layouts and vectorized, threaded kernels; the reorders to and from them,
// and oneDNN's scratchpad, are allocated as rewire Tensors, so the calling
// thread's ScopedTensorLimits bound them like every other allocation.
// The caller (ops::Conv2d) has validated the geometry.
#ifndef REWIRE_KERNELS_DNNL_CONV_H_
#define REWIRE_KERNELS_DNNL_CONV_H_

#include <array>
#include <cstdint>

#include "absl/status/status.h"

namespace rewire {
namespace ops {

struct Conv2dGeometry {
  int64_t n, c, h, w;   // input
  int64_t o, kh, kw;    // weight (o, c / groups, kh, kw)
  int64_t oh, ow;       // output
  int64_t groups;
  std::array<int64_t, 2> stride, padding, dilation;
};

// y = conv(x, w) + bias (bias may be null). InternalError when oneDNN
// refuses; OutOfRange / ResourceExhausted from the tensor allocator.
absl::Status DnnlConv2d(const Conv2dGeometry& g, const float* x, const float* w,
                        const float* bias, float* y);

}  // namespace ops
}  // namespace rewire

#endif  // REWIRE_KERNELS_DNNL_CONV_H_
