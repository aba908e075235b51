// The executor's bounds on hostile graphs: the total of live bytes (kernel
// temporaries and input copies included), the per-node work estimate, and
// kernels that skip zero-size tensors however large their other dims. Each
// graph here ran for minutes, or aborted on std::bad_alloc, before these
// bounds; the tests assert the status, and a regression shows as a test
// timeout.
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <fstream>
#include <limits>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "ir/text_format.h"
#include "kernels/executor.h"

namespace rewire {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;

constexpr int64_t kUnlimited = std::numeric_limits<int64_t>::max();

absl::StatusOr<ExecutionResult> RunText(const std::string& text,
                                        const std::vector<Tensor>& inputs,
                                        const ExecuteOptions& options) {
  auto g = ParseGraph(text);
  EXPECT_TRUE(g.ok()) << g.status();
  if (!g.ok()) return g.status();
  ExportedModule m(std::move(*g));
  return Execute(m, inputs, options);
}

// Item: a reduction sized its accumulators (a std::vector) from the shape
// before anything checked it; `sum` over dim 0 of [0, 10^15] threw
// std::bad_alloc. Without "val" nothing but the allocator sees the sizes.
TEST(ExecutorLimitsTest, KernelTemporariesAreBoundedAndCounted) {
  const std::string huge = R"(graph():
    %z = aten.zeros.default([0, 1000000000000000])
    %s = aten.sum.dim_IntList(%z, [0])
    return (%s,)
)";
  auto r = RunText(huge, {}, ExecuteOptions());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kResourceExhausted) << r.status();
  EXPECT_THAT(r.status().message(), HasSubstr("%s"));

  // [0, 10^8]: a 400 MB result and 800 MB of double accumulators, each
  // under the per-tensor limit; the total counts both.
  ExecuteOptions options;
  options.max_total_bytes = 1000000000;
  r = RunText(R"(graph():
    %z = aten.zeros.default([0, 100000000])
    %s = aten.sum.dim_IntList(%z, [0])
    return (%s,)
)", {}, options);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kResourceExhausted) << r.status();
  EXPECT_THAT(r.status().message(),
              AllOf(HasSubstr("%s"), HasSubstr("limit of 1000000000 bytes in total")));

  // Batch norm in training without weights took its channel count from an
  // empty input: per-channel temporaries of 10^15 entries.
  r = RunText(R"(graph():
    %z = aten.zeros.default([0, 1000000000000000])
    %bn = aten._native_batch_norm_legit.no_stats(%z, None, None, True, 0.1, 1e-05)
    return (%bn,)
)", {}, ExecuteOptions());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kResourceExhausted) << r.status();
  EXPECT_THAT(r.status().message(), HasSubstr("%bn"));
}

// Item: no total existed: ones([3.9e9]) passed the 16 GiB per-tensor
// default, and several tensors under it could together take all memory.
TEST(ExecutorLimitsTest, LiveBytesOfTheRunAreLimitedInTotal) {
  ExecuteOptions options;
  options.max_total_bytes = 64 << 20;
  // 24 MB each: %a and %b fit, %c would bring the live total to 72 MB.
  const std::string text = R"(graph():
    %a = aten.ones.default([6000000])
    %b = aten.ones.default([6000000])
    %c = aten.add.Tensor(%a, %b)
    return (%c,)
)";
  auto r = RunText(text, {}, options);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kResourceExhausted) << r.status();
  EXPECT_THAT(r.status().message(), AllOf(HasSubstr("%c"), HasSubstr("67108864 bytes in total")));
  // Released values make room: the same sizes in a chain fit.
  r = RunText(R"(graph():
    %a = aten.ones.default([6000000])
    %b = aten.relu.default(%a)
    %c = aten.neg.default(%b)
    return (%c,)
)", {}, options);
  EXPECT_TRUE(r.ok()) << r.status();

  // The run's copies of the caller's inputs count too.
  auto in = Tensor::Zeros(ScalarType::kFloat32, {20 << 20});  // 80 MB
  ASSERT_TRUE(in.ok());
  r = RunText(R"(graph():
    %x : f32[20971520] = placeholder[target=x]
    %y = aten.relu.default(%x)
    return (%y,)
)", {*in}, options);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kResourceExhausted) << r.status();
  EXPECT_THAT(r.status().message(), HasSubstr("%x"));
}

// The results of one node are Tensor objects no byte limit counts: split,
// chunk and unbind make at most 2^20 of them.
TEST(ExecutorLimitsTest, ResultCountOfOneNodeIsBounded) {
  for (const char* op : {"aten.split.Tensor(%z, 1)", "aten.unbind.int(%z)",
                         "aten.chunk.default(%z, 1048577)"}) {
    SCOPED_TRACE(op);
    const std::string text = std::string("graph():\n"
                                         "    %z = aten.zeros.default([1048577, 0])\n"
                                         "    %s = ") +
                             op + "\n    %g = getitem(%s, 0)\n    return (%g,)\n";
    auto r = RunText(text, {}, ExecuteOptions());
    EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument) << r.status();
    EXPECT_THAT(r.status().message(), AllOf(HasSubstr("%s"), HasSubstr("limit of 1048576")));
  }
}

TEST(ExecutorLimitsTest, DefaultLimitsAreOnAndSizedToTheMachine) {
  const ExecuteOptions defaults;
  // Half of the memory this process has: physical, or a lower cgroup limit.
  int64_t memory = static_cast<int64_t>(sysconf(_SC_PHYS_PAGES)) * sysconf(_SC_PAGE_SIZE);
  for (const char* path : {"/sys/fs/cgroup/memory.max",
                           "/sys/fs/cgroup/memory/memory.limit_in_bytes"}) {
    std::ifstream f(path);
    int64_t limit = 0;
    if (f >> limit && limit > 0) memory = std::min(memory, limit);
  }
  EXPECT_EQ(defaults.max_total_bytes, DefaultMaxTotalBytes());
  EXPECT_EQ(defaults.max_total_bytes, memory / 2);
  EXPECT_EQ(defaults.max_node_work, kDefaultMaxNodeWork);
  // A tensor larger than the machine-sized total is refused before it is
  // allocated, even under the per-tensor limit.
  ExecuteOptions options;
  options.max_tensor_bytes = kUnlimited;
  const int64_t elements = defaults.max_total_bytes / 4 + 1;
  auto r = RunText("graph():\n    %o = aten.ones.default([" + std::to_string(elements) +
                       "])\n    return (%o,)\n",
                   {}, options);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kResourceExhausted) << r.status();
  EXPECT_THAT(r.status().message(), HasSubstr("%o"));
  if (defaults.max_total_bytes < Tensor::MaxBytes() - kTensorAlignment) {
    EXPECT_THAT(r.status().message(), HasSubstr("in total"));
  }
}

// Item: a convolution of two 4 MB tensors with a 1000x1000 kernel over a
// 999-padded input needs ~10^13 FLOPs and ran for minutes within every
// memory limit.
TEST(ExecutorLimitsTest, NodeWorkIsEstimatedAndBoundedBeforeTheKernelRuns) {
  const char* cases[][2] = {
      {"conv", R"(graph():
    %x : f32[1, 1, 1000, 1000] = aten.ones.default([1, 1, 1000, 1000])
    %w : f32[1, 1, 1000, 1000] = aten.ones.default([1, 1, 1000, 1000])
    %c : f32[1, 1, 2999, 2999] = aten.conv2d.default(%x, %w, None, [1, 1], [999, 999])
    return (%c,)
)"},
      // Expanded views: a few MB of storage, 2 * 10^12 multiply-adds.
      {"bmm", R"(graph():
    %a = aten.ones.default([1, 1000, 1000])
    %e = aten.expand.default(%a, [1000, 1000, 1000])
    %c = aten.bmm.default(%e, %e)
    return (%c,)
)"},
      {"matmul", R"(graph():
    %a = aten.ones.default([1, 1000, 1000])
    %e = aten.expand.default(%a, [1000, 1000, 1000])
    %c = aten.matmul.default(%e, %a)
    return (%c,)
)"},
      {"einsum", R"(graph():
    %a = aten.ones.default([1, 1000, 1000])
    %e = aten.expand.default(%a, [1000, 1000, 1000])
    %c = aten.einsum.default("bij,bjk->bik", [%e, %e])
    return (%c,)
)"},
      {"attention", R"(graph():
    %a = aten.ones.default([1, 4096, 64])
    %e = aten.expand.default(%a, [4096, 4096, 64])
    %c = aten.scaled_dot_product_attention.default(%e, %e, %e)
    return (%c,)
)"},
      {"max pool", R"(graph():
    %x = aten.ones.default([1, 1, 3000, 3000])
    %c = aten.max_pool2d.default(%x, [1000, 1000], [1, 1])
    return (%c,)
)"},
  };
  for (const auto& [what, text] : cases) {
    SCOPED_TRACE(what);
    auto r = RunText(text, {}, ExecuteOptions());
    EXPECT_EQ(r.status().code(), absl::StatusCode::kResourceExhausted) << r.status();
    EXPECT_THAT(r.status().message(),
                AllOf(HasSubstr("node %c"), HasSubstr("estimated work of"),
                      HasSubstr("limit of 1099511627776")));
  }
  // The conv's estimate: 2 FLOPs x 1999^2 outputs x 10^6 taps, plus the
  // element visits of both arguments and of the result "val" promises.
  auto conv = RunText(cases[0][1], {}, ExecuteOptions());
  EXPECT_THAT(conv.status().message(),
              HasSubstr(std::to_string(int64_t{2} * 1999 * 1999 * 1000000 + 2000000 +
                                       2999 * 2999)));

  // The largest convolutions of ResNet-50 at batch 32 pass the estimate:
  // the kernel runs and refuses the float64 weight, so the status is the
  // kernel's, not the work limit's.
  struct Conv {
    const char* what;
    std::vector<int64_t> input, weight;
    const char* params;
  };
  const Conv resnet[] = {
      {"stem 7x7", {32, 3, 224, 224}, {64, 3, 7, 7}, "[2, 2], [3, 3]"},
      {"last 3x3", {32, 512, 7, 7}, {512, 512, 3, 3}, "[1, 1], [1, 1]"},
  };
  for (const Conv& c : resnet) {
    SCOPED_TRACE(c.what);
    auto r = RunText(std::string(R"(graph():
    %x = placeholder[target=x]
    %w = placeholder[target=w]
    %c = aten.conv2d.default(%x, %w, None, )") + c.params + ")\n    return (%c,)\n",
                     {*Tensor::Zeros(ScalarType::kFloat32, c.input),
                      *Tensor::Zeros(ScalarType::kFloat64, c.weight)},
                     ExecuteOptions());
    EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument) << r.status();
    EXPECT_THAT(r.status().message(), HasSubstr("weight must be 4-D of the input's dtype"));
  }

  // The limit is the caller's: a bmm of expanded views is refused under a
  // low limit and runs without one.
  const std::string bmm = R"(graph():
    %a = aten.ones.default([1, 100, 100])
    %e = aten.expand.default(%a, [2, 100, 100])
    %c = aten.bmm.default(%e, %e)
    return (%c,)
)";
  ExecuteOptions raised;
  raised.max_node_work = 1000000;  // 4 * 10^6 FLOPs needed
  auto r = RunText(bmm, {}, raised);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kResourceExhausted) << r.status();
  raised.max_node_work = kUnlimited;
  r = RunText(bmm, {}, raised);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->outputs[0].tensor.data<float>()[0], 100.0f);
}

// Item: softmax, log_softmax, cat, split and bmm over f32[10^15, 0] looped
// over the non-empty dims for minutes. Every kernel must skip a tensor
// without elements, whatever its other dims: run here with the work and
// element limits off, so only the kernels' own checks keep these fast. (The
// default work limit refuses them anyway, counting each zero-size dim as 1.)
TEST(ExecutorLimitsTest, ZeroSizeTensorsShortCircuitEveryKernel) {
  // E = 10^15: %z [E, 0], %z3 [E, 0, 4], %w3 [E, 4, 0], %z4 [E, 0, 4, 4],
  // %c4 [E, 3, 0, 4], %g [2, 0, E] (no elements, yet E rows, planes or
  // batches).
  const std::string prelude = R"(graph():
    %z = aten.zeros.default([1000000000000000, 0])
    %z3 = aten.zeros.default([1000000000000000, 0, 4])
    %w3 = aten.zeros.default([1000000000000000, 4, 0])
    %z4 = aten.zeros.default([1000000000000000, 0, 4, 4])
    %c4 = aten.zeros.default([1000000000000000, 3, 0, 4])
    %b = aten.zeros.default([1000000000000000, 0], dtype=torch.bool)
    %e = aten.zeros.default([0])
    %e2 = aten.zeros.default([0, 0])
    %g = aten.zeros.default([2, 0, 1000000000000000])
    %i = aten.zeros.default([3], dtype=torch.int64)
    %f = aten.ones.default([4])
    %f3 = aten.ones.default([3])
    %cw = aten.ones.default([0, 0, 1, 1])
    %lw = aten.ones.default([5, 4])
    %r = )";
  const char* cases[] = {
      "aten.softmax.int(%z, 1)",
      "aten.softmax.int(%z, 0)",
      "aten._softmax.default(%z3, 1, False)",
      "aten.log_softmax.int(%z, 1)",
      "aten._log_softmax.default(%z3, 2, False)",
      "aten._safe_softmax.default(%z, 1)",
      "aten.cat.default([%z, %z], 1)",
      "aten.cat.default([%z, %z], 0)",
      "aten.cat.default([%z3, %z3], 2)",
      "aten.split.Tensor(%z3, 2, 2)",
      "aten.split_with_sizes.default(%z3, [1, 3], 2)",
      "aten.bmm.default(%z3, %w3)",
      "aten.matmul.default(%z3, %w3)",
      "aten.baddbmm.default(%e, %z3, %w3)",
      "aten.mm.default(%z, %e2)",
      "aten.addmm.default(%e, %z, %e2)",
      "aten.linear.default(%z3, %lw)",
      "aten.einsum.default(\"bij,bjk->bik\", [%z3, %w3])",
      "aten.relu.default(%z)",
      "aten.gelu.default(%z)",
      "aten.add.Tensor(%z3, %f)",
      "aten.mul.Tensor(%z, %z)",
      "aten.where.self(%b, %z, %z)",
      "aten.masked_fill.Scalar(%z, %b, 1.0)",
      "aten.clamp.default(%z, 0.0, 1.0)",
      "aten.sum.dim_IntList(%z, [0])",
      "aten.mean.dim(%z3, [0, 2])",
      "aten.any.dim(%b, 0)",
      "aten.layer_norm.default(%z3, [4])",
      "aten.native_layer_norm.default(%z3, [4], %f, %f, 1e-05)",
      "aten.group_norm.default(%g, 1)",
      "aten.native_group_norm.default(%g, None, None, 2, 0, 1000000000000000, 1, 1e-05)",
      "aten.instance_norm.default(%c4, %f3, %f3, %f3, %f3, False, 0.1, 1e-05, False)",
      "aten.cudnn_batch_norm.default(%c4, %f3, %f3, %f3, %f3, False, 0.1, 1e-05)",
      "aten._native_batch_norm_legit_no_training.default(%c4, None, None, %f3, %f3, 0.1, 1e-05)",
      "aten.batch_norm.default(%c4, %f3, %f3, %f3, %f3, False, 0.1, 1e-05, False)",
      "aten.conv2d.default(%z4, %cw)",
      "aten.max_pool2d.default(%z4, [2, 2])",
      "aten.max_pool2d_with_indices.default(%z4, [2, 2])",
      "aten.avg_pool2d.default(%z4, [2, 2])",
      "aten.adaptive_avg_pool2d.default(%z4, [2, 2])",
      "aten.scaled_dot_product_attention.default(%z3, %z3, %z3)",
      "aten._scaled_dot_product_flash_attention_for_cpu.default(%z3, %z3, %z3)",
      "aten.index_select.default(%z, 0, %i)",
      "aten.index.Tensor(%z, [%i])",
      "aten._unsafe_index.Tensor(%z, [%i])",
      "aten.eq.Tensor(%z, %z)",
      "aten.logical_and.default(%b, %b)",
      "aten.masked_fill_.Scalar(%z, %b, 1.0)",
      "aten.pow.Tensor_Scalar(%z, 2)",
      "aten.pad.default(%z, [0, 0, 1, 1])",
      "aten.roll.default(%z, [1], [0])",
      "aten.constant_pad_nd.default(%z, [0, 0, 1, 1])",
      "aten.repeat.default(%z, [2, 1])",
      "aten.tril.default(%z)",
      "aten.triu.default(%z3)",
      "aten.clone.default(%z3)",
      "aten.contiguous.default(%z3)",
      "aten._to_copy.default(%z, dtype=torch.float64)",
      "aten.copy.default(%z, %z)",
      "aten.fill_.Scalar(%z, 2.0)",
      "aten.dropout.default(%z, 0.5, True)",
      "aten.native_dropout.default(%z, 0.5, True)",
      "aten.feature_dropout.default(%z3, 0.5, True)",
      "aten.alpha_dropout.default(%z, 0.5, True)",
      "aten.feature_alpha_dropout.default(%z3, 0.5, True)",
      "aten.bernoulli.p(%z, 0.5)",
      "aten.rrelu.default(%z, 0.125, 0.3333, True)",
      "aten.slice_scatter.default(%z, %z)",
      "aten.full_like.default(%z, 3.0)",
      "aten.new_ones.default(%z, [1000000000000000, 0])",
      "aten.ones.default([1000000000000000, 0])",
  };
  ExecuteOptions unbounded;
  unbounded.max_node_work = kUnlimited;
  for (const char* op : cases) {
    SCOPED_TRACE(op);
    const std::string text = prelude + op + "\n    return (%r,)\n";
    auto r = RunText(text, {}, unbounded);
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(r->outputs[0].tensor.numel(), 0);  // later ones may be statistics
    // With the default work limit, the ones that did loop are refused.
    r = RunText(text, {}, ExecuteOptions());
    EXPECT_TRUE(r.ok() || r.status().code() == absl::StatusCode::kResourceExhausted)
        << r.status();
  }
}

}  // namespace
}  // namespace rewire
