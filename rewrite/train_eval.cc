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
#include "rewrite/pattern_tracer.h"
#include "rewrite/replace_pattern.h"
#include "rewrite/stash.h"
#include "rewrite/subgraph_matcher.h"

namespace rewire {
namespace {

constexpr char kDropout[] = "aten.dropout.default";
constexpr char kDropoutInplace[] = "aten.dropout_.default";
constexpr char kNativeDropout[] = "aten.native_dropout.default";
constexpr char kBernoulli[] = "aten.bernoulli_.float";
constexpr char kAlias[] = "aten.alias.default";
constexpr char kClone[] = "aten.clone.default";
constexpr char kBatchNorm[] = "aten.batch_norm.default";
constexpr char kNativeBatchNorm[] = "aten.native_batch_norm.default";
constexpr char kLegit[] = "aten._native_batch_norm_legit.default";
constexpr char kLegitNoStats[] = "aten._native_batch_norm_legit.no_stats";
constexpr char kNoTraining[] = "aten._native_batch_norm_legit_no_training.default";
constexpr char kFunctional[] = "aten._native_batch_norm_legit_functional.default";
constexpr char kCudnn[] = "aten.cudnn_batch_norm.default";

constexpr char kNoStatsReason[] =
    "batch norm without running stats: stays in training mode (batch "
    "statistics), as in eager PyTorch";

// Shortest decimal that reads back to the same double, so markers restore
// literals exactly.
std::string ExactDouble(double d) {
  for (int precision = 1; precision <= 17; ++precision) {
    std::string s = absl::StrFormat("%.*g", precision, d);
    double back = 0;
    if (absl::SimpleAtod(s, &back) && back == d) return s;
  }
  return absl::StrFormat("%.17g", d);
}

using MarkerFields = std::vector<std::pair<std::string, std::string>>;

absl::StatusOr<MarkerFields> ParseMarker(const Node& n, absl::string_view key) {
  const MetaValue* v = n.meta().Find(key);
  if (v == nullptr || !v->is_string()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "%", n.name(), ": metadata '", key, "' is missing or not a string"));
  }
  MarkerFields fields;
  for (absl::string_view part : absl::StrSplit(v->as_string(), ';')) {
    std::pair<std::string, std::string> kv = absl::StrSplit(part, '=');
    if (kv.first.empty()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "%", n.name(), ": malformed ", key, " marker '", v->as_string(), "'"));
    }
    fields.push_back(std::move(kv));
  }
  return fields;
}

const std::string* Field(const MarkerFields& f, absl::string_view name) {
  for (const auto& [k, v] : f) {
    if (k == name) return &v;
  }
  return nullptr;
}

absl::StatusOr<double> DoubleField(const Node& n, const MarkerFields& f,
                                   absl::string_view name) {
  const std::string* s = Field(f, name);
  double d = 0;
  if (s == nullptr || !absl::SimpleAtod(*s, &d)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "%", n.name(), ": ", kDropoutMarkerKey, " marker lacks a numeric '",
        name, "'"));
  }
  return d;
}

// What a dropout marker says: the dialect and the literals to restore.
struct DropoutMarker {
  Dialect dialect = Dialect::kCoreAten;
  double p = 0.5;
  std::optional<double> keep;  // make_fx: bernoulli_'s p (nullopt: default)
  double divisor = 0.5;        // make_fx: div_'s divisor
};

absl::StatusOr<DropoutMarker> ParseDropoutMarker(const Node& n) {
  ASSIGN_OR_RETURN(MarkerFields f, ParseMarker(n, kDropoutMarkerKey));
  const std::string* d = Field(f, "dialect");
  if (d == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat(
        "%", n.name(), ": ", kDropoutMarkerKey, " marker names no dialect"));
  }
  DropoutMarker m;
  ASSIGN_OR_RETURN(m.dialect, ParseDialect(*d));
  ASSIGN_OR_RETURN(m.p, DoubleField(n, f, "p"));
  if (m.dialect == Dialect::kMakeFx) {
    const std::string* keep = Field(f, "keep");
    if (keep != nullptr && *keep != "default") {
      ASSIGN_OR_RETURN(double k, DoubleField(n, f, "keep"));
      m.keep = k;
    }
    ASSIGN_OR_RETURN(m.divisor, DoubleField(n, f, "divisor"));
  } else if (m.dialect != Dialect::kCoreAten) {
    return absl::InvalidArgumentError(absl::StrCat(
        "%", n.name(), ": ", kDropoutMarkerKey, " marker for dialect ", *d,
        ", which keeps an eval dropout node of its own"));
  }
  return m;
}

absl::StatusOr<std::optional<Dialect>> ParseBatchNormMarker(const Node& n) {
  if (!n.meta().Contains(kBatchNormMarkerKey)) return std::nullopt;
  ASSIGN_OR_RETURN(MarkerFields f, ParseMarker(n, kBatchNormMarkerKey));
  const std::string* d = Field(f, "dialect");
  if (d == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat(
        "%", n.name(), ": ", kBatchNormMarkerKey, " marker names no dialect"));
  }
  ASSIGN_OR_RETURN(Dialect dialect, ParseDialect(*d));
  if (dialect != Dialect::kPreDispatch && dialect != Dialect::kCoreAten) {
    return absl::InvalidArgumentError(absl::StrCat(
        "%", n.name(), ": ", kBatchNormMarkerKey, " marker for dialect ", *d,
        ", which has no _native_batch_norm_legit_no_training"));
  }
  return dialect;
}

// Example shapes of upstream's patterns.
TensorMeta ExampleX() { return TensorMeta::Make(ScalarType::kFloat32, {1, 1, 3, 3}); }
TensorMeta ExampleC() { return TensorMeta::Make(ScalarType::kFloat32, {1}); }
TensorMeta ExampleDropoutX() { return TensorMeta::Make(ScalarType::kFloat32, {1}); }

// The "val" a placeholder binding has in the graph, or `fallback`.
TensorMeta BindingMeta(const Argument& binding, TensorMeta fallback) {
  if (binding.is_node()) {
    const MetaValue* v = binding.node()->meta().val();
    if (v != nullptr && v->is_tensor()) return v->tensor();
  }
  return fallback;
}

// The graph literal the match met at argument `arg` of any pattern node.
const Argument* MatchedLiteralArg(const InternalMatch& m, absl::string_view arg) {
  for (const MatchedLiteral& lit : m.literals) {
    if (lit.arg_name == arg) return &lit.graph_value;
  }
  return nullptr;
}

double LiteralDouble(const Argument* a, double fallback) {
  if (a == nullptr) return fallback;
  if (a->kind() == Argument::Kind::kDouble) return a->as_double();
  if (a->kind() == Argument::Kind::kInt) return static_cast<double>(a->as_int());
  return fallback;
}

// One pattern pass.
struct Rule {
  std::string pattern_name;
  Dialect dialect = Dialect::kTrainingIr;
  // Run only when one of these targets is in the graph.
  std::vector<const char*> anchors;
  std::unique_ptr<Graph> pattern;
  std::unique_ptr<Graph> replacement;  // fixed, or null when `fn` is used
  ReplacementFn fn;
  // The "training"/"train" literal must be this (the op spells both modes).
  std::optional<bool> from_flag;
  // Batch norm: running stats must be tensors, else the node is left alone.
  bool needs_stats = false;
  // Only aliases carrying a dropout marker.
  bool needs_dropout_marker = false;
  // After the pass: marker to set on new nodes of this target.
  const char* mark_target = nullptr;
  std::string mark_key;
  // Per-match marker text by anchor name (filled by `fn`).
  std::shared_ptr<absl::flat_hash_map<std::string, std::string>> marks;
  std::string fixed_mark;
  // Remove markers from the new nodes (the way back).
  bool clear_markers = false;
};

struct Context {
  std::optional<Device> device;  // AssertAndGetUniqueDevice
  std::optional<Dialect> guess;  // DetectDialect
  Device trace_device() const {
    return device.has_value() && device->is_cuda() ? *device : Device::Cpu();
  }
};

absl::StatusOr<std::unique_ptr<Graph>> TraceDropout(Dialect d, bool train,
                                                    bool inplace) {
  PatternTracer t(d);
  Value x = t.Input("x", ExampleDropoutX());
  return t.Finish({F::Dropout(t, x, 0.5, train, inplace)});
}

absl::StatusOr<std::unique_ptr<Graph>> TraceAlias() {
  PatternTracer t(Dialect::kCoreAten);
  Value x = t.Input("x", ExampleDropoutX());
  return t.Finish({t.Call(kAlias, {Argument::Ref(x.node())})});
}

// Batch norm with the standard five placeholders (x, weight, bias,
// running_mean, running_var); `bindings` (a match's) give shapes and which of
// weight/bias are None, else upstream's example shapes are used.
absl::StatusOr<std::unique_ptr<Graph>> TraceBatchNorm(
    Dialect d, Device device, bool training, const InternalMatch* m,
    InputMutations mutations, bool force_no_cudnn = false) {
  PatternTracer t(d, force_no_cudnn ? Device::Cpu() : device);
  auto binding = [&](size_t i) -> const Argument* {
    return m != nullptr && i < m->placeholder_bindings.size()
               ? &m->placeholder_bindings[i]
               : nullptr;
  };
  auto meta = [&](size_t i, TensorMeta fallback) {
    const Argument* b = binding(i);
    TensorMeta out = b != nullptr ? BindingMeta(*b, fallback) : fallback;
    // Traced on the module's device (upstream's is_cuda), whatever the
    // exporter recorded.
    if (device.is_cuda()) out.device = device;
    return out;
  };
  auto present = [&](size_t i) {
    const Argument* b = binding(i);
    return b == nullptr || !b->is_none();
  };
  Value x = t.Input("x", meta(0, ExampleX()));
  Value w = t.Input("weight", meta(1, ExampleC()));
  Value b = t.Input("bias", meta(2, ExampleC()));
  Value rm = t.Input("running_mean", meta(3, ExampleC()));
  Value rv = t.Input("running_var", meta(4, ExampleC()));
  std::optional<Value> ow = present(1) ? std::optional<Value>(w) : std::nullopt;
  std::optional<Value> ob = present(2) ? std::optional<Value>(b) : std::nullopt;
  Value out = F::BatchNorm(t, x, rm, rv, ow, ob, training);
  std::vector<Value> outs = {out};
  if (d == Dialect::kCoreAten && !training &&
      mutations == InputMutations::kReturnAsOutputs) {
    // The eval form of the core-ATen train pattern: the copy_ outputs become
    // the buffers themselves (copy_ returns its destination).
    outs.push_back(rm);
    outs.push_back(rv);
  }
  return t.Finish(outs, mutations);
}

// Memoizes per-match batch norm replacements by everything TraceBatchNorm
// reads from a match: which placeholder bindings are present and the
// "val" tensor of each, plus a caller's tag (the dialect a marker names).
// A model's batch norms come in a handful of shapes, so each form is traced
// once and the rewriter analyzes one shared graph per form, not one per
// site. Bounded: past kMaxEntries forms, replacements are traced afresh.
class BatchNormTraceMemo {
 public:
  template <typename Trace>
  absl::StatusOr<std::shared_ptr<const Graph>> Get(const InternalMatch& m,
                                                   int tag, Trace trace) {
    for (const Entry& e : entries_) {
      if (Matches(e, m, tag)) return e.graph;
    }
    ASSIGN_OR_RETURN(std::unique_ptr<Graph> traced, trace());
    std::shared_ptr<const Graph> graph = std::move(traced);
    if (entries_.size() < kMaxEntries) {
      Entry e;
      e.tag = tag;
      for (const Argument& b : m.placeholder_bindings) {
        e.present.push_back(!b.is_none());
        const TensorMeta* t = Tensor(b);
        e.metas.push_back(t != nullptr ? std::optional<TensorMeta>(*t)
                                       : std::nullopt);
      }
      e.graph = graph;
      entries_.push_back(std::move(e));
    }
    return graph;
  }

 private:
  static constexpr size_t kMaxEntries = 64;
  struct Entry {
    int tag;
    std::vector<bool> present;
    std::vector<std::optional<TensorMeta>> metas;
    std::shared_ptr<const Graph> graph;
  };
  static const TensorMeta* Tensor(const Argument& b) {
    if (!b.is_node()) return nullptr;
    const MetaValue* v = b.node()->meta().val();
    return v != nullptr && v->is_tensor() ? &v->tensor() : nullptr;
  }
  static bool Matches(const Entry& e, const InternalMatch& m, int tag) {
    if (e.tag != tag || e.present.size() != m.placeholder_bindings.size()) {
      return false;
    }
    for (size_t i = 0; i < e.present.size(); ++i) {
      const Argument& b = m.placeholder_bindings[i];
      if (e.present[i] != !b.is_none()) return false;
      const TensorMeta* t = Tensor(b);
      if (e.metas[i].has_value() != (t != nullptr)) return false;
      if (t != nullptr && *e.metas[i] != *t) return false;
    }
    return true;
  }
  std::vector<Entry> entries_;
};

// The rules for one family ("dropout" or "batch_norm") and direction.
absl::StatusOr<std::vector<Rule>> BuildRules(bool dropout, bool train_to_eval,
                                             const Context& ctx) {
  std::vector<Rule> rules;
  const bool from = train_to_eval;  // training flag of the matched form
  if (dropout) {
    for (bool inplace : {false, true}) {
      Rule r;
      r.pattern_name = inplace ? "dropout_" : "dropout";
      r.dialect = ctx.guess == Dialect::kPreDispatch ? Dialect::kPreDispatch
                                                     : Dialect::kTrainingIr;
      r.anchors = {inplace ? kDropoutInplace : kDropout};
      ASSIGN_OR_RETURN(r.pattern, TraceDropout(Dialect::kTrainingIr, from, inplace));
      ASSIGN_OR_RETURN(r.replacement,
                       TraceDropout(Dialect::kTrainingIr, !from, inplace));
      r.from_flag = from;
      rules.push_back(std::move(r));
    }
    auto marks = std::make_shared<absl::flat_hash_map<std::string, std::string>>();
    if (train_to_eval) {
      {
        Rule r;
        r.pattern_name = "dropout";
        r.dialect = Dialect::kCoreAten;
        r.anchors = {kNativeDropout};
        ASSIGN_OR_RETURN(r.pattern, TraceDropout(Dialect::kCoreAten, true, false));
        r.from_flag = true;
        r.marks = marks;
        r.mark_target = kAlias;
        r.mark_key = std::string(kDropoutMarkerKey);
        r.fn = [marks](const InternalMatch& m, const Graph&)
            -> absl::StatusOr<std::unique_ptr<Graph>> {
          double p = LiteralDouble(MatchedLiteralArg(m, "p"), 0.5);
          (*marks)[m.GraphAnchor()->name()] =
              absl::StrCat("dialect=core_aten;p=", ExactDouble(p));
          PatternTracer t(Dialect::kCoreAten);
          Value x = t.Input("x", BindingMeta(m.placeholder_bindings[0],
                                             ExampleDropoutX()));
          return t.Finish({t.Call(kAlias, {Argument::Ref(x.node())})});
        };
        rules.push_back(std::move(r));
      }
      {
        Rule r;
        r.pattern_name = "dropout";
        r.dialect = Dialect::kMakeFx;
        r.anchors = {kBernoulli};
        ASSIGN_OR_RETURN(r.pattern, TraceDropout(Dialect::kMakeFx, true, false));
        r.marks = marks;
        r.mark_target = kAlias;
        r.mark_key = std::string(kDropoutMarkerKey);
        const Graph* pattern = r.pattern.get();
        r.fn = [marks, pattern](const InternalMatch& m, const Graph&)
            -> absl::StatusOr<std::unique_ptr<Graph>> {
          // The exact literals: bernoulli_'s p only if the graph wrote it.
          std::string keep = "default";
          double keep_value = 0.5;
          for (const Node* pn : pattern->NodesWithTarget(kBernoulli)) {
            const Node* g = m.GraphNode(pn);
            if (g != nullptr && (g->args().size() >= 2 || g->kwarg("p") != nullptr)) {
              keep_value = LiteralDouble(MatchedLiteralArg(m, "p"), 0.5);
              keep = ExactDouble(keep_value);
            }
          }
          double divisor = LiteralDouble(MatchedLiteralArg(m, "other"), 0.5);
          (*marks)[m.GraphAnchor()->name()] = absl::StrCat(
              "dialect=make_fx;p=", ExactDouble(1.0 - keep_value), ";keep=", keep,
              ";divisor=", ExactDouble(divisor));
          PatternTracer t(Dialect::kMakeFx);
          Value x = t.Input("x", BindingMeta(m.placeholder_bindings[0],
                                             ExampleDropoutX()));
          return t.Finish({t.Call(kAlias, {Argument::Ref(x.node())})});
        };
        rules.push_back(std::move(r));
      }
    } else {
      Rule r;
      r.pattern_name = "dropout";
      r.dialect = ctx.guess.value_or(Dialect::kCoreAten);
      if (r.dialect != Dialect::kMakeFx) r.dialect = Dialect::kCoreAten;
      r.anchors = {kAlias};
      ASSIGN_OR_RETURN(r.pattern, TraceAlias());
      r.needs_dropout_marker = true;
      r.clear_markers = true;
      const Graph* pattern = r.pattern.get();
      r.fn = [pattern](const InternalMatch& m, const Graph&)
          -> absl::StatusOr<std::unique_ptr<Graph>> {
        const Node* g = m.GraphNode(pattern->NodesWithTarget(kAlias).front());
        ASSIGN_OR_RETURN(DropoutMarker dm, ParseDropoutMarker(*g));
        PatternTracer t(dm.dialect);
        Value x = t.Input("x", BindingMeta(m.placeholder_bindings[0],
                                           ExampleDropoutX()));
        Value out = dm.dialect == Dialect::kMakeFx
                        ? F::MakeFxDropout(t, x, dm.keep, dm.divisor)
                        : F::Dropout(t, x, dm.p, true, false);
        return t.Finish({out});
      };
      rules.push_back(std::move(r));
    }
    return rules;
  }

  // Batch norm. In-place flips of the training flag first.
  struct Flip {
    Dialect dialect;
    const char* anchor;
  };
  std::vector<Flip> flips = {{Dialect::kTrainingIr, kBatchNorm},
                             {Dialect::kMakeFx, kNativeBatchNorm}};
  if (ctx.trace_device().is_cuda()) {
    flips.push_back({Dialect::kPreDispatch, kCudnn});
  }
  for (const Flip& f : flips) {
    Rule r;
    r.pattern_name = "batch_norm";
    r.dialect = f.dialect;
    r.anchors = {f.anchor};
    ASSIGN_OR_RETURN(r.pattern, TraceBatchNorm(f.dialect, ctx.trace_device(), from,
                                               nullptr, InputMutations::kErase));
    ASSIGN_OR_RETURN(r.replacement,
                     TraceBatchNorm(f.dialect, ctx.trace_device(), !from, nullptr,
                                    InputMutations::kErase));
    r.from_flag = from;
    r.needs_stats = true;
    rules.push_back(std::move(r));
  }
  const Device device = ctx.trace_device();
  if (train_to_eval) {
    {
      Rule r;
      r.pattern_name = "batch_norm";
      r.dialect = Dialect::kPreDispatch;
      r.anchors = {kLegit};
      ASSIGN_OR_RETURN(r.pattern, TraceBatchNorm(Dialect::kPreDispatch, device, true,
                                                 nullptr, InputMutations::kErase,
                                                 /*force_no_cudnn=*/true));
      r.mark_target = kNoTraining;
      r.mark_key = std::string(kBatchNormMarkerKey);
      r.fixed_mark = "dialect=pre_dispatch";
      auto memo = std::make_shared<BatchNormTraceMemo>();
      r.fn = [device, memo](const InternalMatch& m, const Graph&) {
        return memo->Get(m, 0, [&] {
          return TraceBatchNorm(Dialect::kPreDispatch, device, false, &m,
                                InputMutations::kErase, /*force_no_cudnn=*/true);
        });
      };
      rules.push_back(std::move(r));
    }
    {
      Rule r;
      r.pattern_name = "batch_norm";
      r.dialect = Dialect::kCoreAten;
      r.anchors = {kFunctional};
      ASSIGN_OR_RETURN(r.pattern, TraceBatchNorm(Dialect::kCoreAten, device, true,
                                                 nullptr,
                                                 InputMutations::kReturnAsOutputs));
      r.mark_target = kNoTraining;
      r.mark_key = std::string(kBatchNormMarkerKey);
      r.fixed_mark = "dialect=core_aten";
      auto memo = std::make_shared<BatchNormTraceMemo>();
      r.fn = [device, memo](const InternalMatch& m, const Graph&) {
        return memo->Get(m, 0, [&] {
          return TraceBatchNorm(Dialect::kCoreAten, device, false, &m,
                                InputMutations::kReturnAsOutputs);
        });
      };
      rules.push_back(std::move(r));
    }
  } else {
    Rule r;
    r.pattern_name = "batch_norm";
    r.dialect = ctx.guess == Dialect::kCoreAten ? Dialect::kCoreAten
                                                : Dialect::kPreDispatch;
    r.anchors = {kNoTraining};
    ASSIGN_OR_RETURN(r.pattern, TraceBatchNorm(Dialect::kPreDispatch, device, false,
                                               nullptr, InputMutations::kErase,
                                               /*force_no_cudnn=*/true));
    r.clear_markers = true;
    const Graph* pattern = r.pattern.get();
    const Dialect fallback = r.dialect;
    auto memo = std::make_shared<BatchNormTraceMemo>();
    const Node* no_training = pattern->NodesWithTarget(kNoTraining).front();
    r.fn = [no_training, device, fallback, memo](const InternalMatch& m,
                                                 const Graph&)
        -> absl::StatusOr<std::shared_ptr<const Graph>> {
      const Node* g = m.GraphNode(no_training);
      ASSIGN_OR_RETURN(std::optional<Dialect> marked, ParseBatchNormMarker(*g));
      if (marked == Dialect::kPreDispatch) {
        // Restores exactly the op that was there.
        return memo->Get(m, -1, [&] {
          return TraceBatchNorm(Dialect::kPreDispatch, device, true, &m,
                                InputMutations::kErase, /*force_no_cudnn=*/true);
        });
      }
      const Dialect d = marked.value_or(fallback);
      return memo->Get(m, static_cast<int>(d), [&] {
        return TraceBatchNorm(d, device, true, &m,
                              InputMutations::kKeepAsSideEffects);
      });
    };
    rules.push_back(std::move(r));
  }
  return rules;
}

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

// `verified` gets the rule's target when the rule is a one-node flag flip
// whose filter saw every node of that target: each was then flipped, found
// in the requested mode, or reported, and the left-over check need not
// visit them again.
absl::Status RunRule(Graph& graph, Rule& rule, TrainEvalReport& report,
                     absl::flat_hash_set<std::string>& reported,
                     absl::flat_hash_set<std::string>* verified) {
  const bool to_eval = report.to == ModuleMode::kEval;
  // `prevents`: the node stays in training form where eval was asked for.
  auto left_alone = [&](const Node* n, std::string reason, bool prevents) {
    if (reported.insert(n->name()).second) {
      report.left_alone.push_back(LeftAlone{n->name(), n->target().qualified,
                                            std::move(reason),
                                            prevents && to_eval});
    }
  };
  ReplaceOptions opts;
  opts.ignore_literals = true;
  opts.preserve_literals = true;
  opts.preserve_except = {"training", "train"};
  opts.record_node_maps = false;
  const Node* rm_placeholder = rule.pattern->FindNode("running_mean");
  const Node* rv_placeholder = rule.pattern->FindNode("running_var");
  int64_t seen = 0;
  opts.filters.push_back([&](const InternalMatch& m, const Graph&,
                             const Graph&) {
    ++seen;
    // The match's first compute node in graph order (no allocation: this
    // runs once per site).
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
        left_alone(op, "training flag is not a bool literal", true);
        return false;
      }
      // Already in the requested mode: nothing to do, nothing to report.
      if (flag->as_bool() != *rule.from_flag) return false;
    }
    if (rule.needs_stats) {
      for (const Node* ph : {rm_placeholder, rv_placeholder}) {
        const Argument* b = ph != nullptr ? m.Binding(ph) : nullptr;
        if (b != nullptr && !b->is_node()) {
          left_alone(op, kNoStatsReason, false);
          return false;
        }
      }
    }
    if (rule.needs_dropout_marker && !op->meta().Contains(kDropoutMarkerKey)) {
      return false;
    }
    return true;
  });
  absl::StatusOr<ReplaceResult> result =
      rule.replacement != nullptr
          ? ReplacePatternWithFilters(graph, *rule.pattern, *rule.replacement, opts)
          : ReplacePatternWithFilters(graph, *rule.pattern, rule.fn, opts);
  int64_t calls = 0;
  for (const Node* n : *rule.pattern) calls += n->is_call() ? 1 : 0;
  if (result.ok() && rule.from_flag.has_value() && calls == 1 &&
      rule.replacement != nullptr && rule.anchors.size() == 1 &&
      seen == static_cast<int64_t>(graph.CountTarget(rule.anchors[0]))) {
    verified->insert(rule.anchors[0]);
  }
  if (!result.ok()) {
    return absl::Status(result.status().code(),
                        absl::StrCat(rule.pattern_name, " (",
                                     DialectName(rule.dialect),
                                     "): ", result.status().message()));
  }
  for (const SkippedMatch& s : result->skipped) {
    Node* n = graph.FindNode(s.anchor);
    if (reported.insert(s.anchor).second) {
      report.left_alone.push_back(LeftAlone{
          s.anchor, n != nullptr ? n->target().qualified : "",
          absl::StrCat("match skipped by the rewriter: ", s.reason),
          to_eval});
    }
  }
  for (ReplacedPattern& rp : result->replaced) {
    if (rule.replacement == nullptr) ShareProvenance(rp.replacements);
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
  report.AddSites(rule.pattern_name, rule.dialect,
                  static_cast<int64_t>(result->replaced.size()));
  return absl::OkStatus();
}

// Checks every marker the way back would read, before anything changes.
absl::Status CheckMarkers(const Graph& g) {
  for (const Node* n : g.NodesWithTarget(kAlias)) {
    if (n->meta().Contains(kDropoutMarkerKey)) {
      RETURN_IF_ERROR(ParseDropoutMarker(*n).status());
    }
  }
  for (const Node* n : g.NodesWithTarget(kNoTraining)) {
    RETURN_IF_ERROR(ParseBatchNormMarker(*n).status());
  }
  return absl::OkStatus();
}

void ReportUnsupported(const Graph& g, bool dropout, bool train_to_eval,
                       TrainEvalReport& report,
                       absl::flat_hash_set<std::string>& reported) {
  auto add = [&](const Node* n, std::string reason) {
    if (reported.insert(n->name()).second) {
      report.left_alone.push_back(
          LeftAlone{n->name(), n->target().qualified, std::move(reason)});
    }
  };
  if (dropout) {
    if (!train_to_eval) {
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
    ExportedModule& module, bool train_to_eval, bool do_dropout,
    bool do_batch_norm, absl::flat_hash_set<std::string>* verified) {
  TrainEvalReport report;
  report.from = train_to_eval ? ModuleMode::kTrain : ModuleMode::kEval;
  report.to = train_to_eval ? ModuleMode::kEval : ModuleMode::kTrain;
  Graph& graph = module.graph();
  // Note [Failure atomicity]: every input-dependent check first.
  Context ctx;
  if (do_batch_norm) {
    ASSIGN_OR_RETURN(ctx.device, AssertAndGetUniqueDevice(module));
  }
  ctx.guess = DetectDialect(graph).dialect;
  if (!train_to_eval) {
    RETURN_IF_ERROR(CheckMarkers(graph));
    RETURN_IF_ERROR(CheckStashes(graph));
  }
  std::vector<Rule> rules;
  if (do_dropout) {
    ASSIGN_OR_RETURN(std::vector<Rule> r, BuildRules(true, train_to_eval, ctx));
    for (Rule& x : r) rules.push_back(std::move(x));
  }
  if (do_batch_norm) {
    ASSIGN_OR_RETURN(std::vector<Rule> r, BuildRules(false, train_to_eval, ctx));
    for (Rule& x : r) rules.push_back(std::move(x));
  }
  const Dialect dialect = ctx.guess.value_or(Dialect::kTrainingIr);
  if (!train_to_eval) {
    // Before dead-code elimination, which would drop an unused alias and
    // its stash (an in-place dropout whose result nobody reads); so the
    // batch-norm-only way back restores them too.
    ASSIGN_OR_RETURN(int64_t restored, RestoreStashes(graph));
    if (restored > 0) report.AddSites("stashed", dialect, restored);
  }
  // Self-contained matches (upstream's eliminate_dead_code).
  report.dead_nodes_removed = static_cast<int64_t>(graph.EliminateDeadCode());
  absl::flat_hash_set<std::string> reported;
  for (Rule& rule : rules) {
    bool present = false;
    for (const char* a : rule.anchors) present = present || graph.CountTarget(a) > 0;
    if (!present) continue;
    RETURN_IF_ERROR(RunRule(graph, rule, report, reported, verified));
  }
  // The constructs upstream has no pattern for (rewrite/mode_constructs.h),
  // after the pattern rules so that their sites are settled.
  RETURN_IF_ERROR(SwitchModeConstructs(module, report.to, do_dropout,
                                       do_batch_norm, dialect, report, verified));
  if (do_dropout) ReportUnsupported(graph, true, train_to_eval, report, reported);
  if (do_batch_norm) {
    ReportUnsupported(graph, false, train_to_eval, report, reported);
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
      Replace(module, to == ModuleMode::kEval, true, true, &verified);
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
                                               bool train_to_eval) {
  absl::flat_hash_set<std::string> verified;
  return Replace(module, train_to_eval, true, false, &verified);
}

absl::StatusOr<TrainEvalReport> ReplaceBatchnorm(ExportedModule& module,
                                                 bool train_to_eval) {
  absl::flat_hash_set<std::string> verified;
  return Replace(module, train_to_eval, false, true, &verified);
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

absl::StatusOr<TrainEvalReport> TrainModule(ExportedModule& module, bool mode) {
  if (!module.train_eval_allowed()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "calling ", mode ? "train()" : "train(false)",
        " on an exported model is not supported: its dropout and batch norm "
        "were specialised at export time. Use MoveExportedModelToTrain / "
        "MoveExportedModelToEval, or call AllowExportedModelTrainEval(module) "
        "first to make TrainModule/EvalModule perform them"));
  }
  return mode ? MoveExportedModelToTrain(module) : MoveExportedModelToEval(module);
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
