// The pattern driver (rewrite/pattern_driver.h) with 1, 10 and 50 rules on
// the synthetic model (tools/synthetic_model.h) at 1e5 and 1e6 nodes. The
// one rule is the switch's dropout flag flip (dropout(x, 0.5, True) ->
// dropout(x, 0.5, False), the streamed in-place path); the others are
// either rules whose patterns name an op the model lacks (the common case
// of a large rule set: most rules do not apply to a given model) or rules
// on an op the model has in every block (relu) whose filter rejects every
// match, so each visits all its candidate sites. Each iteration flips the
// flags the other way, so every iteration does the same work on one graph.
// time_per_node is the time per graph node (seconds, SI-prefixed); the ratio of the 10- and 50-rule
// rows to the 1-rule row is the driver's cost of a larger rule set.
#include <cstdint>
#include <cstdlib>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "benchmark/benchmark.h"
#include "ir/exported_module.h"
#include "ir/graph.h"
#include "ir/text_format.h"
#include "rewrite/pattern_driver.h"
#include "tools/synthetic_model.h"

namespace rewire {
namespace {

std::shared_ptr<const Graph> ParseOrDie(const std::string& text) {
  absl::StatusOr<std::unique_ptr<Graph>> g = ParseGraph(text);
  if (!g.ok()) std::abort();
  return std::shared_ptr<const Graph>(std::move(*g));
}

ExportedModule& ModelWithNodes(int64_t nodes) {
  static auto* cache = new std::map<int64_t, ExportedModule>();
  auto it = cache->find(nodes);
  if (it != cache->end()) return it->second;
  SyntheticModelOptions o;
  o.blocks = nodes / 12;
  o.channels = 2;
  o.dropout_p = 0.5;
  absl::StatusOr<ExportedModule> m = BuildSyntheticModel(o);
  if (!m.ok()) std::abort();
  return cache->emplace(nodes, std::move(*m)).first->second;
}

PatternRule Flip(bool from) {
  auto text = [](bool train) {
    return std::string("%x = placeholder\n%d = aten.dropout.default(%x, 0.5, ") +
           (train ? "True" : "False") + ")\nreturn (%d,)\n";
  };
  PatternRule r;
  r.name = "flip";
  r.pattern = ParseOrDie(text(from));
  r.replacement = ParseOrDie(text(!from));
  return r;
}

// Rule `i` of the extra rules: on an absent op, or on relu and rejecting.
PatternRule Extra(int i, bool present) {
  PatternRule r;
  r.name = "extra" + std::to_string(i);
  const std::string op =
      present ? "aten.relu.default" : "aten.absent_op_" + std::to_string(i) + ".default";
  r.pattern = ParseOrDie("%x = placeholder\n%a = " + op + "(%x)\nreturn (%a,)\n");
  r.replacement = ParseOrDie("%x = placeholder\n%a = aten.neg.default(%x)\nreturn (%a,)\n");
  if (present) {
    r.options.filters.push_back(
        [](const InternalMatch&, const Graph&, const Graph&) { return false; });
  }
  return r;
}

void Run(benchmark::State& state, int rules, bool present) {
  ExportedModule& m = ModelWithNodes(state.range(0));
  std::vector<PatternRule> sets[2];
  for (int dir = 0; dir < 2; ++dir) {
    sets[dir].push_back(Flip(dir == 0));
    for (int i = 1; i < rules; ++i) sets[dir].push_back(Extra(i, present));
  }
  int dir = 0;
  int64_t replaced = 0;
  for (auto _ : state) {
    absl::StatusOr<DriverResult> d = ApplyPatternRules(m.graph(), sets[dir]);
    if (!d.ok() || d->total_replaced() == 0) {
      state.SkipWithError("the driver failed or replaced nothing");
      return;
    }
    replaced = d->total_replaced();
    dir = 1 - dir;
  }
  // Leave the cached model in training form for the next benchmark.
  if (dir == 1) (void)ApplyPatternRules(m.graph(), sets[1]);
  const double nodes = static_cast<double>(m.graph().size());
  state.counters["nodes"] = nodes;
  state.counters["sites"] = static_cast<double>(replaced);
  state.counters["time_per_node"] = benchmark::Counter(
      nodes, benchmark::Counter::kIsIterationInvariantRate |
                 benchmark::Counter::kInvert);
}

void BM_OneRule(benchmark::State& state) { Run(state, 1, false); }
void BM_TenRulesAbsentOps(benchmark::State& state) { Run(state, 10, false); }
void BM_FiftyRulesAbsentOps(benchmark::State& state) { Run(state, 50, false); }
void BM_TenRulesOnRelu(benchmark::State& state) { Run(state, 10, true); }
void BM_FiftyRulesOnRelu(benchmark::State& state) { Run(state, 50, true); }

#define DRIVER_CASE(fn) \
  BENCHMARK(fn)->Arg(100000)->Arg(1000000)->Unit(benchmark::kMillisecond)

DRIVER_CASE(BM_OneRule);
DRIVER_CASE(BM_TenRulesAbsentOps);
DRIVER_CASE(BM_FiftyRulesAbsentOps);
DRIVER_CASE(BM_TenRulesOnRelu);
DRIVER_CASE(BM_FiftyRulesOnRelu);

}  // namespace
}  // namespace rewire

BENCHMARK_MAIN();
