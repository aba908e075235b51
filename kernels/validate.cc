// Reference checks of dropout and batch norm nodes (see validate.h). The
// reference reads every tensor into doubles and recomputes with plain loops,
// sharing no code with cpu_kernels.cc.
#include "kernels/validate.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <memory>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "ir/schema.h"
#include "ir/status_macros.h"

namespace rewire {
namespace {

// Tensor elements as doubles (reads the raw storage per dtype), in scratch
// memory the run's limits count: the checked tensors may be the largest of
// the run, and their copies are twice as large again.
using Doubles = Scratch<double>;
absl::StatusOr<Doubles> ToDoubles(const Tensor& t) {
  if (!t.defined()) return Doubles::Make(0);
  Tensor h = t;
  if (!h.is_cpu() || !h.is_contiguous()) {
    ASSIGN_OR_RETURN(h, t.CopyTo(Device::Cpu()));
  }
  ASSIGN_OR_RETURN(Doubles out, Doubles::Make(h.numel()));
  for (int64_t i = 0; i < h.numel(); ++i) {
    switch (h.dtype()) {
      case ScalarType::kFloat32: out[i] = h.data<float>()[i]; break;
      case ScalarType::kFloat64: out[i] = h.data<double>()[i]; break;
      case ScalarType::kFloat16: out[i] = HalfToFloat(h.data<Half>()[i]); break;
      case ScalarType::kBFloat16: out[i] = BFloat16ToFloat(h.data<BFloat16>()[i]); break;
      case ScalarType::kInt64: out[i] = static_cast<double>(h.data<int64_t>()[i]); break;
      case ScalarType::kBool: out[i] = static_cast<const uint8_t*>(h.raw_data())[i] ? 1 : 0; break;
      case ScalarType::kUInt8: out[i] = h.data<uint8_t>()[i]; break;
      default: out[i] = NAN; break;
    }
  }
  return out;
}

// Relative rounding unit of a dtype: how exactly a kernel can match a
// double-precision reference.
double Ulp(ScalarType t) {
  switch (t) {
    case ScalarType::kFloat64: return 0x1p-52;
    case ScalarType::kFloat16: return 0x1p-10;
    case ScalarType::kBFloat16: return 0x1p-7;
    default: return 0x1p-23;
  }
}

// Batch norm tolerances: PyTorch's float32 test tolerances, scaled by the
// dtype's precision.
double BnAtol(ScalarType t) { return 1e-5 * Ulp(t) / 0x1p-23; }
double BnRtol(ScalarType t) { return 1.3e-6 * Ulp(t) / 0x1p-23; }

const RuntimeValue* Arg(const Node& node, absl::Span<const RuntimeValue> args,
                 absl::string_view name) {
  const OpSchema* s = node.target().schema;
  if (s == nullptr) return nullptr;
  const int i = s->ArgumentIndex(name);
  return i < 0 || i >= static_cast<int>(args.size()) ? nullptr : &args[i];
}

std::optional<double> Number(const RuntimeValue* v) {
  if (v == nullptr || v->kind != RuntimeValue::Kind::kLiteral) return std::nullopt;
  switch (v->literal.kind()) {
    case Argument::Kind::kDouble: return v->literal.as_double();
    case Argument::Kind::kInt: return static_cast<double>(v->literal.as_int());
    case Argument::Kind::kBool: return v->literal.as_bool() ? 1.0 : 0.0;
    default: return std::nullopt;
  }
}

bool IsDropout(absl::string_view t) {
  return t == "aten.dropout.default" || t == "aten.dropout_.default" ||
         t == "aten.native_dropout.default";
}

struct BnSpec {
  const char* train = "training";  // nullptr: always eval
  const char* momentum = "momentum";
  const char* eps = "eps";
  bool has_stats = true;
  bool functional = false;
};

std::optional<BnSpec> BnSpecFor(absl::string_view t) {
  BnSpec s;
  if (t == "aten.batch_norm.default" || t == "aten.native_batch_norm.default" ||
      t == "aten._native_batch_norm_legit.default") {
    return s;
  }
  if (t == "aten._native_batch_norm_legit.no_stats") {
    s.has_stats = false;
    return s;
  }
  if (t == "aten._native_batch_norm_legit_no_training.default") {
    s.train = nullptr;
    return s;
  }
  if (t == "aten._native_batch_norm_legit_functional.default") {
    s.functional = true;
    return s;
  }
  if (t == "aten.cudnn_batch_norm.default") {
    s.momentum = "exponential_average_factor";
    s.eps = "epsilon";
    return s;
  }
  return std::nullopt;
}

// Inputs captured before a node runs (in-place ops overwrite them).
struct Snapshot {
  Doubles x, w, b, rm, rv;
  std::vector<int64_t> shape;
  ScalarType dtype = ScalarType::kFloat32;
  bool has_w = false, has_b = false, has_rm = false, has_rv = false;
};

const Tensor* TensorArg(const Node& node, absl::Span<const RuntimeValue> args,
                        absl::string_view name) {
  const RuntimeValue* v = Arg(node, args, name);
  return v != nullptr && v->is_tensor() && v->tensor.defined() ? &v->tensor : nullptr;
}

class Checker {
 public:
  Checker(ModuleMode mode, double sigmas, ValidationReport* report)
      : mode_(mode), sigmas_(sigmas), report_(report) {}

  absl::Status Before(const Node& node, absl::Span<const RuntimeValue> args) {
    const std::string& t = node.target().qualified;
    if (!IsDropout(t) && !BnSpecFor(t).has_value()) return absl::OkStatus();
    Snapshot s;
    const Tensor* x = TensorArg(node, args, t == "aten.dropout_.default" ? "self" : "input");
    if (x == nullptr) return absl::OkStatus();
    ASSIGN_OR_RETURN(s.x, ToDoubles(*x));
    s.shape = x->shape();
    s.dtype = x->dtype();
    if (BnSpecFor(t).has_value()) {
      auto grab = [&](const char* name, Doubles* out, bool* has) -> absl::Status {
        const Tensor* p = TensorArg(node, args, name);
        *has = p != nullptr;
        if (p != nullptr) {
          ASSIGN_OR_RETURN(*out, ToDoubles(*p));
        }
        return absl::OkStatus();
      };
      RETURN_IF_ERROR(grab("weight", &s.w, &s.has_w));
      RETURN_IF_ERROR(grab("bias", &s.b, &s.has_b));
      RETURN_IF_ERROR(grab("running_mean", &s.rm, &s.has_rm));
      RETURN_IF_ERROR(grab("running_var", &s.rv, &s.has_rv));
    }
    snapshots_[&node] = std::move(s);
    return absl::OkStatus();
  }

  // Errors are the run's (a copy over its limits), not failed checks.
  absl::Status After(const Node& node, absl::Span<const RuntimeValue> args,
                     const RuntimeValue& result) {
    const std::string& t = node.target().qualified;
    if (t == "aten.bernoulli_.float") return CheckBernoulli(node, args, result);
    auto it = snapshots_.find(&node);
    if (it == snapshots_.end()) return absl::OkStatus();
    Snapshot s = std::move(it->second);
    snapshots_.erase(it);
    if (IsDropout(t)) return CheckDropout(node, args, result, s);
    return CheckBatchNorm(node, args, result, s, *BnSpecFor(t));
  }

 private:
  NodeCheck& Add(const Node& node, std::string what) {
    report_->checks.push_back(NodeCheck{node.name(), node.target().qualified, std::move(what)});
    return report_->checks.back();
  }
  static void Fail(NodeCheck& c, std::string why) {
    c.passed = false;
    if (!c.detail.empty()) c.detail += "; ";
    c.detail += why;
  }

  void CheckKeepRate(NodeCheck& c, int64_t kept, int64_t n, double q) {
    if (n == 0) return;
    const double rate = static_cast<double>(kept) / n;
    const double bound = sigmas_ * std::sqrt(q * (1 - q) / n) + 1.0 / n;
    if (std::fabs(rate - q) > bound) {
      Fail(c, absl::StrFormat("kept %d of %d (%.4f), expected %.4f +- %.4f", kept,
                              n, rate, q, bound));
    }
  }

  absl::Status CheckBernoulli(const Node& node, absl::Span<const RuntimeValue> args,
                              const RuntimeValue& result) {
    const double q = Number(Arg(node, args, "p")).value_or(0.5);
    NodeCheck& c = Add(node, absl::StrFormat(
                                 "decomposed dropout (bernoulli_) train-form p=%g: "
                                 "values in {0, 1}, keep rate", 1 - q));
    if (mode_ == ModuleMode::kEval) {
      Fail(c, "train-form dropout (bernoulli_) in an eval graph");
    }
    if (!result.is_tensor()) {
      Fail(c, "result is not a tensor");
      return absl::OkStatus();
    }
    ASSIGN_OR_RETURN(Doubles v, ToDoubles(result.tensor));
    int64_t ones = 0;
    for (double e : v) {
      if (e == 1) {
        ++ones;
      } else if (e != 0) {
        c.max_error = std::max(c.max_error, std::fabs(e));
        Fail(c, absl::StrFormat("value %g is neither 0 nor 1", e));
        return absl::OkStatus();
      }
    }
    CheckKeepRate(c, ones, v.size(), q);
    return absl::OkStatus();
  }

  absl::Status CheckDropout(const Node& node, absl::Span<const RuntimeValue> args,
                            const RuntimeValue& result, const Snapshot& s) {
    const std::string& t = node.target().qualified;
    const double p = Number(Arg(node, args, "p")).value_or(NAN);
    const RuntimeValue* tv = Arg(node, args, "train");
    const bool train = tv == nullptr || tv->is_none() || Number(tv).value_or(1) != 0;
    const bool native = t == "aten.native_dropout.default";
    const RuntimeValue* outv = native && result.is_list() && !result.list.empty() ? &result.list[0] : &result;
    NodeCheck& c = Add(node, train ? absl::StrFormat("dropout train-form p=%g: keep rate, "
                                                     "kept values scaled by 1/(1-p)", p)
                                   : std::string("dropout eval-form: identity"));
    if (!outv->is_tensor()) {
      Fail(c, "result is not a tensor");
      return absl::OkStatus();
    }
    ASSIGN_OR_RETURN(Doubles y, ToDoubles(outv->tensor));
    if (y.size() != s.x.size() || outv->tensor.shape() != s.shape) {
      Fail(c, absl::StrCat("output shape ", ShapeToString(outv->tensor.shape()),
                           " differs from input shape ", ShapeToString(s.shape)));
      return absl::OkStatus();
    }
    Doubles mask;
    if (native && result.is_list() && result.list.size() > 1 && result.list[1].is_tensor()) {
      ASSIGN_OR_RETURN(mask, ToDoubles(result.list[1].tensor));
    }
    if (!train) {
      for (int64_t i = 0; i < y.size(); ++i) {
        if (!(y[i] == s.x[i] || (std::isnan(y[i]) && std::isnan(s.x[i])))) {
          c.max_error = std::max(c.max_error, std::fabs(y[i] - s.x[i]));
        }
      }
      if (c.max_error != 0) Fail(c, "eval-form dropout changed its input");
      for (double m : mask) {
        if (m != 1) {
          Fail(c, "eval-form native_dropout mask is not all true");
          break;
        }
      }
      return absl::OkStatus();
    }
    if (mode_ == ModuleMode::kEval) Fail(c, "train-form dropout in an eval graph");
    const double q = 1 - p;
    const double tol = 2 * Ulp(s.dtype);
    int64_t kept = 0, counted = 0;
    for (int64_t i = 0; i < y.size(); ++i) {
      const double ref = q > 0 ? s.x[i] / q : 0.0;
      bool is_kept;
      if (mask.size() > 0) {
        is_kept = mask[i] != 0;
      } else if (s.x[i] == 0 || !std::isfinite(s.x[i])) {
        continue;  // kept and dropped look alike (0) or cannot be told apart
      } else {
        is_kept = y[i] != 0;
      }
      ++counted;
      if (is_kept) {
        ++kept;
        const double err = std::fabs(y[i] - ref) / std::max(std::fabs(ref), 1e-300);
        if (std::isfinite(ref)) c.max_error = std::max(c.max_error, err);
      } else if (y[i] != 0) {
        c.max_error = std::max(c.max_error, std::fabs(y[i]));
      }
    }
    if (c.max_error > tol) {
      Fail(c, absl::StrFormat("kept values deviate from x/(1-p) by %g (relative), "
                              "or dropped values are not 0", c.max_error));
    }
    CheckKeepRate(c, kept, counted, q);
    return absl::OkStatus();
  }

  absl::Status CheckBatchNorm(const Node& node, absl::Span<const RuntimeValue> args,
                              const RuntimeValue& result, const Snapshot& s,
                              const BnSpec& spec) {
    bool training = false;
    if (spec.train != nullptr) training = Number(Arg(node, args, spec.train)).value_or(0) != 0;
    const double momentum = Number(Arg(node, args, spec.momentum)).value_or(0.1);
    const double eps = Number(Arg(node, args, spec.eps)).value_or(1e-5);
    NodeCheck& c = Add(node, training
                                 ? absl::StrFormat("batch norm train-form (momentum=%g, eps=%g): "
                                                   "batch statistics%s", momentum, eps,
                                                   s.has_rm ? ", running stats updated" : "")
                                 : absl::StrFormat("batch norm eval-form (eps=%g): running "
                                                   "statistics, no update", eps));
    if (training && s.has_rm && mode_ == ModuleMode::kEval) {
      Fail(c, "train-form batch norm with running stats in an eval graph");
    }
    const RuntimeValue* outv = result.is_list() && !result.list.empty() ? &result.list[0] : &result;
    if (!outv->is_tensor() || outv->tensor.shape() != s.shape || s.shape.size() < 2) {
      Fail(c, "output shape differs from input shape");
      return absl::OkStatus();
    }
    const int64_t n_ch = s.shape[1];
    int64_t inner = 1;
    for (size_t i = 2; i < s.shape.size(); ++i) inner *= s.shape[i];
    const int64_t count = s.shape[0] * inner;
    ASSIGN_OR_RETURN(Doubles mean, Doubles::Make(n_ch, 0));
    ASSIGN_OR_RETURN(Doubles var, Doubles::Make(n_ch, 0));
    for (int64_t ch = 0; ch < n_ch; ++ch) {
      for (int64_t n = 0; n < s.shape[0]; ++n) {
        for (int64_t k = 0; k < inner; ++k) mean[ch] += s.x[(n * n_ch + ch) * inner + k];
      }
      mean[ch] /= static_cast<double>(count);
      for (int64_t n = 0; n < s.shape[0]; ++n) {
        for (int64_t k = 0; k < inner; ++k) {
          const double d = s.x[(n * n_ch + ch) * inner + k] - mean[ch];
          var[ch] += d * d;
        }
      }
      var[ch] /= static_cast<double>(count);
    }
    if (!training && (!s.has_rm || !s.has_rv)) {
      Fail(c, "eval batch norm without running statistics");
      return absl::OkStatus();
    }
    ASSIGN_OR_RETURN(Doubles y, ToDoubles(outv->tensor));
    const double atol = BnAtol(s.dtype), rtol = BnRtol(s.dtype);
    double worst = 0;  // error beyond tolerance
    for (int64_t n = 0; n < s.shape[0]; ++n) {
      for (int64_t ch = 0; ch < n_ch; ++ch) {
        const double m = training ? mean[ch] : s.rm[ch];
        const double v = training ? var[ch] : s.rv[ch];
        const double inv = 1.0 / std::sqrt(v + eps);
        const double w = s.has_w ? s.w[ch] : 1.0, b = s.has_b ? s.b[ch] : 0.0;
        for (int64_t k = 0; k < inner; ++k) {
          const int64_t i = (n * n_ch + ch) * inner + k;
          const double ref = (s.x[i] - m) * inv * w + b;
          const double err = std::fabs(y[i] - ref);
          c.max_error = std::max(c.max_error, err);
          worst = std::max(worst, err - (atol + rtol * std::fabs(ref)));
        }
      }
    }
    if (worst > 0) {
      Fail(c, absl::StrFormat("output deviates from the %s-statistics reference by %g",
                              training ? "batch" : "running", c.max_error));
    }
    // Running statistics afterwards.
    if (!s.has_rm || !s.has_rv) return absl::OkStatus();
    const Tensor* rm_after = nullptr;
    const Tensor* rv_after = nullptr;
    if (spec.functional) {
      if (result.is_list() && result.list.size() == 5) {
        rm_after = &result.list[3].tensor;
        rv_after = &result.list[4].tensor;
      }
      // The functional form must leave its inputs alone.
      const Tensor* rm_in = TensorArg(node, args, "running_mean");
      const Tensor* rv_in = TensorArg(node, args, "running_var");
      for (const auto& [in, before] : {std::pair{rm_in, &s.rm}, std::pair{rv_in, &s.rv}}) {
        if (in == nullptr) continue;
        ASSIGN_OR_RETURN(Doubles now, ToDoubles(*in));
        if (!std::equal(now.begin(), now.end(), before->begin(), before->end())) {
          Fail(c, "the functional form wrote its running-stat inputs");
          break;
        }
      }
    } else {
      rm_after = TensorArg(node, args, "running_mean");
      rv_after = TensorArg(node, args, "running_var");
    }
    if (rm_after == nullptr || rv_after == nullptr) {
      Fail(c, "running statistics are missing after the node");
      return absl::OkStatus();
    }
    ASSIGN_OR_RETURN(Doubles rm, ToDoubles(*rm_after));
    ASSIGN_OR_RETURN(Doubles rv, ToDoubles(*rv_after));
    if (rm.size() != n_ch || rv.size() != n_ch) {
      Fail(c, "running statistics have the wrong size");
      return absl::OkStatus();
    }
    double stat_err = 0, stat_worst = 0;
    for (int64_t ch = 0; ch < n_ch; ++ch) {
      double erm = s.rm[ch], erv = s.rv[ch];
      if (training) {
        const double unbiased = count > 1 ? var[ch] * count / (count - 1) : var[ch];
        erm = (1 - momentum) * s.rm[ch] + momentum * mean[ch];
        erv = (1 - momentum) * s.rv[ch] + momentum * unbiased;
      }
      for (auto [got, want] : {std::pair{rm[ch], erm}, std::pair{rv[ch], erv}}) {
        const double err = std::fabs(got - want);
        stat_err = std::max(stat_err, err);
        stat_worst = std::max(stat_worst, err - (atol + rtol * std::fabs(want)));
      }
    }
    c.max_error = std::max(c.max_error, stat_err);
    if (stat_worst > 0) {
      // Two literal formats, not one chosen at run time: StrFormat checks its
      // format string at compile time, which a conditional defeats on clang.
      Fail(c, training ? absl::StrFormat("running stats differ from the momentum update "
                                         "with unbiased variance by %g",
                                         stat_err)
                       : absl::StrFormat("eval batch norm changed the running stats by %g",
                                         stat_err));
    }
    return absl::OkStatus();
  }

  ModuleMode mode_;
  double sigmas_;
  ValidationReport* report_;
  absl::flat_hash_map<const Node*, Snapshot> snapshots_;
};

}  // namespace

int ValidationReport::num_failed() const {
  return static_cast<int>(std::count_if(checks.begin(), checks.end(),
                                        [](const NodeCheck& c) { return !c.passed; }));
}

std::string ValidationReport::ToString() const {
  std::string out;
  for (const NodeCheck& c : checks) {
    absl::StrAppend(&out, c.passed ? "PASS " : "FAIL ", "%", c.node, " (", c.target,
                    "): ", c.what, absl::StrFormat(" [max error %g]", c.max_error),
                    c.detail.empty() ? "" : ": ", c.detail, "\n");
  }
  return out;
}

absl::Status Validate(const ExportedModule& module,
                      const std::vector<std::pair<std::string, Tensor>>& inputs,
                      const ValidateOptions& options, ValidationReport* report) {
  report->checks.clear();
  ExportedModule copy = module.Clone();
  Checker checker(options.expected_mode.value_or(module.mode()), options.sigmas, report);
  ExecuteOptions exec = options.execute;
  auto user_before = exec.before_node;
  auto user_after = exec.after_node;
  exec.before_node = [&](const Node& node, absl::Span<const RuntimeValue> args) -> absl::Status {
    if (user_before) RETURN_IF_ERROR(user_before(node, args));
    return checker.Before(node, args);
  };
  exec.after_node = [&](const Node& node, absl::Span<const RuntimeValue> args,
                        RuntimeValue& result) -> absl::Status {
    if (user_after) RETURN_IF_ERROR(user_after(node, args, result));
    if (options.alter_result_for_testing) options.alter_result_for_testing(node, result);
    return checker.After(node, args, result);
  };
  ASSIGN_OR_RETURN(ExecutionResult r, Execute(copy, inputs, exec));
  (void)r;
  const int failed = report->num_failed();
  if (failed == 0) return absl::OkStatus();
  std::string summary;
  for (const NodeCheck& c : report->checks) {
    if (!c.passed) absl::StrAppend(&summary, "; %", c.node, ": ", c.detail);
  }
  return absl::FailedPreconditionError(absl::StrCat(
      "validation failed: ", failed, " of ", report->checks.size(), " checks", summary));
}

}  // namespace rewire
