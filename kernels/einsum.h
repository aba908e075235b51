// torch.einsum on rewire tensors: any equation in explicit ("ij,jk->ik") or
// implicit ("ij,jk") form, spaces ignored, upper- and lower-case letters.
// A letter repeated within one operand takes the diagonal, "..." stands for
// broadcast dims, and letters absent from the output are summed. Operands
// are contracted left to right, each pair as one batched matrix product
// (common_ops.h) over views (view_ops.h); float32/float64 on the CPU. A
// malformed equation or mismatched sizes are InvalidArgument naming them.
#ifndef REWIRE_KERNELS_EINSUM_H_
#define REWIRE_KERNELS_EINSUM_H_

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "kernels/tensor.h"

namespace rewire {
namespace ops {

absl::StatusOr<Tensor> Einsum(absl::string_view equation,
                              absl::Span<const Tensor> operands);

}  // namespace ops
}  // namespace rewire

#endif  // REWIRE_KERNELS_EINSUM_H_
