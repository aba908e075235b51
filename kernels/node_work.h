// The work a node's kernel will do, estimated from its arguments' shapes
// before it runs, so that the executor can refuse a node that would compute
// for hours within every memory limit (a convolution with a 1000x1000 kernel
// over a 999-padded input allocates 36 MB and needs 10^13 FLOPs).
//
// Units: floating-point operations (a multiply-add counts 2) for the ops
// whose work grows faster than their tensors (convolution, the matmul
// family, attention, einsum, pooling windows); element visits for the rest:
// every element of every tensor argument plus the largest result the node's
// "val" promises. Every dim of size 0 counts as 1, as max_tensor_elements
// counts it: an empty tensor holds no data, yet a kernel that loops over its
// other dims without checking would do that much work. Each op family has
// one cost function, selected by the op's qualified name (node_work.cc);
// ops not listed there cost their element visits. Estimates are upper
// bounds in double precision, saturated to INT64_MAX; arguments a kernel
// would refuse (wrong rank, missing) give the element estimate. Internal to
// //kernels:executor.
#ifndef REWIRE_KERNELS_NODE_WORK_H_
#define REWIRE_KERNELS_NODE_WORK_H_

#include <cstdint>

#include "absl/strings/string_view.h"
#include "kernels/op_args.h"

namespace rewire {

// `op` is the qualified target ("aten.conv2d.default"), `args` its
// schema-ordered arguments, `result_elements` the largest result its "val"
// promises (0 when unknown).
int64_t EstimateNodeWork(absl::string_view op, op_args::Args& args, int64_t result_elements);

}  // namespace rewire

#endif  // REWIRE_KERNELS_NODE_WORK_H_
