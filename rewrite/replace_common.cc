#include "rewrite/replace_common.h"

#include <algorithm>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "ir/schema.h"
#include "ir/status_macros.h"
#include "ir/verifier.h"

namespace rewire {
namespace replace_internal {
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

// See ReplacementShape::in_place.
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

std::string BindingText(const Argument& a) {
  return a.is_node() ? a.node()->name() : a.DebugString();
}

}  // namespace

absl::StatusOr<AnalyzedReplacement> AnalyzeReplacement(
    const Graph& replacement, const std::vector<const Node*>& pattern_compute,
    const std::vector<const Node*>& returning) {
  AnalyzedReplacement a;
  ASSIGN_OR_RETURN(a.shape, Analyze(replacement));
  a.corr = Correspond(pattern_compute, returning, a.shape.compute,
                      a.shape.outputs);
  a.shape.in_place = InPlaceEligible(pattern_compute, returning,
                                     a.shape.compute, a.shape.outputs, a.corr);
  return a;
}

absl::StatusOr<PreparedRewrite> Prepare(const Graph& pattern,
                                        const Graph* fixed,
                                        const ReplaceOptions& options) {
  PreparedRewrite prep;
  prep.pattern = &pattern;
  MatcherOptions mopts;
  mopts.ignore_literals = options.ignore_literals;
  mopts.match_placeholder = options.match_placeholder;
  mopts.max_steps = options.max_steps;
  ASSIGN_OR_RETURN(prep.matcher, SubgraphMatcher::Create(pattern, mopts));
  for (const Node* n : pattern) {
    if (n->is_call() || n->is_get_attr()) prep.pattern_compute.push_back(n);
  }
  if (fixed != nullptr) {
    ASSIGN_OR_RETURN(AnalyzedReplacement a,
                     AnalyzeReplacement(*fixed, prep.pattern_compute,
                                        prep.returning()));
    prep.fixed = fixed;
    prep.fixed_analysis = std::make_unique<AnalyzedReplacement>(std::move(a));
  }
  return prep;
}

bool IsPureLiteral(const Argument& a) {
  if (a.is_node()) return false;
  bool has_node = false;
  a.ForEachNode([&](Node*) { has_node = true; });
  return !has_node;
}

bool SameValStructure(const MetaValue& a, const MetaValue& b) {
  if (a.is_tensor() && b.is_tensor()) return true;
  if (a.is_tensor_list() && b.is_tensor_list()) {
    return a.tensors().size() == b.tensors().size();
  }
  return false;
}

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

bool PassesFilters(const ReplaceOptions& options, const InternalMatch& m,
                   const Graph& graph, const Graph& pattern,
                   ReplaceResult* result) {
  for (size_t i = 0; i < options.filters.size(); ++i) {
    if (!options.filters[i](m, graph, pattern)) {
      ++result->rejected_by_filters;
      if (result->rejected_by_filter.size() < options.filters.size()) {
        result->rejected_by_filter.resize(options.filters.size());
      }
      ++result->rejected_by_filter[i];
      return false;
    }
  }
  return true;
}

absl::Status CheckBindingTarget(const Graph& replacement,
                                const LiteralBinding& b) {
  const Node* rn = replacement.FindNode(b.replacement_node);
  if (rn == nullptr || !rn->is_call() || rn->target().schema == nullptr ||
      rn->target().schema->ArgumentIndex(b.replacement_arg) < 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "literal binding: replacement has no call %", b.replacement_node,
        " with an argument '", b.replacement_arg, "'"));
  }
  return absl::OkStatus();
}

absl::Status CheckBindingSource(const InternalMatch& m,
                                const LiteralBinding& b) {
  if (m.FindLiteral(b.pattern_node, b.pattern_arg) == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat(
        "literal binding: pattern node %", b.pattern_node,
        " has no literal argument '", b.pattern_arg, "'"));
  }
  return absl::OkStatus();
}

std::string FirstOperandNotBefore(const std::vector<Argument>& args,
                                  const std::vector<Kwarg>& kwargs,
                                  const Node* g) {
  std::string undefined;
  auto check = [&](Node* n) {
    if (undefined.empty() && (n == g || !n->IsBefore(g))) {
      undefined = n->name();
    }
  };
  for (const Argument& a : args) a.ForEachNode(check);
  for (const Kwarg& kw : kwargs) kw.value.ForEachNode(check);
  return undefined;
}

SkippedMatch RewrittenNodeUsesUndefined(std::string anchor,
                                        absl::string_view undefined) {
  return SkippedMatch{std::move(anchor),
                      absl::StrCat("the rewritten node would use %", undefined,
                                   " before it is defined")};
}

void RecordNodesMap(const InternalMatch& m, const ReplaceOptions& options,
                    ReplacedPattern* record) {
  if (!options.record_node_maps) return;
  for (const auto& [pn, value] : m.nodes_map) {
    record->nodes_map.emplace_back(pn->name(), BindingText(value));
  }
}

}  // namespace replace_internal
}  // namespace rewire
