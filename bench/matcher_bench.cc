// Benchmark: rewire's labelled-digraph matcher (rewrite/digraph_matcher.h)
// against Boost.Graph's vf2_subgraph_mono on the same graphs, in the same
// run, counting all monomorphisms. Each case reports rewire's time (the
// benchmark time), `boost_ms`, `speedup_vs_boost` (Boost time / rewire
// time) and `matches`; a count mismatch fails the case.
//
// Families:
//  * RandomDigraph/<target nodes>/<pattern nodes>/<labels>: random labelled
//    digraphs with average out-degree 2.5; each pattern is the subgraph
//    induced by a random connected node set of the target, so matches exist.
//  * ConvChain: 1e5 nodes repeating conv -> bn -> relu -> dropout, with the
//    4-node pattern conv -> bn -> relu -> dropout.
//
// Boost's VF2 scans every target vertex at every search state, so its time
// grows with the target size times the number of states; sizes are chosen
// so the whole run stays within a few minutes on 2 cores with -c opt.
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "benchmark/benchmark.h"
#include "boost/graph/adjacency_list.hpp"
#include "boost/graph/vf2_sub_graph_iso.hpp"
#include "rewrite/digraph_matcher.h"

namespace rewire {
namespace {

using Clock = std::chrono::steady_clock;

using BoostGraph =
    boost::adjacency_list<boost::vecS, boost::vecS, boost::bidirectionalS,
                          boost::property<boost::vertex_name_t, int>>;

struct Case {
  std::vector<int> target_labels;
  std::vector<DigraphEdge> target_edges;
  std::vector<int> pattern_labels;
  std::vector<DigraphEdge> pattern_edges;
  LabelledDigraph target;
  LabelledDigraph pattern;
  BoostGraph boost_target;
  BoostGraph boost_pattern;
};

BoostGraph ToBoost(const std::vector<int>& labels,
                   const std::vector<DigraphEdge>& edges) {
  BoostGraph g(labels.size());
  for (size_t v = 0; v < labels.size(); ++v) {
    boost::put(boost::vertex_name, g, v, labels[v]);
  }
  for (const DigraphEdge& e : edges) boost::add_edge(e.from, e.to, g);
  return g;
}

void Finish(Case& c) {
  c.target = *LabelledDigraph::Create(c.target_labels, c.target_edges);
  c.pattern = *LabelledDigraph::Create(c.pattern_labels, c.pattern_edges);
  c.boost_target = ToBoost(c.target_labels, c.target_edges);
  c.boost_pattern = ToBoost(c.pattern_labels, c.pattern_edges);
}

std::unique_ptr<Case> MakeRandomCase(int n, int k, int num_labels) {
  auto c = std::make_unique<Case>();
  std::mt19937 rng(1000003u * n + 1009u * k + num_labels);
  std::uniform_int_distribution<int> node(0, n - 1);
  std::uniform_int_distribution<int> label(0, num_labels - 1);
  c->target_labels.resize(n);
  for (int& l : c->target_labels) l = label(rng);
  std::set<std::pair<int, int>> seen;
  const int64_t m = static_cast<int64_t>(2.5 * n);
  while (static_cast<int64_t>(c->target_edges.size()) < m) {
    const int a = node(rng);
    const int b = node(rng);
    if (a == b || !seen.insert({a, b}).second) continue;
    c->target_edges.push_back({a, b, 0});
  }
  LabelledDigraph target =
      *LabelledDigraph::Create(c->target_labels, c->target_edges);
  // Grow a connected node set of size k (retrying from another seed if the
  // component is too small), then take the subgraph it induces.
  std::vector<int> nodes;
  while (static_cast<int>(nodes.size()) < k) {
    nodes.assign(1, node(rng));
    std::set<int> in_set(nodes.begin(), nodes.end());
    for (int tries = 0; static_cast<int>(nodes.size()) < k && tries < 1000;
         ++tries) {
      const int v = nodes[std::uniform_int_distribution<int>(
          0, nodes.size() - 1)(rng)];
      std::vector<int> next;
      for (const auto& a : target.out(v)) next.push_back(a.node);
      for (const auto& a : target.in(v)) next.push_back(a.node);
      if (next.empty()) continue;
      const int w =
          next[std::uniform_int_distribution<int>(0, next.size() - 1)(rng)];
      if (in_set.insert(w).second) nodes.push_back(w);
    }
  }
  std::map<int, int> local;
  for (int v : nodes) {
    local.emplace(v, static_cast<int>(local.size()));
    c->pattern_labels.push_back(c->target_labels[v]);
  }
  for (int v : nodes) {
    for (const auto& a : target.out(v)) {
      auto it = local.find(a.node);
      if (it != local.end()) c->pattern_edges.push_back({local[v], it->second});
    }
  }
  Finish(*c);
  return c;
}

std::unique_ptr<Case> MakeConvChain(int n) {
  auto c = std::make_unique<Case>();
  for (int i = 0; i < n; ++i) {
    c->target_labels.push_back(i % 4);  // conv, bn, relu, dropout.
    if (i + 1 < n) c->target_edges.push_back({i, i + 1, 0});
  }
  c->pattern_labels = {0, 1, 2, 3};
  c->pattern_edges = {{0, 1, 0}, {1, 2, 0}, {2, 3, 0}};
  Finish(*c);
  return c;
}

int64_t CountRewire(const Case& c) {
  int64_t count = 0;
  absl::StatusOr<vf2::SearchResult> r = ForEachSubgraphMatch(
      c.pattern, c.target, DigraphMatchOptions(), [&](absl::Span<const int>) {
        ++count;
        return vf2::MatchAction::kContinue;
      });
  return r.ok() ? count : -1;
}

int64_t CountBoost(const Case& c) {
  int64_t count = 0;
  auto callback = [&](auto, auto) {
    ++count;
    return true;
  };
  boost::vf2_subgraph_mono(
      c.boost_pattern, c.boost_target, callback,
      boost::vertex_order_by_mult(c.boost_pattern),
      boost::vertices_equivalent(boost::make_property_map_equivalent(
          boost::get(boost::vertex_name, c.boost_pattern),
          boost::get(boost::vertex_name, c.boost_target))));
  return count;
}

double Seconds(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

void RunCase(benchmark::State& state, const Case& c) {
  int64_t ours = 0;
  double rewire_total = 0;
  for (auto _ : state) {
    const auto start = Clock::now();
    ours = CountRewire(c);
    rewire_total += Seconds(start, Clock::now());
    benchmark::DoNotOptimize(ours);
  }
  const double rewire_s = rewire_total / state.iterations();
  // Boost: repeat while cheap, at least once.
  int64_t theirs = 0;
  int runs = 0;
  const auto boost_start = Clock::now();
  do {
    theirs = CountBoost(c);
    ++runs;
  } while (runs < 20 && Seconds(boost_start, Clock::now()) < 0.2);
  const double boost_s = Seconds(boost_start, Clock::now()) / runs;
  if (ours != theirs) {
    state.SkipWithError(("match count mismatch: rewire " +
                         std::to_string(ours) + " vs boost " +
                         std::to_string(theirs))
                            .c_str());
    return;
  }
  state.counters["matches"] = static_cast<double>(ours);
  state.counters["boost_ms"] = boost_s * 1e3;
  state.counters["speedup_vs_boost"] = boost_s / rewire_s;
  state.counters["target_nodes"] = c.target.num_nodes();
  state.counters["pattern_nodes"] = c.pattern.num_nodes();
}

void BM_RandomDigraph(benchmark::State& state) {
  static auto* cache =
      new std::map<std::tuple<int, int, int>, std::unique_ptr<Case>>();
  const auto key = std::make_tuple(static_cast<int>(state.range(0)),
                                   static_cast<int>(state.range(1)),
                                   static_cast<int>(state.range(2)));
  auto& c = (*cache)[key];
  if (c == nullptr) {
    c = MakeRandomCase(std::get<0>(key), std::get<1>(key), std::get<2>(key));
  }
  RunCase(state, *c);
}

void BM_ConvChain(benchmark::State& state) {
  static const Case* c = MakeConvChain(100000).release();
  RunCase(state, *c);
}

BENCHMARK(BM_RandomDigraph)
    ->ArgNames({"n", "k", "labels"})
    ->Args({1000, 5, 4})
    ->Args({1000, 10, 4})
    ->Args({1000, 20, 8})
    ->Args({10000, 5, 4})
    ->Args({10000, 10, 6})
    ->Args({10000, 20, 8})
    ->Args({100000, 5, 6})
    ->Args({100000, 10, 8})
    ->Unit(benchmark::kMillisecond)
    ->MinTime(0.2);

BENCHMARK(BM_ConvChain)->Unit(benchmark::kMillisecond)->MinTime(0.2);

}  // namespace
}  // namespace rewire
