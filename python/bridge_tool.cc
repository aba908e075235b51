// bridge_tool: the C++ helper of the Python bridge (python/rewire_bridge/
// runner.py, python/conformance, bench/torch_fx_vs_rewire.py). Independent of
// the `rewire` CLI so that the bridge's machine-readable output can stay
// stable while the CLI's human-readable output evolves.
//
//   bridge_tool switch (--model m.pb | --synthetic_blocks B) [--to eval|train]
//                      [--out out.pb] [--time_switch R]
//
// Loads m.pb (or builds tools/synthetic_model.h's model with B blocks),
// switches it with MoveExportedModelToEval/Train, prints the TrainEvalReport
// plus one machine-readable line per site ("site pattern=... dialect=...
// rewritten=N", "left_alone node=... target=... reason=...", "note ...",
// "total_rewritten=N") and saves the result to --out. --time_switch R loads
// the model R times and times only the switch to eval, printing
// "nodes=N", "rewritten=N" and "switch_seconds_min=S".
//
//   bridge_tool run (--model m.pb | --synthetic_blocks B) [--input x.npy]...
//                   [--out_dir DIR] [--save_module out.pb] [--seed N]
//                   [--no_run]
//
// Executes the module as it is (no rewriting) on the .npy inputs, given in
// InputPlaceholders() order; writes every output as DIR/output_<i>.npy
// (DIR/outputs.txt lists "index name file|none"), prints
// "updated_state=a,b,..." and optionally saves the module after the run, so
// running statistics a training step updated can be compared.
//
// Every file is written atomically (base/file.h) and .npy files go through
// the project's one codec (tools/npy.h). Exit status: 0 on success, 1 on an
// error (message on stderr), 2 on bad flags.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <iostream>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "base/file.h"
#include "ir/exported_module.h"
#include "ir/serialization.h"
#include "kernels/executor.h"
#include "kernels/tensor.h"
#include "rewrite/train_eval.h"
#include "tools/npy.h"
#include "tools/synthetic_model.h"

namespace rewire {
namespace {

constexpr int kExitError = 1;
constexpr int kExitUsage = 2;

constexpr char kUsage[] =
    "usage: bridge_tool switch (--model M | --synthetic_blocks B) "
    "[--to eval|train] [--out OUT] [--time_switch R]\n"
    "       bridge_tool run (--model M | --synthetic_blocks B) [--input X]... "
    "[--out_dir DIR] [--save_module OUT] [--seed N] [--no_run]\n";

struct Flags {
  // Both subcommands.
  std::string model;
  int64_t synthetic_blocks = 0;
  // switch
  std::string to = "eval";
  std::string out;
  int time_switch = 0;
  // run
  std::vector<std::string> inputs;
  std::string out_dir;
  std::string save_module;
  uint64_t seed = 0;
  bool run = true;
};

absl::StatusOr<ExportedModule> LoadOrBuild(const Flags& f) {
  if (f.synthetic_blocks > 0) {
    SyntheticModelOptions o;
    o.blocks = f.synthetic_blocks;
    return BuildSyntheticModel(o);
  }
  return LoadModuleFromFile(f.model);
}

// ---------------------------------------------------------------- switch

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

absl::Status TimeSwitch(const Flags& f) {
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

absl::Status Switch(const Flags& f) {
  if (f.time_switch > 0) return TimeSwitch(f);
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

// ------------------------------------------------------------------- run

absl::Status Run(const Flags& f) {
  absl::StatusOr<ExportedModule> m = LoadOrBuild(f);
  if (!m.ok()) return m.status();
  if (f.run) {
    std::vector<Tensor> inputs;
    for (const std::string& p : f.inputs) {
      absl::StatusOr<Tensor> t = tools::ReadNpyFile(p);
      if (!t.ok()) return t.status();
      inputs.push_back(*std::move(t));
    }
    ExecuteOptions opts;
    opts.seed = f.seed;
    absl::StatusOr<ExecutionResult> res = Execute(*m, inputs, opts);
    if (!res.ok()) return res.status();
    std::cout << "updated_state=" << absl::StrJoin(res->updated_state, ",")
              << "\n";
    if (!f.out_dir.empty()) {
      std::string list;
      for (size_t i = 0; i < res->outputs.size(); ++i) {
        const NamedTensor& o = res->outputs[i];
        const std::string name = o.name.empty() ? "-" : o.name;
        if (!o.tensor.defined()) {
          absl::StrAppend(&list, i, " ", name, " none\n");
          continue;
        }
        const std::string file = absl::StrCat("output_", i, ".npy");
        absl::Status s =
            tools::WriteNpyFile(absl::StrCat(f.out_dir, "/", file), o.tensor);
        if (!s.ok()) return s;
        absl::StrAppend(&list, i, " ", name, " ", file, "\n");
      }
      // Written last, so a reader that finds the list finds every file in it.
      absl::Status s =
          WriteFileAtomic(absl::StrCat(f.out_dir, "/outputs.txt"), list);
      if (!s.ok()) return s;
    }
  }
  if (!f.save_module.empty()) {
    absl::Status s = SaveModuleToFile(*m, f.save_module);
    if (!s.ok()) return s;
  }
  return absl::OkStatus();
}

// ----------------------------------------------------------------- flags

// Parses argv[2..] for `cmd`; on a bad flag prints why and returns false.
bool ParseFlags(const std::string& cmd, int argc, char** argv, Flags* f) {
  const bool is_switch = cmd == "switch";
  auto bad = [&](const std::string& why) {
    std::cerr << "bridge_tool " << cmd << ": " << why << "\n" << kUsage;
    return false;
  };
  for (int i = 2; i < argc; ++i) {
    const std::string a = argv[i];
    if (!is_switch && a == "--no_run") {
      f->run = false;
      continue;
    }
    if (i + 1 >= argc) return bad(a + " needs a value");
    const std::string v = argv[++i];
    bool ok = true;
    if (a == "--model") {
      f->model = v;
    } else if (a == "--synthetic_blocks") {
      ok = absl::SimpleAtoi(v, &f->synthetic_blocks) &&
           f->synthetic_blocks > 0;
    } else if (is_switch && a == "--to") {
      f->to = v;
      ok = v == "eval" || v == "train";
    } else if (is_switch && a == "--out") {
      f->out = v;
    } else if (is_switch && a == "--time_switch") {
      ok = absl::SimpleAtoi(v, &f->time_switch) && f->time_switch > 0;
    } else if (!is_switch && a == "--input") {
      f->inputs.push_back(v);
    } else if (!is_switch && a == "--out_dir") {
      f->out_dir = v;
    } else if (!is_switch && a == "--save_module") {
      f->save_module = v;
    } else if (!is_switch && a == "--seed") {
      ok = absl::SimpleAtoi(v, &f->seed);
    } else {
      return bad("unknown flag " + a);
    }
    if (!ok) return bad("bad value '" + v + "' for " + a);
  }
  if (f->model.empty() && f->synthetic_blocks == 0) {
    return bad("--model or --synthetic_blocks is required");
  }
  return true;
}

int Main(int argc, char** argv) {
  const std::string cmd = argc >= 2 ? argv[1] : "";
  if (cmd != "switch" && cmd != "run") {
    std::cerr << kUsage;
    return kExitUsage;
  }
  Flags f;
  if (!ParseFlags(cmd, argc, argv, &f)) return kExitUsage;
  const absl::Status s = cmd == "switch" ? Switch(f) : Run(f);
  if (!s.ok()) {
    std::cerr << "bridge_tool " << cmd << ": " << s << "\n";
    return kExitError;
  }
  return 0;
}

}  // namespace
}  // namespace rewire

int main(int argc, char** argv) { return rewire::Main(argc, argv); }
