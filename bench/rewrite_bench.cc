// Rewrite throughput on the synthetic exported model (tools/synthetic_model.h):
// replacing the training-IR dropout and batch norm train patterns with their
// eval forms, from 1e3 to 1e6 nodes. The argument is the node count; the
// counter nodes_per_second is graph nodes / rewrite time (building the model
// is excluded). Linear scaling shows as a flat nodes_per_second.
#include <cstdint>
#include <memory>
#include <string>

#include "benchmark/benchmark.h"
#include "ir/graph.h"
#include "ir/text_format.h"
#include "rewrite/replace_pattern.h"
#include "rewrite/train_eval.h"
#include "tools/synthetic_model.h"

namespace rewire {
namespace {

std::unique_ptr<Graph> Parse(const char* text) {
  auto g = ParseGraph(text);
  if (!g.ok()) std::abort();
  return std::move(*g);
}

constexpr char kDropoutTrain[] = R"(
  %x = placeholder
  %d = aten.dropout.default(%x, 0.5, True)
  return (%d,)
)";
constexpr char kDropoutEval[] = R"(
  %x = placeholder
  %d = aten.dropout.default(%x, 0.5, False)
  return (%d,)
)";
constexpr char kBnTrain[] = R"(
  %x = placeholder
  %w = placeholder
  %b = placeholder
  %rm = placeholder
  %rv = placeholder
  %bn = aten.batch_norm.default(%x, %w, %b, %rm, %rv, True, 0.1, 1e-05, True)
  return (%bn,)
)";
constexpr char kBnEval[] = R"(
  %x = placeholder
  %w = placeholder
  %b = placeholder
  %rm = placeholder
  %rv = placeholder
  %bn = aten.batch_norm.default(%x, %w, %b, %rm, %rv, False, 0.1, 1e-05, True)
  return (%bn,)
)";

// Runs `rewrite` on a freshly built model per iteration, timing only the
// rewrite: building and freeing the model are outside the timed region.
// Sets the nodes and nodes_per_second counters. `rewrite` returns false to
// report a failed iteration.
template <typename Rewrite>
void TimeOnFreshModels(benchmark::State& state, Rewrite rewrite,
                       bool pre_dispatch = false) {
  SyntheticModelOptions o;
  o.pre_dispatch_batch_norm = pre_dispatch;
  o.blocks = state.range(0) / (pre_dispatch ? 13 : 12);
  o.channels = 2;  // small tensors: the graph is what is measured
  int64_t nodes = 0;
  for (auto _ : state) {
    state.PauseTiming();
    auto module = BuildSyntheticModel(o);
    if (!module.ok()) {
      state.SkipWithError("model build failed");
      return;
    }
    nodes = static_cast<int64_t>(module->graph().size());
    state.ResumeTiming();
    const bool ok = rewrite(*module, o.blocks);
    state.PauseTiming();
    if (!ok) {
      state.SkipWithError("rewrite failed or missed blocks");
      return;
    }
    { ExportedModule drop = std::move(*module); }
    state.ResumeTiming();
  }
  state.counters["nodes"] = static_cast<double>(nodes);
  state.counters["nodes_per_second"] = benchmark::Counter(
      static_cast<double>(nodes), benchmark::Counter::kIsIterationInvariantRate);
}

void BM_ReplaceTrainToEval(benchmark::State& state) {
  auto dropout_train = Parse(kDropoutTrain);
  auto dropout_eval = Parse(kDropoutEval);
  auto bn_train = Parse(kBnTrain);
  auto bn_eval = Parse(kBnEval);
  ReplaceOptions options;
  options.ignore_literals = true;
  options.preserve_literals = true;
  options.preserve_except = {"train", "training"};
  options.record_node_maps = false;  // as the train/eval switch runs it
  TimeOnFreshModels(state, [&](ExportedModule& module, int64_t blocks) {
    Graph& g = module.graph();
    auto a = ReplacePatternWithFilters(g, *dropout_train, *dropout_eval, options);
    auto b = ReplacePatternWithFilters(g, *bn_train, *bn_eval, options);
    return a.ok() && b.ok() &&
           static_cast<int64_t>(a->replaced.size()) == blocks &&
           static_cast<int64_t>(b->replaced.size()) == blocks;
  });
}
BENCHMARK(BM_ReplaceTrainToEval)
    ->Arg(1000)
    ->Arg(10000)
    ->Arg(100000)
    ->Arg(1000000)
    ->Unit(benchmark::kMillisecond);

// The public switch, as users call it. Argument: nodes.
void BM_MoveToEval(benchmark::State& state) {
  TimeOnFreshModels(state, [](ExportedModule& module, int64_t) {
    auto report = MoveExportedModelToEval(module);
    return report.ok() && module.mode() == ModuleMode::kEval;
  });
}
BENCHMARK(BM_MoveToEval)
    ->Arg(1000)
    ->Arg(10000)
    ->Arg(100000)
    ->Arg(1000000)
    ->Unit(benchmark::kMillisecond);

// The switch on the pre-dispatch dialect, where batch norm changes op
// (_native_batch_norm_legit -> _no_training): every site inserts a node and
// erases one, the general path of the rewriter.
void BM_MoveToEvalPreDispatch(benchmark::State& state) {
  TimeOnFreshModels(
      state,
      [](ExportedModule& module, int64_t blocks) {
        auto report = MoveExportedModelToEval(module);
        return report.ok() && module.mode() == ModuleMode::kEval &&
               // A dropout, a batch norm and its counter per block.
               report->total_rewritten() == 3 * blocks;
      },
      /*pre_dispatch=*/true);
}
BENCHMARK(BM_MoveToEvalPreDispatch)
    ->Arg(1000)
    ->Arg(10000)
    ->Arg(100000)
    ->Arg(1000000)
    ->Unit(benchmark::kMillisecond);

// The way back, from the eval model the first switch produced (building it
// and switching it to eval are untimed).
void BM_MoveToTrain(benchmark::State& state) {
  TimeOnFreshModels(state, [&](ExportedModule& module, int64_t) {
    state.PauseTiming();
    const bool to_eval = MoveExportedModelToEval(module).ok();
    state.ResumeTiming();
    auto report = MoveExportedModelToTrain(module);
    return to_eval && report.ok() && module.mode() == ModuleMode::kTrain;
  });
}
BENCHMARK(BM_MoveToTrain)
    ->Arg(1000)
    ->Arg(10000)
    ->Arg(100000)
    ->Arg(1000000)
    ->Unit(benchmark::kMillisecond);

// The matcher alone (no graph mutation), to split the cost.
void BM_MatchOnly(benchmark::State& state) {
  SyntheticModelOptions o;
  o.blocks = state.range(0) / 12;
  o.channels = 2;
  auto module = BuildSyntheticModel(o);
  if (!module.ok()) {
    state.SkipWithError("model build failed");
    return;
  }
  auto bn_train = Parse(kBnTrain);
  MatcherOptions mo;
  mo.ignore_literals = true;
  auto matcher = SubgraphMatcher::Create(*bn_train, mo);
  for (auto _ : state) {
    auto r = (*matcher)->Match(module->graph());
    if (!r.ok() || static_cast<int64_t>(r->matches.size()) != o.blocks) {
      state.SkipWithError("match count");
      return;
    }
  }
  state.counters["nodes_per_second"] = benchmark::Counter(
      static_cast<double>(module->graph().size()),
      benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_MatchOnly)->Arg(100000)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace rewire

BENCHMARK_MAIN();
