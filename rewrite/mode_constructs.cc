#include "rewrite/mode_constructs.h"

#include <algorithm>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "ir/metadata.h"
#include "ir/status_macros.h"
#include "rewrite/batch_counters.h"
#include "rewrite/stash.h"

namespace rewire {
namespace {

enum class Family : uint8_t { kDropout, kBatchNorm };

// An op whose behaviour is chosen by a bool training argument.
struct FlagOp {
  const char* target;
  size_t index;       // position of the flag in the schema
  const char* name;   // its keyword name
  const char* pattern;  // report name
  Family family;
  // The flag only matters with running stats (arguments 3 and 4 are
  // tensors); without them eager eval also uses batch statistics.
  bool needs_stats;
  // Switched here; the others belong to train_eval.cc's pattern rules and
  // are only checked after the switch.
  bool switched_here;
};

// Set on the nodes whose flag a switch to eval flipped (rewrite/
// mode_constructs.h); the way back flips those and erases it.
constexpr absl::string_view kFlagMarkerKey = "rewire_flag";

constexpr Family kD = Family::kDropout;
constexpr Family kB = Family::kBatchNorm;

constexpr FlagOp kFlagOps[] = {
    {"aten.feature_dropout.default", 2, "train", "feature_dropout", kD, false, true},
    {"aten.feature_dropout_.default", 2, "train", "feature_dropout_", kD, false, true},
    {"aten.alpha_dropout.default", 2, "train", "alpha_dropout", kD, false, true},
    {"aten.alpha_dropout_.default", 2, "train", "alpha_dropout_", kD, false, true},
    {"aten.feature_alpha_dropout.default", 2, "train", "feature_alpha_dropout", kD, false, true},
    {"aten.feature_alpha_dropout_.default", 2, "train", "feature_alpha_dropout_", kD, false, true},
    {"aten.rrelu.default", 3, "training", "rrelu", kD, false, true},
    {"aten.rrelu_.default", 3, "training", "rrelu_", kD, false, true},
    {"aten.rrelu_with_noise.default", 4, "training", "rrelu", kD, false, true},
    {"aten.rrelu_with_noise_.default", 4, "training", "rrelu_", kD, false, true},
    {"aten.rrelu_with_noise_functional.default", 4, "training", "rrelu", kD, false, true},
    {"aten.instance_norm.default", 5, "use_input_stats", "instance_norm", kB, true, true},
    {"aten.dropout.default", 2, "train", "dropout", kD, false, false},
    {"aten.dropout_.default", 2, "train", "dropout_", kD, false, false},
    {"aten.native_dropout.default", 2, "train", "dropout", kD, false, false},
    {"aten.batch_norm.default", 5, "training", "batch_norm", kB, true, false},
    {"aten.native_batch_norm.default", 5, "training", "batch_norm", kB, true, false},
    {"aten._native_batch_norm_legit.default", 5, "training", "batch_norm", kB, true, false},
    // Core ATen's functional batch norm is rewritten by train_eval.cc's
    // pattern when its buffer copies are direct; the forms that pattern
    // does not cover (instance norm's repeated stats averaged back) get
    // their flag flipped here: with training False it returns the running
    // stats unchanged, so the copies write back what was there.
    {"aten._native_batch_norm_legit_functional.default", 5, "training", "batch_norm", kB, true, true},
    {"aten.cudnn_batch_norm.default", 5, "training", "batch_norm", kB, true, false},
};

// aten ops that draw random numbers whatever their arguments (by op name,
// any overload). Flag ops above draw only in training.
const absl::flat_hash_set<absl::string_view>& RandomOps() {
  static const auto* ops = new absl::flat_hash_set<absl::string_view>{
      "bernoulli", "bernoulli_", "rand", "rand_like", "randn", "randn_like",
      "randint", "randint_like", "randperm", "normal", "normal_", "uniform",
      "uniform_", "exponential", "exponential_", "geometric", "geometric_",
      "cauchy", "cauchy_", "log_normal", "log_normal_", "multinomial",
      "poisson", "random", "random_", "binomial", "_standard_gamma",
      "normal_functional", "rand_like", "randint_like",
      "_sample_dirichlet", "_fused_dropout", "native_dropout_backward"};
  return *ops;
}

constexpr const char* kMaskSources[] = {
    "aten.empty_like.default", "aten.new_empty.default",
    "aten.empty.memory_format", "aten.empty_permuted.default"};
constexpr const char* kBernoulli[] = {"aten.bernoulli_.float",
                                      "aten.bernoulli.p"};
constexpr const char* kDivs[] = {"aten.div_.Scalar", "aten.div_.Tensor",
                                 "aten.div.Scalar", "aten.div.Tensor"};

bool Is(const Node* n, absl::string_view target) {
  return n != nullptr && n->is_call() && n->target().qualified == target;
}
template <size_t N>
bool IsAny(const Node* n, const char* const (&targets)[N]) {
  for (const char* t : targets) {
    if (Is(n, t)) return true;
  }
  return false;
}

// The flag's literal and its SetLiteralArgument index; nullopt when absent.
struct FlagRef {
  const Argument* value;
  size_t index;
};
std::optional<FlagRef> FindFlag(const Node& n, size_t pos,
                                absl::string_view name) {
  if (n.args().size() > pos) return FlagRef{&n.args()[pos], pos};
  const std::vector<Kwarg>& kw = n.kwargs();
  for (size_t i = 0; i < kw.size(); ++i) {
    if (kw[i].name == name) return FlagRef{&kw[i].value, n.args().size() + i};
  }
  return std::nullopt;
}

// Running stats (arguments 3 and 4, positional or by keyword) are tensors.
bool HasStats(const Node& n) {
  std::optional<FlagRef> rm = FindFlag(n, 3, "running_mean");
  std::optional<FlagRef> rv = FindFlag(n, 4, "running_var");
  return rm.has_value() && rv.has_value() && rm->value->is_node() &&
         rv->value->is_node();
}

std::optional<double> Number(const Argument* a) {
  if (a == nullptr) return std::nullopt;
  if (a->kind() == Argument::Kind::kDouble) return a->as_double();
  if (a->kind() == Argument::Kind::kInt) return static_cast<double>(a->as_int());
  return std::nullopt;
}

const TensorMeta* Val(const Node* n) {
  const MetaValue* v = n->meta().val();
  return v != nullptr && v->is_tensor() ? &v->tensor() : nullptr;
}

Node* SoleUser(const Node* n) {
  std::vector<Node*> users = n->Users();
  return users.size() == 1 && n->num_uses() == 1 ? users[0] : nullptr;
}

// Attention ops take their dropout as a probability, which a training export
// bakes in (nn.MultiheadAttention and timm pass p only while training). Eval
// sets it to 0 and keeps the trained value in kDropoutPKey for the way back.
struct ProbOp {
  const char* target;
  size_t index;  // position of dropout_p in the schema
};
constexpr ProbOp kAttentionOps[] = {
    {"aten.scaled_dot_product_attention.default", 4},
    {"aten._scaled_dot_product_flash_attention_for_cpu.default", 3},
};
constexpr absl::string_view kDropoutPKey = "rewire_dropout_p";

// A decomposed mask construct and what it is the identity of in eval.
struct Mask {
  std::vector<Node*> nodes;  // in graph order; the last is the result
  Node* x = nullptr;
  // The construct's node that reads x, and at which argument: x is read
  // again there when the construct is replaced, since replacing an earlier
  // construct may have put an alias in x's place (chained masks).
  Node* x_user = nullptr;
  size_t x_arg = 0;
  std::string pattern;       // "drop_path", "dropout_", "alpha_dropout", ...
  std::string stash;         // EncodeStash(nodes)
};

void AddLeftAlone(TrainEvalReport& report, const Node* n, std::string reason,
                  bool prevents_eval) {
  report.left_alone.push_back(LeftAlone{n->name(), n->target().qualified,
                                        std::move(reason), prevents_eval});
}

// The report name of a mask construct from the mask's and x's shapes.
std::string MaskPattern(const TensorMeta* mask, const TensorMeta* x,
                        bool alpha) {
  std::string base = "dropout (broadcast mask)";
  if (mask != nullptr && x != nullptr && mask->shape.size() == x->shape.size()) {
    const auto& ms = mask->shape;
    const auto& xs = x->shape;
    auto ones_from = [&](size_t k) {
      for (size_t i = k; i < ms.size(); ++i) {
        if (ms[i].is_symbolic() || ms[i].value != 1) return false;
      }
      return true;
    };
    if (ms == xs) {
      base = "dropout";
    } else if (!ms.empty() && ones_from(1)) {
      base = "drop_path";
    } else if (ms.size() >= 2 && ms[0] == xs[0] && ms[1] == xs[1] && ones_from(2)) {
      base = "feature_dropout";
    }
  }
  if (!alpha) return base;
  return base == "dropout" ? "alpha_dropout" : "feature_alpha_dropout";
}

// The other argument of binary `n` when one is `mask`; nullptr otherwise.
Node* OtherOperand(const Node* n, const Node* mask, bool mask_second_only) {
  if (n->args().size() != 2 || !n->args()[0].is_node() || !n->args()[1].is_node()) {
    return nullptr;
  }
  Node* a = n->args()[0].node();
  Node* b = n->args()[1].node();
  if (b == mask && a != mask) return a;
  if (!mask_second_only && a == mask && b != mask) return b;
  return nullptr;
}

// One mask construct rooted at bernoulli node `r`; nullopt (with a reason
// in *why, possibly empty) when it is not one rewire knows.
std::optional<Mask> MatchMask(Node* r, std::string* why) {
  if (r->args().empty() || !r->args()[0].is_node()) return std::nullopt;
  std::vector<Node*> nodes;
  Node* src = r->args()[0].node();
  Node* detach = nullptr;
  if (Is(src, "aten.detach.default") && !src->args().empty() &&
      src->args()[0].is_node()) {
    detach = src;
    src = src->args()[0].node();
  }
  if (!IsAny(src, kMaskSources) || SoleUser(src) != (detach ? detach : r) ||
      (detach != nullptr && SoleUser(detach) != r)) {
    *why = "bernoulli on a tensor that is not a fresh empty tensor used only "
           "for the mask";
    return std::nullopt;
  }
  const Argument* keep_arg = r->args().size() > 1 ? &r->args()[1] : r->kwarg("p");
  std::optional<double> keep = keep_arg == nullptr ? 0.5 : Number(keep_arg);
  if (!keep.has_value()) {
    *why = "bernoulli probability is not a number literal";
    return std::nullopt;
  }
  nodes.push_back(src);
  if (detach != nullptr) nodes.push_back(detach);
  nodes.push_back(r);
  std::vector<Node*> users = r->Users();
  Mask m;
  Node* result = nullptr;
  Node* x = nullptr;
  Node* x_user = nullptr;
  bool alpha = false;
  if (users.size() == 1 && r->num_uses() == 1) {
    Node* mask = r;
    Node* u = users[0];
    if (IsAny(u, kDivs) && u->args().size() == 2 && u->args()[0].is_node() &&
        u->args()[0].node() == r) {
      std::optional<double> divisor = Number(&u->args()[1]);
      if (!divisor.has_value() || *divisor != *keep) {
        *why = "random mask scaled by something other than 1/keep";
        return std::nullopt;
      }
      nodes.push_back(u);
      mask = u;
      u = SoleUser(u);
    }
    if (Is(u, "aten.mul.Tensor")) {
      x = OtherOperand(u, mask, false);
    } else if (Is(u, "aten.mul_.Tensor")) {
      x = OtherOperand(u, mask, true);
    }
    if (x == nullptr) {
      *why = "random mask not applied to a tensor by one multiplication";
      return std::nullopt;
    }
    nodes.push_back(u);
    result = u;
    x_user = u;
  } else if (users.size() == 2 && r->num_uses() == 2) {
    // Alpha dropout: a = (r - 1) * c1 + c2; result = x * (r * c3) + a.
    Node* shift = nullptr;
    Node* scale = nullptr;
    for (Node* u : users) {
      if (Is(u, "aten.add.Scalar")) shift = u;
      if (Is(u, "aten.mul.Scalar") || Is(u, "aten.mul_.Scalar")) scale = u;
    }
    Node* shift_mul = shift != nullptr ? SoleUser(shift) : nullptr;
    Node* shift_add = shift_mul != nullptr ? SoleUser(shift_mul) : nullptr;
    Node* scaled_x = scale != nullptr ? SoleUser(scale) : nullptr;
    Node* out = scaled_x != nullptr ? SoleUser(scaled_x) : nullptr;
    const bool shape_ok =
        shift != nullptr && scale != nullptr && shift->args().size() == 2 &&
        Number(&shift->args()[1]) == -1.0 &&
        (Is(shift_mul, "aten.mul.Scalar") || Is(shift_mul, "aten.mul_.Scalar")) &&
        (Is(shift_add, "aten.add.Scalar") || Is(shift_add, "aten.add_.Scalar")) &&
        Is(scaled_x, "aten.mul.Tensor") &&
        (Is(out, "aten.add.Tensor") || Is(out, "aten.add_.Tensor")) &&
        SoleUser(shift_add) == out && out->args().size() == 2 &&
        out->args()[0].is_node() && out->args()[0].node() == scaled_x &&
        out->args()[1].is_node() && out->args()[1].node() == shift_add;
    if (!shape_ok) {
      *why = "random mask used in a way rewire does not recognize";
      return std::nullopt;
    }
    x = OtherOperand(scaled_x, scale, false);
    x_user = scaled_x;
    if (x == nullptr) {
      *why = "alpha dropout mask not applied to a tensor";
      return std::nullopt;
    }
    for (Node* n : {shift, shift_mul, shift_add, scale, scaled_x, out}) {
      nodes.push_back(n);
    }
    std::sort(nodes.begin() + (detach ? 3 : 2), nodes.end(),
              [](const Node* a, const Node* b) { return a->IsBefore(b); });
    result = out;
    alpha = true;
  } else {
    *why = "random mask used in a way rewire does not recognize";
    return std::nullopt;
  }
  const TensorMeta* xv = Val(x);
  const TensorMeta* rv = Val(result);
  if (xv == nullptr || rv == nullptr || xv->shape != rv->shape ||
      xv->dtype != rv->dtype) {
    *why = "no \"val\" shows that the construct's result has x's shape and "
           "dtype (the mask could broadcast x)";
    return std::nullopt;
  }
  m.nodes = std::move(nodes);
  m.x = x;
  m.x_user = x_user;
  m.x_arg = x_user->args()[0].is_node() && x_user->args()[0].node() == x ? 0 : 1;
  m.pattern = MaskPattern(Val(src), xv, alpha);
  if (Is(result, "aten.mul_.Tensor")) absl::StrAppend(&m.pattern, "_");
  return m;
}

// Whether `target` names an aten op that draws random numbers whatever its
// arguments.
bool IsRandomTarget(absl::string_view target) {
  std::vector<absl::string_view> parts = absl::StrSplit(target, '.');
  return parts.size() >= 2 && parts[0] == "aten" && RandomOps().contains(parts[1]);
}

// Why flag op `n` is in training form, or nullopt.
std::optional<std::string> FlagOpReason(const FlagOp& op, const Node& n) {
  std::optional<FlagRef> f = FindFlag(n, op.index, op.name);
  if (!f.has_value()) return std::nullopt;  // schema default: eval
  const bool on = f->value->kind() != Argument::Kind::kBool || f->value->as_bool();
  if (!on || (op.needs_stats && !HasStats(n))) return std::nullopt;
  return f->value->kind() == Argument::Kind::kBool
             ? absl::StrCat("'", op.name, "' is still True")
             : absl::StrCat("'", op.name, "' is not a bool literal");
}

// Why attention node `n` still drops, or nullopt.
std::optional<std::string> AttentionReason(const ProbOp& op, const Node& n) {
  std::optional<FlagRef> f = FindFlag(n, op.index, "dropout_p");
  if (!f.has_value()) return std::nullopt;
  std::optional<double> p = Number(f->value);
  if (p.has_value() && *p == 0) return std::nullopt;
  return p.has_value() ? absl::StrCat("attention 'dropout_p' is still ", *p)
                       : std::string("attention 'dropout_p' is not a number literal");
}

}  // namespace

absl::Status SwitchModeConstructs(ExportedModule& module, ModuleMode to,
                                  bool dropout, bool batch_norm,
                                  Dialect dialect, TrainEvalReport& report,
                                  absl::flat_hash_set<std::string>* verified) {
  Graph& g = module.graph();
  const bool to_eval = to == ModuleMode::kEval;
  // Masks first: encoding their stashes is the only step that can fail.
  std::vector<Mask> masks;
  if (dropout && to_eval) {
    std::vector<Mask> candidates;
    for (const char* t : kBernoulli) {
      if (g.CountTarget(t) == 0) continue;
      for (Node* r : g.NodesWithTarget(t)) {
        std::string why;
        std::optional<Mask> m = MatchMask(r, &why);
        if (!m.has_value()) {
          if (!why.empty()) AddLeftAlone(report, r, why, false);
          continue;
        }
        candidates.push_back(*std::move(m));
      }
    }
    // Constructs must not share nodes (one multiplication of two masks),
    // and x may be another construct's result (a chain) but none of its
    // inner nodes: otherwise "the identity of x" is not defined.
    absl::flat_hash_map<const Node*, int> claims;
    absl::flat_hash_set<const Node*> inner;
    for (const Mask& m : candidates) {
      for (const Node* n : m.nodes) ++claims[n];
      for (size_t i = 0; i + 1 < m.nodes.size(); ++i) inner.insert(m.nodes[i]);
    }
    for (Mask& m : candidates) {
      bool shared = inner.contains(m.x);
      for (const Node* n : m.nodes) shared = shared || claims[n] > 1;
      if (shared) {
        AddLeftAlone(report, m.nodes.back(),
                     "random masks that share nodes or multiply each other",
                     false);
        continue;
      }
      ASSIGN_OR_RETURN(m.stash, EncodeStash(m.nodes));
      masks.push_back(std::move(m));
    }
    // Graph order, so a chain's earlier construct is replaced first and the
    // later one reads the alias that took its place.
    std::sort(masks.begin(), masks.end(), [](const Mask& a, const Mask& b) {
      return a.nodes.back()->IsBefore(b.nodes.back());
    });
  }
  // Flags: literal edits. Train -> eval marks each node it flips, and the
  // way back flips exactly the marked ones, so a flag the model itself set
  // to False (F.dropout2d(training=False)) stays False. A graph without any
  // mark was exported in eval: every flag of a flag op goes to True.
  // Only names a pattern rule listed as left alone need striking out below;
  // on a clean graph there are none, and nothing is recorded.
  const bool track_switched = !report.left_alone.empty();
  absl::flat_hash_set<std::string> switched;
  for (const FlagOp& op : kFlagOps) {
    if (!op.switched_here) continue;
    if ((op.family == kD && !dropout) || (op.family == kB && !batch_norm)) continue;
    if (g.CountTarget(op.target) == 0) continue;
    verified->insert(op.target);
    const std::vector<Node*> nodes = g.NodesWithTarget(op.target);
    bool any_marked = false;
    if (!to_eval) {
      for (const Node* n : nodes) any_marked = any_marked || n->meta().Contains(kFlagMarkerKey);
    }
    for (Node* n : nodes) {
      std::optional<FlagRef> flag = FindFlag(*n, op.index, op.name);
      if (!flag.has_value()) {
        // rrelu's training defaults to False: already eval.
        if (!to_eval) {
          AddLeftAlone(report, n,
                       absl::StrCat("no '", op.name,
                                    "' argument to set (eval by default)"),
                       false);
        }
        continue;
      }
      if (flag->value->kind() != Argument::Kind::kBool) {
        AddLeftAlone(report, n,
                     absl::StrCat("'", op.name, "' is not a bool literal"),
                     to_eval);
        continue;
      }
      if (flag->value->as_bool() != to_eval) continue;  // already there
      if (op.needs_stats && !HasStats(*n)) continue;  // batch stats in both
      if (any_marked && !n->meta().Contains(kFlagMarkerKey)) continue;
      RETURN_IF_ERROR(g.SetLiteralArgument(n, flag->index, Argument::Bool(!to_eval)));
      if (to_eval) {
        n->mutable_meta().Set(kFlagMarkerKey, MetaValue::String(op.name));
      } else {
        n->mutable_meta().Erase(kFlagMarkerKey);
      }
      report.AddSites(op.pattern, dialect, 1);
      if (track_switched) switched.insert(n->name());
    }
  }
  if (batch_norm) {
    for (const char* t : kBatchCounterOps) verified->insert(t);
    SwitchBatchCounters(module, to, dialect, report);
  }
  for (const ProbOp& op : kAttentionOps) {
    if (!dropout || g.CountTarget(op.target) == 0) continue;
    for (Node* n : g.NodesWithTarget(op.target)) {
      std::optional<FlagRef> f = FindFlag(*n, op.index, "dropout_p");
      if (!f.has_value()) continue;  // schema default 0: the same in both modes
      std::optional<double> p = Number(f->value);
      if (to_eval) {
        if (!p.has_value()) {
          AddLeftAlone(report, n, "'dropout_p' is not a number literal", true);
          continue;
        }
        if (*p == 0) continue;
        RETURN_IF_ERROR(g.SetLiteralArgument(n, f->index, Argument::Double(0.0)));
        n->mutable_meta().Set(kFlagMarkerKey, MetaValue::String("attention_dropout"));
        n->mutable_meta().Set(kDropoutPKey, MetaValue::Double(*p));
      } else {
        const MetaValue* saved = n->meta().Find(kDropoutPKey);
        if (saved == nullptr || !saved->is_double()) {
          if (p.has_value() && *p == 0) {
            AddLeftAlone(report, n,
                         "'dropout_p' is 0 and no switch to eval recorded its training value",
                         false);
          }
          continue;
        }
        RETURN_IF_ERROR(g.SetLiteralArgument(n, f->index, Argument::Double(saved->as_double())));
        n->mutable_meta().Erase(kFlagMarkerKey);
        n->mutable_meta().Erase(kDropoutPKey);
      }
      report.AddSites("attention_dropout", dialect, 1);
      if (track_switched) switched.insert(n->name());
    }
  }
  for (Mask& m : masks) {
    Node* x = m.x_user->args()[m.x_arg].node();
    RETURN_IF_ERROR(
        ReplaceWithStashedAlias(g, m.nodes, x, std::move(m.stash)).status());
    report.AddSites(m.pattern, dialect, 1);
  }
  // A pattern rule may have listed a node this pass then switched.
  if (!switched.empty()) {
    std::vector<LeftAlone>& l = report.left_alone;
    l.erase(std::remove_if(l.begin(), l.end(),
                           [&](const LeftAlone& e) { return switched.contains(e.node); }),
            l.end());
  }
  return absl::OkStatus();
}

std::optional<std::string> ModeDependentReason(const Node& n) {
  if (!n.is_call()) return std::nullopt;
  const std::string& target = n.target().qualified;
  if (IsRandomTarget(target)) return std::string("draws random numbers in eval");
  for (const FlagOp& op : kFlagOps) {
    if (target == op.target) return FlagOpReason(op, n);
  }
  for (const ProbOp& op : kAttentionOps) {
    if (target == op.target) return AttentionReason(op, n);
  }
  return std::nullopt;
}

void ReportModeDependentLeft(ExportedModule& module,
                             const absl::flat_hash_set<std::string>& verified,
                             TrainEvalReport& report) {
  Graph& g = module.graph();
  absl::flat_hash_map<std::string, size_t> listed;
  for (size_t i = 0; i < report.left_alone.size(); ++i) {
    listed.emplace(report.left_alone[i].node, i);
  }
  auto flag = [&](const Node* n, std::string reason) {
    auto it = listed.find(n->name());
    if (it != listed.end()) {
      report.left_alone[it->second].prevents_eval = true;
      return;
    }
    listed.emplace(n->name(), report.left_alone.size());
    AddLeftAlone(report, n, std::move(reason), true);
  };
  for (const std::string& target : g.CallTargets()) {
    if (!IsRandomTarget(target)) continue;
    for (const Node* n : g.NodesWithTarget(target)) {
      flag(n, "draws random numbers in eval");
    }
  }
  for (const FlagOp& op : kFlagOps) {
    if (verified.contains(op.target) || g.CountTarget(op.target) == 0) continue;
    for (const Node* n : g.NodesWithTarget(op.target)) {
      if (auto why = FlagOpReason(op, *n)) flag(n, *std::move(why));
    }
  }
  for (const ProbOp& op : kAttentionOps) {
    if (g.CountTarget(op.target) == 0) continue;
    for (const Node* n : g.NodesWithTarget(op.target)) {
      if (auto why = AttentionReason(op, *n)) flag(n, *std::move(why));
    }
  }
  bool counters_verified = true;
  for (const char* t : kBatchCounterOps) counters_verified &= verified.contains(t);
  if (!counters_verified) {
    ForEachCountingBatchCounter(module, [&](const Node* n) {
      flag(n, "num_batches_tracked still counts in eval");
    });
  }
}

}  // namespace rewire
