// Tests for the executor: binding, the model in every exporter dialect, state
// write-back, liveness, errors.
#include "kernels/executor.h"

#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "ir/schema.h"
#include "ir/text_format.h"
#include "kernels/common_ops.h"
#include "kernels/linalg_ops.h"
#include "kernels/pool_ops.h"
#include "kernels/view_ops.h"
#include "kernels/cpu_kernels.h"
#include "tests/executor_test_util.h"

namespace rewire {
namespace {

using ::testing::HasSubstr;
using testing_util::MakeModel;
using testing_util::ModelInput;
using testing_util::StateFloats;
using testing_util::StateInt64;

std::vector<float> Floats(const Tensor& t) {
  return std::vector<float>(t.data<float>(), t.data<float>() + t.numel());
}

// Eval output computed here from the module state with common ops and a
// double-precision batch norm, independent of the graph.
std::vector<float> ReferenceEval(const ExportedModule& m, const Tensor& x) {
  auto st = [&](const char* n) { return *StateToTensor(*m.FindTensor(n)); };
  Tensor w = st("p_conv_weight"), cb = st("p_conv_bias");
  Tensor conv = *ops::Conv2d(x, w, &cb, {1, 1}, {1, 1}, {1, 1}, 1);
  const auto rm = StateFloats(m, "b_bn_running_mean");
  const auto rv = StateFloats(m, "b_bn_running_var");
  const auto g = StateFloats(m, "p_bn_weight");
  const auto b = StateFloats(m, "p_bn_bias");
  float* c = conv.data<float>();
  for (int n = 0; n < 2; ++n) {
    for (int ch = 0; ch < 4; ++ch) {
      for (int k = 0; k < 36; ++k) {
        float& v = c[(n * 4 + ch) * 36 + k];
        double y = (v - rm[ch]) / std::sqrt(static_cast<double>(rv[ch]) + 1e-5) * g[ch] + b[ch];
        v = static_cast<float>(std::max(y, 0.0));
      }
    }
  }
  ops::Pool2dParams p;
  p.kernel = {2, 2};
  p.stride = {2, 2};
  Tensor pooled = ops::MaxPool2d(conv, p)->output;
  Tensor flat = *ops::Flatten(pooled, 1, -1);
  Tensor fw = st("p_fc_weight"), fb = st("p_fc_bias");
  return Floats(*ops::Linear(flat, fw, &fb));
}

TEST(ExecutorTest, TrainingStepUpdatesRunningStatsInModule) {
  ExportedModule m = MakeModel(testing_util::TrainingIrText(true));
  Tensor x = ModelInput();
  ExecuteOptions opt;
  opt.seed = 1234;
  auto r = Execute(m, {{"x", x}}, opt);
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->outputs.size(), 1u);
  EXPECT_EQ(r->outputs[0].name, "linear");
  EXPECT_EQ(r->outputs[0].tensor.shape(), (std::vector<int64_t>{2, 3}));
  EXPECT_GT(r->final_offset, 0u);
  EXPECT_EQ(StateInt64(m, "b_bn_num_batches_tracked"), 1);

  // Reference running stats from the conv output's batch statistics.
  ExportedModule fresh = MakeModel(testing_util::TrainingIrText(true));
  auto st = [&](const char* n) { return *StateToTensor(*fresh.FindTensor(n)); };
  Tensor w = st("p_conv_weight"), cb = st("p_conv_bias");
  Tensor conv = *ops::Conv2d(x, w, &cb, {1, 1}, {1, 1}, {1, 1}, 1);
  const float* c = conv.data<float>();
  const auto rm = StateFloats(m, "b_bn_running_mean");
  const auto rv = StateFloats(m, "b_bn_running_var");
  for (int ch = 0; ch < 4; ++ch) {
    double s = 0, q = 0;
    for (int n = 0; n < 2; ++n) {
      for (int k = 0; k < 36; ++k) s += c[(n * 4 + ch) * 36 + k];
    }
    const double mean = s / 72;
    for (int n = 0; n < 2; ++n) {
      for (int k = 0; k < 36; ++k) {
        const double d = c[(n * 4 + ch) * 36 + k] - mean;
        q += d * d;
      }
    }
    EXPECT_NEAR(rm[ch], 0.1 * mean, 1e-6);
    EXPECT_NEAR(rv[ch], 0.9 + 0.1 * q / 71, 1e-6);
  }
  std::vector<std::string> updated = r->updated_state;
  EXPECT_THAT(updated, ::testing::UnorderedElementsAre(
                           "b_bn_running_mean", "b_bn_running_var",
                           "b_bn_num_batches_tracked"));

  // A second step counts again and draws a fresh mask from the new offset.
  opt.offset = r->final_offset;
  auto r2 = Execute(m, {{"x", x}}, opt);
  ASSERT_TRUE(r2.ok()) << r2.status();
  EXPECT_EQ(StateInt64(m, "b_bn_num_batches_tracked"), 2);
}

TEST(ExecutorTest, EvalGraphMatchesReferenceAndLeavesStateAlone) {
  ExportedModule train = MakeModel(testing_util::TrainingIrText(true));
  Tensor x = ModelInput();
  ASSERT_TRUE(Execute(train, {x}).ok());
  // Eval graph over the trained state.
  ExportedModule eval = MakeModel(testing_util::TrainingIrText(false));
  eval = testing_util::WithTensors(eval, [&](StateTensor& t) {
    t.data = train.FindTensor(t.name)->data;
  });
  const auto before = eval.tensors();
  auto r = Execute(eval, {x});
  ASSERT_TRUE(r.ok()) << r.status();
  // The eval graph still counts batches (add_ is not part of the pattern) but
  // leaves the statistics alone.
  EXPECT_EQ(StateFloats(eval, "b_bn_running_mean"), StateFloats(train, "b_bn_running_mean"));
  EXPECT_EQ(StateFloats(eval, "b_bn_running_var"), StateFloats(train, "b_bn_running_var"));
  const std::vector<float> got = Floats(r->outputs[0].tensor);
  const std::vector<float> want = ReferenceEval(train, x);
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) EXPECT_NEAR(got[i], want[i], 1e-4) << i;
  // Eval is deterministic: same result with another seed.
  ExecuteOptions opt;
  opt.seed = 99;
  auto r2 = Execute(eval, {x}, opt);
  ASSERT_TRUE(r2.ok());
  EXPECT_EQ(Floats(r2->outputs[0].tensor), got);
}

TEST(ExecutorTest, PreDispatchGraphRuns) {
  ExportedModule m = MakeModel(testing_util::PreDispatchText());
  ExportedModule ref = MakeModel(testing_util::TrainingIrText(true));
  Tensor x = ModelInput();
  auto a = Execute(m, {x});
  auto b = Execute(ref, {x});
  ASSERT_TRUE(a.ok()) << a.status();
  ASSERT_TRUE(b.ok()) << b.status();
  // Same seed and op order: identical to the training-IR dialect.
  EXPECT_EQ(Floats(a->outputs[0].tensor), Floats(b->outputs[0].tensor));
  EXPECT_EQ(StateFloats(m, "b_bn_running_var"), StateFloats(ref, "b_bn_running_var"));
  EXPECT_EQ(StateInt64(m, "b_bn_num_batches_tracked"), 1);
}

TEST(ExecutorTest, CoreAtenGraphCopiesNewStatsIntoBuffers) {
  ExportedModule m = MakeModel(testing_util::CoreAtenText());
  ExportedModule ref = MakeModel(testing_util::TrainingIrText(true));
  Tensor x = ModelInput();
  auto a = Execute(m, {x});
  auto b = Execute(ref, {x});
  ASSERT_TRUE(a.ok()) << a.status();
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ(Floats(a->outputs[0].tensor), Floats(b->outputs[0].tensor));
  EXPECT_EQ(StateFloats(m, "b_bn_running_mean"), StateFloats(ref, "b_bn_running_mean"));
  EXPECT_EQ(StateFloats(m, "b_bn_running_var"), StateFloats(ref, "b_bn_running_var"));
  EXPECT_EQ(StateInt64(m, "b_bn_num_batches_tracked"), 1);
}

TEST(ExecutorTest, MakeFxGraphRunsWithTheSameMaskAsDropout) {
  ExportedModule m = MakeModel(testing_util::MakeFxText());
  ExportedModule ref = MakeModel(testing_util::TrainingIrText(true));
  Tensor x = ModelInput();
  auto a = Execute(m, {x});
  auto b = Execute(ref, {x});
  ASSERT_TRUE(a.ok()) << a.status();
  ASSERT_TRUE(b.ok()) << b.status();
  // bernoulli_(1 - p) at offset o gives the keep mask of dropout at offset o.
  const auto fa = Floats(a->outputs[0].tensor), fb = Floats(b->outputs[0].tensor);
  for (size_t i = 0; i < fa.size(); ++i) EXPECT_NEAR(fa[i], fb[i], 1e-6);
  EXPECT_EQ(StateFloats(m, "b_bn_running_mean"), StateFloats(ref, "b_bn_running_mean"));
}

TEST(ExecutorTest, TupleOutputsAndNestedListsFlatten) {
  auto g = ParseGraph(R"(graph():
    %x : f32[4, 2] = placeholder
    %s = aten.split.Tensor(%x, 3)
    %a = getitem(%s, 0)
    %b = getitem(%s, 1)
    %m = aten.max_pool2d_with_indices.default(%x, [1, 2])
    %mi = getitem(%m, 1)
    return (%b, [%a, [%mi]])
)");
  ASSERT_TRUE(g.ok()) << g.status();
  ExportedModule m(std::move(*g));
  Tensor x = *Tensor::FromVector<float>({4, 2}, std::vector<float>{1, 2, 3, 4, 5, 6, 8, 7});
  // max_pool2d on a 2-D input is rejected: it needs (C, H, W).
  auto r = Execute(m, {x});
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(r.status().message(), HasSubstr("%m"));

  auto g2 = ParseGraph(R"(graph():
    %x : f32[4, 2] = placeholder
    %s = aten.split.Tensor(%x, 3)
    %a = getitem(%s, 0)
    %b = getitem(%s, 1)
    %u = aten.unsqueeze.default(%x, 0)
    %m = aten.max_pool2d_with_indices.default(%u, [1, 2])
    %mi = getitem(%m, 1)
    return (%b, [%a, [%mi]])
)");
  ASSERT_TRUE(g2.ok()) << g2.status();
  ExportedModule m2(std::move(*g2));
  auto r2 = Execute(m2, {x});
  ASSERT_TRUE(r2.ok()) << r2.status();
  ASSERT_EQ(r2->outputs.size(), 3u);
  EXPECT_EQ(r2->outputs[0].name, "b");
  EXPECT_EQ(Floats(r2->outputs[0].tensor), (std::vector<float>{8, 7}));
  EXPECT_EQ(r2->outputs[1].name, "a");
  EXPECT_EQ(r2->outputs[1].tensor.shape(), (std::vector<int64_t>{3, 2}));
  EXPECT_EQ(r2->outputs[2].name, "mi");
  const int64_t* idx = r2->outputs[2].tensor.data<int64_t>();
  EXPECT_EQ(std::vector<int64_t>(idx, idx + 4), (std::vector<int64_t>{1, 3, 5, 6}));
}

TEST(ExecutorTest, InPlaceOpDoesNotWriteCallersInput) {
  auto g = ParseGraph(R"(graph():
    %x = placeholder
    %r = aten.relu_.default(%x)
    %d = aten.dropout_.default(%r, 0.5, False)
    return (%d,)
)");
  ASSERT_TRUE(g.ok());
  ExportedModule m(std::move(*g));
  Tensor x = *Tensor::FromVector<float>({3}, std::vector<float>{-1, 2, -3});
  auto r = Execute(m, {{"x", x}});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(Floats(r->outputs[0].tensor), (std::vector<float>{0, 2, 0}));
  EXPECT_EQ(Floats(x), (std::vector<float>{-1, 2, -3}));
}

TEST(ExecutorTest, GetAttrBindsByTensorName) {
  auto g = ParseGraph(R"(graph():
    %x = placeholder
    %w = get_attr[target=fc.weight]
    %y = aten.mul.Tensor(%x, %w)
    return (%y,)
)");
  ASSERT_TRUE(g.ok());
  ExportedModule m(std::move(*g));
  StateTensor w = testing_util::FloatState("fc.weight", {2}, {3, 4});
  w.placeholder.clear();
  ASSERT_TRUE(m.AddTensor(w).ok());
  auto r = Execute(m, {*Tensor::FromVector<float>({2, 2}, std::vector<float>{1, 2, 3, 4})});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(Floats(r->outputs[0].tensor), (std::vector<float>{3, 8, 9, 16}));
}

TEST(ExecutorTest, OpWithoutKernelNamesOpAndNode) {
  auto g = ParseGraph(R"(graph():
    %x = placeholder
    %c = aten.cumsum.default(%x, 0)
    return (%c,)
)");
  ASSERT_TRUE(g.ok());
  ExportedModule m(std::move(*g));
  auto r = Execute(m, {*Tensor::FromVector<float>({2}, std::vector<float>{1, 2})});
  EXPECT_EQ(r.status().code(), absl::StatusCode::kUnimplemented);
  EXPECT_THAT(r.status().message(), HasSubstr("aten.cumsum.default"));
  EXPECT_THAT(r.status().message(), HasSubstr("%c"));

  // Known schema, no kernel.
  auto g2 = ParseGraph(R"(graph():
    %x = placeholder
    %c = aten.native_dropout_backward.default(%x, %x, 2.0)
    return (%c,)
)");
  ASSERT_TRUE(g2.ok());
  ExportedModule m2(std::move(*g2));
  auto r2 = Execute(m2, {*Tensor::FromVector<float>({2}, std::vector<float>{1, 2})});
  EXPECT_EQ(r2.status().code(), absl::StatusCode::kUnimplemented);
  EXPECT_THAT(r2.status().message(), HasSubstr("aten.native_dropout_backward.default"));
}

TEST(ExecutorTest, ShapeMismatchNamesNodeAndLeavesModuleUnchanged) {
  ExportedModule m = MakeModel(testing_util::TrainingIrText(true));
  // Wrong fc weight shape surfaces at the linear node after the batch norm
  // has run: the failed run must not write back the running stats.
  m = testing_util::WithTensors(m, [](StateTensor& t) {
    if (t.name != "p_fc_weight") return;
    t.shape = {3, 12};
    t.data.resize(36 * sizeof(float));
  });
  const auto before = m.tensors();
  auto r = Execute(m, {ModelInput()});
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(r.status().message(), HasSubstr("%linear"));
  EXPECT_TRUE(m.tensors() == before);

  auto g = ParseGraph(R"(graph():
    %a = placeholder
    %b = placeholder
    %add = aten.add.Tensor(%a, %b)
    return (%add,)
)");
  ASSERT_TRUE(g.ok());
  ExportedModule m2(std::move(*g));
  auto r2 = Execute(m2, {*Tensor::Zeros(ScalarType::kFloat32, {2, 3}),
                         *Tensor::Zeros(ScalarType::kFloat32, {4})});
  EXPECT_EQ(r2.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(r2.status().message(), HasSubstr("%add"));
}

TEST(ExecutorTest, InputsCheckedAgainstPlaceholderMeta) {
  ExportedModule m = MakeModel(testing_util::TrainingIrText(true));
  auto r = Execute(m, {*Tensor::Zeros(ScalarType::kFloat32, {2, 2, 5, 6})});
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(r.status().message(), HasSubstr("%x"));
  auto r2 = Execute(m, std::vector<std::pair<std::string, Tensor>>{});
  EXPECT_THAT(r2.status().message(), HasSubstr("no input for placeholder %x"));
  auto r3 = Execute(m, {{"y", ModelInput()}});
  EXPECT_THAT(r3.status().message(), HasSubstr("'y'"));
}

TEST(ExecutorTest, BadStateBytesNameTheTensor) {
  ExportedModule m = MakeModel(testing_util::TrainingIrText(true));
  m.MutableTensorData("p_bn_bias")->resize(3);
  auto r = Execute(m, {ModelInput()});
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(r.status().message(), HasSubstr("p_bn_bias"));
}

TEST(ExecutorTest, OversizedResultIsResourceExhaustedBeforeAllocation) {
  auto g = ParseGraph(R"(graph():
    %x : f32[2] = placeholder
    %e : f32[1000000000, 100000] = aten.zeros.default([1000000000, 100000])
    return (%e,)
)");
  ASSERT_TRUE(g.ok()) << g.status();
  ExportedModule m(std::move(*g));
  auto r = Execute(m, {*Tensor::Zeros(ScalarType::kFloat32, {2})});
  EXPECT_EQ(r.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(r.status().message(), HasSubstr("%e"));
  // Without "val" the allocator's limit still reports ResourceExhausted.
  auto g2 = ParseGraph(R"(graph():
    %x = placeholder
    %e = aten.zeros.default([1000000000, 1000000000])
    return (%e,)
)");
  ExportedModule m2(std::move(*g2));
  auto r2 = Execute(m2, {*Tensor::Zeros(ScalarType::kFloat32, {2})});
  EXPECT_EQ(r2.status().code(), absl::StatusCode::kResourceExhausted);
}

// The per-run limits bind every tensor of the run, whether or not "val"
// describes it: results without metadata, results whose "val" lies, zero-size
// shapes with huge other dims, views, and the state tensors themselves.
TEST(ExecutorTest, PerRunTensorLimitsBindEveryAllocation) {
  ExecuteOptions limited;
  limited.max_tensor_bytes = 4096 * 8;
  limited.max_tensor_elements = 4096;
  auto run = [&](const std::string& text, const ExecuteOptions& options) {
    auto g = ParseGraph(text);
    EXPECT_TRUE(g.ok()) << g.status();
    ExportedModule m(std::move(*g));
    return Execute(m, {*Tensor::Zeros(ScalarType::kFloat32, {2})}, options);
  };
  struct Case {
    const char* what;
    const char* text;
  };
  const Case cases[] = {
      {"no val", R"(graph():
    %x = placeholder
    %e = aten.zeros.default([64, 65])
    return (%e,)
)"},
      {"val smaller than the result", R"(graph():
    %x : f32[2] = placeholder
    %e : f32[2] = aten.ones.default([5000])
    return (%e,)
)"},
      {"zero-size dim", R"(graph():
    %x = placeholder
    %e = aten.zeros.default([0, 1000000000000000])
    return (%e,)
)"},
      {"view of an empty tensor", R"(graph():
    %x = placeholder
    %e = aten.zeros.default([0])
    %v = aten.view.default(%e, [1000000000000000, 0])
    return (%v,)
)"},
      {"val promising too many elements", R"(graph():
    %x = placeholder
    %e : f32[0, 5000] = aten.zeros.default([0, 5000])
    return (%e,)
)"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.what);
    auto r = run(c.text, limited);
    EXPECT_EQ(r.status().code(), absl::StatusCode::kResourceExhausted)
        << r.status();
    EXPECT_THAT(r.status().message(), HasSubstr("limit"));
    // The defaults accept them (most hold no data at all).
    EXPECT_TRUE(run(c.text, ExecuteOptions()).ok());
  }
  // The error names the node whose kernel hit the limit.
  auto r = run(cases[1].text, limited);
  EXPECT_THAT(r.status().message(), HasSubstr("%e"));

  // A run within the limits works, and the limits end with the run.
  ExportedModule m = MakeModel(testing_util::TrainingIrText(true));
  absl::StatusOr<ExecutionResult> within = Execute(m, {ModelInput()}, limited);
  ASSERT_TRUE(within.ok()) << within.status();
  ExecuteOptions tiny;
  tiny.max_tensor_elements = 16;  // the 4x2x3x3 conv weight has 72
  const auto before = m.tensors();
  auto small = Execute(m, {ModelInput()}, tiny);
  EXPECT_EQ(small.status().code(), absl::StatusCode::kResourceExhausted);
  // The first placeholder bound is the conv weight (state counts too).
  EXPECT_THAT(small.status().message(), HasSubstr("%p_conv_weight"));
  EXPECT_TRUE(m.tensors() == before);
  EXPECT_TRUE(Tensor::Empty(ScalarType::kFloat32, {1 << 20}).ok());
}

TEST(ExecutorTest, CudaModuleWithoutCudaBuildIsUnavailable) {
  if (GetCudaDeviceOps() != nullptr) GTEST_SKIP() << "CUDA kernels are linked in; this test runs in builds "
                                                 "without --config=cuda";
  ExportedModule m = MakeModel(testing_util::TrainingIrText(true));
  for (size_t i = 0; i < m.tensors().size(); ++i) m.set_tensor_device(i, Device::Cuda(0));
  auto r = Execute(m, {ModelInput()});
  EXPECT_EQ(r.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(r.status().message(), HasSubstr("cuda:0"));
}

TEST(ExecutorTest, LongChainRunsEachNodeOnce) {
  std::string text = "graph():\n    %x = placeholder\n    %r0 = aten.relu.default(%x)\n";
  for (int i = 1; i < 50; ++i) {
    text += "    %r" + std::to_string(i) + " = aten.relu.default(%r" +
            std::to_string(i - 1) + ")\n";
  }
  text += "    return (%r49,)\n";
  auto g = ParseGraph(text);
  ASSERT_TRUE(g.ok());
  ExportedModule m(std::move(*g));
  int calls = 0;
  ExecuteOptions opt;
  opt.after_node = [&](const Node&, absl::Span<const RuntimeValue> args, RuntimeValue&) {
    ++calls;
    EXPECT_EQ(args.size(), 1u);
    return absl::OkStatus();
  };
  auto r = Execute(m, {*Tensor::Zeros(ScalarType::kFloat32, {4})}, opt);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(calls, 50);
}

TEST(ExecutorTest, FeatureAndAlphaDropout) {
  auto g = ParseGraph(R"(graph():
    %x = placeholder
    %f = aten.feature_dropout.default(%x, 0.5, True)
    %a = aten.alpha_dropout.default(%x, 0.5, False)
    return (%f, %a)
)");
  ASSERT_TRUE(g.ok());
  ExportedModule m(std::move(*g));
  Tensor x = *ops::Full({8, 16, 5}, 1.0, ScalarType::kFloat32);
  auto r = Execute(m, {x});
  ASSERT_TRUE(r.ok()) << r.status();
  // Whole feature maps are kept (value 2) or dropped (0).
  const float* f = r->outputs[0].tensor.data<float>();
  for (int nc = 0; nc < 128; ++nc) {
    for (int k = 1; k < 5; ++k) EXPECT_EQ(f[nc * 5 + k], f[nc * 5]);
    EXPECT_TRUE(f[nc * 5] == 0 || f[nc * 5] == 2);
  }
  EXPECT_EQ(Floats(r->outputs[1].tensor), Floats(x));
}

TEST(ExecutorTest, SupportedOpsListsBothFamilies) {
  const auto ops = SupportedOps();
  for (const char* op : {"aten.dropout.default", "aten._native_batch_norm_legit.no_stats",
                         "aten.cudnn_batch_norm.default", "aten.conv2d.default",
                         "aten.bernoulli_.float"}) {
    EXPECT_THAT(ops, ::testing::Contains(std::string(op)));
  }
}

// An op with a kernel but no schema could never run ("op has a kernel but no
// schema"): every table entry needs one in ir/schema_defs.h.
TEST(ExecutorTest, EveryOpWithAKernelHasABuiltinSchema) {
  for (const std::string& op : SupportedOps()) {
    EXPECT_NE(SchemaRegistry::Global().Find(op), nullptr) << op;
  }
}

}  // namespace
}  // namespace rewire

namespace rewire {
namespace {

absl::StatusOr<ExecutionResult> RunGraph(const char* text, std::vector<Tensor> inputs) {
  auto g = ParseGraph(text);
  if (!g.ok()) return g.status();
  ExportedModule m(std::move(*g));
  return Execute(m, inputs);
}


// make_fx graphs mutate through views: relu_ of a slice must change the base
// that a later node reads, as in eager PyTorch.
TEST(ExecutorViewsTest, InPlaceOpThroughAViewChangesTheBase) {
  auto r = RunGraph(R"(graph():
    %x = placeholder
    %c = aten.clone.default(%x)
    %s = aten.slice.Tensor(%c, 1, 1, 9223372036854775807, 2)
    %r = aten.relu_.default(%s)
    %t = aten.t.default(%c)
    %m = aten.mul_.Scalar(%t, 10)
    return (%c, %r, %m)
)",
                    {*Tensor::FromVector<float>({2, 4}, std::vector<float>{-1, -2, -3, -4, 5, -6, 7, -8})});
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->outputs.size(), 3u);
  // Columns 1 and 3 clamped at 0, then everything times 10 through t().
  EXPECT_EQ(Floats(r->outputs[0].tensor),
            (std::vector<float>{-10, 0, -30, 0, 50, 0, 70, 0}));
  EXPECT_EQ(Floats(r->outputs[1].tensor), (std::vector<float>{0, 0, 0, 0}));
  EXPECT_EQ(r->outputs[2].tensor.shape(), (std::vector<int64_t>{4, 2}));
  EXPECT_EQ(Floats(r->outputs[2].tensor), (std::vector<float>{-10, 50, 0, 0, -30, 70, 0, 0}));
}

// as_strided_ changes its argument's geometry: later readers of the
// argument's node see the new sizes (convnext's make_fx graph relies on it).
TEST(ExecutorViewsTest, AsStridedInPlaceRebindsItsArgument) {
  auto r = RunGraph(R"(graph():
    %x = placeholder
    %c = aten.clone.default(%x)
    %a = aten.as_strided_.default(%c, [3, 2], [1, 3])
    %p = aten.add.Tensor(%c, 0)
    return (%a, %p)
)",
                    {*Tensor::FromVector<float>({6}, std::vector<float>{0, 1, 2, 3, 4, 5})});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(Floats(r->outputs[0].tensor), (std::vector<float>{0, 3, 1, 4, 2, 5}));
  EXPECT_EQ(r->outputs[1].tensor.shape(), (std::vector<int64_t>{3, 2}));
  EXPECT_EQ(Floats(r->outputs[1].tensor), (std::vector<float>{0, 3, 1, 4, 2, 5}));
}

TEST(ExecutorViewsTest, InPlaceWriteOfAnExpandedTensorIsRefused) {
  auto r = RunGraph(R"(graph():
    %x = placeholder
    %e = aten.expand.default(%x, [3, 2])
    %m = aten.mul_.Scalar(%e, 2)
    return (%m,)
)",
                    {*Tensor::FromVector<float>({1, 2}, std::vector<float>{1, 2})});
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(r.status().message(), HasSubstr("%m"));
  EXPECT_THAT(r.status().message(), HasSubstr("same memory"));
}

TEST(ExecutorViewsTest, StridedViewsFeedComputeKernels) {
  // matmul of a transposed view, the output a contiguous tensor.
  auto r = RunGraph(R"(graph():
    %x = placeholder
    %t = aten.transpose.int(%x, 0, 1)
    %m = aten.mm.default(%t, %x)
    %u = aten.unbind.int(%t, 0)
    %u1 = getitem(%u, 1)
    return (%m, %u1)
)",
                    {*Tensor::FromVector<float>({2, 2}, std::vector<float>{1, 2, 3, 4})});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(Floats(r->outputs[0].tensor), (std::vector<float>{10, 14, 14, 20}));
  EXPECT_TRUE(r->outputs[1].tensor.is_contiguous());
  EXPECT_EQ(Floats(r->outputs[1].tensor), (std::vector<float>{2, 4}));
}

}  // namespace
}  // namespace rewire

namespace rewire {
namespace {

// PyTorch's elementwise results keep their input's layout (a permuted
// input gives a permuted output) where the executor's are row-major; the
// strides of a later _reshape_alias or as_strided were computed for
// PyTorch's layout, which the node's "val" records.
TEST(ExecutorViewsTest, StrideArgumentsFollowTheRecordedLayout) {
  auto g = ParseGraph(R"(graph():
    %x : f32[2, 3] = placeholder
    %t : f32[3, 2]/[1, 3] = aten.t.default(%x)
    %m : f32[3, 2]/[1, 3] = aten.mul.Tensor(%t, 2)
    %r : f32[6]/[1] = aten._reshape_alias.default(%m, [6], [1])
    %a : f32[2, 3]/[3, 1] = aten.as_strided.default(%m, [2, 3], [3, 1])
    return (%r, %a)
)");
  ASSERT_TRUE(g.ok()) << g.status();
  ExportedModule m(std::move(*g));
  auto r = Execute(m, {*Tensor::FromVector<float>({2, 3}, std::vector<float>{1, 2, 3, 4, 5, 6})});
  ASSERT_TRUE(r.ok()) << r.status();
  // In PyTorch's layout m's memory is x's order times 2.
  EXPECT_EQ(Floats(r->outputs[0].tensor), (std::vector<float>{2, 4, 6, 8, 10, 12}));
  EXPECT_EQ(Floats(r->outputs[1].tensor), (std::vector<float>{2, 4, 6, 8, 10, 12}));
}

}  // namespace
}  // namespace rewire

namespace rewire {
namespace {

// rrelu in training: each negative element gets a slope in [lower, upper]
// drawn from the run's stream (so the same seed gives the same slopes), the
// positives pass, and rrelu_with_noise writes the slopes into its noise.
TEST(ExecutorTest, RreluTrainingDrawsSlopesInRange) {
  auto g = ParseGraph(R"(graph():
    %x = placeholder
    %n = placeholder
    %y = aten.rrelu_with_noise.default(%x, %n, 0.1, 0.3, True)
    return (%y, %n)
)");
  ASSERT_TRUE(g.ok()) << g.status();
  ExportedModule m(std::move(*g));
  std::vector<float> xs(1000);
  for (int i = 0; i < 1000; ++i) xs[i] = (i % 2 == 0) ? -1.0f : 2.0f;
  auto run = [&](uint64_t seed) {
    ExecuteOptions o;
    o.seed = seed;
    return Execute(m, {*Tensor::FromVector<float>({1000}, xs), *Tensor::Zeros(ScalarType::kFloat32, {1000})}, o);
  };
  auto r = run(5);
  ASSERT_TRUE(r.ok()) << r.status();
  const std::vector<float> y = Floats(r->outputs[0].tensor);
  const std::vector<float> noise = Floats(r->outputs[1].tensor);
  double sum = 0;
  for (int i = 0; i < 1000; ++i) {
    if (i % 2 == 1) {
      EXPECT_EQ(y[i], 2.0f);
      EXPECT_EQ(noise[i], 1.0f);
      continue;
    }
    EXPECT_GE(-y[i], 0.1f);
    EXPECT_LE(-y[i], 0.3f);
    EXPECT_EQ(-y[i], noise[i]);
    sum += noise[i];
  }
  EXPECT_NEAR(sum / 500, 0.2, 0.01);  // uniform slopes average (lower + upper) / 2
  EXPECT_EQ(Floats(run(5)->outputs[0].tensor), y);
  EXPECT_NE(Floats(run(6)->outputs[0].tensor), y);
}

}  // namespace
}  // namespace rewire

namespace rewire {
namespace {

// State the graph only reads is read in place; an output that is such a
// state tensor still comes back as the caller's own copy.
TEST(ExecutorStateTest, ReadOnlyStateOutputsAreCopies) {
  auto g = ParseGraph(R"(graph():
    %x = placeholder
    %w = get_attr[target=fc.weight]
    %t = aten.t.default(%w)
    return (%w, %t)
)");
  ASSERT_TRUE(g.ok());
  ExportedModule m(std::move(*g));
  StateTensor w = testing_util::FloatState("fc.weight", {2}, {3, 4});
  w.placeholder.clear();
  ASSERT_TRUE(m.AddTensor(w).ok());
  auto r = Execute(m, {*Tensor::FromVector<float>({2}, std::vector<float>{1, 2})});
  ASSERT_TRUE(r.ok()) << r.status();
  for (NamedTensor& o : r->outputs) {
    EXPECT_FALSE(o.tensor.is_borrowed());
    o.tensor.data<float>()[0] = 100;  // the caller's to change
  }
  EXPECT_EQ(m.FindTensor("fc.weight")->data, w.data);
  EXPECT_TRUE(r->updated_state.empty());
}

// A write through a view of a state tensor is a write to the state: it gets
// a private copy, written back after a successful run only.
TEST(ExecutorStateTest, WritesThroughViewsOfStateAreWrittenBackOnSuccessOnly) {
  const char* text = R"(graph():
    %x = placeholder
    %b = get_attr[target=buf]
    %v = aten.select.int(%b, 0, 1)
    %a = aten.add_.Tensor(%v, %x)
    return (%a,)
)";
  for (bool ok : {true, false}) {
    auto g = ParseGraph(text);
    ASSERT_TRUE(g.ok());
    ExportedModule m(std::move(*g));
    StateTensor b = testing_util::FloatState("buf", {2, 2}, {1, 2, 3, 4});
    b.placeholder.clear();
    ASSERT_TRUE(m.AddTensor(b).ok());
    // A 3-element x does not broadcast into the 2-element row: the run fails.
    auto x = ok ? Tensor::FromVector<float>({2}, std::vector<float>{10, 20})
                : Tensor::FromVector<float>({3}, std::vector<float>{10, 20, 30});
    auto r = Execute(m, {*x});
    ASSERT_EQ(r.ok(), ok) << r.status();
    const StateTensor* now = m.FindTensor("buf");
    std::vector<float> vals(4);
    std::memcpy(vals.data(), now->data.data(), 16);
    EXPECT_EQ(vals, ok ? (std::vector<float>{1, 2, 13, 24}) : (std::vector<float>{1, 2, 3, 4}));
  }
}

}  // namespace
}  // namespace rewire
