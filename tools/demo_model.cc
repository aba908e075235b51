// State tensors are derived from the placeholders' own "val" shapes, so the
// text above is the single source of truth for the architecture.
#include "tools/demo_model.h"

#include <cmath>
#include <cstdint>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "ir/status_macros.h"
#include "ir/text_format.h"
#include "ir/verifier.h"

namespace rewire {
namespace tools {

// torch.export.export_for_training(Net(), (torch.randn(2, 3, 8, 8),)) of
//   conv1(3->8, 3x3, pad 1) bn1 relu  conv2(8->8, 3x3, stride 2, pad 1) bn2
//   relu  dropout(0.3)  flatten  fc(128->10)
// with BatchNorm2d(8, eps=1e-3, momentum=0.03), in rewire's text form.
const char kDemoModelText[] = R"(graph():
    %p_conv1_weight : f32[8, 3, 3, 3] = placeholder[target=p_conv1_weight]
    %p_conv1_bias : f32[8] = placeholder[target=p_conv1_bias]
    %p_bn1_weight : f32[8] = placeholder[target=p_bn1_weight]
    %p_bn1_bias : f32[8] = placeholder[target=p_bn1_bias]
    %p_conv2_weight : f32[8, 8, 3, 3] = placeholder[target=p_conv2_weight]
    %p_conv2_bias : f32[8] = placeholder[target=p_conv2_bias]
    %p_bn2_weight : f32[8] = placeholder[target=p_bn2_weight]
    %p_bn2_bias : f32[8] = placeholder[target=p_bn2_bias]
    %p_fc_weight : f32[10, 128] = placeholder[target=p_fc_weight]
    %p_fc_bias : f32[10] = placeholder[target=p_fc_bias]
    %b_bn1_running_mean : f32[8] = placeholder[target=b_bn1_running_mean]
    %b_bn1_running_var : f32[8] = placeholder[target=b_bn1_running_var]
    %b_bn1_num_batches_tracked : i64[] = placeholder[target=b_bn1_num_batches_tracked]
    %b_bn2_running_mean : f32[8] = placeholder[target=b_bn2_running_mean]
    %b_bn2_running_var : f32[8] = placeholder[target=b_bn2_running_var]
    %b_bn2_num_batches_tracked : i64[] = placeholder[target=b_bn2_num_batches_tracked]
    %x : f32[2, 3, 8, 8] = placeholder[target=x]
    %conv2d : f32[2, 8, 8, 8] = aten.conv2d.default(%x, %p_conv1_weight, %p_conv1_bias, [1, 1], [1, 1])
    %add_ : i64[] = aten.add_.Tensor(%b_bn1_num_batches_tracked, 1)
    %batch_norm : f32[2, 8, 8, 8] = aten.batch_norm.default(%conv2d, %p_bn1_weight, %p_bn1_bias, %b_bn1_running_mean, %b_bn1_running_var, True, 0.03, 0.001, True)
    %relu : f32[2, 8, 8, 8] = aten.relu.default(%batch_norm)
    %conv2d_1 : f32[2, 8, 4, 4] = aten.conv2d.default(%relu, %p_conv2_weight, %p_conv2_bias, [2, 2], [1, 1])
    %add__1 : i64[] = aten.add_.Tensor(%b_bn2_num_batches_tracked, 1)
    %batch_norm_1 : f32[2, 8, 4, 4] = aten.batch_norm.default(%conv2d_1, %p_bn2_weight, %p_bn2_bias, %b_bn2_running_mean, %b_bn2_running_var, True, 0.03, 0.001, True)
    %relu_1 : f32[2, 8, 4, 4] = aten.relu.default(%batch_norm_1)
    %dropout : f32[2, 8, 4, 4] = aten.dropout.default(%relu_1, 0.3, True)
    %flatten : f32[2, 128] = aten.flatten.using_ints(%dropout, 1)
    %linear : f32[2, 10] = aten.linear.default(%flatten, %p_fc_weight, %p_fc_bias)
    return (%linear,)
)";

absl::StatusOr<ExportedModule> BuildDemoModel(uint64_t seed) {
  ASSIGN_OR_RETURN(std::unique_ptr<Graph> graph, ParseGraph(kDemoModelText));
  RETURN_IF_ERROR(Verify(*graph));
  ExportedModule module(std::move(graph));
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  for (Node* ph : module.graph().Placeholders()) {
    const std::string& ph_name = ph->name();
    const bool param = absl::StartsWith(ph_name, "p_");
    const bool buffer = absl::StartsWith(ph_name, "b_");
    if (!param && !buffer) continue;  // the real input
    const MetaValue* val = ph->meta().val();
    if (val == nullptr || !val->is_tensor()) {
      return absl::InternalError(absl::StrCat("demo placeholder %", ph_name,
                                              " lacks a tensor \"val\""));
    }
    const TensorMeta& meta = val->tensor();
    StateTensor t;
    // "p_bn1_running_mean" -> "bn1.running_mean": the state_dict key.
    std::string key = ph_name.substr(2);
    size_t us = key.find('_');
    t.name = absl::StrCat(key.substr(0, us), ".", key.substr(us + 1));
    t.role = param ? TensorRole::kParameter : TensorRole::kBuffer;
    t.dtype = meta.dtype;
    t.requires_grad = param;
    for (const Dim& d : meta.shape) t.shape.push_back(d.value);
    t.placeholder = ph_name;
    ASSIGN_OR_RETURN(int64_t numel, meta.NumElements());
    if (meta.dtype == ScalarType::kInt64) {
      t.data.assign(static_cast<size_t>(numel) * sizeof(int64_t), '\0');
    } else {
      std::vector<float> v(static_cast<size_t>(numel));
      const int64_t fan_in = numel / std::max<int64_t>(1, t.shape[0]);
      if (absl::EndsWith(t.name, "running_var")) {
        std::fill(v.begin(), v.end(), 1.0f);
      } else if (absl::EndsWith(t.name, "running_mean")) {
        std::fill(v.begin(), v.end(), 0.0f);
      } else if (absl::StartsWith(t.name, "bn") &&
                 absl::EndsWith(t.name, "weight")) {
        for (float& f : v) f = 1.0f + 0.1f * normal(rng);
      } else if (absl::EndsWith(t.name, "bias")) {
        for (float& f : v) f = 0.1f * normal(rng);
      } else {
        const float scale =
            std::sqrt(2.0f / static_cast<float>(std::max<int64_t>(1, fan_in)));
        for (float& f : v) f = scale * normal(rng);
      }
      t.data.assign(reinterpret_cast<const char*>(v.data()),
                    v.size() * sizeof(float));
    }
    RETURN_IF_ERROR(module.AddTensor(std::move(t)));
  }
  module.set_mode(ModuleMode::kTrain);
  return module;
}

}  // namespace tools
}  // namespace rewire
