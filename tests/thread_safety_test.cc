// Thread-safety contract of rewire (docs/RELIABILITY.md, "Thread safety"),
// checked under ThreadSanitizer:
//   bazel test --config=tsan //tests:thread_safety_test
//
// - Different modules/graphs may be loaded, matched, rewritten and saved on
//   different threads at once (no shared mutable state: the schema registry
//   is built once by a thread-safe static and is read-only afterwards).
// - One graph that nobody mutates may be read by several threads at once:
//   matching against it (also as a shared *pattern*), printing, verifying,
//   cloning, saving. This holds because order keys are renumbered eagerly on
//   insertion, never lazily from the const IsBefore (Note [Order keys]).
// - Kernels may be called from several threads: ThreadPool::Default()
//   serializes concurrent ParallelFor calls, and results are bit-identical
//   to a single-threaded run.
// Everything here uses std::mutex/std::thread, which TSan understands (Debian's
// absl is not TSan-instrumented, so absl::Mutex would give false reports).
#include <atomic>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "fuzz/rewrite_rules.h"
#include "fuzz/seed_models.h"
#include "gtest/gtest.h"
#include "ir/exported_module.h"
#include "ir/graph.h"
#include "ir/serialization.h"
#include "ir/text_format.h"
#include "ir/verifier.h"
#include "kernels/cpu_kernels.h"
#include "kernels/philox.h"
#include "kernels/tensor.h"
#include "rewrite/replace_pattern.h"
#include "rewrite/subgraph_matcher.h"

namespace rewire {
namespace {

constexpr int kThreads = 4;

// Starts kThreads threads that wait for each other before running `body`,
// so their work really overlaps.
template <typename Body>
void RunConcurrently(Body body) {
  std::atomic<int> ready{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      ready.fetch_add(1);
      while (ready.load() < kThreads) std::this_thread::yield();
      body(t);
    });
  }
  for (std::thread& th : threads) th.join();
}

// First in the file: the threads race to the first use of the schema
// registry (a function-local static) through the parser.
TEST(ThreadSafetyTest, FirstUseOfSchemaRegistryFromManyThreads) {
  std::vector<std::string> printed(kThreads);
  RunConcurrently([&](int t) {
    auto g = ParseGraph(fuzz::SeedModels()[0].text);
    ASSERT_TRUE(g.ok()) << g.status();
    EXPECT_TRUE(Verify(**g).ok());
    printed[t] = PrintGraph(**g);
  });
  for (int t = 1; t < kThreads; ++t) EXPECT_EQ(printed[t], printed[0]);
}

// Each thread: build, save, load, match, rewrite train->eval->train and save
// its own module. The rule patterns are shared, read-only graphs.
TEST(ThreadSafetyTest, LoadMatchRewriteSaveDifferentModules) {
  const auto& rules = fuzz::TrainEvalRules();
  const auto& models = fuzz::SeedModels();
  RunConcurrently([&](int t) {
    for (int round = 0; round < 3; ++round) {
      const auto& model = models[(t + round) % models.size()];
      auto built = fuzz::BuildSeedModule(model.text);
      ASSERT_TRUE(built.ok()) << built.status();
      auto bytes = SerializeModule(*built, Format::kBinaryProto);
      ASSERT_TRUE(bytes.ok());
      auto module = LoadModuleFromBytes(*bytes, Format::kBinaryProto);
      ASSERT_TRUE(module.ok()) << module.status();
      for (const auto& rule : rules) {
        auto matcher = SubgraphMatcher::Create(*rule.pattern);
        ASSERT_TRUE(matcher.ok());
        ASSERT_TRUE((*matcher)->Match(module->graph()).ok());
        auto res = ReplacePatternWithFilters(
            module->graph(), *rule.pattern, *rule.replacement, rule.options);
        ASSERT_TRUE(res.ok()) << rule.name << ": " << res.status();
      }
      EXPECT_TRUE(Verify(module->graph()).ok()) << model.name;
      EXPECT_TRUE(SerializeModule(*module, Format::kTextProto).ok());
    }
  });
}

// Concurrent const access to one graph that was grown by many mid-list
// insertions (so its order keys were renumbered at least once): every reader
// calls IsBefore through the matcher, Users() and the rewriter's checks.
TEST(ThreadSafetyTest, ConcurrentReadersOfOneGraph) {
  auto g = ParseGraph(
      "%x = placeholder\n%a = aten.relu.default(%x)\n"
      "%b = aten.relu.default(%a)\nreturn (%b,)\n");
  ASSERT_TRUE(g.ok());
  Graph& graph = **g;
  Node* b = graph.FindNode("b");
  // 64 insertions at the same spot exhaust the 2^20 key gap (Note [Order
  // keys]); with lazy renumbering the readers below would race on it.
  Node* prev = graph.FindNode("a");
  for (int i = 0; i < 64; ++i) {
    auto n = graph.InsertBefore(
        b, Graph::NodeSpec{OpKind::kCallFunction, "aten.relu.default",
                           {Argument::Ref(prev)}, {}, "", {}});
    ASSERT_TRUE(n.ok()) << n.status();
    prev = *n;
  }
  ASSERT_TRUE(graph.SetArguments(b, {Argument::Ref(prev)}, {}).ok());
  const Graph& shared = graph;
  auto pattern = ParseGraph(
      "%x = placeholder\n%r = aten.relu.default(%x)\n"
      "%s = aten.relu.default(%r)\nreturn (%s,)\n");
  ASSERT_TRUE(pattern.ok());
  const std::string expected = PrintGraph(shared);
  RunConcurrently([&](int t) {
    auto matcher = SubgraphMatcher::Create(**pattern);
    ASSERT_TRUE(matcher.ok());
    auto result = (*matcher)->Match(shared);
    ASSERT_TRUE(result.ok());
    EXPECT_FALSE(result->matches.empty());
    EXPECT_TRUE(Verify(shared).ok());
    EXPECT_EQ(PrintGraph(shared), expected);
    std::unique_ptr<Graph> copy = shared.Clone();
    // Each thread rewrites its own clone with the shared pattern.
    auto res = ReplacePatternWithFilters(*copy, **pattern, **pattern);
    ASSERT_TRUE(res.ok()) << res.status();
    EXPECT_TRUE(Verify(*copy).ok());
    for (Node* n : shared) {
      if (n->next() != nullptr) {
        EXPECT_TRUE(n->IsBefore(n->next()));
      }
      (void)n->Users();
    }
  });
}

// Kernels from several threads: same results as one thread, bit for bit.
TEST(ThreadSafetyTest, KernelsOnDifferentTensorsInParallel) {
  constexpr int64_t kN = 4, kC = 8, kH = 32, kW = 32;
  std::vector<float> values(kN * kC * kH * kW);
  for (size_t i = 0; i < values.size(); ++i) {
    values[i] = static_cast<float>((i * 7919) % 1000) / 100.0f - 5.0f;
  }
  auto run = [&](uint64_t seed, std::string* out) {
    auto x = Tensor::FromVector<float>({kN, kC, kH, kW}, values);
    ASSERT_TRUE(x.ok());
    PhiloxGenerator gen(seed, 0);
    auto d = NativeDropout(*x, 0.3, true, gen);
    ASSERT_TRUE(d.ok()) << d.status();
    auto rm = Tensor::Zeros(ScalarType::kFloat32, {kC});
    auto rv = Tensor::FromVector<float>({kC}, std::vector<float>(kC, 1.0f));
    ASSERT_TRUE(rm.ok() && rv.ok());
    auto bn = NativeBatchNorm(d->output, nullptr, nullptr, &*rm, &*rv, true,
                              0.1, 1e-5);
    ASSERT_TRUE(bn.ok()) << bn.status();
    out->assign(static_cast<const char*>(bn->output.raw_data()),
                static_cast<size_t>(bn->output.nbytes()));
    out->append(static_cast<const char*>(rm->raw_data()),
                static_cast<size_t>(rm->nbytes()));
  };
  std::vector<std::string> reference(kThreads), parallel(kThreads);
  for (int t = 0; t < kThreads; ++t) run(100 + t, &reference[t]);
  RunConcurrently([&](int t) { run(100 + t, &parallel[t]); });
  for (int t = 0; t < kThreads; ++t) {
    EXPECT_EQ(parallel[t], reference[t]) << "thread " << t;
  }
}

}  // namespace
}  // namespace rewire
