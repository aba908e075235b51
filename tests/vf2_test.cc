// Tests of the generic VF2 core through small test adapters: counts on hand
// cases, induced vs monomorphism, parallel labelled edges, self loops,
// disconnected and empty patterns, limits, the optional hooks, and deep
// searches over an implicit 1,000,000-node chain.
#include "rewrite/vf2.h"

#include <cstdint>
#include <set>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace rewire {
namespace {

using vf2::MatchAction;
using vf2::MatchMode;
using vf2::SearchOptions;
using vf2::SearchResult;
using vf2::StopReason;

constexpr int kAnySlot = -1;  // Pattern edge label matching any slot.

struct Edge {
  int from;
  int to;
  int label = 0;
};

// Explicit small graph; TargetNode is int64_t so the core is exercised with
// a type other than the digraph front end's int.
struct SmallGraph {
  std::vector<int> labels;
  std::vector<Edge> edges;
};

class TestAdapter {
 public:
  using TargetNode = int64_t;
  using EdgeLabel = int;

  TestAdapter(SmallGraph pattern, SmallGraph target)
      : pattern_(std::move(pattern)), target_(std::move(target)) {
    const size_t n = target_.labels.size();
    out_.resize(n);
    in_.resize(n);
    for (const Edge& e : target_.edges) {
      out_[e.from].push_back({e.to, e.label});
      in_[e.to].push_back({e.from, e.label});
    }
    for (size_t v = 0; v < n; ++v) {
      by_label_[target_.labels[v]].push_back(static_cast<int64_t>(v));
    }
  }

  int PatternSize() const { return static_cast<int>(pattern_.labels.size()); }
  int PatternEdgeCount() const {
    return static_cast<int>(pattern_.edges.size());
  }
  vf2::PatternEdge<int> PatternEdgeAt(int i) const {
    const Edge& e = pattern_.edges[i];
    return {e.from, e.to, e.label};
  }
  int64_t CandidateCount(int p) const {
    auto it = by_label_.find(pattern_.labels[p]);
    return it == by_label_.end() ? 0 : it->second.size();
  }
  template <typename F>
  void ForEachCandidate(int p, F f) const {
    auto it = by_label_.find(pattern_.labels[p]);
    if (it == by_label_.end()) return;
    for (int64_t v : it->second) f(v);
  }
  int64_t OutDegree(int64_t t) const { return out_[t].size(); }
  int64_t InDegree(int64_t t) const { return in_[t].size(); }
  template <typename F>
  void ForEachOutEdge(int64_t t, F f) const {
    for (const auto& [x, label] : out_[t]) {
      if (!f(x, label)) return;
    }
  }
  template <typename F>
  void ForEachInEdge(int64_t t, F f) const {
    for (const auto& [x, label] : in_[t]) {
      if (!f(x, label)) return;
    }
  }
  bool NodeCompatible(int p, int64_t t) const {
    return pattern_.labels[p] == target_.labels[t];
  }
  bool EdgeCompatible(int pattern_label, int target_label) const {
    return pattern_label == kAnySlot || pattern_label == target_label;
  }

 private:
  SmallGraph pattern_;
  SmallGraph target_;
  std::vector<std::vector<std::pair<int64_t, int>>> out_;
  std::vector<std::vector<std::pair<int64_t, int>>> in_;
  absl::flat_hash_map<int, std::vector<int64_t>> by_label_;
};

using Mapping = std::vector<int64_t>;

struct Found {
  std::vector<Mapping> matches;
  SearchResult result;
};

template <typename Adapter>
Found RunSearch(const Adapter& adapter, MatchMode mode = MatchMode::kMonomorphism,
          int64_t max_matches = 0, int64_t max_steps = 0) {
  SearchOptions options;
  options.mode = mode;
  options.max_matches = max_matches;
  options.max_steps = max_steps;
  Found found;
  found.result = vf2::FindMatches(
      adapter, options,
      [&](absl::Span<const typename Adapter::TargetNode> m) {
        found.matches.emplace_back(m.begin(), m.end());
        return MatchAction::kContinue;
      });
  EXPECT_EQ(found.result.num_matches,
            static_cast<int64_t>(found.matches.size()));
  return found;
}

int64_t Count(const SmallGraph& pattern, const SmallGraph& target,
              MatchMode mode) {
  Found f = RunSearch(TestAdapter(pattern, target), mode);
  EXPECT_EQ(f.result.stop_reason, StopReason::kCompleted);
  // Every reported mapping is distinct.
  std::set<Mapping> distinct(f.matches.begin(), f.matches.end());
  EXPECT_EQ(distinct.size(), f.matches.size());
  return f.result.num_matches;
}

// Complete digraph on n nodes (both directions), all labels 0.
SmallGraph Complete(int n) {
  SmallGraph g;
  g.labels.assign(n, 0);
  for (int i = 0; i < n; ++i) {
    for (int j = 0; j < n; ++j) {
      if (i != j) g.edges.push_back({i, j});
    }
  }
  return g;
}

TEST(Vf2Test, TriangleInK4) {
  // A symmetric triangle is K3: 4 * 3 * 2 ordered triples, induced too.
  EXPECT_EQ(Count(Complete(3), Complete(4), MatchMode::kMonomorphism), 24);
  EXPECT_EQ(Count(Complete(3), Complete(4), MatchMode::kInduced), 24);
  // A directed 3-cycle: every ordered triple of K4 carries it, but K4 also
  // has the reverse edges, so no induced copy exists.
  SmallGraph cycle{{0, 0, 0}, {{0, 1}, {1, 2}, {2, 0}}};
  EXPECT_EQ(Count(cycle, Complete(4), MatchMode::kMonomorphism), 24);
  EXPECT_EQ(Count(cycle, Complete(4), MatchMode::kInduced), 0);
}

TEST(Vf2Test, InducedRejectsExtraEdgesOnly) {
  // Path a->b->c inside a->b->c plus a->c.
  SmallGraph path{{0, 1, 2}, {{0, 1}, {1, 2}}};
  SmallGraph target{{0, 1, 2, 0, 1, 2}, {{0, 1}, {1, 2}, {0, 2},  // Chord.
                                        {3, 4}, {4, 5}}};         // Clean.
  EXPECT_EQ(Count(path, target, MatchMode::kMonomorphism), 2);
  Found f = RunSearch(TestAdapter(path, target), MatchMode::kInduced);
  ASSERT_EQ(f.matches.size(), 1u);
  EXPECT_THAT(f.matches[0], testing::ElementsAre(3, 4, 5));
}

TEST(Vf2Test, LabelsMustMatch) {
  SmallGraph pattern{{1, 2}, {{0, 1}}};
  SmallGraph target{{1, 2, 2, 1}, {{0, 1}, {0, 2}, {3, 0}, {2, 3}}};
  Found f = RunSearch(TestAdapter(pattern, target));
  std::set<Mapping> got(f.matches.begin(), f.matches.end());
  EXPECT_EQ(got, (std::set<Mapping>{{0, 1}, {0, 2}}));
}

TEST(Vf2Test, ParallelEdgesAsArgumentSlots) {
  // Target: add1 = add(a, a) (node 2), add2 = add(a, b) (node 3).
  // Labels: 0 = input, 1 = add. Edge label = argument slot.
  SmallGraph target{{0, 0, 1, 1},
                    {{0, 2, 0}, {0, 2, 1}, {0, 3, 0}, {1, 3, 1}}};
  // add(x, x) matches only add1.
  SmallGraph twice{{0, 1}, {{0, 1, 0}, {0, 1, 1}}};
  Found f = RunSearch(TestAdapter(twice, target));
  ASSERT_EQ(f.matches.size(), 1u);
  EXPECT_THAT(f.matches[0], testing::ElementsAre(0, 2));
  // add(x, y) is injective: it matches add2 only, never add(a, a).
  SmallGraph two{{0, 0, 1}, {{0, 2, 0}, {1, 2, 1}}};
  f = RunSearch(TestAdapter(two, target));
  ASSERT_EQ(f.matches.size(), 1u);
  EXPECT_THAT(f.matches[0], testing::ElementsAre(0, 1, 3));
  // Slot order matters: add(y, x) binds x to b.
  SmallGraph swapped{{0, 0, 1}, {{0, 2, 1}, {1, 2, 0}}};
  f = RunSearch(TestAdapter(swapped, target));
  ASSERT_EQ(f.matches.size(), 1u);
  EXPECT_THAT(f.matches[0], testing::ElementsAre(1, 0, 3));
}

TEST(Vf2Test, ParallelEdgeMultiplicity) {
  SmallGraph pattern{{0, 0}, {{0, 1}, {0, 1}}};
  auto target = [](int k) {
    SmallGraph g{{0, 0}, {}};
    for (int i = 0; i < k; ++i) g.edges.push_back({0, 1});
    return g;
  };
  EXPECT_EQ(Count(pattern, target(1), MatchMode::kMonomorphism), 0);
  EXPECT_EQ(Count(pattern, target(2), MatchMode::kMonomorphism), 1);
  EXPECT_EQ(Count(pattern, target(3), MatchMode::kMonomorphism), 1);
  EXPECT_EQ(Count(pattern, target(2), MatchMode::kInduced), 1);
  EXPECT_EQ(Count(pattern, target(3), MatchMode::kInduced), 0);
}

TEST(Vf2Test, ParallelEdgeLabelsNeedAnAssignment) {
  // Pattern labels {any, 0} against target {0, 1}: a greedy pick of slot 0
  // for "any" fails; the bipartite assignment (any->1, 0->0) succeeds.
  SmallGraph pattern{{0, 0}, {{0, 1, kAnySlot}, {0, 1, 0}}};
  SmallGraph target{{0, 0}, {{0, 1, 0}, {0, 1, 1}}};
  EXPECT_EQ(Count(pattern, target, MatchMode::kMonomorphism), 1);
  EXPECT_EQ(Count(pattern, target, MatchMode::kInduced), 1);
  SmallGraph wrong{{0, 0}, {{0, 1, 1}, {0, 1, 1}}};
  EXPECT_EQ(Count(pattern, wrong, MatchMode::kMonomorphism), 0);
}

TEST(Vf2Test, SelfLoops) {
  SmallGraph loop{{0}, {{0, 0}}};
  SmallGraph plain{{0}, {}};
  SmallGraph target{{0, 0, 0}, {{0, 0}, {0, 1}, {2, 2}, {2, 2}}};
  EXPECT_EQ(Count(loop, target, MatchMode::kMonomorphism), 2);  // 0 and 2.
  EXPECT_EQ(Count(loop, target, MatchMode::kInduced), 1);       // 0 only.
  EXPECT_EQ(Count(plain, target, MatchMode::kMonomorphism), 3);
  EXPECT_EQ(Count(plain, target, MatchMode::kInduced), 1);  // 1 has no loop.
  // A loop plus an edge into a second node.
  SmallGraph loop_edge{{0, 0}, {{0, 0}, {0, 1}}};
  EXPECT_EQ(Count(loop_edge, target, MatchMode::kMonomorphism), 1);
}

TEST(Vf2Test, DisconnectedPattern) {
  // Two isolated nodes: label 1 and label 2; target has three 1s, two 2s.
  SmallGraph pattern{{1, 2}, {}};
  SmallGraph target{{1, 1, 1, 2, 2}, {{0, 3}}};
  EXPECT_EQ(Count(pattern, target, MatchMode::kMonomorphism), 6);
  // Induced: the pair (0, 3) is joined by an edge the pattern lacks.
  EXPECT_EQ(Count(pattern, target, MatchMode::kInduced), 5);
  // Two copies of an edge, mapped injectively.
  SmallGraph two_edges{{0, 0, 0, 0}, {{0, 1}, {2, 3}}};
  SmallGraph chain{{0, 0, 0, 0}, {{0, 1}, {1, 2}, {2, 3}}};
  // Ordered pairs of disjoint edges of the chain: (01,23) and (23,01).
  EXPECT_EQ(Count(two_edges, chain, MatchMode::kMonomorphism), 2);
}

TEST(Vf2Test, EmptyPatternHasOneEmptyMatch) {
  Found f = RunSearch(TestAdapter(SmallGraph{}, Complete(3)));
  ASSERT_EQ(f.matches.size(), 1u);
  EXPECT_TRUE(f.matches[0].empty());
  EXPECT_FALSE(f.result.limit_reached);
  // Also with an empty target.
  f = RunSearch(TestAdapter(SmallGraph{}, SmallGraph{}));
  EXPECT_EQ(f.matches.size(), 1u);
}

TEST(Vf2Test, PatternLargerThanTarget) {
  EXPECT_EQ(Count(Complete(4), Complete(3), MatchMode::kMonomorphism), 0);
  EXPECT_EQ(Count(SmallGraph{{0}, {}}, SmallGraph{}, MatchMode::kInduced), 0);
}

TEST(Vf2Test, MaxMatchesReportsOnlyRealTruncation) {
  TestAdapter adapter(Complete(3), Complete(4));
  Found f = RunSearch(adapter, MatchMode::kMonomorphism, /*max_matches=*/5);
  EXPECT_EQ(f.matches.size(), 5u);
  EXPECT_TRUE(f.result.limit_reached);
  EXPECT_EQ(f.result.stop_reason, StopReason::kMaxMatches);
  // Exactly as many matches as the limit: nothing was left out.
  f = RunSearch(adapter, MatchMode::kMonomorphism, /*max_matches=*/24);
  EXPECT_EQ(f.matches.size(), 24u);
  EXPECT_FALSE(f.result.limit_reached);
  EXPECT_EQ(f.result.stop_reason, StopReason::kCompleted);
  f = RunSearch(adapter, MatchMode::kMonomorphism, /*max_matches=*/23);
  EXPECT_EQ(f.matches.size(), 23u);
  EXPECT_TRUE(f.result.limit_reached);
}

TEST(Vf2Test, MaxStepsStopsTheSearch) {
  TestAdapter adapter(Complete(3), Complete(6));
  Found all = RunSearch(adapter);
  EXPECT_EQ(all.matches.size(), 120u);
  Found f = RunSearch(adapter, MatchMode::kMonomorphism, 0, /*max_steps=*/10);
  EXPECT_TRUE(f.result.limit_reached);
  EXPECT_EQ(f.result.stop_reason, StopReason::kMaxSteps);
  EXPECT_EQ(f.result.num_steps, 10);
  EXPECT_LT(f.matches.size(), 120u);
  // A budget equal to what the full search needs is not a truncation.
  f = RunSearch(adapter, MatchMode::kMonomorphism, 0, all.result.num_steps);
  EXPECT_FALSE(f.result.limit_reached);
  EXPECT_EQ(f.matches.size(), 120u);
}

TEST(Vf2Test, CallbackCanStop) {
  TestAdapter adapter(Complete(3), Complete(4));
  int seen = 0;
  SearchResult r = vf2::FindMatches(adapter, SearchOptions(),
                                    [&](absl::Span<const int64_t>) {
                                      return ++seen == 3 ? MatchAction::kStop
                                                         : MatchAction::kContinue;
                                    });
  EXPECT_EQ(seen, 3);
  EXPECT_EQ(r.num_matches, 3);
  EXPECT_EQ(r.stop_reason, StopReason::kCallback);
  EXPECT_FALSE(r.limit_reached);
}

// Hooks: target 3 is "consumed"; pattern node 0 may not bind target 1
// while pattern node 1 is bound to target 0 (a check that reads the partial
// mapping, like a literal comparison that depends on bound inputs would).
class HookedAdapter : public TestAdapter {
 public:
  using TestAdapter::TestAdapter;
  bool AllowTarget(int64_t t) const { return t != 3; }
  bool ExtraPairCheck(int p, int64_t t,
                      const vf2::PartialMapping<int64_t>& m) const {
    ++checks;
    EXPECT_FALSE(m.IsMapped(p));
    if (p == 0 && t == 1 && m.IsMapped(1) && m.TargetOf(1) == 0) return false;
    if (p == 1 && t == 0 && m.IsMapped(0) && m.TargetOf(0) == 1) return false;
    return true;
  }
  mutable int checks = 0;
};

TEST(Vf2Test, HooksRestrictMatches) {
  SmallGraph edge{{0, 0}, {{0, 1}}};
  HookedAdapter adapter(edge, Complete(4));
  Found f = RunSearch(adapter);
  // 12 ordered pairs in K4; 6 touch node 3; (1, 0) is vetoed.
  EXPECT_EQ(f.matches.size(), 5u);
  for (const Mapping& m : f.matches) {
    EXPECT_NE(m[0], 3);
    EXPECT_NE(m[1], 3);
    EXPECT_FALSE(m[0] == 1 && m[1] == 0);
  }
  EXPECT_GT(adapter.checks, 0);
}

// An implicit chain 0 -> 1 -> ... -> n-1 (node label from a function): no
// per-node storage, so any O(target) work in the core would show up as time.
class ChainAdapter {
 public:
  using TargetNode = int64_t;
  using EdgeLabel = int;

  ChainAdapter(int64_t n, std::vector<int> pattern_labels,
               std::vector<int64_t> special)  // Nodes with label 9.
      : n_(n), pattern_labels_(std::move(pattern_labels)),
        special_(std::move(special)) {}

  int Label(int64_t v) const {
    for (int64_t s : special_) {
      if (s == v) return 9;
    }
    return static_cast<int>(v % 4);
  }
  int PatternSize() const { return static_cast<int>(pattern_labels_.size()); }
  int PatternEdgeCount() const { return PatternSize() - 1; }
  vf2::PatternEdge<int> PatternEdgeAt(int i) const { return {i, i + 1, 0}; }
  int64_t CandidateCount(int p) const {
    return pattern_labels_[p] == 9 ? special_.size() : n_ / 4;
  }
  template <typename F>
  void ForEachCandidate(int p, F f) const {
    const int label = pattern_labels_[p];
    if (label == 9) {
      for (int64_t s : special_) f(s);
      return;
    }
    for (int64_t v = label; v < n_; v += 4) {
      if (Label(v) == label) f(v);
    }
  }
  int64_t OutDegree(int64_t t) const { return t + 1 < n_ ? 1 : 0; }
  int64_t InDegree(int64_t t) const { return t > 0 ? 1 : 0; }
  template <typename F>
  void ForEachOutEdge(int64_t t, F f) const {
    if (t + 1 < n_) f(t + 1, 0);
  }
  template <typename F>
  void ForEachInEdge(int64_t t, F f) const {
    if (t > 0) f(t - 1, 0);
  }
  bool NodeCompatible(int p, int64_t t) const {
    return pattern_labels_[p] == Label(t);
  }
  bool EdgeCompatible(int, int) const { return true; }

 private:
  int64_t n_;
  std::vector<int> pattern_labels_;
  std::vector<int64_t> special_;
};

TEST(Vf2Test, MillionNodeChainShortPattern) {
  constexpr int64_t kN = 1000000;
  ChainAdapter adapter(kN, {0, 1, 2, 3, 0}, {});
  for (MatchMode mode : {MatchMode::kMonomorphism, MatchMode::kInduced}) {
    int64_t count = 0;
    int64_t last_start = -1;
    SearchOptions options;
    options.mode = mode;
    SearchResult r = vf2::FindMatches(
        adapter, options, [&](absl::Span<const int64_t> m) {
          ++count;
          for (int i = 1; i < 5; ++i) EXPECT_EQ(m[i], m[0] + i);
          last_start = m[0];
          return MatchAction::kContinue;
        });
    // Starts s = 0, 4, 8, ... with s + 4 <= kN - 1.
    EXPECT_EQ(count, (kN - 5) / 4 + 1);
    EXPECT_EQ(r.num_matches, count);
    EXPECT_EQ(last_start, ((kN - 5) / 4) * 4);
    EXPECT_FALSE(r.limit_reached);
  }
}

TEST(Vf2Test, MillionNodeChainLongPatternDoesNotRecurse) {
  constexpr int64_t kN = 1000000;
  constexpr int kLen = 20000;  // Search depth 20000: recursion would be risky.
  std::vector<int> labels(kLen);
  labels[0] = 9;
  for (int i = 1; i < kLen; ++i) labels[i] = static_cast<int>((i + 1) % 4);
  // Label 9 replaces nodes 1 (label 1) and 500001 (label 1), so label i + 1
  // follows at offset i; node 999990 has no room for the whole pattern.
  ChainAdapter adapter(kN, labels, {1, 500001, 999990});
  Found f = RunSearch(adapter);
  std::vector<int64_t> starts;
  for (const Mapping& m : f.matches) {
    ASSERT_EQ(m.size(), static_cast<size_t>(kLen));
    EXPECT_EQ(m.back(), m[0] + kLen - 1);
    starts.push_back(m[0]);
  }
  EXPECT_THAT(starts, testing::UnorderedElementsAre(1, 500001));
}

}  // namespace
}  // namespace rewire
