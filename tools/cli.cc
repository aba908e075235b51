// The subcommands of `rewire`. Each one is a function taking its parsed
// flags; a small table-driven parser (no global flag registry) rejects
// unknown flags per subcommand, because a typo such as `--inpt` silently
// ignored would run the model on random data.
#include "tools/cli.h"

#include <errno.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <map>
#include <optional>
#include <random>
#include <set>
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
#include "base/file.h"
#include "base/file_set.h"
#include "base/printable.h"
#include "ir/exported_module.h"
#include "ir/serialization.h"
#include "ir/status_macros.h"
#include "ir/text_format.h"
#include "ir/verifier.h"
#include "kernels/executor.h"
#include "kernels/tensor.h"
#include "kernels/validate.h"
#include "tools/demo_model.h"
#include "tools/dot.h"
#include "tools/mode_switch.h"
#include "tools/model_files.h"
#include "tools/npy.h"
#include "tools/rewire_c.h"
#include "tools/run_outputs.h"
#include "tools/synthetic_model.h"

namespace rewire {
namespace tools {
namespace {

// ---------------------------------------------------------------------------
// Usage texts.

constexpr char kMainUsage[] = R"(rewire: exported PyTorch graphs in C++ (train/eval switching, rewriting, kernels)

usage: rewire <command> [flags] [args]

commands:
  demo                       run the built-in example end to end (no files needed)
  info FILE                  summary: exported?, device, mode, dialect, ops, state, inputs, verifier
  eval FILE -o OUT           switch an exported model to eval (pt2e move_exported_model_to_eval)
  train FILE -o OUT          switch an exported model back to train
  print FILE                 the graph in rewire's readable text form
  dot FILE [-o OUT] [--svg|--png]   Graphviz picture of the graph
  run FILE [--input NAME=X.npy ...] [--seed N] [--device cpu|cuda] [-o OUTDIR] [--save-inputs DIR]
                             execute with native kernels, outputs as .npy
  validate FILE              run and check dropout/batch norm semantics node by node
  gen --blocks N -o OUT      write a synthetic conv/batch_norm/relu/dropout model
  version, --version         print rewire's version

Model files: .pb (binary proto), .pbtxt (text proto); .txt/.rwir (readable
text form) hold the graph only: no weights, no mode.
Exit status: 0 ok, 1 failure, 2 usage error. `rewire <command> --help` for details.
)";

constexpr char kDemoUsage[] = R"(usage: rewire demo [--seed N]

Builds an example model (two conv -> batch_norm -> relu blocks, dropout,
linear; eps 1e-3, momentum 0.03, p 0.3) as an exported training-IR graph,
prints it, runs a training step, switches it to eval (printing the report),
runs and validates eval semantics, switches back to train, checks that eps,
momentum and p survived, and prints a summary with timings.
  --seed N   weights, inputs and dropout masks (default 0)
Exit status 1 if any check fails.
)";

constexpr char kInfoUsage[] = R"(usage: rewire info FILE

Prints whether FILE is an exported model ("val" metadata present), its device
(AssertAndGetUniqueDevice), mode, the exporter dialect(s) its dropout and batch
norm ops show, node and op counts, ops without a kernel, parameters and buffers
with sizes, input placeholders with shapes, and the verifier's result.
FILE: .pb, .pbtxt, or .txt/.rwir (graph only).
)";

constexpr char kEvalUsage[] = R"(usage: rewire eval FILE -o OUT [--strict]
       rewire train FILE -o OUT

Rewrites every mode-dependent construct of an exported model (dropout and
its variants, drop path, batch and instance norm, rrelu, num_batches_tracked)
to the eval (or train) form, keeping the model's own p, eps and momentum,
and prints the TrainEvalReport. Nodes that still keep the eval graph from
computing what eager model.eval() computes are listed with "[differs from
eager eval]" and a warning. OUT's format comes from its extension: .pb,
.pbtxt, or .txt/.rwir for the readable text form (graph only: weights and
mode are NOT kept there). OUT is written atomically.
  -o OUT          output file (required)
  --strict        eval only: fail (exit 1, nothing written) when any such
                  node is left
  --dialect NAME  not supported: train_eval detects the dialect of each
                  dropout and batch norm from the ops the graph holds, and
                  rewire has no API to force one; passing it is a usage error
                  (`rewire info` shows the detected dialects).
)";

constexpr char kPrintUsage[] = R"(usage: rewire print FILE

Prints the graph in rewire's readable text form (ir/text_format.h): one node
per line with its "val" type, as torch.fx prints graphs.
)";

constexpr char kDotUsage[] = R"(usage: rewire dot FILE [-o OUT] [--svg|--png]

Writes the graph as Graphviz dot: nodes coloured by op family (conv/linear
orange, norms green, dropout red-ish, activations yellow, inputs blue, state
grey), dropout and batch norm in training form with a thick red border and a
TRAIN tag (eval form: green border), edges labelled with shapes.
  -o OUT   output file (default: stdout for dot text; FILE's base name with
           .svg/.png in the current directory when rendering)
  --svg, --png   render with Graphviz's `dot` program (must be installed:
           apt-get install graphviz); without it this fails with exit 1.
)";

constexpr char kRunUsage[] = R"(usage: rewire run FILE [--input NAME=X.npy ...] [--seed N] [--device cpu|cuda] [-o OUTDIR]
                 [--save-inputs DIR] [--max-memory N] [--max-node-work N]

Executes the model with native kernels. Inputs not given are drawn at random
(normal floats, small ints, random bools) from their placeholders' "val"
shapes. Outputs are written to OUTDIR as <output name>.npy (NumPy 1.0,
little-endian, C order; atomic), or summarized on stdout without -o. The model
file itself is never modified (a training step's running-stat updates are
reported, not saved).
  --input NAME=FILE.npy   an input placeholder's value (float32, float64,
                          int64 or bool; must match the placeholder's dtype
                          and shape); repeatable
  --seed N                random inputs and dropout masks (default 0)
  --device cpu|cuda[:N]   where to run (default: the model's device); CUDA
                          needs a --config=cuda build
  -o OUTDIR               directory for the .npy files (created if missing)
  --save-inputs DIR       also write the inputs the run used, drawn or given,
                          as DIR/<placeholder>.npy (written like -o), so a
                          later run can pass them back with --input
)";

// The limit flags of every command that executes (ParseLimitFlags).
constexpr char kLimitFlagsUsage[] = R"(  --max-memory N[K|M|G|T]  live bytes of all the run's tensors together,
                          random inputs included (default: half of this
                          machine's memory; K = 1024 bytes, ...)
  --max-node-work N[K|M|G|T]  operations one node may need, estimated from
                          its shapes before it runs (FLOPs for conv, matmul,
                          attention, einsum, pooling; element visits for
                          the rest; default 1T = 2^40)
                          Both take `unlimited`; over a limit: exit 1 naming
                          the node (or input) and the limit.
)";

constexpr char kValidateUsage[] = R"(usage: rewire validate FILE [--input NAME=X.npy ...] [--seed N] [--max-memory N] [--max-node-work N]

Runs the model (a copy; FILE is not changed) and checks node by node that
dropout and batch norm compute what PyTorch's semantics say for the mode the
model is in (kernels/validate.h): eval dropout is the identity, train dropout
keeps about 1-p and scales by 1/(1-p), eval batch norm uses the running
statistics, train batch norm the batch statistics with the momentum update.
Exit status 1 when a check fails.

)";

constexpr char kGenUsage[] = R"(usage: rewire gen --blocks N -o OUT [flags]

Writes the synthetic model the benchmarks use (tools/synthetic_model.h):
N blocks of conv -> batch_norm -> relu -> dropout in torch.export's training
IR, seeded weights, "val" metadata on every node.
  --blocks N       number of blocks (required, >= 1)
  --batch N --channels N --height N --width N   activation shape (2, 4, 8, 8)
  --p X --momentum X --eps X                    (0.1, 0.1, 1e-5)
  --seed N         weights (default 0)
  -o OUT           .pb, .pbtxt, or .txt/.rwir (graph only)
)";

// ---------------------------------------------------------------------------
// Flag parsing.

struct FlagSpec {
  const char* name;  // "-o", "--seed"
  bool takes_value;
};

struct ParsedArgs {
  std::map<std::string, std::vector<std::string>> values;
  std::set<std::string> present;
  std::vector<std::string> positional;
  bool help = false;

  const std::string* Get(const std::string& flag) const {
    auto it = values.find(flag);
    if (it == values.end() || it->second.empty()) return nullptr;
    return &it->second.back();
  }
};

std::string OneLine(absl::string_view s) {
  std::string out = absl::StrReplaceAll(absl::StripSuffix(s, "\n"), {{"\n", "; "}});
  return out;
}

class Cli {
 public:
  Cli(std::ostream& out, std::ostream& err) : out_(out), err_(err) {}

  int Usage(absl::string_view cmd, absl::string_view msg) {
    err_ << "error: " << OneLine(msg) << " (see `rewire "
         << (cmd.empty() ? "" : absl::StrCat(cmd, " ")) << "--help`)\n";
    return kExitUsage;
  }
  int Fail(absl::string_view msg) {
    err_ << "error: " << OneLine(msg) << "\n";
    return kExitFailure;
  }
  // `what` (a file) is prepended unless the message already names it.
  int Fail(absl::string_view what, const absl::Status& s) {
    std::string msg(s.message());
    if (!what.empty() && !absl::StrContains(msg, what)) {
      msg = absl::StrCat(what, ": ", msg);
    }
    return Fail(msg);
  }

  // Parses args[1..] for subcommand `cmd`. Returns kExitOk or kExitUsage.
  int Parse(const std::string& cmd, const std::vector<std::string>& args,
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

  std::ostream& out() { return out_; }
  std::ostream& err() { return err_; }

 private:
  std::ostream& out_;
  std::ostream& err_;
};

bool ParseU64(const std::string& s, uint64_t* v) { return absl::SimpleAtoi(s, v); }

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

using tools::LoadModelFile;
using tools::ModelFileKind;
using tools::ModelKindOfPath;
using tools::SaveModelFile;
using tools::kModelFormats;

constexpr char kGraphOnlyNote[] =
    "note: %s holds the graph only (readable text form): weights, buffers "
    "and mode are not saved; use .pb or .pbtxt to keep them\n";

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

// ---------------------------------------------------------------------------
// Subcommands.

int CmdInfo(Cli& cli, const ParsedArgs& a) {
  if (a.positional.size() != 1) {
    return cli.Usage("info", "rewire info takes exactly one FILE");
  }
  const std::string& path = a.positional[0];
  absl::StatusOr<ExportedModule> m = LoadModelFile(path);
  if (!m.ok()) return cli.Fail(path, m.status());
  std::ostream& out = cli.out();
  const Graph& g = m->graph();
  const bool text = ModelKindOfPath(path) == ModelFileKind::kText;
  size_t with_val = 0;
  std::map<OpKind, size_t> kinds;
  std::map<std::string, size_t> ops;
  for (const Node* n : g) {
    if (n->meta().val() != nullptr) ++with_val;
    ++kinds[n->op()];
    if (n->is_call()) ++ops[n->target().qualified];
  }
  out << "file:      " << path
      << (text ? "  (readable text form: graph only, no state or mode)" : "")
      << "\n";
  out << "exported:  "
      << (ModelIsExported(*m) ? absl::StrCat("yes (", with_val, " of ", g.size(),
                                             " nodes carry \"val\")")
                              : std::string("no (no node carries \"val\")"))
      << "\n";
  absl::StatusOr<std::optional<Device>> dev = AssertAndGetUniqueDevice(*m);
  out << "device:    "
      << (dev.ok() ? DeviceName(*dev) : absl::StrCat("error: ", OneLine(dev.status().message())))
      << "\n";
  out << "mode:      " << ModeName(m->mode())
      << (text ? " (assumed: the text form records no mode)" : "") << "\n";
  std::string dialect;
  std::vector<std::string> evidence = DescribeDialects(g, &dialect);
  out << "dialect:   " << dialect << "\n";
  for (const std::string& e : evidence) out << "  " << e << "\n";
  std::vector<std::string> kind_parts;
  for (const auto& [k, n] : kinds) {
    kind_parts.push_back(absl::StrCat(OpKindName(k), " ", n));
  }
  out << "nodes:     " << g.size() << " (" << absl::StrJoin(kind_parts, ", ")
      << ")\n";
  out << "ops:       " << ops.size() << " distinct\n";
  const std::vector<std::string> supported = SupportedOps();
  std::vector<std::string> no_kernel;
  for (const auto& [op, n] : ops) {
    out << absl::StrFormat("  %-52s %d\n", op, n);
    if (op != "getitem" &&
        !std::binary_search(supported.begin(), supported.end(), op)) {
      no_kernel.push_back(op);
    }
  }
  if (!no_kernel.empty()) {
    out << "no kernel: " << absl::StrJoin(no_kernel, ", ")
        << " (`rewire run` cannot execute these)\n";
  }
  for (TensorRole role : {TensorRole::kParameter, TensorRole::kBuffer,
                          TensorRole::kConstant}) {
    const char* title = role == TensorRole::kParameter ? "parameters"
                        : role == TensorRole::kBuffer  ? "buffers"
                                                       : "constants";
    int64_t count = 0, bytes = 0;
    for (const StateTensor& t : m->tensors()) {
      if (t.role != role) continue;
      ++count;
      bytes += static_cast<int64_t>(t.data.size());
    }
    if (count == 0 && role == TensorRole::kConstant) continue;
    out << absl::StrFormat("%-10s %d (%s)\n", absl::StrCat(title, ":"), count,
                           HumanBytes(bytes));
    int shown = 0;
    for (const StateTensor& t : m->tensors()) {
      if (t.role != role) continue;
      if (++shown > 40) {
        out << "  ... " << (count - 40) << " more\n";
        break;
      }
      out << absl::StrFormat(
          "  %-40s %-16s %10s%s%s\n", t.name,
          absl::StrCat(ScalarTypeShortName(t.dtype), ShapeToString(t.shape)),
          HumanBytes(static_cast<int64_t>(t.data.size())),
          t.device.is_cpu() ? "" : absl::StrCat(" @", t.device.ToString()),
          t.placeholder.empty() ? "" : absl::StrCat("  -> %", t.placeholder));
    }
  }
  std::vector<Node*> inputs = m->InputPlaceholders();
  out << "inputs:    " << inputs.size() << "\n";
  for (const Node* ph : inputs) {
    const MetaValue* v = ph->meta().val();
    out << "  %" << ph->name() << " : "
        << (v != nullptr && v->is_tensor() ? ShapeOf(v->tensor())
                                           : std::string("(no \"val\")"))
        << "\n";
  }
  std::vector<Node*> graph_outputs;
  if (g.output() != nullptr) graph_outputs = g.output()->Operands();
  out << "outputs:   " << graph_outputs.size() << "\n";
  std::vector<VerifierProblem> problems = VerifyGraph(g);
  if (problems.empty()) {
    out << "verifier:  OK\n";
  } else {
    out << "verifier:  " << problems.size() << " problem(s)\n";
    for (size_t i = 0; i < problems.size() && i < 20; ++i) {
      out << "  " << problems[i].ToString() << "\n";
    }
  }
  return kExitOk;
}

int CmdSwitch(Cli& cli, const ParsedArgs& a, bool to_eval) {
  const std::string cmd = to_eval ? "eval" : "train";
  if (a.present.count("--dialect")) {
    return cli.Usage(cmd, "--dialect is not supported: rewire detects the "
                          "dialect of every dropout and batch norm from the "
                          "graph's ops and has no API to force one (`rewire "
                          "info FILE` shows what it detects)");
  }
  if (a.positional.size() != 1) {
    return cli.Usage(cmd, absl::StrCat("rewire ", cmd, " takes exactly one FILE"));
  }
  const std::string* out_path = a.Get("-o");
  if (out_path == nullptr) {
    return cli.Usage(cmd, absl::StrCat("rewire ", cmd, " needs -o OUT"));
  }
  const std::string& path = a.positional[0];
  if (ModelKindOfPath(*out_path) == ModelFileKind::kUnknown) {
    return cli.Usage(cmd, absl::StrCat("-o ", *out_path,
                                       ": unknown output extension (expected ",
                                       kModelFormats, ")"));
  }
  absl::StatusOr<ExportedModule> m = LoadModelFile(path);
  if (!m.ok()) return cli.Fail(path, m.status());
  if (!ModelIsExported(*m)) {
    cli.err() << "warning: " << path
              << ": no node carries \"val\": not an exported model; "
                 "switching anyway\n";
  }
  const bool strict = a.present.count("--strict") > 0;
  if (strict && !to_eval) {
    return cli.Usage(cmd, "--strict applies to rewire eval only");
  }
  absl::StatusOr<ModeSwitchResult> report = SwitchExportedModel(
      *m, to_eval ? ModuleMode::kEval : ModuleMode::kTrain, strict);
  if (!report.ok()) return cli.Fail(path, report.status());
  cli.out() << report->report;
  if (report->preventing_eval > 0) {
    cli.err() << "warning: " << path << ": " << report->preventing_eval
              << " node(s) keep the eval graph from computing what eager "
                 "eval computes (see the report; --strict refuses them)\n";
  }
  absl::Status saved = SaveModelFile(*m, *out_path);
  if (!saved.ok()) return cli.Fail(*out_path, saved);
  if (ModelKindOfPath(*out_path) == ModelFileKind::kText) {
    cli.err() << absl::StrFormat(kGraphOnlyNote, *out_path);
  }
  cli.out() << "wrote " << *out_path << "\n";
  return kExitOk;
}

int CmdPrint(Cli& cli, const ParsedArgs& a) {
  if (a.positional.size() != 1) {
    return cli.Usage("print", "rewire print takes exactly one FILE");
  }
  const std::string& path = a.positional[0];
  absl::StatusOr<ExportedModule> m = LoadModelFile(path);
  if (!m.ok()) return cli.Fail(path, m.status());
  cli.out() << PrintGraph(m->graph());
  return kExitOk;
}

int CmdDot(Cli& cli, const ParsedArgs& a) {
  if (a.positional.size() != 1) {
    return cli.Usage("dot", "rewire dot takes exactly one FILE");
  }
  const bool svg = a.present.count("--svg") > 0;
  const bool png = a.present.count("--png") > 0;
  if (svg && png) return cli.Usage("dot", "--svg and --png exclude each other");
  const std::string& path = a.positional[0];
  absl::StatusOr<ExportedModule> m = LoadModelFile(path);
  if (!m.ok()) return cli.Fail(path, m.status());
  const ExportedModule& module = *m;
  std::string dot = GraphToDot(module.graph(), [&](absl::string_view ph) {
    return module.TensorForPlaceholder(ph) != nullptr;
  });
  const std::string* out_path = a.Get("-o");
  if (!svg && !png) {
    if (out_path == nullptr) {
      cli.out() << dot;
      return kExitOk;
    }
    absl::Status s = WriteFileAtomic(*out_path, dot);
    if (!s.ok()) return cli.Fail(*out_path, s);
    cli.out() << "wrote " << *out_path << "\n";
    return kExitOk;
  }
  const std::string format = svg ? "svg" : "png";
  std::string target;
  if (out_path != nullptr) {
    target = *out_path;
  } else {
    std::string base = path.substr(path.rfind('/') == std::string::npos ? 0 : path.rfind('/') + 1);
    base = base.substr(0, base.size() - tools::PathExtension(base).size());
    target = absl::StrCat(base, ".", format);
  }
  const std::string dot_bin = FindGraphvizDot();
  if (dot_bin.empty()) {
    return cli.Fail(absl::StrCat(
        "rendering ", target, " needs Graphviz's `dot` program, which is not "
        "installed (apt-get install graphviz); `rewire dot ", path,
        " -o OUT.dot` writes the dot text without it"));
  }
  absl::Status s = RenderDot(dot_bin, dot, format, target);
  if (!s.ok()) return cli.Fail(target, s);
  cli.out() << "wrote " << target << "\n";
  return kExitOk;
}

int CmdRun(Cli& cli, const ParsedArgs& a) {
  if (a.positional.size() != 1) {
    return cli.Usage("run", "rewire run takes exactly one FILE");
  }
  uint64_t seed = 0;
  if (const std::string* s = a.Get("--seed"); s != nullptr && !ParseU64(*s, &seed)) {
    return cli.Usage("run", absl::StrCat("--seed '", *s, "': expected a non-negative integer"));
  }
  std::optional<Device> device;
  if (const std::string* d = a.Get("--device"); d != nullptr) {
    absl::StatusOr<Device> parsed = ParseDevice(*d);
    if (!parsed.ok()) return cli.Usage("run", parsed.status().message());
    device = *parsed;
  }
  const std::string& path = a.positional[0];
  for (const std::string& f : a.values.count("--input") ? a.values.at("--input") : std::vector<std::string>{}) {
    size_t eq = f.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == f.size()) {
      return cli.Usage("run", absl::StrCat("--input '", f, "': expected NAME=FILE.npy"));
    }
  }
  ExecuteOptions options;
  options.seed = seed;
  options.device = device;
  if (int rc = ParseLimitFlags(cli, "run", a, &options); rc != kExitOk) return rc;
  absl::StatusOr<ExportedModule> m = LoadModelFile(path);
  if (!m.ok()) return cli.Fail(path, m.status());
  // The inputs are the run's memory too: drawn or read within its limits,
  // and counted with the run's own tensors.
  ScopedTensorLimits limits(options.max_tensor_bytes, options.max_tensor_elements,
                            options.max_total_bytes);
  bool usage = false;
  auto inputs = BuildInputs(*m, a.values.count("--input") ? a.values.at("--input") : std::vector<std::string>{}, seed,
                            options.max_total_bytes, &usage);
  if (!inputs.ok()) {
    if (usage) return cli.Usage("run", inputs.status().message());
    return cli.Fail(inputs.status().message());
  }
  // Checked before the run; nothing is created until every output is
  // written.
  const std::string* out_dir = a.Get("-o");
  std::optional<FileSetWriter> writer;
  if (out_dir != nullptr) {
    absl::StatusOr<FileSetWriter> opened = FileSetWriter::Open(*out_dir);
    if (!opened.ok()) return cli.Fail(absl::StrCat("-o ", *out_dir), opened.status());
    writer.emplace(*std::move(opened));
  }
  const std::string* inputs_dir = a.Get("--save-inputs");
  if (inputs_dir != nullptr) {
    if (out_dir != nullptr && *out_dir == *inputs_dir) {
      return cli.Usage("run", "-o and --save-inputs name the same directory");
    }
    absl::StatusOr<FileSetWriter> opened = FileSetWriter::Open(*inputs_dir);
    if (!opened.ok()) {
      return cli.Fail(absl::StrCat("--save-inputs ", *inputs_dir), opened.status());
    }
    // Written before the run, which may change nothing they hold but could
    // fail: the inputs that made a run fail are the ones worth keeping.
    std::vector<NamedTensor> named;
    named.reserve(inputs->size());
    for (const auto& [name, t] : *inputs) named.push_back({name, t});
    absl::StatusOr<std::vector<std::string>> paths = tools::WriteOutputs(*opened, named);
    if (!paths.ok()) {
      return cli.Fail(absl::StrCat("--save-inputs ", *inputs_dir), paths.status());
    }
    for (size_t i = 0; i < paths->size(); ++i) {
      cli.out() << "saved input " << Printable(named[i].name) << " as "
                << (*paths)[i] << "\n";
    }
  }
  const auto start = std::chrono::steady_clock::now();
  absl::StatusOr<ExecutionResult> r = Execute(*m, *inputs, options);
  const double ms = std::chrono::duration<double, std::milli>(
                        std::chrono::steady_clock::now() - start).count();
  if (!r.ok()) return cli.Fail(path, r.status());
  std::ostream& out = cli.out();
  out << "ran " << path << " (" << ModeName(m->mode()) << " mode, "
      << (device.has_value() ? device->ToString() : "default device") << ", seed "
      << seed << ") in " << absl::StrFormat("%.2f", ms) << " ms\n";
  for (const auto& [name, t] : *inputs) {
    out << "  input  " << name << ": " << ScalarTypeShortName(t.dtype())
        << ShapeToString(t.shape()) << "\n";
  }
  std::vector<std::string> written(r->outputs.size());
  if (writer.has_value()) {
    absl::StatusOr<std::vector<std::string>> paths =
        tools::WriteOutputs(*writer, r->outputs);
    if (!paths.ok()) {
      return cli.Fail(absl::StrCat("-o ", *out_dir), paths.status());
    }
    written = *std::move(paths);
  }
  for (size_t i = 0; i < r->outputs.size(); ++i) {
    const NamedTensor& o = r->outputs[i];
    out << "  output " << tools::OutputLabel(i, o.name) << ": "
        << Summarize(o.tensor) << "\n";
    if (!writer.has_value()) continue;
    if (written[i].empty()) {
      out << "    (None: no file written)\n";
    } else {
      out << "    wrote " << written[i] << "\n";
    }
  }
  if (!r->updated_state.empty()) {
    out << "  state updated by the run (not saved to " << path
        << "): " << absl::StrJoin(r->updated_state, ", ") << "\n";
  }
  return kExitOk;
}

int CmdValidate(Cli& cli, const ParsedArgs& a) {
  if (a.positional.size() != 1) {
    return cli.Usage("validate", "rewire validate takes exactly one FILE");
  }
  uint64_t seed = 0;
  if (const std::string* s = a.Get("--seed"); s != nullptr && !ParseU64(*s, &seed)) {
    return cli.Usage("validate", absl::StrCat("--seed '", *s, "': expected a non-negative integer"));
  }
  const std::string& path = a.positional[0];
  ValidateOptions options;
  options.execute.seed = seed;
  if (int rc = ParseLimitFlags(cli, "validate", a, &options.execute); rc != kExitOk) return rc;
  absl::StatusOr<ExportedModule> m = LoadModelFile(path);
  if (!m.ok()) return cli.Fail(path, m.status());
  ScopedTensorLimits limits(options.execute.max_tensor_bytes, options.execute.max_tensor_elements,
                            options.execute.max_total_bytes);
  bool usage = false;
  auto inputs = BuildInputs(*m, a.values.count("--input") ? a.values.at("--input") : std::vector<std::string>{}, seed,
                            options.execute.max_total_bytes, &usage);
  if (!inputs.ok()) {
    if (usage) return cli.Usage("validate", inputs.status().message());
    return cli.Fail(inputs.status().message());
  }
  ValidationReport report;
  absl::Status s = Validate(*m, *inputs, options, &report);
  cli.out() << "validating " << path << " in " << ModeName(m->mode())
            << " mode: " << report.checks.size() << " check(s)\n"
            << report.ToString();
  if (report.checks.empty() && s.ok()) {
    cli.out() << "(no dropout or batch norm nodes to check)\n";
  }
  if (!s.ok()) return cli.Fail(path, s);
  cli.out() << "OK\n";
  return kExitOk;
}

int CmdGen(Cli& cli, const ParsedArgs& a) {
  if (!a.positional.empty()) {
    return cli.Usage("gen", absl::StrCat("rewire gen takes no FILE argument (got '",
                                         a.positional[0], "'); use -o OUT"));
  }
  const std::string* out_path = a.Get("-o");
  if (out_path == nullptr) return cli.Usage("gen", "rewire gen needs -o OUT");
  if (a.Get("--blocks") == nullptr) return cli.Usage("gen", "rewire gen needs --blocks N");
  if (ModelKindOfPath(*out_path) == ModelFileKind::kUnknown) {
    return cli.Usage("gen", absl::StrCat("-o ", *out_path, ": unknown output extension (expected ", kModelFormats, ")"));
  }
  SyntheticModelOptions o;
  struct IntFlag { const char* name; int64_t* field; };
  for (IntFlag f : {IntFlag{"--blocks", &o.blocks}, IntFlag{"--batch", &o.batch},
                    IntFlag{"--channels", &o.channels}, IntFlag{"--height", &o.height},
                    IntFlag{"--width", &o.width}}) {
    if (const std::string* v = a.Get(f.name); v != nullptr) {
      if (!absl::SimpleAtoi(*v, f.field) || *f.field < 1) {
        return cli.Usage("gen", absl::StrCat(f.name, " '", *v, "': expected a positive integer"));
      }
    }
  }
  struct DoubleFlag { const char* name; double* field; };
  for (DoubleFlag f : {DoubleFlag{"--p", &o.dropout_p}, DoubleFlag{"--momentum", &o.momentum},
                       DoubleFlag{"--eps", &o.eps}}) {
    if (const std::string* v = a.Get(f.name); v != nullptr) {
      if (!absl::SimpleAtod(*v, f.field) || !std::isfinite(*f.field)) {
        return cli.Usage("gen", absl::StrCat(f.name, " '", *v, "': expected a number"));
      }
    }
  }
  if (o.dropout_p < 0 || o.dropout_p > 1) {
    return cli.Usage("gen", "--p must lie in [0, 1]");
  }
  if (const std::string* s = a.Get("--seed"); s != nullptr && !ParseU64(*s, &o.seed)) {
    return cli.Usage("gen", absl::StrCat("--seed '", *s, "': expected a non-negative integer"));
  }
  absl::StatusOr<ExportedModule> m = BuildSyntheticModel(o);
  if (!m.ok()) return cli.Fail(m.status().message());
  absl::Status s = SaveModelFile(*m, *out_path);
  if (!s.ok()) return cli.Fail(*out_path, s);
  if (ModelKindOfPath(*out_path) == ModelFileKind::kText) {
    cli.err() << absl::StrFormat(kGraphOnlyNote, *out_path);
  }
  cli.out() << "wrote " << *out_path << ": " << o.blocks << " block(s), "
            << m->graph().size() << " nodes, " << m->tensors().size()
            << " state tensors\n";
  return kExitOk;
}

// ---------------------------------------------------------------------------
// demo

double MsSince(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double, std::milli>(
             std::chrono::steady_clock::now() - t).count();
}

std::string FloatsOf(const StateTensor& t, size_t n) {
  std::vector<std::string> parts;
  const size_t count = std::min(n, t.data.size() / sizeof(float));
  for (size_t i = 0; i < count; ++i) {
    float f;
    std::memcpy(&f, t.data.data() + i * sizeof(float), sizeof(float));
    parts.push_back(absl::StrFormat("%.4f", f));
  }
  return absl::StrCat("[", absl::StrJoin(parts, ", "), ", ...]");
}

int64_t IntOf(const StateTensor& t) {
  int64_t v = 0;
  if (t.data.size() >= sizeof(v)) std::memcpy(&v, t.data.data(), sizeof(v));
  return v;
}

// Every dropout / batch norm node with its form and literals.
std::string DescribeForms(const Graph& g) {
  std::string out;
  for (const Node* n : g) {
    std::optional<bool> train = IsTrainingForm(*n);
    if (!train.has_value()) continue;
    std::vector<std::string> lits;
    for (const Argument& arg : n->args()) {
      if (arg.kind() == Argument::Kind::kDouble) lits.push_back(absl::StrCat(arg.as_double()));
    }
    absl::StrAppend(&out, absl::StrFormat("    %%%-14s %-32s %-6s %s\n", n->name(),
                                          n->target().qualified,
                                          *train ? "train" : "eval",
                                          absl::StrJoin(lits, ", ")));
  }
  return out;
}

struct Step {
  std::string name;
  bool ok;
  std::string detail;
  double ms;
};

int CmdDemo(Cli& cli, const ParsedArgs& a) {
  if (!a.positional.empty()) {
    return cli.Usage("demo", "rewire demo takes no arguments");
  }
  uint64_t seed = 0;
  if (const std::string* s = a.Get("--seed"); s != nullptr && !ParseU64(*s, &seed)) {
    return cli.Usage("demo", absl::StrCat("--seed '", *s, "': expected a non-negative integer"));
  }
  std::ostream& out = cli.out();
  std::vector<Step> steps;
  const auto total_start = std::chrono::steady_clock::now();
  auto fail = [&](absl::string_view what, const absl::Status& s) {
    return cli.Fail(absl::StrCat("demo: ", what, ": ", s.message()));
  };

  // 1. Build and show the model.
  auto t0 = std::chrono::steady_clock::now();
  absl::StatusOr<ExportedModule> built = BuildDemoModel(seed);
  if (!built.ok()) return fail("building the model", built.status());
  ExportedModule& m = *built;
  const double build_ms = MsSince(t0);
  int64_t state_bytes = 0;
  for (const StateTensor& t : m.tensors()) state_bytes += static_cast<int64_t>(t.data.size());
  out << "== 1. An exported model (torch.export training IR, rewire's text form) ==\n"
      << PrintGraph(m.graph())
      << "  exported: " << (ModelIsExported(m) ? "yes" : "no")
      << ", mode: " << ModeName(m.mode()) << ", " << m.tensors().size()
      << " state tensors (" << HumanBytes(state_bytes) << ")"
      << ", batch norm eps " << kDemoEps << " momentum " << kDemoMomentum
      << ", dropout p " << kDemoDropoutP << "\n"
      << "  model.eval() cannot change this graph: the dropout and batch norm\n"
      << "  nodes below were recorded in training form.\n"
      << DescribeForms(m.graph());
  steps.push_back({"build + verify", true,
                   absl::StrCat(m.graph().size(), " nodes"), build_ms});

  std::mt19937_64 rng(seed);
  absl::StatusOr<Tensor> x = RandomTensor(*m.graph().FindNode("x"), rng);
  if (!x.ok()) return fail("input", x.status());
  const std::vector<std::pair<std::string, Tensor>> inputs = {{"x", *x}};

  // 2. A training step.
  out << "\n== 2. A training step (batch statistics, running stats updated) ==\n";
  const std::string rm_before = FloatsOf(*m.FindTensor("bn1.running_mean"), 4);
  const std::string rv_before = FloatsOf(*m.FindTensor("bn1.running_var"), 4);
  const int64_t nbt_before = IntOf(*m.FindTensor("bn1.num_batches_tracked"));
  ValidateOptions vtrain;
  vtrain.execute.seed = seed;
  ValidationReport train_report;
  t0 = std::chrono::steady_clock::now();
  absl::Status train_valid = Validate(m, inputs, vtrain, &train_report);
  ExecuteOptions exec;
  exec.seed = seed;
  absl::StatusOr<ExecutionResult> step = Execute(m, inputs, exec);
  const double train_ms = MsSince(t0);
  if (!step.ok()) return fail("training step", step.status());
  out << "  bn1.running_mean " << rm_before << " -> "
      << FloatsOf(*m.FindTensor("bn1.running_mean"), 4) << "\n"
      << "  bn1.running_var  " << rv_before << " -> "
      << FloatsOf(*m.FindTensor("bn1.running_var"), 4) << "\n"
      << "  bn1.num_batches_tracked " << nbt_before << " -> "
      << IntOf(*m.FindTensor("bn1.num_batches_tracked")) << "\n"
      << "  output " << Summarize(step->outputs[0].tensor) << "\n"
      << "  Validate (train semantics):\n";
  for (absl::string_view line : absl::StrSplit(train_report.ToString(), '\n', absl::SkipEmpty())) {
    out << "    " << line << "\n";
  }
  const bool stats_changed =
      FloatsOf(*m.FindTensor("bn1.running_mean"), 4) != rm_before;
  steps.push_back({"training step + Validate(train)",
                   train_valid.ok() && stats_changed,
                   absl::StrCat(train_report.checks.size(), " checks, ",
                                train_report.num_failed(), " failed",
                                stats_changed ? "; running stats moved" : "; running stats did NOT move"),
                   train_ms});

  // 3. Train -> eval.
  out << "\n== 3. MoveExportedModelToEval (pt2e's move_exported_model_to_eval) ==\n";
  t0 = std::chrono::steady_clock::now();
  absl::StatusOr<ModeSwitchResult> to_eval =
      SwitchExportedModel(m, ModuleMode::kEval);
  const double eval_switch_ms = MsSince(t0);
  if (!to_eval.ok()) return fail("MoveExportedModelToEval", to_eval.status());
  out << to_eval->report << "  after:\n" << DescribeForms(m.graph());
  steps.push_back({"MoveExportedModelToEval", m.mode() == ModuleMode::kEval,
                   absl::StrCat(to_eval->total_rewritten, " sites rewritten"),
                   eval_switch_ms});

  // 4. Eval runs: Validate, determinism, running stats frozen.
  out << "\n== 4. Eval runs (running statistics, identity dropout) ==\n";
  ValidateOptions veval;
  veval.execute.seed = seed;
  ValidationReport eval_report;
  t0 = std::chrono::steady_clock::now();
  absl::Status eval_valid = Validate(m, inputs, veval, &eval_report);
  const std::string rm_eval_before = FloatsOf(*m.FindTensor("bn1.running_mean"), 8);
  const std::string rv_eval_before = FloatsOf(*m.FindTensor("bn1.running_var"), 8);
  ExecuteOptions e1, e2;
  e1.seed = seed;
  e2.seed = seed + 12345;
  absl::StatusOr<ExecutionResult> r1 = Execute(m, inputs, e1);
  if (!r1.ok()) return fail("eval run", r1.status());
  absl::StatusOr<ExecutionResult> r2 = Execute(m, inputs, e2);
  if (!r2.ok()) return fail("eval run", r2.status());
  const double eval_ms = MsSince(t0);
  const Tensor& o1 = r1->outputs[0].tensor;
  const Tensor& o2 = r2->outputs[0].tensor;
  const bool deterministic =
      o1.nbytes() == o2.nbytes() &&
      std::memcmp(o1.raw_data(), o2.raw_data(), static_cast<size_t>(o1.nbytes())) == 0;
  const bool frozen =
      FloatsOf(*m.FindTensor("bn1.running_mean"), 8) == rm_eval_before &&
      FloatsOf(*m.FindTensor("bn1.running_var"), 8) == rv_eval_before;
  out << "  Validate (eval semantics):\n";
  for (absl::string_view line : absl::StrSplit(eval_report.ToString(), '\n', absl::SkipEmpty())) {
    out << "    " << line << "\n";
  }
  out << "  output " << Summarize(o1) << "\n"
      << "  two runs with different dropout seeds give identical outputs: "
      << (deterministic ? "yes" : "NO") << "\n"
      << "  running_mean/running_var unchanged by eval runs: "
      << (frozen ? "yes" : "NO") << "\n";
  steps.push_back({"eval runs + Validate(eval)",
                   eval_valid.ok() && deterministic && frozen,
                   absl::StrCat(eval_report.checks.size(), " checks, ",
                                eval_report.num_failed(), " failed; ",
                                deterministic ? "deterministic" : "NOT deterministic",
                                frozen ? ", stats frozen" : ", stats changed"),
                   eval_ms});

  // 5. Eval -> train: the model's own literals come back.
  out << "\n== 5. MoveExportedModelToTrain (and the custom eps/momentum/p) ==\n";
  t0 = std::chrono::steady_clock::now();
  absl::StatusOr<ModeSwitchResult> to_train =
      SwitchExportedModel(m, ModuleMode::kTrain);
  const double train_switch_ms = MsSince(t0);
  if (!to_train.ok()) return fail("MoveExportedModelToTrain", to_train.status());
  out << to_train->report << "  after:\n" << DescribeForms(m.graph());
  std::vector<std::string> problems;
  const std::vector<Node*> bns = m.graph().NodesWithTarget("aten.batch_norm.default");
  const std::vector<Node*> drops = m.graph().NodesWithTarget("aten.dropout.default");
  if (bns.size() != 2) problems.push_back(absl::StrCat(bns.size(), " batch norms (want 2)"));
  if (drops.size() != 1) problems.push_back(absl::StrCat(drops.size(), " dropouts (want 1)"));
  auto literal = [](const Node* n, size_t i) -> std::optional<double> {
    if (n->args().size() <= i || n->args()[i].kind() != Argument::Kind::kDouble) return std::nullopt;
    return n->args()[i].as_double();
  };
  for (const Node* bn : bns) {
    if (IsTrainingForm(*bn) != std::optional<bool>(true)) problems.push_back(absl::StrCat("%", bn->name(), " not in training form"));
    if (literal(bn, 6) != kDemoMomentum) problems.push_back(absl::StrCat("%", bn->name(), " lost momentum 0.03"));
    if (literal(bn, 7) != kDemoEps) problems.push_back(absl::StrCat("%", bn->name(), " lost eps 1e-3"));
  }
  for (const Node* d : drops) {
    if (IsTrainingForm(*d) != std::optional<bool>(true)) problems.push_back(absl::StrCat("%", d->name(), " not in training form"));
    if (literal(d, 1) != kDemoDropoutP) problems.push_back(absl::StrCat("%", d->name(), " lost p 0.3"));
  }
  out << "  eps " << kDemoEps << ", momentum " << kDemoMomentum << ", p "
      << kDemoDropoutP << " survived the round trip: "
      << (problems.empty() ? "yes" : absl::StrCat("NO (", absl::StrJoin(problems, "; "), ")"))
      << "\n";
  const absl::Status verified = Verify(m.graph());
  steps.push_back({"MoveExportedModelToTrain",
                   problems.empty() && verified.ok() && m.mode() == ModuleMode::kTrain,
                   absl::StrCat(to_train->total_rewritten, " sites rewritten; eps/momentum/p ",
                                problems.empty() ? "kept" : "LOST",
                                verified.ok() ? "; verifier OK" : "; verifier FAILED"),
                   train_switch_ms});

  // Summary.
  out << "\n== Summary ==\n";
  bool all_ok = true;
  out << absl::StrFormat("  %-34s %-5s %9s  %s\n", "step", "ok", "time", "detail");
  for (const Step& s : steps) {
    all_ok = all_ok && s.ok;
    out << absl::StrFormat("  %-34s %-5s %6.2f ms  %s\n", s.name,
                           s.ok ? "yes" : "NO", s.ms, s.detail);
  }
  out << absl::StrFormat("  total %.1f ms\n", MsSince(total_start));
  if (!all_ok) {
    return cli.Fail("demo: a check failed (see the summary above)");
  }
  out << "All checks passed.\n";
  return kExitOk;
}

struct Command {
  const char* name;
  const char* usage;
  std::vector<FlagSpec> flags;
  int (*run)(Cli&, const ParsedArgs&);
};

void PrintUsage(std::ostream& out, const Command& c) {
  out << c.usage;
  for (const FlagSpec& f : c.flags) {
    if (std::string(f.name) == "--max-memory") out << kLimitFlagsUsage;
  }
}

int RunEval(Cli& c, const ParsedArgs& a) { return CmdSwitch(c, a, true); }
int RunTrain(Cli& c, const ParsedArgs& a) { return CmdSwitch(c, a, false); }

const std::vector<Command>& Commands() {
  static const auto* commands = new std::vector<Command>{
      {"demo", kDemoUsage, {{"--seed", true}}, CmdDemo},
      {"info", kInfoUsage, {}, CmdInfo},
      {"eval", kEvalUsage, {{"-o", true}, {"--dialect", true}, {"--strict", false}}, RunEval},
      {"train", kEvalUsage, {{"-o", true}, {"--dialect", true}, {"--strict", false}}, RunTrain},
      {"print", kPrintUsage, {}, CmdPrint},
      {"dot", kDotUsage, {{"-o", true}, {"--svg", false}, {"--png", false}}, CmdDot},
      {"run", kRunUsage,
       {{"--input", true}, {"--seed", true}, {"--device", true}, {"-o", true},
        {"--save-inputs", true}, {"--max-memory", true}, {"--max-node-work", true}},
       CmdRun},
      {"validate", kValidateUsage,
       {{"--input", true}, {"--seed", true}, {"--max-memory", true}, {"--max-node-work", true}},
       CmdValidate},
      {"gen", kGenUsage,
       {{"--blocks", true}, {"--batch", true}, {"--channels", true},
        {"--height", true}, {"--width", true}, {"--p", true},
        {"--momentum", true}, {"--eps", true}, {"--seed", true}, {"-o", true}},
       CmdGen},
  };
  return *commands;
}

int RunCommand(const std::vector<std::string>& args, std::ostream& out,
               std::ostream& err) {
  Cli cli(out, err);
  if (args.empty()) {
    std::vector<std::string> names;
    for (const Command& c : Commands()) names.push_back(c.name);
    return cli.Usage("", absl::StrCat("no command given; commands: ",
                                      absl::StrJoin(names, ", ")));
  }
  const std::string& name = args[0];
  if (name == "--version" || name == "version") {
    out << "rewire " << REWIRE_VERSION << "\n";
    return kExitOk;
  }
  if (name == "--help" || name == "-h" || name == "help") {
    if (name == "help" && args.size() > 1) {
      for (const Command& c : Commands()) {
        if (args[1] == c.name) {
          PrintUsage(out, c);
          return kExitOk;
        }
      }
      return cli.Usage("", absl::StrCat("unknown command '", args[1], "'"));
    }
    out << kMainUsage;
    return kExitOk;
  }
  for (const Command& c : Commands()) {
    if (name != c.name) continue;
    ParsedArgs parsed;
    int rc = cli.Parse(name, args, c.flags, &parsed);
    if (parsed.help) {
      PrintUsage(out, c);
      return kExitOk;
    }
    if (rc != kExitOk) return rc;
    return c.run(cli, parsed);
  }
  return cli.Usage("", absl::StrCat("unknown command '", name, "'"));
}

}  // namespace

int RunCli(const std::vector<std::string>& args, std::ostream& out,
           std::ostream& err) {
  // Everything the program prints passes one filter: names, targets and
  // paths from input files (in messages, listings, reports, from any layer)
  // reach the terminal with control bytes escaped, never raw.
  PrintableOstream printable_out(out);
  PrintableOstream printable_err(err);
  return RunCommand(args, printable_out, printable_err);
}

}  // namespace tools
}  // namespace rewire
