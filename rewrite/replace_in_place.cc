#include "rewrite/replace_in_place.h"

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/types/span.h"
#include "ir/status_macros.h"

namespace rewire {
namespace replace_internal {
namespace {

// The stream keeps no InternalMatch: each match becomes an edit while the
// matcher runs. When only literals change (a flipped `train` flag), the edit
// is applied at once, while the node is still in cache, and journaled: no
// operand or user list is touched, later matches never look at an earlier
// site, and an error in a later match rolls the journal back, so the rewrite
// stays all-or-nothing. Edits that rewire operands are rare and wait until
// every match has been checked.
class InPlaceStream {
 public:
  InPlaceStream(Graph& graph, const PreparedRewrite& prep,
                const ReplaceOptions& options)
      : graph_(graph),
        prep_(prep),
        options_(options),
        shape_(prep.fixed_analysis->shape),
        pattern_node_(prep.fixed_analysis->corr.front()),
        r_(shape_.compute.front()) {}

  absl::StatusOr<ReplaceResult> Run();

 private:
  // Argument slot `index` (args, then kwargs) of `node` takes `value`.
  struct LiteralEdit {
    Node* node;
    uint32_t index;
    Argument value;  // the new value until applied, then the old one
  };
  struct FullEdit {
    Node* node;
    std::vector<Argument> args;
    std::vector<Kwarg> kwargs;
  };

  // Handles one match; false stops the search (error_ says why).
  bool Visit(const InternalMatch& m);
  // Whether args_/kwargs_ differ from `g`'s arguments in literals only; if
  // so, pending_ holds those literals (moved out of args_/kwargs_).
  bool DiffLiteralsOnly(Node* g);
  // Swaps each pending value with the node's argument: applies the edit and
  // keeps the old value for a rollback.
  absl::Status ApplyPending();
  void RollBack();

  Graph& graph_;
  const PreparedRewrite& prep_;
  const ReplaceOptions& options_;
  const ReplacementShape& shape_;
  const Node* const pattern_node_;  // the pattern's one compute node
  const Node* const r_;             // the replacement's one compute node
  ReplaceResult result_;
  std::vector<LiteralEdit> journal_;
  std::vector<LiteralEdit> pending_;
  std::vector<FullEdit> full_edits_;
  absl::Status error_;
  // Reused between matches, so a large graph costs no per-match allocation.
  ValMap vm_;
  std::vector<Argument> args_;
  std::vector<Kwarg> kwargs_;
};

absl::StatusOr<ReplaceResult> InPlaceStream::Run() {
  for (const LiteralBinding& b : options_.literal_bindings) {
    RETURN_IF_ERROR(CheckBindingTarget(*prep_.fixed, b));
  }
  // At most one record per node with the pattern's target: one allocation
  // instead of a growing vector copied over and over on a large graph.
  if (pattern_node_->is_call()) {
    result_.replaced.reserve(
        graph_.CountTarget(pattern_node_->target().qualified));
  }
  absl::StatusOr<MatchResult> mr = prep_.matcher->ForEachMatch(
      graph_, [this](const InternalMatch& m) { return Visit(m); });
  if (!mr.ok() || !error_.ok()) {
    RollBack();
    return !mr.ok() ? mr.status() : error_;
  }
  result_.limit_reached = mr->limit_reached;
  // Only internal invariants can fail from here on. (The "val" of each node
  // stays: the op is unchanged, so is the structure of its value.)
  for (FullEdit& e : full_edits_) {
    absl::Status st =
        graph_.SetArguments(e.node, std::move(e.args), std::move(e.kwargs));
    if (!st.ok()) return absl::InternalError(st.message());
  }
  return std::move(result_);
}

bool InPlaceStream::Visit(const InternalMatch& m) {
  if (!PassesFilters(options_, m, graph_, *prep_.pattern, &result_)) {
    return true;
  }
  for (const LiteralBinding& b : options_.literal_bindings) {
    error_ = CheckBindingSource(m, b);
    if (!error_.ok()) return false;
  }
  Node* g = m.GraphNode(pattern_node_);
  vm_.clear();
  for (size_t i = 0; i < shape_.placeholders.size(); ++i) {
    vm_.emplace(shape_.placeholders[i], m.placeholder_bindings[i]);
  }
  vm_.emplace(r_, Argument::Ref(g));
  args_.clear();
  kwargs_.clear();
  BuildArguments(r_, pattern_node_, m, options_, vm_, &args_, &kwargs_);
  const bool literal_only = DiffLiteralsOnly(g);
  ReplacedPattern record;
  record.anchor = g->name();
  if (literal_only) {
    error_ = ApplyPending();
    if (!error_.ok()) return false;
  } else {
    // DiffLiteralsOnly may have moved values out: build the arguments again.
    pending_.clear();
    args_.clear();
    kwargs_.clear();
    BuildArguments(r_, pattern_node_, m, options_, vm_, &args_, &kwargs_);
    std::string undefined = FirstOperandNotBefore(args_, kwargs_, g);
    if (!undefined.empty()) {
      result_.skipped.push_back(
          RewrittenNodeUsesUndefined(std::move(record.anchor), undefined));
      return true;
    }
    full_edits_.push_back(FullEdit{g, args_, kwargs_});
  }
  RecordNodesMap(m, options_, &record);
  record.replacements.push_back(g);
  result_.replaced.push_back(std::move(record));
  return true;
}

bool InPlaceStream::DiffLiteralsOnly(Node* g) {
  absl::Span<const Argument> old_args = g->args();
  const std::vector<Kwarg>& old_kwargs = g->kwargs();
  bool literal_only = args_.size() == old_args.size() &&
                      kwargs_.size() == old_kwargs.size();
  for (size_t i = 0; literal_only && i < kwargs_.size(); ++i) {
    literal_only = kwargs_[i].name == old_kwargs[i].name;
  }
  pending_.clear();
  for (size_t i = 0; literal_only && i < args_.size() + kwargs_.size(); ++i) {
    Argument& now = i < args_.size() ? args_[i] : kwargs_[i - args_.size()].value;
    const Argument& was =
        i < args_.size() ? old_args[i] : old_kwargs[i - args_.size()].value;
    if (now == was) continue;
    if (!IsPureLiteral(now) || !IsPureLiteral(was)) {
      literal_only = false;
      break;
    }
    pending_.push_back(
        LiteralEdit{g, static_cast<uint32_t>(i), std::move(now)});
  }
  return literal_only;
}

absl::Status InPlaceStream::ApplyPending() {
  for (LiteralEdit& e : pending_) {
    const size_t nargs = e.node->args().size();
    const Argument& current = e.index < nargs
                                  ? e.node->args()[e.index]
                                  : e.node->kwargs()[e.index - nargs].value;
    Argument old = current;
    RETURN_IF_ERROR(
        graph_.SetLiteralArgument(e.node, e.index, std::move(e.value)));
    e.value = std::move(old);
    journal_.push_back(std::move(e));
  }
  pending_.clear();
  return absl::OkStatus();
}

void InPlaceStream::RollBack() {
  for (auto it = journal_.rbegin(); it != journal_.rend(); ++it) {
    absl::Status st =
        graph_.SetLiteralArgument(it->node, it->index, std::move(it->value));
    REWIRE_CHECK(st.ok());  // restoring what was there
  }
}

}  // namespace

bool StreamEligible(const PreparedRewrite& prep) {
  return prep.fixed_analysis != nullptr &&
         prep.fixed_analysis->shape.in_place &&
         prep.matcher->single_compute_node() &&
         prep.fixed_analysis->shape.placeholders.size() <=
             prep.matcher->placeholders().size();
}

absl::StatusOr<ReplaceResult> RunInPlaceStream(Graph& graph,
                                               const PreparedRewrite& prep,
                                               const ReplaceOptions& options) {
  return InPlaceStream(graph, prep, options).Run();
}

}  // namespace replace_internal
}  // namespace rewire
