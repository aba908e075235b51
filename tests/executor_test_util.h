// Helpers shared by the executor and validate tests: a conv -> batch norm ->
// relu -> max pool -> dropout -> flatten -> linear model in each exporter
// dialect, with seeded random weights lifted into StateTensors.
#ifndef REWIRE_TESTS_EXECUTOR_TEST_UTIL_H_
#define REWIRE_TESTS_EXECUTOR_TEST_UTIL_H_

#include <cstring>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_replace.h"
#include "gtest/gtest.h"
#include "ir/exported_module.h"
#include "ir/text_format.h"
#include "kernels/tensor.h"

namespace rewire {
namespace testing_util {

inline StateTensor FloatState(std::string name, std::vector<int64_t> shape,
                              const std::vector<float>& values,
                              TensorRole role = TensorRole::kParameter) {
  StateTensor t;
  t.placeholder = name;
  t.name = std::move(name);
  t.role = role;
  t.shape = std::move(shape);
  t.data.assign(reinterpret_cast<const char*>(values.data()),
                values.size() * sizeof(float));
  return t;
}

inline std::vector<float> Random(size_t n, uint32_t seed, float lo = -1,
                                 float hi = 1) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> d(lo, hi);
  std::vector<float> v(n);
  for (float& x : v) x = d(rng);
  return v;
}

inline std::vector<float> StateFloats(const ExportedModule& m,
                                      const std::string& name) {
  const StateTensor* t = m.FindTensor(name);
  EXPECT_NE(t, nullptr) << name;
  if (t == nullptr) return {};
  std::vector<float> v(t->data.size() / sizeof(float));
  std::memcpy(v.data(), t->data.data(), t->data.size());
  return v;
}

inline int64_t StateInt64(const ExportedModule& m, const std::string& name) {
  const StateTensor* t = m.FindTensor(name);
  EXPECT_NE(t, nullptr) << name;
  int64_t v = 0;
  if (t != nullptr) std::memcpy(&v, t->data.data(), sizeof(v));
  return v;
}

// Shapes: x [2, 2, 6, 6]; conv 4 out channels 3x3 pad 1; pool 2 -> [2, 4, 3, 3];
// linear 36 -> 3.
inline constexpr const char* kPlaceholders = R"(
    %p_conv_weight : f32[4, 2, 3, 3] = placeholder[target=p_conv_weight]
    %p_conv_bias : f32[4] = placeholder[target=p_conv_bias]
    %p_bn_weight : f32[4] = placeholder[target=p_bn_weight]
    %p_bn_bias : f32[4] = placeholder[target=p_bn_bias]
    %p_fc_weight : f32[3, 36] = placeholder[target=p_fc_weight]
    %p_fc_bias : f32[3] = placeholder[target=p_fc_bias]
    %b_bn_running_mean : f32[4] = placeholder[target=b_bn_running_mean]
    %b_bn_running_var : f32[4] = placeholder[target=b_bn_running_var]
    %b_bn_num_batches_tracked : i64[] = placeholder[target=b_bn_num_batches_tracked]
    %x : f32[2, 2, 6, 6] = placeholder[target=x]
    %conv2d : f32[2, 4, 6, 6] = aten.conv2d.default(%x, %p_conv_weight, %p_conv_bias, [1, 1], [1, 1])
)";
inline constexpr const char* kTail = R"(
    %relu : f32[2, 4, 6, 6] = aten.relu.default(%bn)
    %max_pool2d : f32[2, 4, 3, 3] = aten.max_pool2d.default(%relu, [2, 2], [2, 2])
)";
inline constexpr const char* kHead = R"(
    %flatten : f32[2, 36] = aten.flatten.using_ints(%drop, 1)
    %linear : f32[2, 3] = aten.linear.default(%flatten, %p_fc_weight, %p_fc_bias)
    return (%linear,)
)";

// Training IR (torch.export.export_for_training), train or eval form.
inline std::string TrainingIrText(bool train) {
  const std::string t = train ? "True" : "False";
  return std::string("graph():") + kPlaceholders +
         "    %add_ = aten.add_.Tensor(%b_bn_num_batches_tracked, 1)\n"
         "    %bn : f32[2, 4, 6, 6] = aten.batch_norm.default(%conv2d, "
         "%p_bn_weight, %p_bn_bias, %b_bn_running_mean, %b_bn_running_var, " +
         t + ", 0.1, 1e-05, True)\n" + kTail +
         "    %drop : f32[2, 4, 3, 3] = aten.dropout.default(%max_pool2d, 0.5, " +
         t + ")\n" + kHead;
}

// Pre-dispatch: _native_batch_norm_legit + getitem.
inline std::string PreDispatchText() {
  return std::string("graph():") + kPlaceholders +
         "    %add_ = aten.add_.Tensor(%b_bn_num_batches_tracked, 1)\n"
         "    %nbn = aten._native_batch_norm_legit.default(%conv2d, %p_bn_weight, "
         "%p_bn_bias, %b_bn_running_mean, %b_bn_running_var, True, 0.1, 1e-05)\n"
         "    %bn = getitem(%nbn, 0)\n" + kTail +
         "    %drop = aten.dropout.default(%max_pool2d, 0.5, True)\n" + kHead;
}

// Core ATen: native_dropout + _native_batch_norm_legit_functional + copy_.
inline std::string CoreAtenText() {
  return std::string("graph():") + kPlaceholders +
         "    %add = aten.add.Tensor(%b_bn_num_batches_tracked, 1)\n"
         "    %f = aten._native_batch_norm_legit_functional.default(%conv2d, "
         "%p_bn_weight, %p_bn_bias, %b_bn_running_mean, %b_bn_running_var, True, "
         "0.1, 1e-05)\n"
         "    %bn = getitem(%f, 0)\n"
         "    %new_rm = getitem(%f, 3)\n"
         "    %new_rv = getitem(%f, 4)\n" + kTail +
         "    %nd = aten.native_dropout.default(%max_pool2d, 0.5, True)\n"
         "    %drop = getitem(%nd, 0)\n"
         "    %flatten = aten.flatten.using_ints(%drop, 1)\n"
         "    %linear = aten.linear.default(%flatten, %p_fc_weight, %p_fc_bias)\n"
         "    %c1 = aten.copy_.default(%b_bn_running_mean, %new_rm)\n"
         "    %c2 = aten.copy_.default(%b_bn_running_var, %new_rv)\n"
         "    %c3 = aten.copy_.default(%b_bn_num_batches_tracked, %add)\n"
         "    return (%linear,)\n";
}

// make_fx (torch 1.13): empty_like/bernoulli_/div_/mul + native_batch_norm.
inline std::string MakeFxText() {
  return std::string("graph():") + kPlaceholders +
         "    %nbn = aten.native_batch_norm.default(%conv2d, %p_bn_weight, "
         "%p_bn_bias, %b_bn_running_mean, %b_bn_running_var, True, 0.1, 1e-05)\n"
         "    %bn = getitem(%nbn, 0)\n" + kTail +
         "    %empty_like = aten.empty_like.default(%max_pool2d, "
         "memory_format=torch.contiguous_format)\n"
         "    %bernoulli_ = aten.bernoulli_.float(%empty_like)\n"
         "    %div_ = aten.div_.Scalar(%bernoulli_, 0.5)\n"
         "    %drop = aten.mul.Tensor(%max_pool2d, %div_)\n" + kHead;
}

inline ExportedModule MakeModel(const std::string& text, uint32_t seed = 7) {
  auto g = ParseGraph(text);
  EXPECT_TRUE(g.ok()) << g.status();
  ExportedModule m(std::move(*g));
  auto add = [&](StateTensor t) {
    absl::Status s = m.AddTensor(std::move(t));
    EXPECT_TRUE(s.ok()) << s;
  };
  add(FloatState("p_conv_weight", {4, 2, 3, 3}, Random(72, seed, -0.4f, 0.4f)));
  add(FloatState("p_conv_bias", {4}, Random(4, seed + 1)));
  add(FloatState("p_bn_weight", {4}, Random(4, seed + 2, 0.5f, 1.5f)));
  add(FloatState("p_bn_bias", {4}, Random(4, seed + 3)));
  add(FloatState("p_fc_weight", {3, 36}, Random(108, seed + 4, -0.2f, 0.2f)));
  add(FloatState("p_fc_bias", {3}, Random(3, seed + 5)));
  add(FloatState("b_bn_running_mean", {4}, {0, 0, 0, 0}, TensorRole::kBuffer));
  add(FloatState("b_bn_running_var", {4}, {1, 1, 1, 1}, TensorRole::kBuffer));
  StateTensor nbt;
  nbt.name = nbt.placeholder = "b_bn_num_batches_tracked";
  nbt.role = TensorRole::kBuffer;
  nbt.dtype = ScalarType::kInt64;
  nbt.data.assign(8, '\0');
  add(std::move(nbt));
  return m;
}

// A copy of `m` whose tensors pass through `edit` (any field, even to
// values AddTensor would refuse, such as a size that disagrees with the
// shape): the way tests build modules the loader would not produce.
template <typename Edit>
ExportedModule WithTensors(const ExportedModule& m, Edit edit) {
  ExportedModule out(m.graph().Clone());
  out.set_mode(m.mode());
  std::vector<StateTensor> tensors = m.tensors();
  for (StateTensor& t : tensors) edit(t);
  // AddTensor checks sizes: add valid placeholders first, then restore.
  std::vector<std::string> data;
  for (StateTensor& t : tensors) {
    data.push_back(t.data);
    absl::StatusOr<int64_t> n = t.ExpectedBytes();
    t.data.assign(n.ok() ? static_cast<size_t>(*n) : 0, '\0');
    EXPECT_TRUE(out.AddTensor(t).ok()) << t.name;
  }
  for (size_t i = 0; i < data.size(); ++i) out.mutable_tensor_data(i) = data[i];
  return out;
}

inline Tensor ModelInput(uint32_t seed = 11) {
  return *Tensor::FromVector<float>({2, 2, 6, 6}, Random(144, seed, -2, 2));
}

}  // namespace testing_util
}  // namespace rewire

#endif  // REWIRE_TESTS_EXECUTOR_TEST_UTIL_H_
