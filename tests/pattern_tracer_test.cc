// Tests of rewrite/pattern_tracer.h: the op spelling per dialect, "val" from
// the example shapes, and the core-ATen copy_ handling.
#include "rewrite/pattern_tracer.h"

#include <memory>
#include <optional>

#include "gtest/gtest.h"
#include "ir/graph.h"
#include "ir/text_format.h"
#include "ir/verifier.h"

namespace rewire {
namespace {

TensorMeta X() { return TensorMeta::Make(ScalarType::kFloat32, {1, 2, 3, 3}); }
TensorMeta C() { return TensorMeta::Make(ScalarType::kFloat32, {2}); }

std::unique_ptr<Graph> TraceBn(Dialect d, bool training, Device device,
                               InputMutations mutations,
                               bool affine = true) {
  PatternTracer t(d, device);
  TracedTensor x = t.Input("x", X());
  TracedTensor w = t.Input("weight", C());
  TracedTensor b = t.Input("bias", C());
  TracedTensor rm = t.Input("running_mean", C());
  TracedTensor rv = t.Input("running_var", C());
  TracedTensor out = functional::BatchNorm(t, x, rm, rv, affine ? std::optional<TracedTensor>(w) : std::nullopt,
                           affine ? std::optional<TracedTensor>(b) : std::nullopt,
                           training, 0.03, 1e-3);
  absl::StatusOr<std::unique_ptr<Graph>> g = t.Finish({out}, mutations);
  EXPECT_TRUE(g.ok()) << g.status();
  EXPECT_TRUE(Verify(**g).ok()) << PrintGraph(**g);
  return std::move(*g);
}

TEST(PatternTracerTest, TrainingIrDropoutAndInplaceDropout) {
  for (bool inplace : {false, true}) {
    PatternTracer t(Dialect::kTrainingIr);
    TracedTensor x = t.Input("x", TensorMeta::Make(ScalarType::kFloat32, {1}));
    absl::StatusOr<std::unique_ptr<Graph>> g =
        t.Finish({functional::Dropout(t, x, 0.3, true, inplace)});
    ASSERT_TRUE(g.ok()) << g.status();
    const char* target = inplace ? "aten.dropout_.default" : "aten.dropout.default";
    ASSERT_EQ((*g)->CountTarget(target), 1u);
    const Node* d = (*g)->NodesWithTarget(target)[0];
    EXPECT_EQ(d->args()[1], Argument::Double(0.3));
    EXPECT_EQ(d->args()[2], Argument::Bool(true));
    ASSERT_NE(d->meta().val(), nullptr);
    EXPECT_TRUE(d->meta().val()->is_tensor());
  }
}

TEST(PatternTracerTest, CoreAtenAndMakeFxDropoutSpellings) {
  {
    PatternTracer t(Dialect::kCoreAten);
    TracedTensor x = t.Input("x", X());
    auto g = t.Finish({functional::Dropout(t, x, 0.5, true)});
    ASSERT_TRUE(g.ok());
    EXPECT_EQ((*g)->CountTarget("aten.native_dropout.default"), 1u);
    EXPECT_EQ((*g)->CountTarget("getitem"), 1u);
    EXPECT_TRUE(Verify(**g).ok()) << PrintGraph(**g);
  }
  {
    PatternTracer t(Dialect::kCoreAten);
    TracedTensor x = t.Input("x", X());
    auto g = t.Finish({functional::Dropout(t, x, 0.5, false)});
    ASSERT_TRUE(g.ok());
    EXPECT_EQ((*g)->CountTarget("aten.clone.default"), 1u);
  }
  {
    PatternTracer t(Dialect::kMakeFx);
    TracedTensor x = t.Input("x", X());
    auto g = t.Finish({functional::Dropout(t, x, 0.3, true)});
    ASSERT_TRUE(g.ok());
    EXPECT_EQ((*g)->CountTarget("aten.empty_like.default"), 1u);
    const Node* b = (*g)->NodesWithTarget("aten.bernoulli_.float")[0];
    EXPECT_EQ(b->args()[1], Argument::Double(1.0 - 0.3));
    EXPECT_EQ((*g)->CountTarget("aten.div_.Scalar"), 1u);
    EXPECT_EQ((*g)->CountTarget("aten.mul.Tensor"), 1u);
    EXPECT_TRUE(Verify(**g).ok()) << PrintGraph(**g);
  }
  {
    // make_fx eval dropout is no node at all: functional::Dropout returns x itself.
    PatternTracer t(Dialect::kMakeFx);
    TracedTensor x = t.Input("x", X());
    TracedTensor y = functional::Dropout(t, x, 0.3, false);
    EXPECT_EQ(y.node(), x.node());
  }
}

TEST(PatternTracerTest, BatchNormSpellingPerDialectAndDevice) {
  auto g = TraceBn(Dialect::kTrainingIr, true, Device::Cpu(),
                   InputMutations::kReturnAsOutputs);
  EXPECT_EQ(g->CountTarget("aten.batch_norm.default"), 1u);
  g = TraceBn(Dialect::kPreDispatch, true, Device::Cpu(), InputMutations::kErase);
  EXPECT_EQ(g->CountTarget("aten._native_batch_norm_legit.default"), 1u);
  g = TraceBn(Dialect::kPreDispatch, false, Device::Cpu(), InputMutations::kErase);
  const Node* nt =
      g->NodesWithTarget("aten._native_batch_norm_legit_no_training.default")[0];
  EXPECT_EQ(nt->args()[5], Argument::Double(0.03));
  EXPECT_EQ(nt->args()[6], Argument::Double(1e-3));
  g = TraceBn(Dialect::kPreDispatch, true, Device::Cuda(0), InputMutations::kErase);
  ASSERT_EQ(g->CountTarget("aten.cudnn_batch_norm.default"), 1u);
  const Node* x = g->FindNode("x");
  EXPECT_TRUE(x->meta().val()->tensor().device.is_cuda());
  const Node* cudnn = g->NodesWithTarget("aten.cudnn_batch_norm.default")[0];
  EXPECT_EQ(cudnn->meta().val()->tensors().size(), 4u);
  // cudnn needs weight and bias: affine=False falls back, as PyTorch does.
  g = TraceBn(Dialect::kPreDispatch, true, Device::Cuda(0), InputMutations::kErase,
              /*affine=*/false);
  EXPECT_EQ(g->CountTarget("aten._native_batch_norm_legit.default"), 1u);
  g = TraceBn(Dialect::kMakeFx, true, Device::Cpu(), InputMutations::kErase);
  EXPECT_EQ(g->CountTarget("aten.native_batch_norm.default"), 1u);
}

TEST(PatternTracerTest, CoreAtenBatchNormKeepsCopiesAsOutputsByDefault) {
  auto g = TraceBn(Dialect::kCoreAten, true, Device::Cpu(),
                   InputMutations::kReturnAsOutputs);
  EXPECT_EQ(g->CountTarget("aten._native_batch_norm_legit_functional.default"), 1u);
  EXPECT_EQ(g->CountTarget("aten.copy_.default"), 2u);
  EXPECT_EQ(g->CountTarget("getitem"), 3u);
  EXPECT_EQ(g->output()->num_operands(), 3u);
  const Node* f =
      g->NodesWithTarget("aten._native_batch_norm_legit_functional.default")[0];
  ASSERT_EQ(f->meta().val()->tensors().size(), 5u);
  EXPECT_EQ(f->meta().val()->tensors()[3]->shape[0].value, 2);

  g = TraceBn(Dialect::kCoreAten, true, Device::Cpu(),
              InputMutations::kKeepAsSideEffects);
  EXPECT_EQ(g->CountTarget("aten.copy_.default"), 2u);
  EXPECT_EQ(g->output()->num_operands(), 1u);

  // Upstream's behaviour: copies erased, then their getitems are dead.
  g = TraceBn(Dialect::kCoreAten, true, Device::Cpu(), InputMutations::kErase);
  EXPECT_EQ(g->CountTarget("aten.copy_.default"), 0u);
  EXPECT_EQ(g->CountTarget("getitem"), 1u);
}

TEST(PatternTracerTest, ErrorsAreStickyAndReportedByFinish) {
  PatternTracer t(Dialect::kTrainingIr);
  TracedTensor x = t.Input("x", X());
  TracedTensor bad = t.Call("aten.dropout.default", {Argument::Ref(x.node())});
  EXPECT_FALSE(bad.valid());
  absl::StatusOr<std::unique_ptr<Graph>> g = t.Finish({x});
  EXPECT_FALSE(g.ok());
  EXPECT_NE(g.status().message().find("aten.dropout.default"), std::string::npos);
}

TEST(PatternTracerTest, DialectNamesRoundTrip) {
  for (Dialect d : {Dialect::kTrainingIr, Dialect::kPreDispatch,
                    Dialect::kCoreAten, Dialect::kMakeFx}) {
    absl::StatusOr<Dialect> back = ParseDialect(DialectName(d));
    ASSERT_TRUE(back.ok());
    EXPECT_EQ(*back, d);
  }
  EXPECT_FALSE(ParseDialect("torchscript").ok());
}

}  // namespace
}  // namespace rewire
