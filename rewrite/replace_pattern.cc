#include "rewrite/replace_pattern.h"

#include <algorithm>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/types/span.h"
#include "ir/schema.h"
#include "ir/status_macros.h"
#include "ir/verifier.h"

namespace rewire {
namespace {

// Note [Replacement correspondence]
// Each replacement node is paired with at most one pattern node, whose graph
// image lends it metadata, literals and (when the op is unchanged) its name:
//  1. the producer of replacement output i with the pattern's returning
//     node i, when both are computed nodes;
//  2. then nodes with the same target, in order;
//  3. then the remaining nodes of both sides, in order (so
//     _native_batch_norm_legit pairs with _native_batch_norm_legit_no_training).
std::vector<const Node*> Correspond(
    const std::vector<const Node*>& pattern_compute,
    const std::vector<const Node*>& returning,
    const std::vector<const Node*>& repl_compute,
    const std::vector<const Node*>& repl_outputs) {
  std::vector<const Node*> corr(repl_compute.size(), nullptr);
  std::vector<char> taken(pattern_compute.size(), 0);
  auto pindex = [&](const Node* p) {
    auto it = std::find(pattern_compute.begin(), pattern_compute.end(), p);
    return it == pattern_compute.end() ? -1
                                       : static_cast<int>(it - pattern_compute.begin());
  };
  auto rindex = [&](const Node* r) {
    auto it = std::find(repl_compute.begin(), repl_compute.end(), r);
    return it == repl_compute.end() ? -1
                                    : static_cast<int>(it - repl_compute.begin());
  };
  for (size_t i = 0; i < repl_outputs.size() && i < returning.size(); ++i) {
    int r = rindex(repl_outputs[i]);
    int p = pindex(returning[i]);
    if (r < 0 || p < 0 || corr[r] != nullptr || taken[p]) continue;
    corr[r] = pattern_compute[p];
    taken[p] = 1;
  }
  for (size_t r = 0; r < repl_compute.size(); ++r) {
    if (corr[r] != nullptr) continue;
    for (size_t p = 0; p < pattern_compute.size(); ++p) {
      if (!taken[p] && pattern_compute[p]->op() == repl_compute[r]->op() &&
          pattern_compute[p]->target().qualified ==
              repl_compute[r]->target().qualified) {
        corr[r] = pattern_compute[p];
        taken[p] = 1;
        break;
      }
    }
  }
  size_t p = 0;
  for (size_t r = 0; r < repl_compute.size(); ++r) {
    if (corr[r] != nullptr) continue;
    while (p < pattern_compute.size() && taken[p]) ++p;
    if (p == pattern_compute.size()) break;
    corr[r] = pattern_compute[p];
    taken[p] = 1;
  }
  return corr;
}

// Whether the replacement has the pattern's exact node set (every node paired
// with a pattern node of the same op and target, outputs paired with the
// returning nodes). Such a replacement — the train/eval flips of a training
// flag — is applied by rewriting the matched nodes' arguments in place,
// which keeps names, metadata and node identity and allocates nothing.
bool InPlaceEligible(const std::vector<const Node*>& pattern_compute,
                     const std::vector<const Node*>& returning,
                     const std::vector<const Node*>& repl_compute,
                     const std::vector<const Node*>& repl_outputs,
                     const std::vector<const Node*>& corr) {
  if (repl_compute.size() != pattern_compute.size() ||
      repl_outputs.size() != returning.size()) {
    return false;
  }
  for (size_t i = 0; i < repl_compute.size(); ++i) {
    const Node* p = corr[i];
    if (p == nullptr || p->op() != repl_compute[i]->op() ||
        p->target().qualified != repl_compute[i]->target().qualified) {
      return false;
    }
  }
  for (size_t i = 0; i < repl_outputs.size(); ++i) {
    auto it = std::find(repl_compute.begin(), repl_compute.end(), repl_outputs[i]);
    if (it == repl_compute.end() || corr[it - repl_compute.begin()] != returning[i]) {
      return false;
    }
  }
  return true;
}

bool SameValStructure(const MetaValue& a, const MetaValue& b) {
  if (a.is_tensor() && b.is_tensor()) return true;
  if (a.is_tensor_list() && b.is_tensor_list()) {
    return a.tensors().size() == b.tensors().size();
  }
  return false;
}

bool IsPureLiteral(const Argument& a) {
  if (a.is_node()) return false;
  bool has_node = false;
  a.ForEachNode([&](Node*) { has_node = true; });
  return !has_node;
}

// Sets schema argument `name` of a call to `value` if the current value is a
// literal; appends it as a keyword when it was left to its default.
void SetLiteralArg(const OpSchema& schema, std::vector<Argument>& args,
                   std::vector<Kwarg>& kwargs, absl::string_view name,
                   const Argument& value) {
  int idx = schema.ArgumentIndex(name);
  if (idx < 0) return;
  if (idx < static_cast<int>(args.size())) {
    if (IsPureLiteral(args[idx])) args[idx] = value;
    return;
  }
  for (Kwarg& kw : kwargs) {
    if (kw.name == name) {
      if (IsPureLiteral(kw.value)) kw.value = value;
      return;
    }
  }
  const SchemaArgument& sa = schema.arguments[idx];
  if (sa.default_value.has_value() && *sa.default_value == value) return;
  kwargs.push_back(Kwarg{std::string(name), value});
}

// Replacement node -> its value in the graph (a node, or the literal a
// placeholder bound). A vector: replacements have a handful of nodes.
class ValMap {
 public:
  void emplace(const Node* key, Argument value) {
    entries_.emplace_back(key, std::move(value));
  }
  const Argument& at(const Node* key) const {
    for (const auto& e : entries_) {
      if (e.first == key) return e.second;
    }
    REWIRE_CHECK(false);  // every replacement node precedes its users
    return entries_.front().second;
  }
  void clear() { entries_.clear(); }
  bool HasNodeValue(const Node* n) const {
    for (const auto& e : entries_) {
      if (e.second.is_node() && e.second.node() == n) return true;
    }
    return false;
  }

 private:
  std::vector<std::pair<const Node*, Argument>> entries_;
};

// Replaces node references in `a` by their values in `val_map` (a node or a
// literal), rebuilding lists iteratively.
Argument Substitute(const Argument& a, const ValMap& val_map) {
  if (a.is_node()) return val_map.at(a.node());
  if (!a.is_list()) return a;
  // Post-order rebuild with an explicit stack.
  struct Frame {
    const std::vector<Argument>* src;
    size_t next;
    std::vector<Argument> out;
  };
  std::vector<Frame> stack;
  stack.push_back({&a.as_list(), 0, {}});
  while (true) {
    Frame& f = stack.back();
    if (f.next == f.src->size()) {
      Argument built = Argument::List(std::move(f.out));
      stack.pop_back();
      if (stack.empty()) return built;
      stack.back().out.push_back(std::move(built));
      continue;
    }
    const Argument& item = (*f.src)[f.next++];
    if (item.is_list()) {
      stack.push_back({&item.as_list(), 0, {}});
    } else if (item.is_node()) {
      f.out.push_back(val_map.at(item.node()));
    } else {
      f.out.push_back(item);
    }
  }
}

struct ReplacementShape {
  std::vector<const Node*> placeholders;
  std::vector<const Node*> compute;
  std::vector<const Node*> outputs;  // output operands, by slot
  bool in_place = false;             // see InPlaceEligible
};

absl::StatusOr<ReplacementShape> Analyze(const Graph& replacement) {
  ReplacementShape s;
  if (replacement.output() == nullptr) {
    return absl::InvalidArgumentError("replacement graph has no output node");
  }
  // An invalid replacement would make the rewritten graph invalid.
  if (absl::Status v = Verify(replacement); !v.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid replacement graph: ", v.message()));
  }
  for (const Node* n : replacement) {
    if (n->is_placeholder()) {
      s.placeholders.push_back(n);
    } else if (!n->is_output()) {
      s.compute.push_back(n);
    }
  }
  for (size_t i = 0; i < replacement.output()->num_operands(); ++i) {
    s.outputs.push_back(replacement.output()->operand(i));
  }
  return s;
}

// The arguments replacement node `r` gets in the graph: its own, with
// placeholders and replacement nodes substituted, then the literals carried
// over from pattern node `p`'s match (preserve_literals, literal_bindings).
void BuildArguments(const Node* r, const Node* p, const InternalMatch& m,
                    const ReplaceOptions& options, const ValMap& val_map,
                    std::vector<Argument>* args, std::vector<Kwarg>* kwargs) {
  for (const Argument& a : r->args()) args->push_back(Substitute(a, val_map));
  for (const Kwarg& kw : r->kwargs()) {
    kwargs->push_back(Kwarg{kw.name, Substitute(kw.value, val_map)});
  }
  const OpSchema* schema = r->is_call() ? r->target().schema : nullptr;
  if (schema == nullptr) return;
  if (p != nullptr && options.preserve_literals) {
    for (const MatchedLiteral& lit : m.literals) {
      if (lit.pattern_node != p || lit.arg_name.empty() ||
          !IsPureLiteral(lit.graph_value) ||
          std::find(options.preserve_except.begin(),
                    options.preserve_except.end(),
                    lit.arg_name) != options.preserve_except.end()) {
        continue;
      }
      SetLiteralArg(*schema, *args, *kwargs, lit.arg_name, lit.graph_value);
    }
  }
  for (const LiteralBinding& b : options.literal_bindings) {
    if (b.replacement_node != r->name()) continue;
    const MatchedLiteral* lit = m.FindLiteral(b.pattern_node, b.pattern_arg);
    if (lit != nullptr && IsPureLiteral(lit->graph_value)) {
      SetLiteralArg(*schema, *args, *kwargs, b.replacement_arg,
                    lit->graph_value);
    }
  }
}

// A replacement graph analyzed once, however many matches it serves.
struct AnalyzedReplacement {
  ReplacementShape shape;
  std::vector<const Node*> corr;  // by shape.compute index
};

struct Plan {
  const InternalMatch* match;
  const Graph* replacement;
  // Keeps a per-match replacement alive (callbacks may share one graph
  // between matches).
  std::shared_ptr<const Graph> owned;
  const ReplacementShape* shape;
  const std::vector<const Node*>* corr;  // by shape->compute index
  // Names recorded before any change: later replacements erase nodes that
  // earlier matches refer to.
  ReplacedPattern record;
};

std::string BindingText(const Argument& a) {
  return a.is_node() ? a.node()->name() : a.DebugString();
}

// The common train/eval case, streamed: a fixed replacement applied in place
// (InPlaceEligible) to a pattern with one compute node, whose matches never
// overlap and arrive in graph order. Each match becomes an edit while the
// matcher runs, so no InternalMatch is stored. When only literals change (a
// flipped `train` flag), the edit is applied at once, while the node is
// still in cache, and journaled: no operand or user list is touched, later
// matches never look at an earlier site, and an error in a later match
// rolls the journal back, so the rewrite stays all-or-nothing. Edits that
// rewire operands are rare and wait until every match has been checked.
absl::StatusOr<ReplaceResult> RunInPlaceStream(
    Graph& graph, const Graph& pattern, const SubgraphMatcher& matcher,
    const ReplacementShape& shape, const Node* pattern_node,
    const ReplaceOptions& options) {
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
  ReplaceResult result;
  std::vector<LiteralEdit> journal;
  std::vector<LiteralEdit> pending;
  std::vector<FullEdit> full_edits;
  absl::Status error;
  const Node* r = shape.compute.front();
  ValMap vm;
  std::vector<Argument> args;
  std::vector<Kwarg> kwargs;
  // At most one record per node with the pattern's target: one allocation
  // instead of a growing vector copied over and over on a large graph.
  if (pattern_node->is_call()) {
    result.replaced.reserve(graph.CountTarget(pattern_node->target().qualified));
  }
  // Swaps each pending value with the node's argument: applies the edit and
  // keeps the old value for a rollback.
  auto apply_pending = [&]() -> absl::Status {
    for (LiteralEdit& e : pending) {
      const size_t nargs = e.node->args().size();
      const Argument& current =
          e.index < nargs ? e.node->args()[e.index]
                          : e.node->kwargs()[e.index - nargs].value;
      Argument old = current;
      RETURN_IF_ERROR(graph.SetLiteralArgument(e.node, e.index, std::move(e.value)));
      e.value = std::move(old);
      journal.push_back(std::move(e));
    }
    pending.clear();
    return absl::OkStatus();
  };
  absl::StatusOr<MatchResult> mr =
      matcher.ForEachMatch(graph, [&](const InternalMatch& m) {
        for (const MatchFilter& f : options.filters) {
          if (!f(m, graph, pattern)) {
            ++result.rejected_by_filters;
            return true;
          }
        }
        for (const LiteralBinding& b : options.literal_bindings) {
          if (m.FindLiteral(b.pattern_node, b.pattern_arg) == nullptr) {
            error = absl::InvalidArgumentError(absl::StrCat(
                "literal binding: pattern node %", b.pattern_node,
                " has no literal argument '", b.pattern_arg, "'"));
            return false;
          }
        }
        Node* g = m.GraphNode(pattern_node);
        vm.clear();
        for (size_t i = 0; i < shape.placeholders.size(); ++i) {
          vm.emplace(shape.placeholders[i], m.placeholder_bindings[i]);
        }
        vm.emplace(r, Argument::Ref(g));
        args.clear();
        kwargs.clear();
        BuildArguments(r, pattern_node, m, options, vm, &args, &kwargs);
        absl::Span<const Argument> old_args = g->args();
        const std::vector<Kwarg>& old_kwargs = g->kwargs();
        bool literal_only = args.size() == old_args.size() &&
                            kwargs.size() == old_kwargs.size();
        for (size_t i = 0; literal_only && i < kwargs.size(); ++i) {
          literal_only = kwargs[i].name == old_kwargs[i].name;
        }
        pending.clear();
        for (size_t i = 0; literal_only && i < args.size() + kwargs.size(); ++i) {
          Argument& now = i < args.size() ? args[i] : kwargs[i - args.size()].value;
          const Argument& was =
              i < args.size() ? old_args[i] : old_kwargs[i - args.size()].value;
          if (now == was) continue;
          if (!IsPureLiteral(now) || !IsPureLiteral(was)) {
            literal_only = false;
            break;
          }
          pending.push_back(LiteralEdit{g, static_cast<uint32_t>(i), std::move(now)});
        }
        ReplacedPattern record;
        record.anchor = g->name();
        if (literal_only) {
          error = apply_pending();
          if (!error.ok()) return false;
        } else {
          pending.clear();
          args.clear();
          kwargs.clear();
          BuildArguments(r, pattern_node, m, options, vm, &args, &kwargs);
          std::string undefined;
          auto check = [&](Node* n) {
            if (undefined.empty() && (n == g || !n->IsBefore(g))) {
              undefined = n->name();
            }
          };
          for (const Argument& a : args) a.ForEachNode(check);
          for (const Kwarg& kw : kwargs) kw.value.ForEachNode(check);
          if (!undefined.empty()) {
            result.skipped.push_back(SkippedMatch{
                record.anchor, absl::StrCat("the rewritten node would use %",
                                            undefined, " before it is defined")});
            return true;
          }
          full_edits.push_back(FullEdit{g, args, kwargs});
        }
        if (options.record_node_maps) {
          for (const auto& [pn, value] : m.nodes_map) {
            record.nodes_map.emplace_back(pn->name(), BindingText(value));
          }
        }
        record.replacements.push_back(g);
        result.replaced.push_back(std::move(record));
        return true;
      });
  if (!mr.ok() || !error.ok()) {
    for (auto it = journal.rbegin(); it != journal.rend(); ++it) {
      absl::Status st =
          graph.SetLiteralArgument(it->node, it->index, std::move(it->value));
      REWIRE_CHECK(st.ok());  // restoring what was there
    }
    return !mr.ok() ? mr.status() : error;
  }
  result.limit_reached = mr->limit_reached;
  // Only internal invariants can fail from here on. (The "val" of each node
  // stays: the op is unchanged, so is the structure of its value.)
  for (FullEdit& e : full_edits) {
    absl::Status st =
        graph.SetArguments(e.node, std::move(e.args), std::move(e.kwargs));
    if (!st.ok()) return absl::InternalError(st.message());
  }
  return result;
}

absl::StatusOr<ReplaceResult> Run(Graph& graph, const Graph& pattern,
                                  const Graph* fixed, const ReplacementFn* fn,
                                  const ReplaceOptions& options) {
  MatcherOptions mopts;
  mopts.ignore_literals = options.ignore_literals;
  mopts.max_steps = options.max_steps;
  ASSIGN_OR_RETURN(std::unique_ptr<SubgraphMatcher> matcher,
                   SubgraphMatcher::Create(pattern, mopts));
  std::vector<const Node*> pattern_compute;
  for (const Node* n : pattern) {
    if (n->is_call() || n->is_get_attr()) pattern_compute.push_back(n);
  }
  const std::vector<const Node*>& returning = matcher->returning_nodes();
  std::unique_ptr<ReplacementShape> fixed_shape;
  std::vector<const Node*> fixed_corr;
  if (fixed != nullptr) {
    ASSIGN_OR_RETURN(ReplacementShape s, Analyze(*fixed));
    fixed_shape = std::make_unique<ReplacementShape>(std::move(s));
    fixed_corr = Correspond(pattern_compute, returning, fixed_shape->compute,
                            fixed_shape->outputs);
    fixed_shape->in_place =
        InPlaceEligible(pattern_compute, returning, fixed_shape->compute,
                        fixed_shape->outputs, fixed_corr);
    if (fixed_shape->in_place && matcher->single_compute_node() &&
        fixed_shape->placeholders.size() <= matcher->placeholders().size()) {
      for (const LiteralBinding& b : options.literal_bindings) {
        const Node* rn = fixed->FindNode(b.replacement_node);
        if (rn == nullptr || !rn->is_call() || rn->target().schema == nullptr ||
            rn->target().schema->ArgumentIndex(b.replacement_arg) < 0) {
          return absl::InvalidArgumentError(absl::StrCat(
              "literal binding: replacement has no call %", b.replacement_node,
              " with an argument '", b.replacement_arg, "'"));
        }
      }
      return RunInPlaceStream(graph, pattern, *matcher, *fixed_shape,
                              fixed_corr.front(), options);
    }
  }
  ReplaceResult result;
  ASSIGN_OR_RETURN(
      MatchResult mr,
      matcher->MatchFiltered(graph, [&](const InternalMatch& m) {
        for (const MatchFilter& f : options.filters) {
          if (!f(m, graph, pattern)) {
            ++result.rejected_by_filters;
            return false;
          }
        }
        return true;
      }));
  result.limit_reached = mr.limit_reached;

  // Phase 1: everything that can fail on input, before any change.
  std::vector<Plan> plans;
  plans.reserve(mr.matches.size());
  // Per-match replacements by graph: a callback that returns the same graph
  // for many matches has it verified and analyzed once. The plans keep every
  // graph alive, so no address is reused while this map exists.
  absl::flat_hash_map<const Graph*, std::unique_ptr<AnalyzedReplacement>>
      analyzed;
  for (const InternalMatch& m : mr.matches) {
    Plan plan;
    plan.match = &m;
    if (fixed != nullptr) {
      plan.replacement = fixed;
      plan.shape = fixed_shape.get();
      plan.corr = &fixed_corr;
    } else {
      absl::StatusOr<std::shared_ptr<const Graph>> made = (*fn)(m, graph);
      if (made.ok() && *made == nullptr) {
        made = absl::InvalidArgumentError("the callback returned no graph");
      }
      if (!made.ok()) {
        return absl::Status(
            made.status().code(),
            absl::StrCat("building the replacement for the match at %",
                         m.GraphAnchor()->name(), ": ",
                         made.status().message()));
      }
      plan.owned = std::move(*made);
      plan.replacement = plan.owned.get();
      std::unique_ptr<AnalyzedReplacement>& a = analyzed[plan.replacement];
      if (a == nullptr) {
        ASSIGN_OR_RETURN(ReplacementShape shape, Analyze(*plan.replacement));
        a = std::make_unique<AnalyzedReplacement>();
        a->shape = std::move(shape);
        a->corr = Correspond(pattern_compute, returning, a->shape.compute,
                             a->shape.outputs);
        a->shape.in_place =
            InPlaceEligible(pattern_compute, returning, a->shape.compute,
                            a->shape.outputs, a->corr);
      }
      plan.shape = &a->shape;
      plan.corr = &a->corr;
    }
    const ReplacementShape& s = *plan.shape;
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
    for (const LiteralBinding& b : options.literal_bindings) {
      const Node* rn = plan.replacement->FindNode(b.replacement_node);
      if (rn == nullptr || !rn->is_call() || rn->target().schema == nullptr ||
          rn->target().schema->ArgumentIndex(b.replacement_arg) < 0) {
        return absl::InvalidArgumentError(absl::StrCat(
            "literal binding: replacement has no call %", b.replacement_node,
            " with an argument '", b.replacement_arg, "'"));
      }
      if (m.FindLiteral(b.pattern_node, b.pattern_arg) == nullptr) {
        return absl::InvalidArgumentError(absl::StrCat(
            "literal binding: pattern node %", b.pattern_node,
            " has no literal argument '", b.pattern_arg, "'"));
      }
    }
    plan.record.anchor = m.GraphAnchor()->name();
    if (options.record_node_maps) {
      for (const auto& [pn, value] : m.nodes_map) {
        plan.record.nodes_map.emplace_back(pn->name(), BindingText(value));
      }
    }
    plans.push_back(std::move(plan));
  }

  // Phase 2: apply. Only internal invariants can fail from here on.
  absl::flat_hash_map<const Node*, Node*> replaced_by;
  // Bindings hold nodes of the original graph, and matches never involve
  // nodes made by earlier replacements, so one lookup suffices. (Chasing a
  // chain would be wrong: an erased node's address may be reused by a new
  // node.)
  auto remap = [&](Node* n) {
    auto it = replaced_by.find(n);
    return it == replaced_by.end() ? n : it->second;
  };
  for (Plan& plan : plans) {
    const InternalMatch& m = *plan.match;
    const ReplacementShape& s = *plan.shape;
    ReplacedPattern& record = plan.record;

    std::vector<Argument> bindings;
    for (size_t i = 0; i < s.placeholders.size(); ++i) {
      Argument b = m.placeholder_bindings[i];
      b.MapNodes(remap);
      bindings.push_back(std::move(b));
    }
    if (s.in_place) {
      ValMap vm;
      for (size_t i = 0; i < s.placeholders.size(); ++i) {
        vm.emplace(s.placeholders[i], bindings[i]);
      }
      for (size_t ci = 0; ci < s.compute.size(); ++ci) {
        vm.emplace(s.compute[ci], Argument::Ref(m.GraphNode((*plan.corr)[ci])));
      }
      std::vector<std::pair<std::vector<Argument>, std::vector<Kwarg>>> new_args(
          s.compute.size());
      std::string undefined;
      for (size_t ci = 0; ci < s.compute.size(); ++ci) {
        const Node* p = (*plan.corr)[ci];
        Node* g = m.GraphNode(p);
        BuildArguments(s.compute[ci], p, m, options, vm, &new_args[ci].first,
                       &new_args[ci].second);
        auto check = [&](Node* n) {
          if (undefined.empty() && (n == g || !n->IsBefore(g))) {
            undefined = n->name();
          }
        };
        for (const Argument& a : new_args[ci].first) a.ForEachNode(check);
        for (const Kwarg& kw : new_args[ci].second) kw.value.ForEachNode(check);
      }
      if (!undefined.empty()) {
        result.skipped.push_back(SkippedMatch{
            record.anchor, absl::StrCat("the rewritten node would use %",
                                        undefined, " before it is defined")});
        continue;
      }
      for (size_t ci = 0; ci < s.compute.size(); ++ci) {
        const Node* r = s.compute[ci];
        Node* g = m.GraphNode((*plan.corr)[ci]);
        if (new_args[ci].first != g->args() || new_args[ci].second != g->kwargs()) {
          absl::Status st = graph.SetArguments(g, std::move(new_args[ci].first),
                                               std::move(new_args[ci].second));
          if (!st.ok()) return absl::InternalError(st.message());
        }
        const MetaValue* rv = r->meta().val();
        const MetaValue* gv = g->meta().val();
        if (rv != nullptr && gv != nullptr && !SameValStructure(*rv, *gv)) {
          g->mutable_meta().Set("val", *rv);
        }
        record.replacements.push_back(g);
      }
      result.replaced.push_back(std::move(record));
      continue;
    }

    std::vector<Node*> returning_now;
    for (Node* r : m.returning_nodes) returning_now.push_back(r);
    // Insertion point: before the first user of any returning node, else
    // right after the last returning node.
    Node* insert = nullptr;
    for (Node* r : returning_now) {
      for (const Use& u : r->uses()) {
        if (insert == nullptr || u.user->IsBefore(insert)) insert = u.user;
      }
    }
    if (insert == nullptr) {
      Node* last = returning_now.front();
      for (Node* r : returning_now) {
        if (last->IsBefore(r)) last = r;
      }
      insert = last->next();
    }
    std::string undefined;
    for (const Argument& b : bindings) {
      b.ForEachNode([&](Node* n) {
        if (undefined.empty() && insert != nullptr && !n->IsBefore(insert)) {
          undefined = n->name();
        }
      });
    }
    if (!undefined.empty()) {
      result.skipped.push_back(SkippedMatch{
          record.anchor,
          absl::StrCat("the replacement would be inserted before its input %",
                       undefined, " is defined")});
      continue;
    }

    ValMap val_map;
    for (size_t i = 0; i < s.placeholders.size(); ++i) {
      val_map.emplace(s.placeholders[i], bindings[i]);
    }
    std::vector<std::pair<Node*, std::string>> renames;
    for (size_t ci = 0; ci < s.compute.size(); ++ci) {
      const Node* r = s.compute[ci];
      const Node* p = (*plan.corr)[ci];
      Node* g = p != nullptr ? m.GraphNode(p) : nullptr;
      Graph::NodeSpec spec;
      spec.op = r->op();
      spec.target = r->target().qualified;
      BuildArguments(r, p, m, options, val_map, &spec.args, &spec.kwargs);
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
      spec.name = graph.UniqueName(g != nullptr ? g->name() : r->name());
      absl::StatusOr<Node*> made = insert != nullptr
                                       ? graph.InsertBefore(insert, std::move(spec))
                                       : graph.Append(std::move(spec));
      if (!made.ok()) {
        return absl::InternalError(absl::StrCat(
            "rewrite left the graph inconsistent: ", made.status().message()));
      }
      val_map.emplace(r, Argument::Ref(*made));
      record.replacements.push_back(*made);
      if (g != nullptr && p->target().qualified == r->target().qualified) {
        renames.emplace_back(*made, g->name());
      }
    }
    for (size_t i = 0; i < s.outputs.size(); ++i) {
      Node* old = returning_now[i];
      Node* now = val_map.at(s.outputs[i]).node();
      if (old == now) continue;
      absl::Status st = graph.ReplaceAllUsesWith(old, now);
      if (!st.ok()) return absl::InternalError(st.message());
      replaced_by[old] = now;
    }
    // Erase matched nodes, last pattern node first, so users go before
    // their producers.
    for (auto it = pattern_compute.rbegin(); it != pattern_compute.rend(); ++it) {
      Node* g = m.GraphNode(*it);
      if (g == nullptr) continue;
      if (val_map.HasNodeValue(g)) continue;
      absl::Status st = graph.Erase(g);
      if (!st.ok()) return absl::InternalError(st.message());
    }
    for (auto& [node, name] : renames) {
      if (graph.FindNode(name) == nullptr) {
        absl::Status st = graph.Rename(node, name);
        if (!st.ok()) return absl::InternalError(st.message());
      }
    }
    result.replaced.push_back(std::move(record));
  }
  return result;
}

}  // namespace

absl::StatusOr<ReplaceResult> ReplacePatternWithFilters(
    Graph& graph, const Graph& pattern, const Graph& replacement,
    const ReplaceOptions& options) {
  return Run(graph, pattern, &replacement, nullptr, options);
}

absl::StatusOr<ReplaceResult> ReplacePatternWithFilters(
    Graph& graph, const Graph& pattern, const ReplacementFn& replacement,
    const ReplaceOptions& options) {
  return Run(graph, pattern, nullptr, &replacement, options);
}

}  // namespace rewire
