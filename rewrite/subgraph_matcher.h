// SubgraphMatcher: torch.fx's pattern matcher over rewire graphs, on the VF2
// core (rewrite/vf2.h).
//
// Semantics follow torch.fx.passes.utils.matcher_utils.SubgraphMatcher
// (SEMANTICS.md §4): a pattern is a graph `placeholders -> ops -> output`;
// placeholders are wildcards that bind a graph node, a literal or a list;
// call nodes match equal targets (overloads exact); arguments compare
// pairwise after schema normalization when arity or keyword order differ;
// literals compare by type and value unless `ignore_literals`; the mapping is
// injective over every pattern node, placeholders included; internal matched
// nodes must have all their users inside the match; a match that would create
// a cycle when fused is dropped; overlapping matches are removed greedily in
// graph order.
//
// Where rewire differs from torch.fx, deliberately:
//  * A pattern call node facing a graph literal never matches (upstream
//    crashes with KeyError under ignore_literals, pytorch issue 104775).
//  * Every literal the pattern met is recorded (MatchedLiteral), so a
//    replacement can carry over the model's own momentum, eps or p.
//  * The search is VF2 with candidates from the graph's target index, so
//    cost grows with the number of candidate sites, not with graph size
//    times pattern size; nothing recurses.
//
// Limits: a pattern output that is a placeholder, and patterns without a
// call/get_attr node, are refused. Worst-case search time is exponential in
// the pattern size (bounded with MatcherOptions::max_steps, reported as
// limit_reached). get_attr nodes match any get_attr node (by kind, as
// upstream), not by tensor value.
#ifndef REWIRE_REWRITE_SUBGRAPH_MATCHER_H_
#define REWIRE_REWRITE_SUBGRAPH_MATCHER_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/inlined_vector.h"
#include "absl/functional/function_ref.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "ir/argument.h"
#include "ir/graph.h"

namespace rewire {

struct MatcherOptions {
  bool match_output = false;
  bool match_placeholder = false;
  bool remove_overlapping_matches = true;
  bool ignore_literals = false;
  // Bound on VF2 candidate pairs tried (0: unlimited).
  int64_t max_steps = 0;
};

// A literal argument of a pattern node and what the graph had in its place.
struct MatchedLiteral {
  const Node* pattern_node;
  // Schema argument name when the op has a schema, else "" (use `index`).
  // Views a string owned by the schema registry or by the pattern graph (a
  // kwarg name), so it is valid while the pattern lives.
  absl::string_view arg_name;
  int index;           // Normalized argument position.
  Argument pattern_value;
  Argument graph_value;  // A literal, or a node under ignore_literals.
};

// One occurrence of the pattern in the graph.
struct InternalMatch {
  // Pattern returning nodes whose only user is the output (fx "anchors").
  absl::InlinedVector<const Node*, 2> anchors;
  // Pattern node -> bound value: Argument::Ref(graph node) for matched
  // nodes and placeholders bound to nodes, or the literal/list a placeholder
  // bound; in pattern order. A small vector: patterns have a handful of
  // nodes and matches can number in the hundreds of thousands.
  absl::InlinedVector<std::pair<const Node*, Argument>, 8> nodes_map;
  // The value bound to `pattern_node`, or nullptr.
  const Argument* Binding(const Node* pattern_node) const;
  // Placeholder bindings in pattern placeholder order.
  absl::InlinedVector<Argument, 6> placeholder_bindings;
  // Graph nodes matched to the pattern's returning nodes, in output order.
  absl::InlinedVector<Node*, 2> returning_nodes;
  // Inline storage throughout: a large graph yields hundreds of thousands
  // of matches, and heap allocations dominated their cost.
  absl::InlinedVector<MatchedLiteral, 4> literals;

  // The graph node bound to `pattern_node`, or nullptr (literal binding).
  Node* GraphNode(const Node* pattern_node) const;
  // The graph node of the first anchor: where the match sits in the graph.
  Node* GraphAnchor() const;
  // Literal met by the pattern node named `pattern_node_name` at argument
  // `arg_name`, or nullptr.
  const MatchedLiteral* FindLiteral(absl::string_view pattern_node_name,
                                    absl::string_view arg_name) const;
  // Pattern node name -> bound value (built on demand: matches are many,
  // name lookups rare).
  absl::flat_hash_map<std::string, Argument> NameNodeMap() const;
  // Matched non-placeholder graph nodes (the nodes a replacement erases).
  std::vector<Node*> MatchedComputeNodes() const;
};

struct MatchResult {
  std::vector<InternalMatch> matches;
  // The search stopped at max_steps: matches may be missing.
  bool limit_reached = false;
  int64_t steps = 0;
  // Complete mappings rejected by each post-check (for reports).
  int64_t rejected_containment = 0;
  int64_t rejected_cycle = 0;
  int64_t rejected_overlap = 0;
};

class SubgraphMatcher {
 public:
  // Validates the pattern: not empty, no dead nodes, one output, outputs are
  // not placeholders. The pattern must outlive the matcher.
  static absl::StatusOr<std::unique_ptr<SubgraphMatcher>> Create(
      const Graph& pattern, const MatcherOptions& options = {});

  // All matches in `graph`, ordered by the graph position of their anchors,
  // after containment, cycle and (if enabled) overlap filtering.
  absl::StatusOr<MatchResult> Match(const Graph& graph) const;

  // Same, with `keep` applied to each candidate match before overlap
  // removal (rewire runs filters first: a rejected match hides nothing).
  template <typename Keep>
  absl::StatusOr<MatchResult> MatchFiltered(const Graph& graph,
                                            Keep&& keep) const {
    return MatchImpl(graph, KeepFn(std::forward<Keep>(keep)));
  }

  // Streams each match that passes the per-match checks (arguments,
  // containment, no cycle) to `visit`, in discovery order, with neither
  // sorting nor overlap removal; `visit` returns false to stop the search.
  // The InternalMatch is reused between calls (valid only during one), so a
  // large graph costs no per-match allocation. For a pattern with one
  // compute node (single_compute_node()), discovery order is graph order and
  // two matches never share a compute node. The returned MatchResult carries
  // the statistics only (`matches` is empty).
  absl::StatusOr<MatchResult> ForEachMatch(
      const Graph& graph,
      absl::FunctionRef<bool(const InternalMatch&)> visit) const;

  // Whether the pattern has exactly one call/get_attr node.
  bool single_compute_node() const { return compute_nodes_ == 1; }

  const Graph& pattern() const { return pattern_; }
  const MatcherOptions& options() const { return options_; }
  const std::vector<const Node*>& placeholders() const { return placeholders_; }
  const std::vector<const Node*>& returning_nodes() const { return returning_; }

  // Internal: per-pattern-node data shared with the VF2 adapter.
  struct PatternNode {
    const Node* node;
    int search_id;  // index among searched nodes, or -1 (wildcard)
    // Normalized arguments (schema order) when the op has a schema.
    bool normalized = false;
    std::vector<Argument> norm_args;
    std::vector<const std::string*> norm_names;  // into the schema registry
  };

 private:
  using KeepFn = std::function<bool(const InternalMatch&)>;
  SubgraphMatcher(const Graph& pattern, const MatcherOptions& options)
      : pattern_(pattern), options_(options) {}
  absl::StatusOr<MatchResult> MatchImpl(const Graph& graph,
                                        const KeepFn& keep) const;

  const Graph& pattern_;
  MatcherOptions options_;
  std::vector<const Node*> placeholders_;
  std::vector<const Node*> returning_;
  std::vector<const Node*> anchors_;
  // Searched pattern nodes (calls, get_attrs; placeholders with
  // match_placeholder; the output with match_output), in pattern order.
  std::vector<const Node*> search_nodes_;
  absl::flat_hash_map<const Node*, int> node_index_;  // into nodes_
  std::vector<PatternNode> nodes_;                     // pattern order
  size_t compute_nodes_ = 0;  // searched call/get_attr nodes
};

}  // namespace rewire

#endif  // REWIRE_REWRITE_SUBGRAPH_MATCHER_H_
