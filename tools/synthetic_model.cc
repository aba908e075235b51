#include "tools/synthetic_model.h"

#include <cmath>
#include <cstdint>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "ir/graph.h"
#include "ir/status_macros.h"

namespace rewire {
namespace {

constexpr int64_t kNodesPerBlock = 12;

Metadata Val(const std::vector<int64_t>& shape, ScalarType dtype = ScalarType::kFloat32) {
  Metadata m;
  m.Set("val", MetaValue::Tensor(TensorMeta::Make(dtype, shape)));
  return m;
}

std::string FloatBytes(const std::vector<float>& v) {
  std::string s(v.size() * sizeof(float), '\0');
  std::memcpy(s.data(), v.data(), s.size());
  return s;
}

}  // namespace

int64_t SyntheticModelNodeCount(int64_t blocks, bool pre_dispatch_batch_norm) {
  return blocks * (kNodesPerBlock + (pre_dispatch_batch_norm ? 1 : 0)) + 2;
}

absl::StatusOr<ExportedModule> BuildSyntheticModel(
    const SyntheticModelOptions& o) {
  if (o.blocks < 1 || o.batch < 1 || o.channels < 1 || o.height < 1 ||
      o.width < 1) {
    return absl::InvalidArgumentError(
        "synthetic model: blocks and every dimension must be >= 1");
  }
  if (o.blocks > 10'000'000) {
    return absl::InvalidArgumentError("synthetic model: at most 1e7 blocks");
  }
  ExportedModule module;
  Graph& g = module.graph();
  std::mt19937_64 rng(o.seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  const int64_t c = o.channels;
  const std::vector<int64_t> act = {o.batch, c, o.height, o.width};
  const std::vector<int64_t> w_shape = {c, c, 3, 3};
  const float w_scale = 1.0f / std::sqrt(static_cast<float>(c * 9));

  auto add_state = [&](const std::string& name, TensorRole role,
                       const std::vector<int64_t>& shape, ScalarType dtype,
                       const std::vector<float>& values,
                       int64_t int_value) -> absl::StatusOr<Node*> {
    std::string ph = absl::StrCat(role == TensorRole::kParameter ? "p_" : "b_",
                                  name);
    for (char& ch : ph) {
      if (ch == '.') ch = '_';
    }
    // Lifted state comes before the user input, as in torch.export.
    ASSIGN_OR_RETURN(Node * node, g.AddPlaceholder(ph, Val(shape, dtype)));
    StateTensor t;
    t.name = name;
    t.role = role;
    t.dtype = dtype;
    t.shape = shape;
    t.placeholder = ph;
    {
      if (dtype == ScalarType::kInt64) {
        t.data.assign(sizeof(int64_t), '\0');
        std::memcpy(t.data.data(), &int_value, sizeof(int64_t));
      } else {
        t.data = FloatBytes(values);
      }
    }
    RETURN_IF_ERROR(module.AddTensor(std::move(t)));
    return node;
  };

  std::vector<Node*> states;
  for (int64_t b = 0; b < o.blocks; ++b) {
    std::string prefix = absl::StrCat("blocks.", b, ".");
    std::vector<float> w(c * c * 9), bias(c), bn_w(c), bn_b(c), rm(c), rv(c);
    {
      for (float& v : w) v = normal(rng) * w_scale;
      for (float& v : bias) v = normal(rng) * 0.1f;
      for (float& v : bn_w) v = 1.0f + 0.1f * normal(rng);
      for (float& v : bn_b) v = 0.1f * normal(rng);
      for (float& v : rm) v = 0.1f * normal(rng);
      for (float& v : rv) v = 1.0f + 0.1f * std::abs(normal(rng));
    }
    const auto P = TensorRole::kParameter;
    const auto B = TensorRole::kBuffer;
    const auto F = ScalarType::kFloat32;
    ASSIGN_OR_RETURN(Node * cw, add_state(prefix + "conv.weight", P, w_shape, F, w, 0));
    ASSIGN_OR_RETURN(Node * cb, add_state(prefix + "conv.bias", P, {c}, F, bias, 0));
    ASSIGN_OR_RETURN(Node * bw, add_state(prefix + "bn.weight", P, {c}, F, bn_w, 0));
    ASSIGN_OR_RETURN(Node * bb, add_state(prefix + "bn.bias", P, {c}, F, bn_b, 0));
    ASSIGN_OR_RETURN(Node * brm, add_state(prefix + "bn.running_mean", B, {c}, F, rm, 0));
    ASSIGN_OR_RETURN(Node * brv, add_state(prefix + "bn.running_var", B, {c}, F, rv, 0));
    ASSIGN_OR_RETURN(Node * nbt, add_state(prefix + "bn.num_batches_tracked", B, {},
                                           ScalarType::kInt64, {}, 0));
    for (Node* n : {cw, cb, bw, bb, brm, brv, nbt}) states.push_back(n);
  }
  ASSIGN_OR_RETURN(Node * x, g.AddPlaceholder("x", Val(act)));
  Node* h = x;
  auto ref = [](Node* n) { return Argument::Ref(n); };
  auto ints = [](std::vector<int64_t> v) {
    std::vector<Argument> out;
    for (int64_t i : v) out.push_back(Argument::Int(i));
    return Argument::List(std::move(out));
  };
  for (int64_t b = 0; b < o.blocks; ++b) {
    Node** s = &states[b * 7];
    ASSIGN_OR_RETURN(Node * conv,
                     g.AddCall("aten.conv2d.default",
                               {ref(h), ref(s[0]), ref(s[1]), ints({1, 1}),
                                ints({1, 1}), ints({1, 1}), Argument::Int(1)},
                               {}, Val(act)));
    ASSIGN_OR_RETURN(Node * nbt_add,
                     g.AddCall("aten.add_.Tensor", {ref(s[6]), Argument::Int(1)},
                               {}, Val({}, ScalarType::kInt64)));
    (void)nbt_add;
    Node* bn = nullptr;
    if (o.pre_dispatch_batch_norm) {
      Metadata tuple_val;
      const TensorMeta stat = TensorMeta::Make(ScalarType::kFloat32, {c});
      tuple_val.Set("val", MetaValue::Tensors(
                               {TensorMeta::Make(ScalarType::kFloat32, act),
                                stat, stat}));
      ASSIGN_OR_RETURN(
          Node * legit,
          g.AddCall("aten._native_batch_norm_legit.default",
                    {ref(conv), ref(s[2]), ref(s[3]), ref(s[4]), ref(s[5]),
                     Argument::Bool(true), Argument::Double(o.momentum),
                     Argument::Double(o.eps)},
                    {}, std::move(tuple_val)));
      ASSIGN_OR_RETURN(bn, g.AddCall("getitem", {ref(legit), Argument::Int(0)},
                                     {}, Val(act)));
    } else {
      ASSIGN_OR_RETURN(
          bn, g.AddCall("aten.batch_norm.default",
                        {ref(conv), ref(s[2]), ref(s[3]), ref(s[4]), ref(s[5]),
                         Argument::Bool(true), Argument::Double(o.momentum),
                         Argument::Double(o.eps), Argument::Bool(true)},
                        {}, Val(act)));
    }
    ASSIGN_OR_RETURN(Node * relu,
                     g.AddCall("aten.relu.default", {ref(bn)}, {}, Val(act)));
    ASSIGN_OR_RETURN(Node * drop,
                     g.AddCall("aten.dropout.default",
                               {ref(relu), Argument::Double(o.dropout_p),
                                Argument::Bool(true)},
                               {}, Val(act)));
    h = drop;
  }
  RETURN_IF_ERROR(g.AddOutput({Argument::List({ref(h)})}).status());
  module.set_mode(ModuleMode::kTrain);
  return module;
}

}  // namespace rewire
