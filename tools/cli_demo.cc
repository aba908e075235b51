// `rewire demo`: the whole story on the built-in CNN, step by step.
#include <chrono>
#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "base/file.h"
#include "ir/exported_module.h"
#include "ir/serialization.h"
#include "ir/text_format.h"
#include "ir/verifier.h"
#include "kernels/executor.h"
#include "kernels/tensor.h"
#include "kernels/validate.h"
#include "tools/cli_support.h"
#include "tools/demo_model.h"
#include "tools/dot.h"
#include "tools/mode_switch.h"
#include "tools/model_files.h"

namespace rewire {
namespace tools {

const char kDemoUsage[] = R"(usage: rewire demo [--seed N]

Builds an example model (two conv -> batch_norm -> relu blocks, dropout,
linear; eps 1e-3, momentum 0.03, p 0.3) as an exported training-IR graph,
prints it, runs a training step, switches it to eval (printing the report),
runs and validates eval semantics, switches back to train, checks that eps,
momentum and p survived, and prints a summary with timings.
  --seed N   weights, inputs and dropout masks (default 0)
Exit status 1 if any check fails.
)";

namespace {

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

}  // namespace

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

}  // namespace tools
}  // namespace rewire
