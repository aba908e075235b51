// Op adapters of kernels/attention_ops.h and kernels/einsum.h. Attention
// dropout (dropout_p > 0, a training graph) draws from the run's Philox
// stream through the CPU dropout kernel, like every other dropout.
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "ir/status_macros.h"
#include "kernels/attention_ops.h"
#include "kernels/common_ops.h"
#include "kernels/einsum.h"
#include "kernels/op_args.h"

namespace rewire {
namespace op_args {
namespace {

absl::StatusOr<RuntimeValue> Attention(Ctx& c, Args& a, bool with_lse) {
  ASSIGN_OR_RETURN(Tensor * q, a.T("query"));
  ASSIGN_OR_RETURN(Tensor * k, a.T("key"));
  ASSIGN_OR_RETURN(Tensor * v, a.T("value"));
  ops::AttentionOptions o;
  ASSIGN_OR_RETURN(o.attn_mask, a.OptT("attn_mask"));
  ASSIGN_OR_RETURN(double p, a.D("dropout_p"));
  ASSIGN_OR_RETURN(o.is_causal, a.B("is_causal"));
  ASSIGN_OR_RETURN(o.scale, a.OptD("scale"));
  if (a.Has("enable_gqa")) {
    ASSIGN_OR_RETURN(o.enable_gqa, a.B("enable_gqa"));
  }
  if (p < 0 || p > 1) {
    return absl::InvalidArgumentError(absl::StrCat("dropout_p must be in [0, 1], got ", p));
  }
  if (p > 0) {
    PhiloxGenerator* gen = c.gen;
    o.dropout = [p, gen](Tensor& w) { return CpuDeviceOps().dropout_(w, p, true, *gen); };
  }
  ASSIGN_OR_RETURN(ops::AttentionResult r, ops::ScaledDotProductAttention(*q, *k, *v, o));
  if (!with_lse) return V(std::move(r.output));
  return Tup({std::move(r.output), std::move(r.logsumexp)});
}

absl::StatusOr<RuntimeValue> OpSdpa(Ctx& c, Args& a) { return Attention(c, a, false); }
absl::StatusOr<RuntimeValue> OpSdpaFlashCpu(Ctx& c, Args& a) { return Attention(c, a, true); }

absl::StatusOr<RuntimeValue> OpSafeSoftmax(Ctx&, Args& a) {
  ASSIGN_OR_RETURN(Tensor * x, a.T("self"));
  ASSIGN_OR_RETURN(int64_t dim, a.I("dim"));
  ASSIGN_OR_RETURN(std::optional<ScalarType> dt, a.Dtype("dtype"));
  Tensor in = *x;
  if (dt.has_value() && *dt != x->dtype()) {
    ASSIGN_OR_RETURN(in, ops::Cast(*x, *dt));
  }
  ASSIGN_OR_RETURN(Tensor r, ops::Softmax(in, dim, /*log=*/false, /*safe=*/true));
  return V(std::move(r));
}

absl::StatusOr<RuntimeValue> OpEinsum(Ctx&, Args& a) {
  ASSIGN_OR_RETURN(std::string eq, a.Str("equation"));
  ASSIGN_OR_RETURN(std::vector<Tensor> ts, a.Tensors("tensors"));
  ASSIGN_OR_RETURN(Tensor r, ops::Einsum(eq, ts));
  return V(std::move(r));
}

}  // namespace

void RegisterAttentionOps(OpRegistry& t) {
  auto cpu = [&](const char* name, OpFn fn) {
    OpEntry e;
    e.fn = fn;
    t[name] = e;
  };
  cpu("aten.scaled_dot_product_attention.default", OpSdpa);
  cpu("aten._scaled_dot_product_flash_attention_for_cpu.default", OpSdpaFlashCpu);
  cpu("aten._safe_softmax.default", OpSafeSoftmax);
  cpu("aten.einsum.default", OpEinsum);
}

}  // namespace op_args
}  // namespace rewire
