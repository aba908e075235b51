#include "rewrite/pattern_driver.h"

#include <algorithm>
#include <cstdint>
#include <memory>
#include <numeric>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "ir/graph.h"
#include "ir/status_macros.h"
#include "rewrite/replace_common.h"
#include "rewrite/replace_general.h"
#include "rewrite/replace_in_place.h"

namespace rewire {
namespace {

using replace_internal::PreparedRewrite;

// A rule ready to run: prepared once, however many sweeps use it.
struct ActiveRule {
  const PatternRule* rule = nullptr;
  size_t index = 0;  // into the caller's list
  PreparedRewrite prep;
  bool stream = false;
  // Targets every match needs; the rule is skipped when one is absent.
  std::vector<std::string> required_targets;
  // Whether applying the rule can fail after it has seen the graph (see the
  // header): a callback, a result hook, literal bindings checked per match,
  // or a replacement output that may be bound to a literal.
  bool may_fail_late = false;
};

absl::Status Named(const PatternRule& rule, const absl::Status& st) {
  if (rule.name.empty()) return st;
  return absl::Status(st.code(),
                      absl::StrCat("rule '", rule.name, "': ", st.message()));
}

absl::StatusOr<ActiveRule> Activate(const PatternRule& rule, size_t index) {
  ActiveRule a;
  a.rule = &rule;
  a.index = index;
  if (rule.pattern == nullptr) {
    return absl::InvalidArgumentError("the rule has no pattern");
  }
  if ((rule.replacement == nullptr) == (rule.fn == nullptr)) {
    return absl::InvalidArgumentError(
        "the rule needs exactly one of a fixed replacement and a callback");
  }
  ASSIGN_OR_RETURN(a.prep, replace_internal::Prepare(*rule.pattern,
                                                     rule.replacement.get(),
                                                     rule.options));
  a.stream = replace_internal::StreamEligible(a.prep);
  absl::flat_hash_set<std::string> seen;
  for (const Node* n : a.prep.pattern_compute) {
    if (n->is_call() && seen.insert(n->target().qualified).second) {
      a.required_targets.push_back(n->target().qualified);
    }
  }
  a.may_fail_late =
      rule.fn != nullptr || !rule.options.literal_bindings.empty();
  if (a.prep.fixed_analysis != nullptr) {
    const auto& shape = a.prep.fixed_analysis->shape;
    for (const Node* o : shape.outputs) {
      if (o->is_placeholder()) a.may_fail_late = true;
    }
    // What the general path checks per match but is known now.
    if (shape.outputs.size() != a.prep.returning().size()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "replacement returns ", shape.outputs.size(),
          " values but the pattern returns ", a.prep.returning().size()));
    }
    if (shape.placeholders.size() > a.prep.matcher->placeholders().size()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "replacement has ", shape.placeholders.size(),
          " placeholders but the pattern binds only ",
          a.prep.matcher->placeholders().size()));
    }
    for (const LiteralBinding& b : rule.options.literal_bindings) {
      RETURN_IF_ERROR(replace_internal::CheckBindingTarget(*a.prep.fixed, b));
    }
  }
  return a;
}

bool Applicable(const Graph& graph, const ActiveRule& a) {
  for (const std::string& t : a.required_targets) {
    if (graph.CountTarget(t) == 0) return false;
  }
  return true;
}

absl::StatusOr<ReplaceResult> RunOnce(Graph& graph, const ActiveRule& a) {
  if (a.stream) {
    return replace_internal::RunInPlaceStream(graph, a.prep, a.rule->options);
  }
  const ReplacementFn* fn = a.rule->fn != nullptr ? &a.rule->fn : nullptr;
  return replace_internal::RunGeneral(graph, a.prep, fn, a.rule->options);
}

// Whether a late failure of some rule could follow a change made by
// another: such a rule may apply (its ops are in the graph, or among those a
// fixed replacement makes) and something else may have run before it.
bool NeedsBackup(const Graph& graph, const std::vector<ActiveRule>& active,
                 const DriverOptions& options) {
  if (active.size() <= 1 && !options.fixed_point) return false;
  absl::flat_hash_set<std::string> made;
  for (const ActiveRule& a : active) {
    if (a.prep.fixed == nullptr) continue;
    for (const Node* n : *a.prep.fixed) {
      if (n->is_call()) made.insert(n->target().qualified);
    }
  }
  for (const ActiveRule& a : active) {
    if (!a.may_fail_late) continue;
    bool possible = true;
    for (const std::string& t : a.required_targets) {
      possible = possible && (graph.CountTarget(t) > 0 || made.contains(t));
    }
    if (possible) return true;
  }
  return false;
}

}  // namespace

std::shared_ptr<const Graph> BorrowGraph(const Graph& graph) {
  return std::shared_ptr<const Graph>(std::shared_ptr<const Graph>(), &graph);
}

int64_t DriverResult::total_replaced() const {
  int64_t n = 0;
  for (const RuleOutcome& r : rules) n += r.replaced;
  return n;
}

absl::StatusOr<DriverResult> ApplyPatternRules(
    Graph& graph, const std::vector<PatternRule>& rules,
    const DriverOptions& options) {
  if (options.fixed_point && options.max_iterations < 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        "max_iterations must be at least 1, got ", options.max_iterations));
  }
  std::vector<size_t> order(rules.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](size_t x, size_t y) {
    return rules[x].benefit > rules[y].benefit;
  });
  // Note [Failure atomicity]: every rule is checked before any runs.
  std::vector<ActiveRule> active;
  active.reserve(rules.size());
  for (size_t i : order) {
    absl::StatusOr<ActiveRule> a = Activate(rules[i], i);
    if (!a.ok()) return Named(rules[i], a.status());
    active.push_back(*std::move(a));
  }
  std::unique_ptr<Graph> backup =
      NeedsBackup(graph, active, options) ? graph.Clone() : nullptr;
  auto fail = [&](const PatternRule& rule, const absl::Status& st) {
    if (backup != nullptr) graph = std::move(*backup);
    return Named(rule, st);
  };

  DriverResult result;
  result.rules.resize(rules.size());
  for (size_t i = 0; i < rules.size(); ++i) result.rules[i].name = rules[i].name;
  const int sweeps = options.fixed_point ? options.max_iterations : 1;
  for (int sweep = 0; sweep < sweeps; ++sweep) {
    ++result.iterations;
    int64_t replaced_this_sweep = 0;
    for (const ActiveRule& a : active) {
      RuleOutcome& out = result.rules[a.index];
      if (!Applicable(graph, a)) {
        ++out.not_applicable;
        continue;
      }
      absl::StatusOr<ReplaceResult> r = RunOnce(graph, a);
      if (!r.ok()) return fail(*a.rule, r.status());
      if (a.rule->on_result != nullptr) a.rule->on_result(graph, *r);
      const int64_t n = static_cast<int64_t>(r->replaced.size());
      replaced_this_sweep += n;
      out.replaced += n;
      out.rejected_by_filters += r->rejected_by_filters;
      if (out.rejected_by_filter.size() < r->rejected_by_filter.size()) {
        out.rejected_by_filter.resize(r->rejected_by_filter.size());
      }
      for (size_t f = 0; f < r->rejected_by_filter.size(); ++f) {
        out.rejected_by_filter[f] += r->rejected_by_filter[f];
      }
      out.limit_reached = out.limit_reached || r->limit_reached;
      for (SkippedMatch& s : r->skipped) out.skipped.push_back(std::move(s));
      if (out.sites.empty()) {
        out.sites = std::move(r->replaced);
      } else {
        for (ReplacedPattern& p : r->replaced) out.sites.push_back(std::move(p));
      }
    }
    if (replaced_this_sweep == 0) break;
    if (options.fixed_point && sweep + 1 == sweeps) result.converged = false;
  }
  return result;
}

}  // namespace rewire
