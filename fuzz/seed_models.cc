// The seed models (see seed_models.h). Shapes are tiny so that the kernels
// and rewrite fuzzers spend their time on structure, not on arithmetic.
#include "fuzz/seed_models.h"

#include <cstdint>
#include <cstring>
#include <memory>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "ir/metadata.h"
#include "ir/status_macros.h"
#include "ir/text_format.h"
#include "ir/types.h"

namespace rewire {
namespace fuzz {

const std::vector<SeedModel>& SeedModels() {
  static const auto* const kModels = new std::vector<SeedModel>{
      {"training_ir",
       "graph():\n"
       "    %x : f32[2, 3, 4, 4] = placeholder[target=x]\n"
       "    %p_bn_weight : f32[3] = placeholder[target=p_bn_weight]\n"
       "    %p_bn_bias : f32[3] = placeholder[target=p_bn_bias]\n"
       "    %b_bn_running_mean : f32[3] = placeholder[target=b_bn_running_mean]\n"
       "    %b_bn_running_var : f32[3] = placeholder[target=b_bn_running_var]\n"
       "    %b_bn_num_batches_tracked : i64[] = "
       "placeholder[target=b_bn_num_batches_tracked]\n"
       "    %add_ : i64[] = aten.add_.Tensor(%b_bn_num_batches_tracked, 1)\n"
       "    %batch_norm : f32[2, 3, 4, 4] = aten.batch_norm.default(%x, "
       "%p_bn_weight, %p_bn_bias, %b_bn_running_mean, %b_bn_running_var, "
       "True, 0.1, 1e-05, True) {stack_trace=\"  File \\\"m.py\\\", line 7\\n\"}\n"
       "    %dropout : f32[2, 3, 4, 4] = aten.dropout.default(%batch_norm, "
       "0.5, True)\n"
       "    return (%dropout,)\n"},
      {"pre_dispatch",
       "graph():\n"
       "    %x : f32[2, 3, 5, 5] = placeholder[target=x]\n"
       "    %w : f32[3] = get_attr[target=bn.weight]\n"
       "    %b : f32[3] = get_attr[target=bn.bias]\n"
       "    %rm : f32[3] = get_attr[target=bn.running_mean]\n"
       "    %rv : f32[3] = get_attr[target=bn.running_var]\n"
       "    %_native_batch_norm_legit : (f32[2, 3, 5, 5], f32[3], f32[3]) = "
       "aten._native_batch_norm_legit.default(%x, %w, %b, %rm, %rv, True, "
       "0.1, 1e-05)\n"
       "    %getitem : f32[2, 3, 5, 5] = getitem(%_native_batch_norm_legit, 0)\n"
       "    %dropout : f32[2, 3, 5, 5] = aten.dropout.default(%getitem, 0.25, "
       "True)\n"
       "    return (%dropout,)\n"},
      {"core_aten",
       "graph():\n"
       "    %x : f32[s0, 3, 4, 4] = placeholder[target=x]\n"
       "    %rm : f32[3] = placeholder[target=rm]\n"
       "    %rv : f32[3] = placeholder[target=rv]\n"
       "    %native_dropout : (f32[s0, 3, 4, 4], b8[s0, 3, 4, 4]) = "
       "aten.native_dropout.default(%x, 0.5, True)\n"
       "    %getitem : f32[s0, 3, 4, 4] = getitem(%native_dropout, 0)\n"
       "    %f : (f32[s0, 3, 4, 4], f32[3], f32[3], f32[3], f32[3]) = "
       "aten._native_batch_norm_legit_functional.default(%getitem, None, "
       "None, %rm, %rv, True, 0.1, 1e-05)\n"
       "    %getitem_1 : f32[s0, 3, 4, 4] = getitem(%f, 0)\n"
       "    %getitem_3 : f32[3] = getitem(%f, 3)\n"
       "    %getitem_4 : f32[3] = getitem(%f, 4)\n"
       "    %copy_ : f32[3] = aten.copy_.default(%rm, %getitem_3)\n"
       "    %copy__1 : f32[3] = aten.copy_.default(%rv, %getitem_4)\n"
       "    return (%getitem_1,)\n"},
      {"make_fx",
       "graph():\n"
       "    %x_1 : f32[1, 3, 4, 4] = placeholder[target=x]\n"
       "    %w_1 : f32[3] = placeholder[target=w]\n"
       "    %b_1 : f32[3] = placeholder[target=b]\n"
       "    %rm_1 : f32[3] = placeholder[target=rm]\n"
       "    %rv_1 : f32[3] = placeholder[target=rv]\n"
       "    %empty_like : f32[1, 3, 4, 4] = aten.empty_like.default(%x_1, "
       "memory_format=torch.contiguous_format)\n"
       "    %bernoulli_ : f32[1, 3, 4, 4] = aten.bernoulli_.float(%empty_like, "
       "0.5)\n"
       "    %div_ : f32[1, 3, 4, 4] = aten.div_.Scalar(%bernoulli_, 0.5)\n"
       "    %mul : f32[1, 3, 4, 4] = aten.mul.Tensor(%x_1, %div_)\n"
       "    %native_batch_norm : (f32[1, 3, 4, 4], f32[3], f32[3]) = "
       "aten.native_batch_norm.default(%mul, %w_1, %b_1, %rm_1, %rv_1, True, "
       "0.1, 1e-05)\n"
       "    %getitem : f32[1, 3, 4, 4] = getitem(%native_batch_norm, 0)\n"
       "    %getitem_1 : f32[3] = getitem(%native_batch_norm, 1)\n"
       "    %getitem_2 : f32[3] = getitem(%native_batch_norm, 2)\n"
       "    return (%getitem,)\n"},
      {"eval_mixed",
       "graph():\n"
       "    %x : f32[2, 3] = placeholder[target=x]\n"
       "    %relu : f32[2, 3] = aten.relu.default(%x)\n"
       "    %dropout : f32[2, 3] = aten.dropout.default(%relu, 0.1, False)\n"
       "    %add : f32[2, 3] = aten.add.Tensor(%dropout, %relu)\n"
       "    %cat : f32[4, 3] = aten.cat.default([%add, %relu])\n"
       "    return (%cat, %add)\n"},
  };
  return *kModels;
}

namespace {

bool IsModelInput(const Node& n) {
  return n.name() == "x" || n.name() == "x_1";
}

// Little-endian bytes of a small deterministic fill: 1, 2, 3, ... (positive,
// so running variances stay valid).
std::string FillBytes(ScalarType dtype, int64_t numel) {
  const int64_t itemsize = ScalarTypeSize(dtype);
  std::string data(static_cast<size_t>(numel * itemsize), '\0');
  for (int64_t i = 0; i < numel; ++i) {
    if (dtype == ScalarType::kFloat32) {
      const float v = 1.0f + static_cast<float>(i);
      std::memcpy(&data[i * itemsize], &v, sizeof(v));
    } else if (dtype == ScalarType::kInt64) {
      const int64_t v = i;
      std::memcpy(&data[i * itemsize], &v, sizeof(v));
    }
  }
  return data;
}

}  // namespace

absl::StatusOr<ExportedModule> BuildSeedModule(const std::string& text) {
  ASSIGN_OR_RETURN(std::unique_ptr<Graph> graph, ParseGraph(text));
  ExportedModule module(std::move(graph));
  for (Node* n : module.graph()) {
    if (!(n->is_placeholder() || n->is_get_attr()) || IsModelInput(*n)) {
      continue;
    }
    const MetaValue* val = n->meta().val();
    if (val == nullptr || !val->is_tensor()) continue;
    const TensorMeta& meta = val->tensor();
    StateTensor t;
    t.dtype = meta.dtype;
    for (const Dim& d : meta.shape) t.shape.push_back(d.value);
    t.device = meta.device;
    if (n->is_placeholder()) {
      t.name = n->name();
      t.placeholder = n->name();
      t.role = absl::StartsWith(n->name(), "p_") || n->name() == "w_1" ||
                       n->name() == "b_1"
                   ? TensorRole::kParameter
                   : TensorRole::kBuffer;
    } else {
      t.name = n->target().qualified;
      t.role = TensorRole::kParameter;
    }
    ASSIGN_OR_RETURN(int64_t bytes, t.ExpectedBytes());
    t.data = FillBytes(t.dtype, bytes / ScalarTypeSize(t.dtype));
    RETURN_IF_ERROR(module.AddTensor(std::move(t)));
  }
  return module;
}

}  // namespace fuzz
}  // namespace rewire
