#include "rewrite/replace_general.h"

#include <algorithm>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "ir/status_macros.h"

namespace rewire {
namespace replace_internal {
namespace {

// One match and the replacement it gets, checked before any change.
struct Plan {
  const InternalMatch* match;
  const Graph* replacement;
  // Keeps a per-match replacement alive (callbacks may share one graph
  // between matches).
  std::shared_ptr<const Graph> owned;
  const AnalyzedReplacement* analyzed;
  // Names recorded before any change: later replacements erase nodes that
  // earlier matches refer to.
  ReplacedPattern record;
};

// Where a match's replacement goes: before the first user of any returning
// node, else right after the last returning node (null: at the end).
Node* InsertionPoint(const InternalMatch& m) {
  Node* insert = nullptr;
  for (Node* r : m.returning_nodes) {
    for (const Use& u : r->uses()) {
      if (insert == nullptr || u.user->IsBefore(insert)) insert = u.user;
    }
  }
  if (insert == nullptr) {
    Node* last = m.returning_nodes.front();
    for (Node* r : m.returning_nodes) {
      if (last->IsBefore(r)) last = r;
    }
    insert = last->next();
  }
  return insert;
}

// The first node a binding holds that is not defined before `insert` ("" when
// none, or when inserting at the end).
std::string FirstBindingNotBefore(const std::vector<Argument>& bindings,
                                  const Node* insert) {
  std::string undefined;
  for (const Argument& b : bindings) {
    b.ForEachNode([&](Node* n) {
      if (undefined.empty() && insert != nullptr && !n->IsBefore(insert)) {
        undefined = n->name();
      }
    });
  }
  return undefined;
}

class GeneralRewrite {
 public:
  GeneralRewrite(Graph& graph, const PreparedRewrite& prep,
                 const ReplacementFn* fn, const ReplaceOptions& options)
      : graph_(graph), prep_(prep), fn_(fn), options_(options) {}

  absl::StatusOr<ReplaceResult> Run();

 private:
  // Phase 1: everything that can fail on input, before any change.
  absl::Status PlanMatch(const InternalMatch& m);
  absl::Status ReplacementFor(const InternalMatch& m, Plan* plan);
  absl::Status CheckPlan(const Plan& plan) const;

  // Phase 2: apply. Only internal invariants can fail from here on.
  std::vector<Argument> RemappedBindings(const Plan& plan) const;
  absl::Status ApplyInPlace(Plan& plan, const std::vector<Argument>& bindings);
  absl::Status ApplyByInsertion(Plan& plan,
                                const std::vector<Argument>& bindings);
  // Inserts the replacement's compute nodes before `insert`; fills
  // `val_map` and the renames due once the matched nodes are gone.
  absl::Status InsertReplacementNodes(
      Plan& plan, Node* insert, ValMap& val_map,
      std::vector<std::pair<Node*, std::string>>& renames);
  // Moves the uses of the returning nodes to the replacement's outputs,
  // erases the matched nodes and gives their names to the new nodes.
  absl::Status RetireMatchedNodes(
      const Plan& plan, const ValMap& val_map,
      const std::vector<std::pair<Node*, std::string>>& renames);

  Graph& graph_;
  const PreparedRewrite& prep_;
  const ReplacementFn* fn_;
  const ReplaceOptions& options_;
  ReplaceResult result_;
  std::vector<Plan> plans_;
  // Per-match replacements by graph: a callback that returns the same graph
  // for many matches has it verified and analyzed once. The plans keep every
  // graph alive, so no address is reused while this map exists.
  absl::flat_hash_map<const Graph*, std::unique_ptr<AnalyzedReplacement>>
      analyzed_;
  // Bindings hold nodes of the original graph, and matches never involve
  // nodes made by earlier replacements, so one lookup suffices. (Chasing a
  // chain would be wrong: an erased node's address may be reused by a new
  // node.)
  absl::flat_hash_map<const Node*, Node*> replaced_by_;
};

absl::StatusOr<ReplaceResult> GeneralRewrite::Run() {
  ASSIGN_OR_RETURN(
      MatchResult mr,
      prep_.matcher->MatchFiltered(graph_, [&](const InternalMatch& m) {
        return PassesFilters(options_, m, graph_, *prep_.pattern, &result_);
      }));
  result_.limit_reached = mr.limit_reached;
  plans_.reserve(mr.matches.size());
  for (const InternalMatch& m : mr.matches) RETURN_IF_ERROR(PlanMatch(m));
  for (Plan& plan : plans_) {
    std::vector<Argument> bindings = RemappedBindings(plan);
    RETURN_IF_ERROR(plan.analyzed->shape.in_place
                        ? ApplyInPlace(plan, bindings)
                        : ApplyByInsertion(plan, bindings));
  }
  return std::move(result_);
}

absl::Status GeneralRewrite::PlanMatch(const InternalMatch& m) {
  Plan plan;
  plan.match = &m;
  if (prep_.fixed != nullptr) {
    plan.replacement = prep_.fixed;
    plan.analyzed = prep_.fixed_analysis.get();
  } else {
    RETURN_IF_ERROR(ReplacementFor(m, &plan));
  }
  RETURN_IF_ERROR(CheckPlan(plan));
  plan.record.anchor = m.GraphAnchor()->name();
  RecordNodesMap(m, options_, &plan.record);
  plans_.push_back(std::move(plan));
  return absl::OkStatus();
}

absl::Status GeneralRewrite::ReplacementFor(const InternalMatch& m,
                                            Plan* plan) {
  absl::StatusOr<std::shared_ptr<const Graph>> made = (*fn_)(m, graph_);
  if (made.ok() && *made == nullptr) {
    made = absl::InvalidArgumentError("the callback returned no graph");
  }
  if (!made.ok()) {
    return absl::Status(
        made.status().code(),
        absl::StrCat("building the replacement for the match at %",
                     m.GraphAnchor()->name(), ": ", made.status().message()));
  }
  plan->owned = std::move(*made);
  plan->replacement = plan->owned.get();
  std::unique_ptr<AnalyzedReplacement>& a = analyzed_[plan->replacement];
  if (a == nullptr) {
    ASSIGN_OR_RETURN(AnalyzedReplacement made_a,
                     AnalyzeReplacement(*plan->replacement,
                                        prep_.pattern_compute,
                                        prep_.returning()));
    a = std::make_unique<AnalyzedReplacement>(std::move(made_a));
  }
  plan->analyzed = a.get();
  return absl::OkStatus();
}

absl::Status GeneralRewrite::CheckPlan(const Plan& plan) const {
  const InternalMatch& m = *plan.match;
  const ReplacementShape& s = plan.analyzed->shape;
  if (s.placeholders.size() > m.placeholder_bindings.size()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "replacement has ", s.placeholders.size(),
        " placeholders but the pattern binds only ",
        m.placeholder_bindings.size()));
  }
  if (s.outputs.size() != m.returning_nodes.size()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "replacement returns ", s.outputs.size(), " values but the pattern ",
        "returns ", m.returning_nodes.size()));
  }
  for (const Node* o : s.outputs) {
    auto it = std::find(s.placeholders.begin(), s.placeholders.end(), o);
    if (it != s.placeholders.end() &&
        !m.placeholder_bindings[it - s.placeholders.begin()].is_node()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "replacement output %", o->name(),
          " is a placeholder bound to a literal; it cannot take over uses"));
    }
  }
  for (const LiteralBinding& b : options_.literal_bindings) {
    RETURN_IF_ERROR(CheckBindingTarget(*plan.replacement, b));
    RETURN_IF_ERROR(CheckBindingSource(m, b));
  }
  return absl::OkStatus();
}

std::vector<Argument> GeneralRewrite::RemappedBindings(const Plan& plan) const {
  auto remap = [&](Node* n) {
    auto it = replaced_by_.find(n);
    return it == replaced_by_.end() ? n : it->second;
  };
  std::vector<Argument> bindings;
  for (size_t i = 0; i < plan.analyzed->shape.placeholders.size(); ++i) {
    Argument b = plan.match->placeholder_bindings[i];
    b.MapNodes(remap);
    bindings.push_back(std::move(b));
  }
  return bindings;
}

absl::Status GeneralRewrite::ApplyInPlace(Plan& plan,
                                          const std::vector<Argument>& bindings) {
  const InternalMatch& m = *plan.match;
  const ReplacementShape& s = plan.analyzed->shape;
  const std::vector<const Node*>& corr = plan.analyzed->corr;
  ValMap vm;
  for (size_t i = 0; i < s.placeholders.size(); ++i) {
    vm.emplace(s.placeholders[i], bindings[i]);
  }
  for (size_t ci = 0; ci < s.compute.size(); ++ci) {
    vm.emplace(s.compute[ci], Argument::Ref(m.GraphNode(corr[ci])));
  }
  std::vector<std::pair<std::vector<Argument>, std::vector<Kwarg>>> new_args(
      s.compute.size());
  std::string undefined;
  for (size_t ci = 0; ci < s.compute.size(); ++ci) {
    const Node* p = corr[ci];
    BuildArguments(s.compute[ci], p, m, options_, vm, &new_args[ci].first,
                   &new_args[ci].second);
    if (undefined.empty()) {
      undefined = FirstOperandNotBefore(new_args[ci].first,
                                        new_args[ci].second, m.GraphNode(p));
    }
  }
  if (!undefined.empty()) {
    result_.skipped.push_back(
        RewrittenNodeUsesUndefined(plan.record.anchor, undefined));
    return absl::OkStatus();
  }
  for (size_t ci = 0; ci < s.compute.size(); ++ci) {
    const Node* r = s.compute[ci];
    Node* g = m.GraphNode(corr[ci]);
    if (new_args[ci].first != g->args() || new_args[ci].second != g->kwargs()) {
      absl::Status st = graph_.SetArguments(g, std::move(new_args[ci].first),
                                            std::move(new_args[ci].second));
      if (!st.ok()) return absl::InternalError(st.message());
    }
    const MetaValue* rv = r->meta().val();
    const MetaValue* gv = g->meta().val();
    if (rv != nullptr && gv != nullptr && !SameValStructure(*rv, *gv)) {
      g->mutable_meta().Set("val", *rv);
    }
    plan.record.replacements.push_back(g);
  }
  result_.replaced.push_back(std::move(plan.record));
  return absl::OkStatus();
}

absl::Status GeneralRewrite::ApplyByInsertion(
    Plan& plan, const std::vector<Argument>& bindings) {
  const ReplacementShape& s = plan.analyzed->shape;
  Node* insert = InsertionPoint(*plan.match);
  std::string undefined = FirstBindingNotBefore(bindings, insert);
  if (!undefined.empty()) {
    result_.skipped.push_back(SkippedMatch{
        plan.record.anchor,
        absl::StrCat("the replacement would be inserted before its input %",
                     undefined, " is defined")});
    return absl::OkStatus();
  }
  ValMap val_map;
  for (size_t i = 0; i < s.placeholders.size(); ++i) {
    val_map.emplace(s.placeholders[i], bindings[i]);
  }
  std::vector<std::pair<Node*, std::string>> renames;
  RETURN_IF_ERROR(InsertReplacementNodes(plan, insert, val_map, renames));
  RETURN_IF_ERROR(RetireMatchedNodes(plan, val_map, renames));
  result_.replaced.push_back(std::move(plan.record));
  return absl::OkStatus();
}

absl::Status GeneralRewrite::InsertReplacementNodes(
    Plan& plan, Node* insert, ValMap& val_map,
    std::vector<std::pair<Node*, std::string>>& renames) {
  const InternalMatch& m = *plan.match;
  const ReplacementShape& s = plan.analyzed->shape;
  for (size_t ci = 0; ci < s.compute.size(); ++ci) {
    const Node* r = s.compute[ci];
    const Node* p = plan.analyzed->corr[ci];
    Node* g = p != nullptr ? m.GraphNode(p) : nullptr;
    Graph::NodeSpec spec;
    spec.op = r->op();
    spec.target = r->target().qualified;
    BuildArguments(r, p, m, options_, val_map, &spec.args, &spec.kwargs);
    if (g != nullptr) {
      const MetaValue* rv = r->meta().val();
      const MetaValue* gv = g->meta().val();
      const bool keep_replacement_val =
          rv != nullptr && gv != nullptr && !SameValStructure(*rv, *gv);
      // The matched node is erased below and corresponds to this node
      // only, so its metadata can be moved rather than copied.
      spec.meta = std::move(g->mutable_meta());
      if (keep_replacement_val) spec.meta.Set("val", *rv);
    } else {
      spec.meta = r->meta();
    }
    spec.name = graph_.UniqueName(g != nullptr ? g->name() : r->name());
    absl::StatusOr<Node*> made = insert != nullptr
                                     ? graph_.InsertBefore(insert, std::move(spec))
                                     : graph_.Append(std::move(spec));
    if (!made.ok()) {
      return absl::InternalError(absl::StrCat(
          "rewrite left the graph inconsistent: ", made.status().message()));
    }
    val_map.emplace(r, Argument::Ref(*made));
    plan.record.replacements.push_back(*made);
    if (g != nullptr && p->target().qualified == r->target().qualified) {
      renames.emplace_back(*made, g->name());
    }
  }
  return absl::OkStatus();
}

absl::Status GeneralRewrite::RetireMatchedNodes(
    const Plan& plan, const ValMap& val_map,
    const std::vector<std::pair<Node*, std::string>>& renames) {
  const InternalMatch& m = *plan.match;
  const ReplacementShape& s = plan.analyzed->shape;
  for (size_t i = 0; i < s.outputs.size(); ++i) {
    Node* old = m.returning_nodes[i];
    Node* now = val_map.at(s.outputs[i]).node();
    if (old == now) continue;
    absl::Status st = graph_.ReplaceAllUsesWith(old, now);
    if (!st.ok()) return absl::InternalError(st.message());
    replaced_by_[old] = now;
  }
  // Erase matched nodes, last pattern node first, so users go before
  // their producers.
  for (auto it = prep_.pattern_compute.rbegin();
       it != prep_.pattern_compute.rend(); ++it) {
    Node* g = m.GraphNode(*it);
    if (g == nullptr) continue;
    if (val_map.HasNodeValue(g)) continue;
    absl::Status st = graph_.Erase(g);
    if (!st.ok()) return absl::InternalError(st.message());
  }
  for (const auto& [node, name] : renames) {
    if (graph_.FindNode(name) == nullptr) {
      absl::Status st = graph_.Rename(node, name);
      if (!st.ok()) return absl::InternalError(st.message());
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<ReplaceResult> RunGeneral(Graph& graph,
                                         const PreparedRewrite& prep,
                                         const ReplacementFn* fn,
                                         const ReplaceOptions& options) {
  return GeneralRewrite(graph, prep, fn, options).Run();
}

}  // namespace replace_internal
}  // namespace rewire
