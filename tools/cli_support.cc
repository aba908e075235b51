#include "tools/cli_support.h"

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "base/file.h"
#include "base/printable.h"
#include "ir/status_macros.h"
#include "kernels/tensor.h"
#include "tools/npy.h"

namespace rewire {
namespace tools {

// ---------------------------------------------------------------------------
// Flag parsing.



int Cli::Parse(const std::string& cmd, const std::vector<std::string>& args,
             const std::vector<FlagSpec>& specs, ParsedArgs* parsed) {
  for (size_t i = 1; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--help" || a == "-h") {
      parsed->help = true;
      continue;
    }
    if (a == "--") {
      for (++i; i < args.size(); ++i) parsed->positional.push_back(args[i]);
      break;
    }
    if (a.size() > 1 && a[0] == '-') {
      std::string name = a;
      std::optional<std::string> value;
      size_t eq = a.find('=');
      if (absl::StartsWith(a, "--") && eq != std::string::npos) {
        name = a.substr(0, eq);
        value = a.substr(eq + 1);
      }
      const FlagSpec* spec = nullptr;
      for (const FlagSpec& s : specs) {
        if (name == s.name) spec = &s;
      }
      if (spec == nullptr) {
        return Usage(cmd, absl::StrCat("rewire ", cmd, ": unknown flag '",
                                       name, "'"));
      }
      if (spec->takes_value) {
        if (!value.has_value()) {
          if (i + 1 >= args.size()) {
            return Usage(cmd, absl::StrCat("rewire ", cmd, ": flag '", name,
                                           "' needs a value"));
          }
          value = args[++i];
        }
        parsed->values[name].push_back(*value);
      } else if (value.has_value()) {
        return Usage(cmd, absl::StrCat("rewire ", cmd, ": flag '", name,
                                       "' takes no value"));
      }
      parsed->present.insert(name);
      continue;
    }
    parsed->positional.push_back(a);
  }
  return kExitOk;
}

std::string OneLine(absl::string_view s) {
  std::string out = absl::StrReplaceAll(absl::StripSuffix(s, "\n"), {{"\n", "; "}});
  return out;
}


bool ParseU64(const std::string& s, uint64_t* v) { return absl::SimpleAtoi(s, v); }

namespace {

// A limit flag's value: a positive count with an optional binary suffix
// (K = 2^10 ... T = 2^40), or "unlimited" (INT64_MAX).
bool ParseLimit(absl::string_view s, int64_t* v) {
  if (s == "unlimited") {
    *v = std::numeric_limits<int64_t>::max();
    return true;
  }
  int shift = 0;
  if (!s.empty()) {
    const absl::string_view suffixes = "KMGT";
    const size_t k = suffixes.find(s.back());
    if (k != absl::string_view::npos) {
      shift = 10 * static_cast<int>(k + 1);
      s.remove_suffix(1);
    }
  }
  int64_t n;
  if (!absl::SimpleAtoi(s, &n) || n <= 0 || n > (std::numeric_limits<int64_t>::max() >> shift)) {
    return false;
  }
  *v = n << shift;
  return true;
}

}  // namespace

// --max-memory and --max-node-work into `options`; kExitOk or a usage error.
int ParseLimitFlags(Cli& cli, const char* cmd, const ParsedArgs& a, ExecuteOptions* options) {
  struct LimitFlag {
    const char* name;
    int64_t* field;
  };
  for (LimitFlag f : {LimitFlag{"--max-memory", &options->max_total_bytes},
                      LimitFlag{"--max-node-work", &options->max_node_work}}) {
    const std::string* s = a.Get(f.name);
    if (s != nullptr && !ParseLimit(*s, f.field)) {
      return cli.Usage(cmd, absl::StrCat(f.name, " '", *s,
                                         "': expected a positive count with an optional "
                                         "K, M, G or T suffix, or 'unlimited'"));
    }
  }
  return kExitOk;
}

// ---------------------------------------------------------------------------
// Model files.



absl::string_view ModeName(ModuleMode m) {
  return m == ModuleMode::kTrain ? "train" : "eval";
}

std::string ShapeOf(const TensorMeta& m) { return m.ShortString(); }

std::string HumanBytes(int64_t b) {
  if (b < 1024) return absl::StrCat(b, " B");
  if (b < (1 << 20)) return absl::StrFormat("%.1f KiB", b / 1024.0);
  if (b < (int64_t{1} << 30)) return absl::StrFormat("%.1f MiB", b / 1048576.0);
  return absl::StrFormat("%.2f GiB", b / 1073741824.0);
}

// ---------------------------------------------------------------------------
// Tensors for `run` and `validate`.

std::string DeviceName(const std::optional<Device>& d) {
  return d.has_value() ? d->ToString() : "none (no parameters or buffers)";
}

absl::StatusOr<Tensor> RandomTensor(const Node& ph, std::mt19937_64& rng) {
  const MetaValue* val = ph.meta().val();
  if (val == nullptr || !val->is_tensor()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "input %", ph.name(), " has no tensor \"val\" to draw a random input "
        "from; pass --input ", ph.name(), "=FILE.npy"));
  }
  const TensorMeta& m = val->tensor();
  if (m.has_symbolic_dims()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "input %", ph.name(), " has symbolic shape ", m.ShortString(),
        "; pass --input ", ph.name(), "=FILE.npy"));
  }
  std::vector<int64_t> shape;
  for (const Dim& d : m.shape) shape.push_back(d.value);
  ASSIGN_OR_RETURN(Tensor t, Tensor::Empty(m.dtype, shape));
  const int64_t n = t.numel();
  std::normal_distribution<double> normal(0.0, 1.0);
  switch (m.dtype) {
    case ScalarType::kFloat32: {
      float* p = t.data<float>();
      for (int64_t i = 0; i < n; ++i) p[i] = static_cast<float>(normal(rng));
      break;
    }
    case ScalarType::kFloat64: {
      double* p = t.data<double>();
      for (int64_t i = 0; i < n; ++i) p[i] = normal(rng);
      break;
    }
    case ScalarType::kInt64: {
      int64_t* p = t.data<int64_t>();
      for (int64_t i = 0; i < n; ++i) p[i] = static_cast<int64_t>(rng() % 10);
      break;
    }
    case ScalarType::kBool: {
      bool* p = t.data<bool>();
      for (int64_t i = 0; i < n; ++i) p[i] = (rng() & 1) != 0;
      break;
    }
    default:
      return absl::UnimplementedError(absl::StrCat(
          "input %", ph.name(), ": cannot draw random ",
          ScalarTypeName(m.dtype), " values; pass --input ", ph.name(),
          "=FILE.npy"));
  }
  return t;
}

namespace {

// Checks an input's dtype and shape against its placeholder's "val".
absl::Status CheckInput(const Node& ph, const Tensor& t, absl::string_view file) {
  const MetaValue* val = ph.meta().val();
  if (val == nullptr || !val->is_tensor()) return absl::OkStatus();
  const TensorMeta& m = val->tensor();
  if (m.dtype != t.dtype()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--input ", ph.name(), "=", file, ": dtype ",
        ScalarTypeName(t.dtype()), " but placeholder %", ph.name(),
        " expects ", ScalarTypeName(m.dtype)));
  }
  bool ok = m.shape.size() == t.shape().size();
  for (size_t i = 0; ok && i < m.shape.size(); ++i) {
    if (!m.shape[i].is_symbolic() && m.shape[i].value != t.shape()[i]) ok = false;
  }
  if (!ok) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--input ", ph.name(), "=", file, ": shape ",
        ShapeToString(t.shape()), " but placeholder %", ph.name(),
        " expects ", m.ShortString()));
  }
  return absl::OkStatus();
}

}  // namespace

// Refuses, before anything is drawn, random inputs that cannot fit in
// `max_total_bytes` together with the copy of each that the run makes
// (drawing gigabytes takes minutes, only for the run to be refused).
absl::Status CheckRandomInputSizes(const std::vector<Node*>& phs,
                                   const std::map<std::string, std::string>& given,
                                   int64_t max_total_bytes) {
  int64_t need = 0;
  for (const Node* ph : phs) {
    const MetaValue* val = ph->meta().val();
    if (given.count(ph->name()) > 0 || val == nullptr || !val->is_tensor()) continue;
    absl::StatusOr<int64_t> n = val->tensor().NumElements();
    if (!n.ok()) continue;  // symbolic: RandomTensor explains
    int64_t bytes;
    if (__builtin_mul_overflow(*n, int64_t{ScalarTypeSize(val->tensor().dtype)} * 2, &bytes) ||
        __builtin_add_overflow(need, bytes, &need) || need > max_total_bytes) {
      return absl::ResourceExhaustedError(absl::StrCat(
          "random input for placeholder %", ph->name(), ": ", val->tensor().ShortString(),
          " and the run's copy of it would bring the inputs over the limit of ",
          max_total_bytes, " bytes in total (see --max-memory)"));
    }
  }
  return absl::OkStatus();
}

// Builds the inputs of `module` from --input flags and random draws.
// Usage problems (malformed flag) return InvalidArgument with `usage` set.
absl::StatusOr<std::vector<std::pair<std::string, Tensor>>> BuildInputs(
    const ExportedModule& module, const std::vector<std::string>& flags,
    uint64_t seed, int64_t max_total_bytes, bool* usage) {
  *usage = false;
  std::vector<Node*> phs = module.InputPlaceholders();
  std::vector<std::string> names;
  for (const Node* n : phs) names.push_back(n->name());
  std::map<std::string, std::string> given;
  for (const std::string& f : flags) {
    size_t eq = f.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == f.size()) {
      *usage = true;
      return absl::InvalidArgumentError(absl::StrCat(
          "--input '", f, "': expected NAME=FILE.npy"));
    }
    std::string name = f.substr(0, eq);
    if (std::find(names.begin(), names.end(), name) == names.end()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--input ", name, ": the model has no input placeholder named '",
          name, "' (inputs: ",
          names.empty() ? "none" : absl::StrJoin(names, ", "), ")"));
    }
    if (!given.emplace(name, f.substr(eq + 1)).second) {
      *usage = true;
      return absl::InvalidArgumentError(
          absl::StrCat("--input ", name, " given twice"));
    }
  }
  RETURN_IF_ERROR(CheckRandomInputSizes(phs, given, max_total_bytes));
  std::mt19937_64 rng(seed);
  std::vector<std::pair<std::string, Tensor>> inputs;
  for (const Node* ph : phs) {
    auto it = given.find(ph->name());
    if (it != given.end()) {
      ASSIGN_OR_RETURN(Tensor t, ReadNpyFile(it->second));
      RETURN_IF_ERROR(CheckInput(*ph, t, it->second));
      inputs.emplace_back(ph->name(), std::move(t));
    } else {
      absl::StatusOr<Tensor> t = RandomTensor(*ph, rng);
      if (!t.ok()) {
        if (t.status().code() != absl::StatusCode::kOutOfRange) return t.status();
        const bool total = absl::StrContains(t.status().message(), "in total");
        return absl::ResourceExhaustedError(absl::StrCat(
            "random input for placeholder %", ph->name(), ": ", t.status().message(),
            total ? " (see --max-memory)" : ""));
      }
      inputs.emplace_back(ph->name(), *std::move(t));
    }
  }
  return inputs;
}

namespace {

std::vector<double> ToDoubles(const Tensor& t, int64_t limit) {
  std::vector<double> v;
  const int64_t n = std::min<int64_t>(t.numel(), limit);
  for (int64_t i = 0; i < n; ++i) {
    switch (t.dtype()) {
      case ScalarType::kFloat32: v.push_back(t.data<float>()[i]); break;
      case ScalarType::kFloat64: v.push_back(t.data<double>()[i]); break;
      case ScalarType::kInt64: v.push_back(static_cast<double>(t.data<int64_t>()[i])); break;
      case ScalarType::kBool: v.push_back(t.data<bool>()[i] ? 1 : 0); break;
      default: return v;
    }
  }
  return v;
}

}  // namespace

std::string Summarize(const Tensor& t) {
  if (!t.defined()) return "None";
  std::string s = absl::StrCat(ScalarTypeShortName(t.dtype()),
                               ShapeToString(t.shape()));
  std::vector<double> all = ToDoubles(t, t.numel());
  if (all.empty()) return s;
  double mn = all[0], mx = all[0], sum = 0;
  for (double d : all) {
    mn = std::min(mn, d);
    mx = std::max(mx, d);
    sum += d;
  }
  std::vector<std::string> head;
  for (size_t i = 0; i < all.size() && i < 6; ++i) {
    head.push_back(absl::StrFormat("%.5g", all[i]));
  }
  absl::StrAppend(&s, absl::StrFormat(" min %.5g max %.5g mean %.5g", mn, mx,
                                      sum / all.size()),
                  "  [", absl::StrJoin(head, ", "),
                  all.size() > 6 ? ", ..." : "", "]");
  return s;
}

// A file-name-safe version of an output name.
absl::StatusOr<Device> ParseDevice(const std::string& s) {
  if (s == "cpu") return Device::Cpu();
  if (s == "cuda") return Device::Cuda(0);
  absl::string_view v = s;
  int idx = 0;
  if (absl::ConsumePrefix(&v, "cuda:") && absl::SimpleAtoi(v, &idx) &&
      idx >= 0 && idx < 1024) {
    return Device::Cuda(static_cast<int16_t>(idx));
  }
  return absl::InvalidArgumentError(
      absl::StrCat("--device '", s, "': expected cpu, cuda or cuda:N"));
}

}  // namespace tools
}  // namespace rewire
