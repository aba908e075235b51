#include "rewrite/train_eval_rules.h"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "base/number_format.h"
#include "ir/metadata.h"
#include "ir/status_macros.h"
#include "rewrite/pattern_tracer.h"
#include "rewrite/train_eval.h"

namespace rewire {
namespace train_eval_rules {

// The graph literal the match met at argument `arg` of any pattern node.
const Argument* MatchedLiteralArg(const InternalMatch& m, absl::string_view arg) {
  for (const MatchedLiteral& lit : m.literals) {
    if (lit.arg_name == arg) return &lit.graph_value;
  }
  return nullptr;
}

namespace {

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


double LiteralDouble(const Argument* a, double fallback) {
  if (a == nullptr) return fallback;
  if (a->kind() == Argument::Kind::kDouble) return a->as_double();
  if (a->kind() == Argument::Kind::kInt) return static_cast<double>(a->as_int());
  return fallback;
}

absl::StatusOr<std::unique_ptr<Graph>> TraceDropout(Dialect d, bool train,
                                                    bool inplace) {
  PatternTracer t(d);
  TracedTensor x = t.Input("x", ExampleDropoutX());
  return t.Finish({functional::Dropout(t, x, 0.5, train, inplace)});
}

absl::StatusOr<std::unique_ptr<Graph>> TraceAlias() {
  PatternTracer t(Dialect::kCoreAten);
  TracedTensor x = t.Input("x", ExampleDropoutX());
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
  TracedTensor x = t.Input("x", meta(0, ExampleX()));
  TracedTensor w = t.Input("weight", meta(1, ExampleC()));
  TracedTensor b = t.Input("bias", meta(2, ExampleC()));
  TracedTensor rm = t.Input("running_mean", meta(3, ExampleC()));
  TracedTensor rv = t.Input("running_var", meta(4, ExampleC()));
  std::optional<TracedTensor> ow = present(1) ? std::optional<TracedTensor>(w) : std::nullopt;
  std::optional<TracedTensor> ob = present(2) ? std::optional<TracedTensor>(b) : std::nullopt;
  TracedTensor out = functional::BatchNorm(t, x, rm, rv, ow, ob, training);
  std::vector<TracedTensor> outs = {out};
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

}  // namespace

// The rules for one family ("dropout" or "batch_norm") and direction.
absl::StatusOr<std::vector<Rule>> BuildRules(bool dropout, ModuleMode to,
                                             const Context& ctx) {
  const bool train_to_eval = to == ModuleMode::kEval;
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
              absl::StrCat("dialect=core_aten;p=", ShortestDouble(p));
          PatternTracer t(Dialect::kCoreAten);
          TracedTensor x = t.Input("x", BindingMeta(m.placeholder_bindings[0],
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
              keep = ShortestDouble(keep_value);
            }
          }
          double divisor = LiteralDouble(MatchedLiteralArg(m, "other"), 0.5);
          (*marks)[m.GraphAnchor()->name()] = absl::StrCat(
              "dialect=make_fx;p=", ShortestDouble(1.0 - keep_value), ";keep=", keep,
              ";divisor=", ShortestDouble(divisor));
          PatternTracer t(Dialect::kMakeFx);
          TracedTensor x = t.Input("x", BindingMeta(m.placeholder_bindings[0],
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
        TracedTensor x = t.Input("x", BindingMeta(m.placeholder_bindings[0],
                                           ExampleDropoutX()));
        TracedTensor out = dm.dialect == Dialect::kMakeFx
                        ? functional::MakeFxDropout(t, x, dm.keep, dm.divisor)
                        : functional::Dropout(t, x, dm.p, true, false);
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

}  // namespace train_eval_rules
}  // namespace rewire
