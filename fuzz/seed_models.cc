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

const std::vector<SeedModel>& ExecutionSeedModels() {
  static const auto* const kModels = new std::vector<SeedModel>{
      {"cnn_training_ir",
       "graph():\n"
       "    %x : f32[2, 2, 5, 5] = placeholder[target=x]\n"
       "    %p_conv_weight : f32[3, 2, 3, 3] = placeholder[target=p_conv_weight]\n"
       "    %p_conv_bias : f32[3] = placeholder[target=p_conv_bias]\n"
       "    %p_bn_weight : f32[3] = placeholder[target=p_bn_weight]\n"
       "    %p_bn_bias : f32[3] = placeholder[target=p_bn_bias]\n"
       "    %b_bn_running_mean : f32[3] = placeholder[target=b_bn_running_mean]\n"
       "    %b_bn_running_var : f32[3] = placeholder[target=b_bn_running_var]\n"
       "    %b_bn_num_batches_tracked : i64[] = "
       "placeholder[target=b_bn_num_batches_tracked]\n"
       "    %p_fc_weight : f32[4, 3] = placeholder[target=p_fc_weight]\n"
       "    %p_fc_bias : f32[4] = placeholder[target=p_fc_bias]\n"
       "    %conv2d : f32[2, 3, 5, 5] = aten.conv2d.default(%x, %p_conv_weight, "
       "%p_conv_bias, [1, 1], [1, 1])\n"
       "    %add_ : i64[] = aten.add_.Tensor(%b_bn_num_batches_tracked, 1)\n"
       "    %batch_norm : f32[2, 3, 5, 5] = aten.batch_norm.default(%conv2d, "
       "%p_bn_weight, %p_bn_bias, %b_bn_running_mean, %b_bn_running_var, "
       "True, 0.1, 1e-05, True)\n"
       "    %relu_ : f32[2, 3, 5, 5] = aten.relu_.default(%batch_norm)\n"
       "    %max_pool2d : f32[2, 3, 2, 2] = aten.max_pool2d.default(%relu_, "
       "[2, 2], [2, 2])\n"
       "    %dropout : f32[2, 3, 2, 2] = aten.dropout.default(%max_pool2d, 0.5, "
       "True)\n"
       "    %pool : f32[2, 3, 1, 1] = aten.adaptive_avg_pool2d.default(%dropout, "
       "[1, 1])\n"
       "    %flatten : f32[2, 3] = aten.flatten.using_ints(%pool, 1)\n"
       "    %linear : f32[2, 4] = aten.linear.default(%flatten, %p_fc_weight, "
       "%p_fc_bias)\n"
       "    return (%linear,)\n"},
      {"cnn_core_aten_eval",
       "graph():\n"
       "    %x : f32[s0, 2, 4, 4] = placeholder[target=x]\n"
       "    %w : f32[2, 1, 3, 3] = placeholder[target=w]\n"
       "    %b : f32[2] = placeholder[target=b]\n"
       "    %rm : f32[2] = placeholder[target=rm]\n"
       "    %rv : f32[2] = placeholder[target=rv]\n"
       "    %conv : f32[s0, 2, 4, 4] = aten.convolution.default(%x, %w, %b, "
       "[1, 1], [1, 1], [1, 1], False, [0, 0], 2)\n"
       "    %bn : (f32[s0, 2, 4, 4], f32[0], f32[0]) = "
       "aten._native_batch_norm_legit_no_training.default(%conv, None, None, "
       "%rm, %rv, 0.1, 1e-05)\n"
       "    %getitem : f32[s0, 2, 4, 4] = getitem(%bn, 0)\n"
       "    %hardtanh : f32[s0, 2, 4, 4] = aten.hardtanh.default(%getitem, 0.0, "
       "6.0)\n"
       "    %clone : f32[s0, 2, 4, 4] = aten.clone.default(%hardtanh)\n"
       "    %avg : f32[s0, 2, 3, 3] = aten.avg_pool2d.default(%clone, [2, 2], "
       "[2, 2], [1, 1], True, False)\n"
       "    %sum : f32[s0, 2, 1, 1] = aten.sum.dim_IntList(%avg, [2, 3], True)\n"
       "    %view : f32[s0, 2] = aten.view.default(%sum, [-1, 2])\n"
       "    %log_softmax : f32[s0, 2] = aten._log_softmax.default(%view, 1, "
       "False)\n"
       "    return (%log_softmax,)\n"},
      {"mlp_ops",
       "graph():\n"
       "    %x : f32[3, 4] = placeholder[target=x]\n"
       "    %w1 : f32[5, 4] = placeholder[target=w1]\n"
       "    %b1 : f32[5] = placeholder[target=b1]\n"
       "    %ln_w : f32[5] = placeholder[target=ln_w]\n"
       "    %ln_b : f32[5] = placeholder[target=ln_b]\n"
       "    %w2 : f32[5, 2] = placeholder[target=w2]\n"
       "    %b2 : f32[2] = placeholder[target=b2]\n"
       "    %linear : f32[3, 5] = aten.linear.default(%x, %w1, %b1)\n"
       "    %mul : f32[3, 5] = aten.mul.Scalar(%linear, 0.01)\n"
       "    %gelu : f32[3, 5] = aten.gelu.default(%mul, approximate='tanh')\n"
       "    %gelu_1 : f32[3, 5] = aten.gelu.default(%gelu)\n"
       "    %ln : f32[3, 5] = aten.layer_norm.default(%gelu_1, [5], %ln_w, %ln_b, "
       "1e-05)\n"
       "    %silu : f32[3, 5] = aten.silu.default(%ln)\n"
       "    %sigmoid : f32[3, 5] = aten.sigmoid.default(%silu)\n"
       "    %tanh : f32[3, 5] = aten.tanh.default(%sigmoid)\n"
       "    %hardswish : f32[3, 5] = aten.hardswish.default(%tanh)\n"
       "    %hardsigmoid : f32[3, 5] = aten.hardsigmoid.default(%hardswish)\n"
       "    %add : f32[3, 5] = aten.add.Tensor(%hardsigmoid, %ln, alpha=2)\n"
       "    %sub : f32[3, 5] = aten.sub.Scalar(%add, 1)\n"
       "    %sub_1 : f32[3, 5] = aten.sub.Tensor(%sub, %b1)\n"
       "    %rsub : f32[3, 5] = aten.rsub.Scalar(%sub_1, 1.5)\n"
       "    %neg : f32[3, 5] = aten.neg.default(%rsub)\n"
       "    %exp : f32[3, 5] = aten.exp.default(%neg)\n"
       "    %sqrt : f32[3, 5] = aten.sqrt.default(%exp)\n"
       "    %rsqrt : f32[3, 5] = aten.rsqrt.default(%sqrt)\n"
       "    %pow : f32[3, 5] = aten.pow.Tensor_Scalar(%rsqrt, 2)\n"
       "    %div : f32[3, 5] = aten.div.Tensor(%pow, %exp)\n"
       "    %addmm : f32[3, 2] = aten.addmm.default(%b2, %div, %w2, beta=0.5, "
       "alpha=2)\n"
       "    %softmax : f32[3, 2] = aten.softmax.int(%addmm, -1)\n"
       "    %alpha_dropout : f32[3, 2] = aten.alpha_dropout.default(%softmax, "
       "0.2, True)\n"
       "    return (%alpha_dropout, %softmax)\n"},
      {"shape_ops",
       "graph():\n"
       "    %x : f32[2, 3, 4] = placeholder[target=x]\n"
       "    %y : f32[2, 4, 3] = placeholder[target=y]\n"
       "    %m : f32[3, 2] = placeholder[target=m]\n"
       "    %permute : f32[2, 4, 3] = aten.permute.default(%x, [0, 2, 1])\n"
       "    %transpose : f32[2, 3, 4] = aten.transpose.int(%permute, 1, 2)\n"
       "    %bmm : f32[2, 3, 3] = aten.bmm.default(%transpose, %y)\n"
       "    %matmul : f32[2, 3, 2] = aten.matmul.default(%bmm, %m)\n"
       "    %reshape : f32[6, 2] = aten.reshape.default(%matmul, [6, 2])\n"
       "    %t : f32[2, 6] = aten.t.default(%reshape)\n"
       "    %mm : f32[6, 6] = aten.mm.default(%reshape, %t)\n"
       "    %_unsafe_view : f32[3, 12] = aten._unsafe_view.default(%mm, [3, 12])\n"
       "    %unsqueeze : f32[1, 3, 12] = aten.unsqueeze.default(%_unsafe_view, 0)\n"
       "    %expand : f32[2, 3, 12] = aten.expand.default(%unsqueeze, [2, -1, 12])\n"
       "    %squeeze : f32[3, 12] = aten.squeeze.dim(%unsqueeze, 0)\n"
       "    %cat : f32[3, 24] = aten.cat.default([%squeeze, %squeeze], 1)\n"
       "    %split : (f32[3, 10], f32[3, 10], f32[3, 4]) = "
       "aten.split.Tensor(%cat, 10, 1)\n"
       "    %getitem : f32[3, 4] = getitem(%split, 2)\n"
       "    %mean : f32[2, 1, 12] = aten.mean.dim(%expand, [1], True)\n"
       "    %mean_1 : f32[] = aten.mean.default(%getitem)\n"
       "    %sym_size = aten.sym_size.int(%expand, 0)\n"
       "    %full : f32[2, 2] = aten.full.default([2, 2], 0.5)\n"
       "    %zeros : f64[2, 2] = aten.zeros.default([2, 2], dtype=torch.float64)\n"
       "    %ones : f32[2] = aten.ones.default([2])\n"
       "    %empty : i64[2] = aten.empty.memory_format([2], dtype=torch.int64)\n"
       "    %ones_like : f32[2, 2] = aten.ones_like.default(%full)\n"
       "    %zeros_like : i32[2, 2] = aten.zeros_like.default(%full, "
       "dtype=torch.int32)\n"
       "    %_to_copy : f64[2, 2] = aten._to_copy.default(%ones_like, "
       "dtype=torch.float64)\n"
       "    %add : f64[2, 2] = aten.add.Tensor(%zeros, %_to_copy)\n"
       "    %add_ : i32[2, 2] = aten.add_.Tensor(%zeros_like, 1)\n"
       "    %contiguous : f64[2, 2] = aten.contiguous.default(%add)\n"
       "    %detach : f64[2, 2] = aten.detach.default(%contiguous)\n"
       "    %alias : f64[2, 2] = aten.alias.default(%detach)\n"
       "    %feature_dropout : f32[2, 3, 12] = "
       "aten.feature_dropout.default(%expand, 0.5, True)\n"
       "    %feature_alpha_dropout : f32[2, 3, 12] = "
       "aten.feature_alpha_dropout.default(%expand, 0.5, True)\n"
       "    %hardtanh_ : f32[2, 3, 12] = "
       "aten.hardtanh_.default(%feature_alpha_dropout, -0.5, 0.5)\n"
       "    %div_ : f32[2, 3, 12] = aten.div_.Scalar(%hardtanh_, 2)\n"
       "    %mul_ : f32[2, 3, 12] = aten.mul_.Tensor(%div_, %feature_dropout)\n"
       "    %sub_ : f32[2, 3, 12] = aten.sub_.Tensor(%mul_, %mean)\n"
       "    %native_layer_norm : (f32[2, 3, 12], f32[2, 3, 1], f32[2, 3, 1]) = "
       "aten.native_layer_norm.default(%sub_, [12], None, None, 1e-05)\n"
       "    %getitem_1 : f32[2, 3, 12] = getitem(%native_layer_norm, 0)\n"
       "    return (%getitem_1, %mean_1, %sym_size, %alias, %add_, %empty, "
       "%ones, %getitem)\n"},
      {"dropout_bn_forms",
       "graph():\n"
       "    %x : f32[2, 4] = placeholder[target=x]\n"
       "    %w : f32[4] = placeholder[target=w]\n"
       "    %b : f32[4] = placeholder[target=b]\n"
       "    %rm : f32[4] = placeholder[target=rm]\n"
       "    %rv : f32[4] = placeholder[target=rv]\n"
       "    %clone : f32[2, 4] = aten.clone.default(%x)\n"
       "    %dropout_ : f32[2, 4] = aten.dropout_.default(%clone, 0.3, True)\n"
       "    %bernoulli : f32[2, 4] = aten.bernoulli.p(%dropout_, 0.5)\n"
       "    %native_dropout : (f32[2, 4], b8[2, 4]) = "
       "aten.native_dropout.default(%bernoulli, 0.25, None)\n"
       "    %getitem : f32[2, 4] = getitem(%native_dropout, 0)\n"
       "    %mask : b8[2, 4] = getitem(%native_dropout, 1)\n"
       "    %unsqueeze : f32[2, 4, 1] = aten.unsqueeze.default(%getitem, 2)\n"
       "    %cudnn : (f32[2, 4, 1], f32[4], f32[4], u8[0]) = "
       "aten.cudnn_batch_norm.default(%unsqueeze, %w, %b, %rm, %rv, True, 0.1, "
       "1e-05)\n"
       "    %getitem_1 : f32[2, 4, 1] = getitem(%cudnn, 0)\n"
       "    %no_stats : (f32[2, 4, 1], f32[4], f32[4]) = "
       "aten._native_batch_norm_legit.no_stats(%getitem_1, %w, %b, True, 0.1, "
       "1e-05)\n"
       "    %getitem_2 : f32[2, 4, 1] = getitem(%no_stats, 0)\n"
       "    %relu : f32[2, 4, 1] = aten.relu.default(%getitem_2)\n"
       "    %sigmoid_ : f32[2, 4, 1] = aten.sigmoid_.default(%relu)\n"
       "    %silu_ : f32[2, 4, 1] = aten.silu_.default(%sigmoid_)\n"
       "    %hardswish_ : f32[2, 4, 1] = aten.hardswish_.default(%silu_)\n"
       "    %alpha_dropout_ : f32[2, 4, 1] = "
       "aten.alpha_dropout_.default(%hardswish_, 0.1, True)\n"
       "    %feature_dropout_ : f32[2, 4, 1] = "
       "aten.feature_dropout_.default(%alpha_dropout_, 0.1, True)\n"
       "    %feature_alpha_dropout_ : f32[2, 4, 1] = "
       "aten.feature_alpha_dropout_.default(%feature_dropout_, 0.1, True)\n"
       "    %max_pool : (f32[2, 4, 1], i64[2, 4, 1]) = "
       "aten.max_pool2d_with_indices.default(%feature_alpha_dropout_, [1, 1])\n"
       "    %getitem_3 : f32[2, 4, 1] = getitem(%max_pool, 0)\n"
       "    %indices : i64[2, 4, 1] = getitem(%max_pool, 1)\n"
       "    %pool : f32[2, 2, 1] = aten._adaptive_avg_pool2d.default(%getitem_3, "
       "[2, 1])\n"
       "    %log_softmax : f32[2, 2, 1] = aten.log_softmax.int(%pool, 1)\n"
       "    %softmax : f32[2, 2, 1] = aten._softmax.default(%log_softmax, 0, "
       "False)\n"
       "    %lift : f32[2, 2, 1] = aten.lift_fresh_copy.default(%softmax)\n"
       "    %alias : f32[4] = aten._reshape_alias.default(%lift, [4], [1])\n"
       "    %mul : f32[4] = aten.mul.Tensor(%alias, 2.0)\n"
       "    %sum : f32[] = aten.sum.dim_IntList(%mul, None)\n"
       "    %add : f32[] = aten.add.Scalar(%sum, 1)\n"
       "    %add_ : f32[] = aten.add_.Scalar(%add, 1)\n"
       "    %mul_ : f32[] = aten.mul_.Scalar(%add_, 2)\n"
       "    %div_ : f32[] = aten.div_.Tensor(%mul_, %mul_)\n"
       "    %relu_ : f32[] = aten.relu_.default(%div_)\n"
       "    %div : f32[] = aten.div.Scalar(%relu_, 3)\n"
       "    return (%div, %mask, %indices)\n"},
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
