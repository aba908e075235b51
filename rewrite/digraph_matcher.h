// Subgraph matching on plain labelled directed graphs.
//
// The front end of the VF2 core (rewrite/vf2.h) for graphs that are just
// nodes with integer labels and edges with optional integer labels: useful
// on its own (tests, tools, benchmarks against other matchers) and as the
// reference adapter for the core. Nodes are 0..num_nodes()-1; node labels
// must be equal to match; edge labels must be equal to match (leave them 0
// for unlabelled edges). Parallel edges and self loops are allowed; the k
// parallel pattern edges between two nodes need k distinct target edges with
// the same labels (exactly k in induced mode).
//
// Limits: the inherited ones of rewrite/vf2.h (exponential worst case, bound
// it with max_matches / max_steps); node ids are int, so graphs hold at most
// INT_MAX nodes. An empty pattern is rejected as InvalidArgument, since
// asking for its matches is almost always a caller bug.
#ifndef REWIRE_REWRITE_DIGRAPH_MATCHER_H_
#define REWIRE_REWRITE_DIGRAPH_MATCHER_H_

#include <cstdint>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/functional/function_ref.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "rewrite/vf2.h"

namespace rewire {

struct DigraphEdge {
  int from = 0;
  int to = 0;
  int label = 0;
};

// An immutable labelled digraph with sorted adjacency lists (CSR) in both
// directions and an index from node label to nodes.
class LabelledDigraph {
 public:
  // One end of an edge as seen from the other end.
  struct Adjacent {
    int node;
    int label;
  };

  LabelledDigraph() = default;

  // Builds the graph; node i has label node_labels[i]. Fails with
  // InvalidArgument for an edge endpoint outside [0, node_labels.size()).
  static absl::StatusOr<LabelledDigraph> Create(
      std::vector<int> node_labels, absl::Span<const DigraphEdge> edges);

  int num_nodes() const { return static_cast<int>(labels_.size()); }
  int64_t num_edges() const { return static_cast<int64_t>(out_adj_.size()); }
  int label(int v) const { return labels_[v]; }

  // Edges v -> x, sorted by (x, label); parallel edges repeat x.
  absl::Span<const Adjacent> out(int v) const {
    return absl::MakeConstSpan(out_adj_.data() + out_offsets_[v],
                               out_offsets_[v + 1] - out_offsets_[v]);
  }
  // Edges x -> v, sorted by (x, label).
  absl::Span<const Adjacent> in(int v) const {
    return absl::MakeConstSpan(in_adj_.data() + in_offsets_[v],
                               in_offsets_[v + 1] - in_offsets_[v]);
  }
  // Nodes with this label, ascending.
  absl::Span<const int> NodesWithLabel(int label) const;

 private:
  std::vector<int> labels_;
  std::vector<int64_t> out_offsets_{0};
  std::vector<int64_t> in_offsets_{0};
  std::vector<Adjacent> out_adj_;
  std::vector<Adjacent> in_adj_;
  absl::flat_hash_map<int, std::vector<int>> by_label_;
};

struct DigraphMatchOptions {
  // false: monomorphism (extra target edges among matched nodes allowed);
  // true: induced subgraph isomorphism.
  bool induced = false;
  int64_t max_matches = 0;  // 0 = unlimited; see vf2::SearchOptions.
  int64_t max_steps = 0;    // 0 = unlimited.
};

struct DigraphMatchResult {
  // matches[i][p] is the target node of pattern node p in match i.
  std::vector<std::vector<int>> matches;
  // True when max_matches or max_steps cut the enumeration short; then
  // stop_reason says which.
  bool limit_reached = false;
  vf2::StopReason stop_reason = vf2::StopReason::kCompleted;
  int64_t steps = 0;
};

// Enumerates the subgraph monomorphisms (or induced isomorphisms) of pattern
// in target. InvalidArgument for an empty pattern or negative limits.
absl::StatusOr<DigraphMatchResult> FindSubgraphMatches(
    const LabelledDigraph& pattern, const LabelledDigraph& target,
    const DigraphMatchOptions& options);

// Streaming form: calls on_match(mapping) per match without storing them
// (mapping[p] = target node; valid only during the call).
absl::StatusOr<vf2::SearchResult> ForEachSubgraphMatch(
    const LabelledDigraph& pattern, const LabelledDigraph& target,
    const DigraphMatchOptions& options,
    absl::FunctionRef<vf2::MatchAction(absl::Span<const int>)> on_match);

}  // namespace rewire

#endif  // REWIRE_REWRITE_DIGRAPH_MATCHER_H_
