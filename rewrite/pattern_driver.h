// The multi-pattern driver: a set of rewrite rules applied to one graph in a
// deterministic order, once or to a fixed point, all-or-nothing.
//
// Rules run by descending benefit, ties in the order given. Each rule is one
// ReplacePatternWithFilters over the graph as the rules before it left it
// (so a higher-benefit rule claims the nodes it matches first, as MLIR's
// greedy driver does), and costs what that call costs: the matcher draws its
// candidates from the graph's target index, and a rule whose pattern names an
// op the graph lacks is skipped after a constant-time count per target. For a
// fixed rule set a sweep is therefore linear in the graph size, and rules
// that do not apply cost nothing per node. With `fixed_point`, sweeps repeat
// until one replaces nothing, at most `max_iterations` times.
//
// Every rule is verified and analyzed (pattern, replacement, output counts,
// literal bindings) before the graph is touched. What can only be decided per
// match (a replacement callback's error, a replacement output that would be
// a literal, a literal binding) makes the driver keep a copy of the graph to
// put back, when such a rule can apply (its ops are in the graph or made by
// another rule) after another rule or sweep may have changed the graph; when
// none can, no copy is made. On error the graph is exactly as it
// was. ReplacePatternWithFilters is this driver with one rule.
#ifndef REWIRE_REWRITE_PATTERN_DRIVER_H_
#define REWIRE_REWRITE_PATTERN_DRIVER_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "ir/graph.h"
#include "rewrite/replace_pattern.h"

namespace rewire {

struct PatternRule {
  std::string name;
  // Higher runs first; equal benefits keep the order of the rule list.
  int benefit = 1;
  std::shared_ptr<const Graph> pattern;
  // A fixed replacement, or null when `fn` builds one per match.
  std::shared_ptr<const Graph> replacement;
  ReplacementFn fn;
  ReplaceOptions options;
  // Names of options.filters for reports (rules files fill it), or empty.
  std::vector<std::string> filter_names;
  // Runs after each application of the rule, with its result (e.g. to mark
  // the new nodes). It cannot fail: whatever can must be checked before the
  // driver runs, or in `fn`.
  std::function<void(Graph&, ReplaceResult&)> on_result;
};

struct DriverOptions {
  // Repeat whole sweeps until one replaces nothing.
  bool fixed_point = false;
  // Bound on sweeps under fixed_point (a rule set that keeps rewriting its
  // own output, such as a <-> b, stops here and reports converged = false).
  int max_iterations = 16;
};

// What one rule did over all sweeps.
struct RuleOutcome {
  std::string name;
  int64_t replaced = 0;
  int64_t rejected_by_filters = 0;
  // By filter, as ReplaceResult::rejected_by_filter.
  std::vector<int64_t> rejected_by_filter;
  bool limit_reached = false;
  // Sweeps in which the rule's anchors were absent, so it did not run.
  int64_t not_applicable = 0;
  std::vector<SkippedMatch> skipped;
  // Every match replaced, in application order (see ReplacedPattern; the
  // node pointers are valid until the graph changes again).
  std::vector<ReplacedPattern> sites;
};

struct DriverResult {
  // By rule, in the order of the rule list given (not application order).
  std::vector<RuleOutcome> rules;
  int iterations = 0;
  // False when fixed_point stopped at max_iterations with a sweep that still
  // replaced something.
  bool converged = true;
  int64_t total_replaced() const;
};

// A non-owning handle on a graph that outlives the rules holding it.
std::shared_ptr<const Graph> BorrowGraph(const Graph& graph);

// Applies `rules` to `graph`. Errors name the rule ("rule 'x': ...").
absl::StatusOr<DriverResult> ApplyPatternRules(
    Graph& graph, const std::vector<PatternRule>& rules,
    const DriverOptions& options = {});

}  // namespace rewire

#endif  // REWIRE_REWRITE_PATTERN_DRIVER_H_
