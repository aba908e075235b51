// Op adapters for the ops the mode-dependent constructs bring
// (docs/SEMANTICS.md §3): rrelu and rrelu_with_noise (eval and training),
// instance_norm, repeat, new_empty and empty_permuted. Registered in the
// executor's op table; internal to //kernels:executor.
#ifndef REWIRE_KERNELS_CONSTRUCT_OPS_H_
#define REWIRE_KERNELS_CONSTRUCT_OPS_H_

#include "absl/status/statusor.h"
#include "kernels/op_args.h"

namespace rewire {
namespace op_args {

absl::StatusOr<RuntimeValue> OpRrelu(Ctx& c, Args& a);
absl::StatusOr<RuntimeValue> OpRrelu_(Ctx& c, Args& a);
absl::StatusOr<RuntimeValue> OpRreluWithNoiseFunctional(Ctx& c, Args& a);
absl::StatusOr<RuntimeValue> OpInstanceNorm(Ctx& c, Args& a);
absl::StatusOr<RuntimeValue> OpRepeat(Ctx& c, Args& a);
absl::StatusOr<RuntimeValue> OpNewEmpty(Ctx& c, Args& a);
absl::StatusOr<RuntimeValue> OpEmptyPermuted(Ctx& c, Args& a);

}  // namespace op_args
}  // namespace rewire

#endif  // REWIRE_KERNELS_CONSTRUCT_OPS_H_
