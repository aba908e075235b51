// Attention: scaled_dot_product_attention (what PyTorch's reference math
// path computes: q k^T * scale, causal or given mask, softmax, optional
// dropout of the weights, @ v, with grouped-query heads; a fully masked row
// gives zeros, as PyTorch's _safe_softmax). The two products are GEMMs
// (kernels/gemm.h), the softmax is computed in double; float32/float64
// inputs on the CPU.
#ifndef REWIRE_KERNELS_ATTENTION_OPS_H_
#define REWIRE_KERNELS_ATTENTION_OPS_H_

#include <functional>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "kernels/tensor.h"

namespace rewire {
namespace ops {

struct AttentionOptions {
  const Tensor* attn_mask = nullptr;  // bool (true keeps) or additive float
  bool is_causal = false;
  std::optional<double> scale;        // default 1 / sqrt(E)
  bool enable_gqa = false;            // key/value heads shared by query groups
  // Applied to the attention weights when set (dropout_p > 0 in a training
  // graph); the executor passes its dropout kernel.
  std::function<absl::Status(Tensor&)> dropout;
};

struct AttentionResult {
  Tensor output;     // (..., L, Ev)
  Tensor logsumexp;  // (..., L): log of each row's softmax denominator
};

// query (..., L, E), key (..., S, E), value (..., S, Ev), equal leading dims
// (key/value may have fewer heads in dim -3 with enable_gqa).
absl::StatusOr<AttentionResult> ScaledDotProductAttention(
    const Tensor& query, const Tensor& key, const Tensor& value,
    const AttentionOptions& options);

}  // namespace ops
}  // namespace rewire

#endif  // REWIRE_KERNELS_ATTENTION_OPS_H_
