// Tests of the labelled-digraph front end: input validation, hand cases,
// a 1,000,000-node chain, and a cross-check of the full match sets against
// Boost.Graph's vf2_subgraph_mono (monomorphism) and vf2_subgraph_iso
// (induced) on random labelled digraphs.
#include "rewrite/digraph_matcher.h"

#include <algorithm>
#include <random>
#include <set>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "boost/graph/adjacency_list.hpp"
#include "boost/graph/vf2_sub_graph_iso.hpp"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace rewire {
namespace {

using Matches = std::vector<std::vector<int>>;

LabelledDigraph MakeGraph(std::vector<int> labels,
                          std::vector<DigraphEdge> edges) {
  absl::StatusOr<LabelledDigraph> g =
      LabelledDigraph::Create(std::move(labels), edges);
  EXPECT_TRUE(g.ok()) << g.status();
  return *std::move(g);
}

DigraphMatchResult Find(const LabelledDigraph& pattern,
                        const LabelledDigraph& target, bool induced = false,
                        int64_t max_matches = 0, int64_t max_steps = 0) {
  DigraphMatchOptions options;
  options.induced = induced;
  options.max_matches = max_matches;
  options.max_steps = max_steps;
  absl::StatusOr<DigraphMatchResult> r =
      FindSubgraphMatches(pattern, target, options);
  EXPECT_TRUE(r.ok()) << r.status();
  return r.ok() ? *std::move(r) : DigraphMatchResult{};
}

TEST(LabelledDigraphTest, RejectsEdgesToMissingNodes) {
  EXPECT_EQ(LabelledDigraph::Create({0, 0}, {{0, 2}}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(LabelledDigraph::Create({0, 0}, {{-1, 0}}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(LabelledDigraph::Create({}, {{0, 0}}).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(LabelledDigraphTest, AdjacencyAndLabelIndex) {
  LabelledDigraph g =
      MakeGraph({5, 6, 5}, {{2, 1, 3}, {0, 1, 0}, {0, 1, 1}, {1, 1, 0}});
  EXPECT_EQ(g.num_nodes(), 3);
  EXPECT_EQ(g.num_edges(), 4);
  EXPECT_EQ(g.out(0).size(), 2u);
  EXPECT_EQ(g.in(1).size(), 4u);  // Including the self loop.
  EXPECT_EQ(g.in(1)[0].node, 0);  // Sorted by source.
  EXPECT_THAT(g.NodesWithLabel(5), testing::ElementsAre(0, 2));
  EXPECT_TRUE(g.NodesWithLabel(7).empty());
}

TEST(DigraphMatcherTest, RejectsBadOptionsAndEmptyPattern) {
  LabelledDigraph target = MakeGraph({0, 0}, {{0, 1}});
  DigraphMatchOptions options;
  EXPECT_EQ(FindSubgraphMatches(LabelledDigraph(), target, options)
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
  options.max_steps = -1;
  EXPECT_EQ(FindSubgraphMatches(target, target, options).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(DigraphMatcherTest, TriangleInK4AndInducedDifference) {
  std::vector<DigraphEdge> k4;
  for (int i = 0; i < 4; ++i) {
    for (int j = 0; j < 4; ++j) {
      if (i != j) k4.push_back({i, j});
    }
  }
  LabelledDigraph target = MakeGraph({0, 0, 0, 0}, k4);
  LabelledDigraph cycle = MakeGraph({0, 0, 0}, {{0, 1}, {1, 2}, {2, 0}});
  EXPECT_EQ(Find(cycle, target).matches.size(), 24u);
  EXPECT_EQ(Find(cycle, target, /*induced=*/true).matches.size(), 0u);
  LabelledDigraph k3 = MakeGraph(
      {0, 0, 0}, {{0, 1}, {1, 0}, {1, 2}, {2, 1}, {2, 0}, {0, 2}});
  EXPECT_EQ(Find(k3, target, /*induced=*/true).matches.size(), 24u);
}

TEST(DigraphMatcherTest, EdgeLabelsAndParallelEdges) {
  // x used twice by one consumer, in slots 0 and 1.
  LabelledDigraph pattern = MakeGraph({0, 1}, {{0, 1, 0}, {0, 1, 1}});
  LabelledDigraph target =
      MakeGraph({0, 1, 0, 1}, {{0, 1, 0}, {0, 1, 1}, {2, 3, 0}, {0, 3, 1}});
  DigraphMatchResult r = Find(pattern, target);
  EXPECT_EQ(r.matches, (Matches{{0, 1}}));
  // Slot 1 only: edge label decides.
  LabelledDigraph slot1 = MakeGraph({0, 1}, {{0, 1, 1}});
  r = Find(slot1, target);
  std::sort(r.matches.begin(), r.matches.end());
  EXPECT_EQ(r.matches, (Matches{{0, 1}, {0, 3}}));
  // Induced: (0, 1) carries an extra slot-0 edge.
  r = Find(slot1, target, /*induced=*/true);
  EXPECT_EQ(r.matches, (Matches{{0, 3}}));
}

TEST(DigraphMatcherTest, LimitsAreReported) {
  LabelledDigraph target =
      MakeGraph({0, 0, 0, 0, 0}, {{0, 1}, {1, 2}, {2, 3}, {3, 4}});
  LabelledDigraph edge = MakeGraph({0, 0}, {{0, 1}});
  DigraphMatchResult r = Find(edge, target, false, /*max_matches=*/2);
  EXPECT_EQ(r.matches.size(), 2u);
  EXPECT_TRUE(r.limit_reached);
  EXPECT_EQ(r.stop_reason, vf2::StopReason::kMaxMatches);
  r = Find(edge, target, false, /*max_matches=*/4);
  EXPECT_EQ(r.matches.size(), 4u);
  EXPECT_FALSE(r.limit_reached);
  r = Find(edge, target, false, 0, /*max_steps=*/2);
  EXPECT_TRUE(r.limit_reached);
  EXPECT_EQ(r.stop_reason, vf2::StopReason::kMaxSteps);
  EXPECT_EQ(r.steps, 2);
}

TEST(DigraphMatcherTest, MillionNodeChain) {
  constexpr int kN = 1000000;
  std::vector<int> labels(kN);
  std::vector<DigraphEdge> edges;
  edges.reserve(kN - 1);
  for (int i = 0; i < kN; ++i) {
    labels[i] = i % 4;
    if (i + 1 < kN) edges.push_back({i, i + 1});
  }
  LabelledDigraph target = MakeGraph(std::move(labels), edges);
  LabelledDigraph pattern =
      MakeGraph({0, 1, 2, 3, 0}, {{0, 1}, {1, 2}, {2, 3}, {3, 4}});
  for (bool induced : {false, true}) {
    int64_t count = 0;
    DigraphMatchOptions options;
    options.induced = induced;
    absl::StatusOr<vf2::SearchResult> r = ForEachSubgraphMatch(
        pattern, target, options, [&](absl::Span<const int> m) {
          ++count;
          EXPECT_EQ(m[0] % 4, 0);
          EXPECT_EQ(m[4], m[0] + 4);
          return vf2::MatchAction::kContinue;
        });
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(count, (kN - 5) / 4 + 1);
    EXPECT_FALSE(r->limit_reached);
  }
  // A 5000-node chain pattern: search depth 5000 with an explicit stack.
  constexpr int kLong = 5000;
  std::vector<int> long_labels(kLong);
  std::vector<DigraphEdge> long_edges;
  for (int i = 0; i < kLong; ++i) {
    long_labels[i] = (i + 2) % 4;
    if (i + 1 < kLong) long_edges.push_back({i, i + 1});
  }
  LabelledDigraph long_pattern = MakeGraph(long_labels, long_edges);
  DigraphMatchOptions options;
  options.max_matches = 3;
  absl::StatusOr<vf2::SearchResult> r = ForEachSubgraphMatch(
      long_pattern, target, options, [&](absl::Span<const int> m) {
        EXPECT_EQ(m[0] % 4, 2);
        EXPECT_EQ(m[kLong - 1], m[0] + kLong - 1);
        return vf2::MatchAction::kContinue;
      });
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->num_matches, 3);
  EXPECT_TRUE(r->limit_reached);
}

// ---- Cross-check against Boost.Graph ----

using BoostGraph = boost::adjacency_list<
    boost::vecS, boost::vecS, boost::bidirectionalS,
    boost::property<boost::vertex_name_t, int>,
    boost::property<boost::edge_name_t, int>>;

struct RandomCase {
  std::vector<int> pattern_labels;
  std::vector<DigraphEdge> pattern_edges;
  std::vector<int> target_labels;
  std::vector<DigraphEdge> target_edges;
};

BoostGraph ToBoost(const std::vector<int>& labels,
                   const std::vector<DigraphEdge>& edges) {
  BoostGraph g(labels.size());
  for (size_t v = 0; v < labels.size(); ++v) {
    boost::put(boost::vertex_name, g, v, labels[v]);
  }
  for (const DigraphEdge& e : edges) {
    boost::add_edge(e.from, e.to, e.label, g);
  }
  return g;
}

// Boost's enumeration, as a sorted list of mappings.
Matches BoostMatches(const RandomCase& c, bool induced) {
  BoostGraph pattern = ToBoost(c.pattern_labels, c.pattern_edges);
  BoostGraph target = ToBoost(c.target_labels, c.target_edges);
  Matches out;
  const int n = static_cast<int>(c.pattern_labels.size());
  auto callback = [&](auto f, auto) {
    std::vector<int> m(n);
    for (int p = 0; p < n; ++p) m[p] = static_cast<int>(boost::get(f, p));
    out.push_back(std::move(m));
    return true;
  };
  auto vertex_eq = boost::make_property_map_equivalent(
      boost::get(boost::vertex_name, pattern),
      boost::get(boost::vertex_name, target));
  auto edge_eq = boost::make_property_map_equivalent(
      boost::get(boost::edge_name, pattern),
      boost::get(boost::edge_name, target));
  auto order = boost::vertex_order_by_mult(pattern);
  if (induced) {
    boost::vf2_subgraph_iso(pattern, target, callback, order,
                            boost::edges_equivalent(edge_eq)
                                .vertices_equivalent(vertex_eq));
  } else {
    boost::vf2_subgraph_mono(pattern, target, callback, order,
                             boost::edges_equivalent(edge_eq)
                                 .vertices_equivalent(vertex_eq));
  }
  std::sort(out.begin(), out.end());
  return out;
}

// A random simple digraph pair; about half the patterns are copied from a
// connected piece of the target (so matches exist), the rest are random.
RandomCase MakeRandomCase(std::mt19937& rng, int index, int min_pattern = 3,
                          int max_pattern = 8) {
  auto uniform = [&](int lo, int hi) {
    return std::uniform_int_distribution<int>(lo, hi)(rng);
  };
  RandomCase c;
  const int num_labels = uniform(2, 4);
  const int num_edge_labels = index % 3 == 0 ? 2 : 1;
  const int tn = uniform(10, 60);
  const double avg_degree = std::vector<double>{1.0, 2.0, 3.5}[index % 3];
  const bool loops = index % 5 == 0;
  c.target_labels.resize(tn);
  for (int& l : c.target_labels) l = uniform(0, num_labels - 1);
  std::set<std::pair<int, int>> seen;
  const int target_edges = static_cast<int>(avg_degree * tn);
  for (int i = 0; i < target_edges; ++i) {
    int a = uniform(0, tn - 1);
    int b = uniform(0, tn - 1);
    if ((a == b && !loops) || !seen.insert({a, b}).second) continue;
    c.target_edges.push_back({a, b, uniform(0, num_edge_labels - 1)});
  }
  const int pn = uniform(min_pattern, max_pattern);
  if (index % 2 == 0 || pn > 8) {
    // Grow a connected node set from a random seed, then keep each target
    // edge inside it with probability 0.8.
    std::vector<int> nodes{uniform(0, tn - 1)};
    for (int tries = 0; static_cast<int>(nodes.size()) < pn && tries < 200;
         ++tries) {
      const DigraphEdge& e = c.target_edges.empty()
                                 ? DigraphEdge{0, 0, 0}
                                 : c.target_edges[uniform(
                                       0, c.target_edges.size() - 1)];
      const bool has_from =
          std::find(nodes.begin(), nodes.end(), e.from) != nodes.end();
      const bool has_to =
          std::find(nodes.begin(), nodes.end(), e.to) != nodes.end();
      if (has_from != has_to) nodes.push_back(has_from ? e.to : e.from);
    }
    std::vector<int> local(tn, -1);
    for (size_t i = 0; i < nodes.size(); ++i) {
      local[nodes[i]] = static_cast<int>(i);
      c.pattern_labels.push_back(c.target_labels[nodes[i]]);
    }
    for (const DigraphEdge& e : c.target_edges) {
      if (local[e.from] >= 0 && local[e.to] >= 0 && uniform(0, 9) < 8) {
        c.pattern_edges.push_back({local[e.from], local[e.to], e.label});
      }
    }
  } else {
    c.pattern_labels.resize(pn);
    for (int& l : c.pattern_labels) l = uniform(0, num_labels - 1);
    std::set<std::pair<int, int>> pseen;
    const int pe = uniform(pn - 1, 2 * pn);
    for (int i = 0; i < pe; ++i) {
      int a = uniform(0, pn - 1);
      int b = uniform(0, pn - 1);
      if ((a == b && !loops) || !pseen.insert({a, b}).second) continue;
      c.pattern_edges.push_back({a, b, uniform(0, num_edge_labels - 1)});
    }
  }
  return c;
}

TEST(DigraphMatcherTest, AgreesWithBoostVf2OnRandomGraphs) {
  std::mt19937 rng(20240611);
  constexpr int kCases = 300;
  int nonempty = 0;
  for (int i = 0; i < kCases; ++i) {
    RandomCase c = MakeRandomCase(rng, i);
    LabelledDigraph pattern = MakeGraph(c.pattern_labels, c.pattern_edges);
    LabelledDigraph target = MakeGraph(c.target_labels, c.target_edges);
    for (bool induced : {false, true}) {
      DigraphMatchResult ours = Find(pattern, target, induced);
      EXPECT_FALSE(ours.limit_reached);
      std::sort(ours.matches.begin(), ours.matches.end());
      Matches boost_matches = BoostMatches(c, induced);
      ASSERT_EQ(ours.matches, boost_matches)
          << "case " << i << (induced ? " induced" : " mono") << ": pattern "
          << c.pattern_labels.size() << " nodes, target "
          << c.target_labels.size() << " nodes; ours "
          << ours.matches.size() << " vs boost " << boost_matches.size();
      if (!boost_matches.empty()) ++nonempty;
    }
  }
  // The generator must produce real work, not just empty match sets.
  EXPECT_GT(nonempty, kCases / 2);
}

// Patterns above 16 nodes switch the core's "target already used" test from
// a scan to a hash map; cross-check that path too (copied patterns only).
TEST(DigraphMatcherTest, AgreesWithBoostVf2OnLargerPatterns) {
  std::mt19937 rng(7);
  constexpr int kCases = 40;
  for (int i = 0; i < kCases; ++i) {
    RandomCase c = MakeRandomCase(rng, i, 17, 22);
    LabelledDigraph pattern = MakeGraph(c.pattern_labels, c.pattern_edges);
    LabelledDigraph target = MakeGraph(c.target_labels, c.target_edges);
    for (bool induced : {false, true}) {
      DigraphMatchResult ours = Find(pattern, target, induced);
      std::sort(ours.matches.begin(), ours.matches.end());
      ASSERT_EQ(ours.matches, BoostMatches(c, induced))
          << "case " << i << (induced ? " induced" : " mono");
    }
  }
}

}  // namespace
}  // namespace rewire
