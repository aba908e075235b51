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
#include "tools/cli_support.h"
#include "tools/model_files.h"
#include "tools/npy.h"
#include "tools/rewire_c.h"
#include "tools/run_outputs.h"
#include "tools/synthetic_model.h"

namespace rewire {
namespace tools {
namespace {

using tools::LoadModelFile;
using tools::ModelFileKind;
using tools::ModelKindOfPath;
using tools::SaveModelFile;
using tools::kModelFormats;

// ---------------------------------------------------------------------------
// Usage texts.

constexpr char kMainUsage[] = R"(rewire: exported PyTorch graphs in C++ (train/eval switching, rewriting, kernels)

usage: rewire <command> [flags] [args]

commands:
  demo                       run the built-in example end to end (no files needed)
  info FILE                  summary: exported?, device, mode, dialect, ops, state, inputs, verifier
  eval FILE -o OUT           switch an exported model to eval (pt2e move_exported_model_to_eval)
  train FILE -o OUT          switch an exported model back to train
  rewrite FILE --rules RULES -o OUT   apply your own rewrite rules (docs/RULES.md)
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
      {"rewrite", kRewriteUsage,
       {{"--rules", true}, {"--pattern", true}, {"--replacement", true}, {"-o", true},
        {"--dry-run", false}, {"--fixed-point", false}, {"--max-iterations", true},
        {"--verify-run", false}, {"--seed", true}, {"--tolerance", true}},
       CmdRewrite},
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
