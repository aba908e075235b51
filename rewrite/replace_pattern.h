// ReplacePatternWithFilters: torch.fx's subgraph rewriter over rewire graphs,
// with literal carry-over and all-or-nothing application.
//
// Semantics follow torch.fx.subgraph_rewriter.replace_pattern_with_filters
// (SEMANTICS.md §5): every match of `pattern` (SubgraphMatcher, default
// options plus the caller's ignore_literals) that passes all filters is
// replaced by a copy of `replacement`, whose i-th placeholder is wired to the
// i-th pattern placeholder's binding and whose outputs take over the uses of
// the matched returning nodes, paired by position; the copy goes before the
// first user of any returning node; the matched nodes are then erased.
//
// Where rewire differs from torch.fx, deliberately:
//  * Filters run before overlap removal: a rejected match hides nothing.
//  * New nodes keep the metadata ("val", stack trace, module stack, ...) of
//    the graph nodes they replace, and their names where the op is unchanged
//    (see Note [Replacement correspondence] in the .cc).
//  * Literals: `preserve_literals` carries each literal the pattern met in
//    the graph into the corresponding replacement argument (matched by schema
//    argument name, so momentum moves from _native_batch_norm_legit's 7th
//    argument to _no_training's 6th), except the names in `preserve_except`;
//    `literal_bindings` declares individual carries explicitly.
//  * Nodes nested in list bindings are remapped when an earlier replacement
//    replaced them (pytorch issue 159613).
//  * A match whose replacement would be inserted before one of its inputs is
//    defined is skipped and reported, not applied.
//  * All-or-nothing: every check that depends on the input (pattern,
//    replacement, per-match replacement callbacks, output counts) runs before
//    the graph is touched; on error the graph is exactly as it was.
#ifndef REWIRE_REWRITE_REPLACE_PATTERN_H_
#define REWIRE_REWRITE_REPLACE_PATTERN_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "ir/graph.h"
#include "rewrite/subgraph_matcher.h"

namespace rewire {

// Keeps a match when it returns true: f(match, original graph, pattern).
using MatchFilter =
    std::function<bool(const InternalMatch&, const Graph&, const Graph&)>;

// Builds the replacement for one match (e.g. traced with the match's own
// shapes and literals). Errors abort the whole rewrite before any change.
// The graph may be shared between matches (a callback that memoizes by what
// it reads from the match): the rewriter then verifies and analyzes it once,
// which matters on models with many identical sites. A callable returning
// StatusOr<std::unique_ptr<Graph>> converts.
using ReplacementFn = std::function<absl::StatusOr<std::shared_ptr<const Graph>>(
    const InternalMatch&, const Graph&)>;

// Replacement node `replacement_node`'s argument `replacement_arg` takes the
// graph literal that pattern node `pattern_node` met at `pattern_arg`.
struct LiteralBinding {
  std::string replacement_node;
  std::string replacement_arg;
  std::string pattern_node;
  std::string pattern_arg;
};

struct ReplaceOptions {
  bool ignore_literals = false;
  // Pattern placeholders match only graph placeholders (torch.fx's
  // match_placeholder): for rewrites of a graph's inputs.
  bool match_placeholder = false;
  std::vector<MatchFilter> filters;
  bool preserve_literals = false;
  // Argument names never carried over by preserve_literals (e.g. "training").
  std::vector<std::string> preserve_except;
  std::vector<LiteralBinding> literal_bindings;
  int64_t max_steps = 0;  // matcher search bound (0: unlimited)
  // Fill ReplacedPattern::nodes_map (names of every matched node). Costs a
  // few string copies per match; callers that only count can turn it off.
  bool record_node_maps = true;
};

struct ReplacedPattern {
  // Name of the graph node the first anchor matched (that node may now be
  // erased, or renamed onto a replacement node).
  std::string anchor;
  // Pattern node name -> the graph node name it matched, or the literal text
  // a placeholder bound.
  std::vector<std::pair<std::string, std::string>> nodes_map;
  // The nodes inserted for this match, in graph order.
  std::vector<Node*> replacements;
};

struct SkippedMatch {
  std::string anchor;
  std::string reason;
};

struct ReplaceResult {
  std::vector<ReplacedPattern> replaced;
  std::vector<SkippedMatch> skipped;
  int64_t rejected_by_filters = 0;
  // Rejections by options.filters[i] (the first filter to say no); empty
  // when none rejected.
  std::vector<int64_t> rejected_by_filter;
  bool limit_reached = false;  // matcher step bound hit: matches may be missing
};

absl::StatusOr<ReplaceResult> ReplacePatternWithFilters(
    Graph& graph, const Graph& pattern, const Graph& replacement,
    const ReplaceOptions& options = {});

absl::StatusOr<ReplaceResult> ReplacePatternWithFilters(
    Graph& graph, const Graph& pattern, const ReplacementFn& replacement,
    const ReplaceOptions& options = {});

}  // namespace rewire

#endif  // REWIRE_REWRITE_REPLACE_PATTERN_H_
