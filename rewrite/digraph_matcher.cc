#include "rewrite/digraph_matcher.h"

#include <algorithm>
#include <limits>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace rewire {
namespace {

// Fills a CSR adjacency from (key, adjacent) pairs, sorted per key by
// (node, label) so parallel edges are adjacent and lookups are predictable.
void BuildCsr(int num_nodes,
              std::vector<std::pair<int, LabelledDigraph::Adjacent>> entries,
              std::vector<int64_t>& offsets,
              std::vector<LabelledDigraph::Adjacent>& adj) {
  std::sort(entries.begin(), entries.end(), [](const auto& a, const auto& b) {
    if (a.first != b.first) return a.first < b.first;
    if (a.second.node != b.second.node) return a.second.node < b.second.node;
    return a.second.label < b.second.label;
  });
  offsets.assign(num_nodes + 1, 0);
  adj.clear();
  adj.reserve(entries.size());
  for (const auto& [key, a] : entries) {
    ++offsets[key + 1];
    adj.push_back(a);
  }
  for (int v = 0; v < num_nodes; ++v) offsets[v + 1] += offsets[v];
}

// The vf2 adapter: target nodes are int ids, edge labels ints.
class DigraphAdapter {
 public:
  using TargetNode = int;
  using EdgeLabel = int;

  DigraphAdapter(const LabelledDigraph& pattern, const LabelledDigraph& target,
                 std::vector<vf2::PatternEdge<int>> pattern_edges)
      : pattern_(pattern),
        target_(target),
        pattern_edges_(std::move(pattern_edges)) {}

  int PatternSize() const { return pattern_.num_nodes(); }
  int PatternEdgeCount() const {
    return static_cast<int>(pattern_edges_.size());
  }
  vf2::PatternEdge<int> PatternEdgeAt(int i) const {
    return pattern_edges_[i];
  }

  int64_t CandidateCount(int p) const {
    return static_cast<int64_t>(
        target_.NodesWithLabel(pattern_.label(p)).size());
  }
  template <typename F>
  void ForEachCandidate(int p, F f) const {
    for (int v : target_.NodesWithLabel(pattern_.label(p))) f(v);
  }
  int64_t OutDegree(int t) const {
    return static_cast<int64_t>(target_.out(t).size());
  }
  int64_t InDegree(int t) const {
    return static_cast<int64_t>(target_.in(t).size());
  }
  template <typename F>
  void ForEachOutEdge(int t, F f) const {
    for (const LabelledDigraph::Adjacent& a : target_.out(t)) {
      if (!f(a.node, a.label)) return;
    }
  }
  template <typename F>
  void ForEachInEdge(int t, F f) const {
    for (const LabelledDigraph::Adjacent& a : target_.in(t)) {
      if (!f(a.node, a.label)) return;
    }
  }
  bool NodeCompatible(int p, int t) const {
    return pattern_.label(p) == target_.label(t);
  }
  bool EdgeCompatible(int pattern_label, int target_label) const {
    return pattern_label == target_label;
  }

 private:
  const LabelledDigraph& pattern_;
  const LabelledDigraph& target_;
  std::vector<vf2::PatternEdge<int>> pattern_edges_;
};

}  // namespace

absl::StatusOr<LabelledDigraph> LabelledDigraph::Create(
    std::vector<int> node_labels, absl::Span<const DigraphEdge> edges) {
  if (node_labels.size() >
      static_cast<size_t>(std::numeric_limits<int>::max())) {
    return absl::InvalidArgumentError("too many nodes for int node ids");
  }
  const int n = static_cast<int>(node_labels.size());
  std::vector<std::pair<int, Adjacent>> out_entries;
  std::vector<std::pair<int, Adjacent>> in_entries;
  out_entries.reserve(edges.size());
  in_entries.reserve(edges.size());
  for (size_t i = 0; i < edges.size(); ++i) {
    const DigraphEdge& e = edges[i];
    if (e.from < 0 || e.from >= n || e.to < 0 || e.to >= n) {
      return absl::InvalidArgumentError(
          absl::StrCat("edge ", i, " (", e.from, " -> ", e.to,
                       ") has an endpoint outside [0, ", n, ")"));
    }
    out_entries.push_back({e.from, Adjacent{e.to, e.label}});
    in_entries.push_back({e.to, Adjacent{e.from, e.label}});
  }
  LabelledDigraph g;
  g.labels_ = std::move(node_labels);
  BuildCsr(n, std::move(out_entries), g.out_offsets_, g.out_adj_);
  BuildCsr(n, std::move(in_entries), g.in_offsets_, g.in_adj_);
  for (int v = 0; v < n; ++v) g.by_label_[g.labels_[v]].push_back(v);
  return g;
}

absl::Span<const int> LabelledDigraph::NodesWithLabel(int label) const {
  auto it = by_label_.find(label);
  if (it == by_label_.end()) return {};
  return it->second;
}

absl::StatusOr<vf2::SearchResult> ForEachSubgraphMatch(
    const LabelledDigraph& pattern, const LabelledDigraph& target,
    const DigraphMatchOptions& options,
    absl::FunctionRef<vf2::MatchAction(absl::Span<const int>)> on_match) {
  if (pattern.num_nodes() == 0) {
    return absl::InvalidArgumentError("empty pattern");
  }
  if (options.max_matches < 0 || options.max_steps < 0) {
    return absl::InvalidArgumentError(
        "max_matches and max_steps must be >= 0 (0 = unlimited)");
  }
  std::vector<vf2::PatternEdge<int>> edges;
  edges.reserve(pattern.num_edges());
  for (int v = 0; v < pattern.num_nodes(); ++v) {
    for (const LabelledDigraph::Adjacent& a : pattern.out(v)) {
      edges.push_back({v, a.node, a.label});
    }
  }
  DigraphAdapter adapter(pattern, target, std::move(edges));
  vf2::SearchOptions search_options;
  search_options.mode = options.induced ? vf2::MatchMode::kInduced
                                        : vf2::MatchMode::kMonomorphism;
  search_options.max_matches = options.max_matches;
  search_options.max_steps = options.max_steps;
  return vf2::FindMatches(adapter, search_options, on_match);
}

absl::StatusOr<DigraphMatchResult> FindSubgraphMatches(
    const LabelledDigraph& pattern, const LabelledDigraph& target,
    const DigraphMatchOptions& options) {
  DigraphMatchResult result;
  ASSIGN_OR_RETURN(
      vf2::SearchResult search,
      ForEachSubgraphMatch(pattern, target, options,
                           [&](absl::Span<const int> mapping) {
                             result.matches.emplace_back(mapping.begin(),
                                                         mapping.end());
                             return vf2::MatchAction::kContinue;
                           }));
  result.limit_reached = search.limit_reached;
  result.stop_reason = search.stop_reason;
  result.steps = search.num_steps;
  return result;
}

}  // namespace rewire
