// bridge_switch: the train/eval half of the Python bridge's C++ helpers.
//
//   bridge_switch (--model m.pb | --synthetic_blocks B) [--to eval|train]
//                 [--out out.pb] [--time_switch R]
//
// Loads m.pb (or builds tools/synthetic_model.h's model with B blocks),
// switches it with MoveExportedModelToEval/Train, prints the TrainEvalReport
// plus one machine-readable line per site ("site pattern=... dialect=...
// rewritten=N", "left_alone node=... target=... reason=...", "note ...",
// "total_rewritten=N") and saves the result to --out. --time_switch R loads
// the model R times and times only the switch to eval, printing
// "nodes=N", "rewritten=N" and "switch_seconds_min=S".
//
// A separate binary from bridge_runner: when this was written,
// rewrite/pattern_tracer.h and kernels/executor.h both defined a different
// class rewire::Value, so a program linking //rewrite:train_eval and
// //kernels:executor crashed (ODR violation: SIGSEGV in Value's copy
// constructor inside TraceDropout). The executor's type is now RuntimeValue;
// the split stays because it keeps each helper small. Exit status: 0 on success, 1 on error, 2 on bad flags.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <iostream>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "ir/exported_module.h"
#include "ir/serialization.h"
#include "rewrite/train_eval.h"
#include "tools/synthetic_model.h"

namespace rewire {
namespace {

struct Flags {
  std::string model;
  std::string to = "eval";
  std::string out;
  int time_switch = 0;
  int64_t synthetic_blocks = 0;
};

absl::StatusOr<ExportedModule> LoadOrBuild(const Flags& f) {
  if (f.synthetic_blocks > 0) {
    SyntheticModelOptions o;
    o.blocks = f.synthetic_blocks;
    return BuildSyntheticModel(o);
  }
  return LoadModuleFromFile(f.model);
}

void PrintReport(const TrainEvalReport& rep) {
  std::cout << "== report\n" << rep.ToString() << "\n";
  for (const PatternSites& s : rep.sites) {
    std::cout << "site pattern=" << s.pattern
              << " dialect=" << DialectName(s.dialect)
              << " rewritten=" << s.rewritten << "\n";
  }
  for (const LeftAlone& l : rep.left_alone) {
    std::cout << "left_alone node=" << l.node << " target=" << l.target
              << " reason=" << l.reason << "\n";
  }
  for (const std::string& n : rep.notes) std::cout << "note " << n << "\n";
  std::cout << "already_in_mode=" << (rep.already_in_mode ? 1 : 0) << "\n";
  std::cout << "total_rewritten=" << rep.total_rewritten() << "\n";
}

absl::Status Main(const Flags& f) {
  if (f.time_switch > 0) {
    double best = 1e30;
    int64_t nodes = 0, rewritten = 0;
    for (int r = 0; r < f.time_switch; ++r) {
      absl::StatusOr<ExportedModule> m = LoadOrBuild(f);
      if (!m.ok()) return m.status();
      nodes = static_cast<int64_t>(m->graph().size());
      const auto t0 = std::chrono::steady_clock::now();
      absl::StatusOr<TrainEvalReport> rep = MoveExportedModelToEval(*m);
      const auto t1 = std::chrono::steady_clock::now();
      if (!rep.ok()) return rep.status();
      rewritten = rep->total_rewritten();
      best = std::min(best, std::chrono::duration<double>(t1 - t0).count());
    }
    std::cout << "nodes=" << nodes << "\nrewritten=" << rewritten
              << "\nswitch_seconds_min=" << best << "\n";
    return absl::OkStatus();
  }
  absl::StatusOr<ExportedModule> m = LoadOrBuild(f);
  if (!m.ok()) return m.status();
  absl::StatusOr<TrainEvalReport> rep = f.to == "eval"
                                            ? MoveExportedModelToEval(*m)
                                            : MoveExportedModelToTrain(*m);
  if (!rep.ok()) return rep.status();
  PrintReport(*rep);
  if (!f.out.empty()) return SaveModuleToFile(*m, f.out);
  return absl::OkStatus();
}

}  // namespace
}  // namespace rewire

int main(int argc, char** argv) {
  rewire::Flags f;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (i + 1 >= argc) {
      std::cerr << "bridge_switch: " << a << " needs a value\n";
      return 2;
    }
    const std::string v = argv[++i];
    if (a == "--model") f.model = v;
    else if (a == "--to") f.to = v;
    else if (a == "--out") f.out = v;
    else if (a == "--time_switch") f.time_switch = std::atoi(v.c_str());
    else if (a == "--synthetic_blocks") f.synthetic_blocks = std::atoll(v.c_str());
    else {
      std::cerr << "bridge_switch: unknown flag " << a << "\n";
      return 2;
    }
  }
  if ((f.model.empty() && f.synthetic_blocks == 0) ||
      (f.to != "eval" && f.to != "train")) {
    std::cerr << "bridge_switch: need --model or --synthetic_blocks; "
                 "--to eval|train\n";
    return 2;
  }
  const absl::Status s = rewire::Main(f);
  if (!s.ok()) {
    std::cerr << "bridge_switch: " << s << "\n";
    return 1;
  }
  return 0;
}
