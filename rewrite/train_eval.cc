#include "rewrite/train_eval.h"

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "ir/graph.h"
#include "ir/metadata.h"
#include "ir/status_macros.h"
#include "rewrite/mode_constructs.h"
#include "rewrite/pattern_driver.h"
#include "rewrite/pattern_tracer.h"
#include "rewrite/replace_pattern.h"
#include "rewrite/stash.h"
#include "rewrite/subgraph_matcher.h"
#include "rewrite/train_eval_rules.h"

namespace rewire {
namespace {

using train_eval_rules::BuildRules;
using train_eval_rules::CheckMarkers;
using train_eval_rules::Context;
using train_eval_rules::MatchedLiteralArg;
using train_eval_rules::Rule;
using train_eval_rules::kBernoulli;
using train_eval_rules::kClone;
using train_eval_rules::kLegitNoStats;
using train_eval_rules::kNativeDropout;
using train_eval_rules::kNoStatsReason;

// Copies metadata other than "val" and rewire's markers from the donor (the
// new node that inherited the replaced node's metadata) to new nodes that
// came from the tracer only, so every node keeps the stack trace and module
// stack of the op it implements.
void ShareProvenance(const std::vector<Node*>& nodes) {
  const Node* donor = nullptr;
  for (const Node* n : nodes) {
    if (n->meta().Contains("stack_trace") || n->meta().Contains("nn_module_stack")) {
      donor = n;
      break;
    }
  }
  if (donor == nullptr) return;
  for (Node* n : nodes) {
    if (n == donor) continue;
    for (const auto& [key, value] : donor->meta().entries()) {
      if (key == "val" || key == kDropoutMarkerKey || key == kBatchNormMarkerKey) {
        continue;
      }
      if (!n->meta().Contains(key)) n->mutable_meta().Set(key, value);
    }
  }
}

// The one node of `nodes` that a node outside them reads, or nullptr when
// none or several are.
Node* SoleResult(const std::vector<Node*>& nodes) {
  const absl::flat_hash_set<const Node*> in(nodes.begin(), nodes.end());
  Node* result = nullptr;
  for (Node* n : nodes) {
    for (const Node* u : n->Users()) {
      if (in.contains(u)) continue;
      if (result != nullptr && result != n) return nullptr;
      result = n;
    }
  }
  return result;
}

// The stash of a match (rewrite/stash.h): its nodes, with the one the rest of
// the graph reads as the result; empty when there is no single such node.
std::string StashOfMatch(const InternalMatch& m) {
  const std::vector<Node*> nodes = m.MatchedComputeNodes();
  const Node* result = SoleResult(nodes);
  if (result == nullptr) return "";
  absl::StatusOr<std::string> text = EncodeStash(nodes, result);
  return text.ok() ? *std::move(text) : "";
}

// The replacement node the rest of the graph reads, if it can anchor a stash.
Node* StashAnchorOf(const std::vector<Node*>& replacements) {
  Node* anchor = SoleResult(replacements);
  if (anchor == nullptr) return nullptr;
  for (const char* t : kStashAnchorTargets) {
    if (anchor->target().qualified == t) return anchor;
  }
  return nullptr;
}

// What one rule's filter and result hook share while the driver runs it.
struct RuleRun {
  Rule* rule = nullptr;
  // A one-node flag flip comes back by flipping again. Every other eval form
  // keeps the nodes it replaced in a stash, so that the way back restores
  // them exactly instead of re-tracing the training pattern.
  bool flip = false;
  const Node* rm_placeholder = nullptr;
  const Node* rv_placeholder = nullptr;
  absl::flat_hash_map<std::string, std::string> stashes;
  absl::flat_hash_set<std::string> ambiguous;
  int64_t seen = 0;
};

// The state the rules of one switch share.
struct SwitchState {
  TrainEvalReport* report = nullptr;
  absl::flat_hash_set<std::string> reported;
  // A rule's target when the rule is a one-node flag flip whose filter saw
  // every node of that target: each was then flipped, found in the requested
  // mode, or reported, and the left-over check need not visit them again.
  absl::flat_hash_set<std::string>* verified = nullptr;

  // `prevents`: the node stays in training form where eval was asked for.
  void LeftAloneNode(const Node* n, std::string reason, bool prevents) {
    if (reported.insert(n->name()).second) {
      report->left_alone.push_back(LeftAlone{
          n->name(), n->target().qualified, std::move(reason),
          prevents && report->to == ModuleMode::kEval});
    }
  }
};

// The filter of one rule: the training flag in the mode switched from, the
// stats batch norm needs, the dropout marker; records each site's stash.
bool KeepMatch(RuleRun& run, SwitchState& state, const InternalMatch& m) {
  const Rule& rule = *run.rule;
  ++run.seen;
  // The match's first compute node in graph order (no allocation: this runs
  // once per site).
  const Node* op = nullptr;
  for (const auto& [pn, value] : m.nodes_map) {
    if (pn->is_placeholder() || pn->is_output() || !value.is_node()) continue;
    if (op == nullptr || value.node()->IsBefore(op)) op = value.node();
  }
  if (op == nullptr) op = m.GraphAnchor();
  if (rule.from_flag.has_value()) {
    const Argument* flag = MatchedLiteralArg(m, "training");
    if (flag == nullptr) flag = MatchedLiteralArg(m, "train");
    if (flag == nullptr || flag->kind() != Argument::Kind::kBool) {
      state.LeftAloneNode(op, "training flag is not a bool literal", true);
      return false;
    }
    // Already in the requested mode: nothing to do, nothing to report.
    if (flag->as_bool() != *rule.from_flag) return false;
  }
  if (rule.needs_stats) {
    for (const Node* ph : {run.rm_placeholder, run.rv_placeholder}) {
      const Argument* b = ph != nullptr ? m.Binding(ph) : nullptr;
      if (b != nullptr && !b->is_node()) {
        state.LeftAloneNode(op, kNoStatsReason, false);
        return false;
      }
    }
  }
  if (rule.needs_dropout_marker && !op->meta().Contains(kDropoutMarkerKey)) {
    return false;
  }
  if (state.report->to == ModuleMode::kEval && !run.flip) {
    // Keyed by anchor name: two candidate matches at one anchor (one of
    // which the rewriter will drop as overlapping) get no stash rather than
    // possibly the other's; that site comes back by re-tracing.
    const std::string& anchor = m.GraphAnchor()->name();
    if (!run.ambiguous.contains(anchor)) {
      std::string text = StashOfMatch(m);
      auto [it, fresh] = run.stashes.try_emplace(anchor, std::move(text));
      if (!fresh || it->second.empty()) {
        run.stashes.erase(it);
        run.ambiguous.insert(anchor);
      }
    }
  }
  return true;
}

// After the rule's replacements: skips reported, provenance, stashes and
// markers on the new nodes, the sites counted.
void RecordResult(RuleRun& run, SwitchState& state, Graph& graph,
                  ReplaceResult& result) {
  const Rule& rule = *run.rule;
  if (run.flip && rule.anchors.size() == 1 &&
      run.seen == static_cast<int64_t>(graph.CountTarget(rule.anchors[0]))) {
    state.verified->insert(rule.anchors[0]);
  }
  for (const SkippedMatch& s : result.skipped) {
    Node* n = graph.FindNode(s.anchor);
    if (state.reported.insert(s.anchor).second) {
      state.report->left_alone.push_back(LeftAlone{
          s.anchor, n != nullptr ? n->target().qualified : "",
          absl::StrCat("match skipped by the rewriter: ", s.reason),
          state.report->to == ModuleMode::kEval});
    }
  }
  for (ReplacedPattern& rp : result.replaced) {
    if (rule.replacement == nullptr) ShareProvenance(rp.replacements);
    if (auto it = run.stashes.find(rp.anchor); it != run.stashes.end()) {
      if (Node* a = StashAnchorOf(rp.replacements)) {
        a->mutable_meta().Set(kStashKey, MetaValue::String(std::move(it->second)));
      }
    }
    for (Node* n : rp.replacements) {
      if (rule.clear_markers) {
        n->mutable_meta().Erase(kDropoutMarkerKey);
        n->mutable_meta().Erase(kBatchNormMarkerKey);
      }
      if (rule.mark_target != nullptr && n->target().qualified == rule.mark_target) {
        std::string text = rule.fixed_mark;
        if (rule.marks != nullptr) {
          auto it = rule.marks->find(rp.anchor);
          if (it != rule.marks->end()) text = it->second;
        }
        n->mutable_meta().Set(rule.mark_key, MetaValue::String(text));
      }
    }
  }
  state.report->AddSites(rule.pattern_name, rule.dialect,
                         static_cast<int64_t>(result.replaced.size()));
}

// `rule` as a rule of the pattern driver, sharing `run` and `state`.
PatternRule ToPatternRule(Rule& rule, RuleRun& run, SwitchState& state) {
  run.rule = &rule;
  run.rm_placeholder = rule.pattern->FindNode("running_mean");
  run.rv_placeholder = rule.pattern->FindNode("running_var");
  int64_t calls = 0;
  for (const Node* n : *rule.pattern) calls += n->is_call() ? 1 : 0;
  run.flip = rule.from_flag.has_value() && calls == 1 && rule.replacement != nullptr;
  PatternRule p;
  p.name = absl::StrCat(rule.pattern_name, " (", DialectName(rule.dialect), ")");
  p.pattern = BorrowGraph(*rule.pattern);
  if (rule.replacement != nullptr) {
    p.replacement = BorrowGraph(*rule.replacement);
  } else {
    p.fn = rule.fn;
  }
  p.options.ignore_literals = true;
  p.options.preserve_literals = true;
  p.options.preserve_except = {"training", "train"};
  p.options.record_node_maps = false;
  p.options.filters.push_back(
      [&run, &state](const InternalMatch& m, const Graph&, const Graph&) {
        return KeepMatch(run, state, m);
      });
  p.on_result = [&run, &state](Graph& g, ReplaceResult& r) {
    RecordResult(run, state, g, r);
  };
  return p;
}

void ReportUnsupported(const Graph& g, bool dropout, ModuleMode to,
                       TrainEvalReport& report,
                       absl::flat_hash_set<std::string>& reported) {
  auto add = [&](const Node* n, std::string reason) {
    if (reported.insert(n->name()).second) {
      report.left_alone.push_back(
          LeftAlone{n->name(), n->target().qualified, std::move(reason)});
    }
  };
  if (dropout) {
    if (to == ModuleMode::kTrain) {
      std::optional<Dialect> d = DetectDialect(g).dialect;
      if ((d == Dialect::kCoreAten || d == Dialect::kMakeFx) &&
          g.CountTarget(kNativeDropout) == 0 && g.CountTarget(kBernoulli) == 0) {
        report.notes.push_back(absl::StrCat(
            "no dropout to restore in this ", DialectName(*d),
            " graph beyond rewire_dropout markers: an eval-mode export has no "
            "dropout node (core ATen: a clone indistinguishable from others; ",
            g.CountTarget(kClone), " clone node(s) left alone)"));
      }
    }
    return;
  }
  for (const Node* n : g.NodesWithTarget(kLegitNoStats)) add(n, kNoStatsReason);
}

absl::StatusOr<TrainEvalReport> Replace(
    ExportedModule& module, ModuleMode to, bool do_dropout,
    bool do_batch_norm, absl::flat_hash_set<std::string>* verified) {
  TrainEvalReport report;
  const bool to_eval = to == ModuleMode::kEval;
  report.from = to_eval ? ModuleMode::kTrain : ModuleMode::kEval;
  report.to = to;
  Graph& graph = module.graph();
  // Note [Failure atomicity]: every input-dependent check first.
  Context ctx;
  if (do_batch_norm) {
    ASSIGN_OR_RETURN(ctx.device, AssertAndGetUniqueDevice(module));
  }
  ctx.guess = DetectDialect(graph).dialect;
  if (!to_eval) {
    RETURN_IF_ERROR(CheckMarkers(graph));
    RETURN_IF_ERROR(CheckStashes(graph));
  }
  std::vector<Rule> rules;
  if (do_dropout) {
    ASSIGN_OR_RETURN(std::vector<Rule> r, BuildRules(true, to, ctx));
    for (Rule& x : r) rules.push_back(std::move(x));
  }
  if (do_batch_norm) {
    ASSIGN_OR_RETURN(std::vector<Rule> r, BuildRules(false, to, ctx));
    for (Rule& x : r) rules.push_back(std::move(x));
  }
  const Dialect dialect = ctx.guess.value_or(Dialect::kTrainingIr);
  if (!to_eval) {
    // Before dead-code elimination, which would drop an unused alias and
    // its stash (an in-place dropout whose result nobody reads); so the
    // batch-norm-only way back restores them too.
    ASSIGN_OR_RETURN(int64_t restored, RestoreStashes(graph));
    if (restored > 0) report.AddSites("stashed", dialect, restored);
  }
  // Self-contained matches (upstream's eliminate_dead_code).
  report.dead_nodes_removed = static_cast<int64_t>(graph.EliminateDeadCode());
  // Every rule in one application of the driver, in the order built.
  SwitchState state;
  state.report = &report;
  state.verified = verified;
  std::vector<std::unique_ptr<RuleRun>> runs;
  std::vector<PatternRule> pattern_rules;
  for (Rule& rule : rules) {
    runs.push_back(std::make_unique<RuleRun>());
    pattern_rules.push_back(ToPatternRule(rule, *runs.back(), state));
  }
  RETURN_IF_ERROR(ApplyPatternRules(graph, pattern_rules).status());
  // The constructs upstream has no pattern for (rewrite/mode_constructs.h),
  // after the pattern rules so that their sites are settled.
  RETURN_IF_ERROR(SwitchModeConstructs(module, report.to, do_dropout,
                                       do_batch_norm, dialect, report, verified));
  if (do_dropout) ReportUnsupported(graph, true, to, report, state.reported);
  if (do_batch_norm) {
    ReportUnsupported(graph, false, to, report, state.reported);
  }
  return report;
}

// The strict switch's error: every node that keeps the graph from eager
// eval, the first few by name.
absl::Status StrictError(const TrainEvalReport& report) {
  constexpr int kShown = 8;
  std::string out = absl::StrCat(
      "strict eval: ", report.num_preventing_eval(),
      " node(s) would keep the graph from computing what eager eval "
      "computes; the module is unchanged:");
  int shown = 0;
  for (const LeftAlone& l : report.left_alone) {
    if (!l.prevents_eval) continue;
    if (shown++ == kShown) {
      absl::StrAppend(&out, " ... and ", report.num_preventing_eval() - kShown,
                      " more");
      break;
    }
    absl::StrAppend(&out, shown > 1 ? ";" : "", " %", l.node, " (", l.target,
                    "): ", l.reason);
  }
  return absl::FailedPreconditionError(out);
}

absl::StatusOr<TrainEvalReport> Move(ExportedModule& module, ModuleMode to,
                                     const TrainEvalOptions& options) {
  const bool strict = options.strict && to == ModuleMode::kEval;
  if (module.mode() == to) {
    TrainEvalReport report;
    report.from = report.to = to;
    report.already_in_mode = true;
    // Nothing to rewrite, but a strict eval still vouches for the graph.
    if (to == ModuleMode::kEval) {
      ReportModeDependentLeft(module, {}, report);
      if (strict && report.num_preventing_eval() > 0) return StrictError(report);
    }
    return report;
  }
  // Strict: what is left is known only after rewriting, so the switch runs
  // on the module with a copy to put back.
  std::unique_ptr<Graph> backup = strict ? module.graph().Clone() : nullptr;
  absl::flat_hash_set<std::string> verified;
  absl::StatusOr<TrainEvalReport> report =
      Replace(module, to, true, true, &verified);
  if (report.ok() && to == ModuleMode::kEval) {
    ReportModeDependentLeft(module, verified, *report);
    if (strict && report->num_preventing_eval() > 0) {
      report = StrictError(*report);
    }
  }
  if (!report.ok()) {
    // Move the contents back, so the caller's Graph& stays valid (node
    // pointers into the graph do not survive a failed strict switch).
    if (backup != nullptr) module.graph() = std::move(*backup);
    return report.status();
  }
  module.set_mode(to);
  return report;
}


}  // namespace

absl::StatusOr<TrainEvalReport> ReplaceDropout(ExportedModule& module,
                                               ModuleMode to) {
  absl::flat_hash_set<std::string> verified;
  return Replace(module, to, true, false, &verified);
}

absl::StatusOr<TrainEvalReport> ReplaceBatchNorm(ExportedModule& module,
                                                 ModuleMode to) {
  absl::flat_hash_set<std::string> verified;
  return Replace(module, to, false, true, &verified);
}

absl::StatusOr<TrainEvalReport> MoveExportedModelToEval(
    ExportedModule& module, const TrainEvalOptions& options) {
  return Move(module, ModuleMode::kEval, options);
}

absl::StatusOr<TrainEvalReport> MoveExportedModelToTrain(ExportedModule& module) {
  return Move(module, ModuleMode::kTrain, TrainEvalOptions{});
}

void AllowExportedModelTrainEval(ExportedModule& module) {
  module.set_train_eval_allowed(true);
}

absl::StatusOr<TrainEvalReport> TrainModule(ExportedModule& module, ModuleMode mode) {
  if (!module.train_eval_allowed()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "calling ", mode == ModuleMode::kTrain ? "train()" : "train(false)",
        " on an exported model is not supported: its dropout and batch norm "
        "were specialised at export time. Use MoveExportedModelToTrain / "
        "MoveExportedModelToEval, or call AllowExportedModelTrainEval(module) "
        "first to make TrainModule/EvalModule perform them"));
  }
  return mode == ModuleMode::kTrain ? MoveExportedModelToTrain(module)
                                    : MoveExportedModelToEval(module);
}

absl::StatusOr<TrainEvalReport> EvalModule(ExportedModule& module) {
  if (!module.train_eval_allowed()) {
    return absl::FailedPreconditionError(
        "calling eval() on an exported model is not supported: its dropout and "
        "batch norm were specialised at export time. Use "
        "MoveExportedModelToEval, or call AllowExportedModelTrainEval(module) "
        "first to make TrainModule/EvalModule perform it");
  }
  return MoveExportedModelToEval(module);
}

}  // namespace rewire
