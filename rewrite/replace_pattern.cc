#include "rewrite/replace_pattern.h"

#include <memory>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "ir/status_macros.h"
#include "rewrite/pattern_driver.h"

namespace rewire {
namespace {

// One unnamed rule through the driver (rewrite/pattern_driver.h), so that
// errors read as they always have.
absl::StatusOr<ReplaceResult> Run(Graph& graph, PatternRule rule) {
  std::vector<PatternRule> rules;
  rules.push_back(std::move(rule));
  ASSIGN_OR_RETURN(DriverResult d, ApplyPatternRules(graph, rules));
  RuleOutcome& out = d.rules.front();
  ReplaceResult r;
  r.replaced = std::move(out.sites);
  r.skipped = std::move(out.skipped);
  r.rejected_by_filters = out.rejected_by_filters;
  r.rejected_by_filter = std::move(out.rejected_by_filter);
  r.limit_reached = out.limit_reached;
  return r;
}

}  // namespace

absl::StatusOr<ReplaceResult> ReplacePatternWithFilters(
    Graph& graph, const Graph& pattern, const Graph& replacement,
    const ReplaceOptions& options) {
  PatternRule rule;
  rule.pattern = BorrowGraph(pattern);
  rule.replacement = BorrowGraph(replacement);
  rule.options = options;
  return Run(graph, std::move(rule));
}

absl::StatusOr<ReplaceResult> ReplacePatternWithFilters(
    Graph& graph, const Graph& pattern, const ReplacementFn& replacement,
    const ReplaceOptions& options) {
  PatternRule rule;
  rule.pattern = BorrowGraph(pattern);
  rule.fn = replacement;
  rule.options = options;
  return Run(graph, std::move(rule));
}

}  // namespace rewire
