// Load/soak test: many threads at once load, switch, run and save different
// modules for a bounded time while the file system fails at random (every
// step of every write may fail with EIO, ENOSPC or EDQUOT through
// base/file_faults.h). Checked after every step:
// - no output file is ever partial or corrupt: every file a thread owns holds
//   exactly the bytes of its last successful write (or is absent if none
//   succeeded), and no temporary or staging file is left behind;
// - a failed save or output write changes nothing; a successful one is
//   complete;
// - every module is either unchanged (a failed switch, a failed run) or
//   fully switched (eval verified; train and eval again give a module that
//   computes the same outputs bit for bit).
// Tagged manual: not part of `bazel test //...`. `.ci/run` runs it for a
// bounded time; REWIRE_SOAK_SECONDS sets how long (default 10).
#include <errno.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <iostream>
#include <map>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "base/file_faults.h"
#include "base/file_set.h"
#include "fuzz/execute_case.h"
#include "fuzz/seed_models.h"
#include "gtest/gtest.h"
#include "ir/exported_module.h"
#include "ir/serialization.h"
#include "ir/verifier.h"
#include "kernels/executor.h"
#include "tests/test_files.h"
#include "tools/mode_switch.h"
#include "tools/npy.h"
#include "tools/run_outputs.h"
#include "tools/synthetic_model.h"

namespace rewire {
namespace {

constexpr int kThreads = 8;
// Per faultable system call; a save makes about six, so roughly one save or
// output set in four fails somewhere.
constexpr double kFaultProbability = 0.05;

thread_local std::mt19937_64* t_rng = nullptr;
std::atomic<int64_t> g_injected{0};

int RandomFault(file_faults::Step, const char*) {
  if (t_rng == nullptr) return 0;
  std::uniform_real_distribution<double> u(0, 1);
  if (u(*t_rng) >= kFaultProbability) return 0;
  g_injected.fetch_add(1, std::memory_order_relaxed);
  static constexpr int kErrors[] = {EIO, ENOSPC, EDQUOT};
  return kErrors[(*t_rng)() % 3];
}

int SoakSeconds() {
  const char* s = std::getenv("REWIRE_SOAK_SECONDS");
  int v = s != nullptr ? std::atoi(s) : 0;
  return v > 0 ? v : 10;
}

// The files a thread owns and the bytes each must hold.
using Expected = std::map<std::string, std::string>;

// Every entry of `dir` but `skip` is expected and holds exactly its expected
// bytes; every expected file exists.
void CheckDirectory(const std::string& dir, const Expected& expected,
                    const std::string& when, const std::string& skip = "") {
  std::vector<std::string> names = testing_files::ListDir(dir);
  if (!skip.empty()) names.erase(std::remove(names.begin(), names.end(), skip), names.end());
  for (const std::string& name : names) {
    auto it = expected.find(name);
    if (it == expected.end()) {
      ADD_FAILURE() << dir << ": unexpected entry '" << name << "' " << when;
      continue;
    }
    EXPECT_TRUE(testing_files::ReadAll(dir + "/" + name) == it->second)
        << dir << "/" << name << " is not its last successful write " << when;
  }
  EXPECT_EQ(names.size(), expected.size())
      << dir << ": an expected file is missing " << when;
}

bool SameBytes(const Tensor& a, const Tensor& b) {
  if (a.defined() != b.defined()) return false;
  if (!a.defined()) return true;
  if (a.dtype() != b.dtype() || a.shape() != b.shape()) return false;
  absl::StatusOr<std::string> x = tools::EncodeNpy(a);
  absl::StatusOr<std::string> y = tools::EncodeNpy(b);
  return x.ok() && y.ok() && *x == *y;
}

struct Counts {
  int64_t saves_ok = 0, saves_failed = 0;
  int64_t switches_ok = 0, switches_failed = 0;
  int64_t runs_ok = 0, runs_failed = 0;
  int64_t output_sets_ok = 0, output_sets_failed = 0;
};

absl::StatusOr<ExportedModule> PickModule(std::mt19937_64& rng,
                                          std::string* name) {
  const auto& seeds = fuzz::SeedModels();
  const auto& exec = fuzz::ExecutionSeedModels();
  const size_t choice = rng() % (seeds.size() + exec.size() + 2);
  if (choice < seeds.size()) {
    *name = seeds[choice].name;
    return fuzz::BuildSeedModule(seeds[choice].text);
  }
  if (choice < seeds.size() + exec.size()) {
    *name = exec[choice - seeds.size()].name;
    return fuzz::BuildSeedModule(exec[choice - seeds.size()].text);
  }
  SyntheticModelOptions o;
  o.blocks = 1 + static_cast<int64_t>(rng() % 6);
  o.pre_dispatch_batch_norm = choice == seeds.size() + exec.size() + 1;
  o.seed = rng();
  *name = absl::StrCat("synthetic", o.blocks, o.pre_dispatch_batch_norm ? "p" : "");
  return BuildSyntheticModel(o);
}

// One thread's loop until `deadline`.
void Soak(int thread, std::chrono::steady_clock::time_point deadline,
          Counts* counts) {
  std::mt19937_64 rng(0x5eed0000 + thread);
  const std::string dir =
      absl::StrCat(testing_files::TempDir(), "/soak", thread);
  const std::string out_dir = dir + "/out";
  ASSERT_EQ(mkdir(dir.c_str(), 0755), 0);
  Expected files;      // in `dir`, "out" aside
  Expected outputs;    // in `out_dir`
  bool out_exists = false;
  for (int iter = 0; std::chrono::steady_clock::now() < deadline; ++iter) {
    const std::string when = absl::StrCat("(thread ", thread, ", step ", iter, ")");
    std::string model_name;
    absl::StatusOr<ExportedModule> module = PickModule(rng, &model_name);
    ASSERT_TRUE(module.ok()) << model_name << ": " << module.status();
    absl::StatusOr<std::string> original =
        SerializeModule(*module, Format::kBinaryProto);
    ASSERT_TRUE(original.ok());

    // Save, in either format, over whatever this name held before.
    const bool text = rng() % 2 == 0;
    const std::string file = absl::StrCat(model_name, text ? ".pbtxt" : ".pb");
    absl::StatusOr<std::string> bytes =
        SerializeModule(*module, text ? Format::kTextProto : Format::kBinaryProto);
    ASSERT_TRUE(bytes.ok());
    t_rng = &rng;
    absl::Status saved = SaveModuleToFile(*module, dir + "/" + file);
    t_rng = nullptr;
    if (saved.ok()) {
      files[file] = *bytes;
      ++counts->saves_ok;
    } else {
      EXPECT_NE(saved.code(), absl::StatusCode::kInternal) << saved;
      ++counts->saves_failed;
    }
    CheckDirectory(dir, files, when, /*skip=*/"out");
    if (files.count(file) == 0) continue;  // never saved yet: nothing to load

    // Load what is on disk; it must be the module last saved under the name.
    absl::StatusOr<ExportedModule> loaded = LoadModuleFromFile(dir + "/" + file);
    ASSERT_TRUE(loaded.ok()) << file << ": " << loaded.status() << " " << when;
    absl::StatusOr<std::string> before =
        SerializeModule(*loaded, Format::kBinaryProto);
    ASSERT_TRUE(before.ok());
    if (saved.ok()) {
      EXPECT_TRUE(*before == *original) << file << " " << when;
    }

    // Switch to eval: unchanged on failure, complete on success.
    const bool strict = rng() % 3 == 0;
    absl::StatusOr<tools::ModeSwitchResult> switched =
        tools::SwitchExportedModel(*loaded, ModuleMode::kEval, strict);
    if (!switched.ok()) {
      ++counts->switches_failed;
      EXPECT_TRUE(*SerializeModule(*loaded, Format::kBinaryProto) == *before)
          << "failed switch changed " << file << " " << when;
      continue;
    }
    ++counts->switches_ok;
    EXPECT_EQ(loaded->mode(), ModuleMode::kEval) << file << " " << when;
    EXPECT_TRUE(Verify(loaded->graph()).ok()) << file << " " << when;
    // Run the eval module on small inputs from its "val" metadata.
    absl::StatusOr<std::string> eval_bytes =
        SerializeModule(*loaded, Format::kBinaryProto);
    ASSERT_TRUE(eval_bytes.ok());
    std::string control(fuzz::kControlBytes, '\0');
    control[1] = static_cast<char>(rng());
    absl::StatusOr<fuzz::ExecuteCase> c =
        fuzz::DecodeExecuteCase(control + *eval_bytes);
    if (!c.ok()) continue;  // over the case's size limits: not runnable here
    absl::StatusOr<ExecutionResult> run =
        fuzz::RunCase(*c, c->module, c->options);
    if (!run.ok()) {
      ++counts->runs_failed;
      EXPECT_TRUE(*SerializeModule(c->module, Format::kBinaryProto) ==
                  *eval_bytes)
          << "failed run changed the state of " << file << " " << when;
      continue;
    }
    ++counts->runs_ok;
    if (!switched->already_in_mode) {
      // Back to train and to eval again computes what the first eval module
      // computes, bit for bit (the graphs may differ: an eval-form export in
      // a train-mode module comes back from train in training form, and its
      // second eval carries a stash).
      ExportedModule again = loaded->Clone();
      absl::StatusOr<tools::ModeSwitchResult> train =
          tools::SwitchExportedModel(again, ModuleMode::kTrain);
      ASSERT_TRUE(train.ok()) << file << ": " << train.status() << " " << when;
      EXPECT_EQ(again.mode(), ModuleMode::kTrain);
      ASSERT_TRUE(
          tools::SwitchExportedModel(again, ModuleMode::kEval, strict).ok());
      absl::StatusOr<fuzz::ExecuteCase> c2 = fuzz::DecodeExecuteCase(
          control + *SerializeModule(again, Format::kBinaryProto));
      ASSERT_TRUE(c2.ok()) << c2.status();
      absl::StatusOr<ExecutionResult> run2 =
          fuzz::RunCase(*c2, c2->module, c2->options);
      ASSERT_TRUE(run2.ok()) << file << ": " << run2.status() << " " << when;
      ASSERT_EQ(run2->outputs.size(), run->outputs.size());
      for (size_t i = 0; i < run->outputs.size(); ++i) {
        EXPECT_TRUE(SameBytes(run->outputs[i].tensor, run2->outputs[i].tensor))
            << "eval -> train -> eval of " << file << " computes output " << i
            << " differently " << when;
      }
    }

    // Its outputs, all or none.
    absl::StatusOr<FileSetWriter> writer = FileSetWriter::Open(out_dir);
    ASSERT_TRUE(writer.ok()) << writer.status();
    t_rng = &rng;
    absl::StatusOr<std::vector<std::string>> written =
        tools::WriteOutputs(*writer, run->outputs);
    t_rng = nullptr;
    if (written.ok()) {
      ++counts->output_sets_ok;
      out_exists = true;
      for (size_t i = 0; i < run->outputs.size(); ++i) {
        if (written->at(i).empty()) continue;
        absl::StatusOr<std::string> npy = tools::EncodeNpy(run->outputs[i].tensor);
        ASSERT_TRUE(npy.ok());
        outputs[written->at(i).substr(out_dir.size() + 1)] = *npy;
      }
    } else {
      ++counts->output_sets_failed;
      EXPECT_NE(written.status().code(), absl::StatusCode::kInternal);
    }
    if (out_exists) {
      CheckDirectory(out_dir, outputs, when);
    } else {
      struct stat st;
      EXPECT_NE(stat(out_dir.c_str(), &st), 0)
          << "a failed first output set created " << out_dir << " " << when;
    }
  }
}

TEST(SoakTest, ConcurrentLoadSwitchRunSaveUnderRandomWriteFaults) {
  const int seconds = SoakSeconds();
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
  file_faults::SetHookForTesting(&RandomFault);
  std::vector<Counts> counts(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] { Soak(t, deadline, &counts[t]); });
  }
  for (std::thread& th : threads) th.join();
  file_faults::SetHookForTesting(nullptr);
  Counts total;
  for (const Counts& c : counts) {
    total.saves_ok += c.saves_ok;
    total.saves_failed += c.saves_failed;
    total.switches_ok += c.switches_ok;
    total.switches_failed += c.switches_failed;
    total.runs_ok += c.runs_ok;
    total.runs_failed += c.runs_failed;
    total.output_sets_ok += c.output_sets_ok;
    total.output_sets_failed += c.output_sets_failed;
  }
  std::cout << seconds << " s, " << kThreads << " threads, "
            << g_injected.load() << " injected faults: saves "
            << total.saves_ok << " ok / " << total.saves_failed
            << " failed; switches " << total.switches_ok << " / "
            << total.switches_failed << "; runs " << total.runs_ok << " / "
            << total.runs_failed << "; output sets " << total.output_sets_ok
            << " / " << total.output_sets_failed << "\n";
  // The test only proves something if both outcomes happened.
  EXPECT_GT(total.saves_ok, 0);
  EXPECT_GT(total.saves_failed, 0);
  EXPECT_GT(total.switches_ok, 0);
  EXPECT_GT(total.runs_ok, 0);
  EXPECT_GT(total.output_sets_ok, 0);
  EXPECT_GT(total.output_sets_failed, 0);
}

}  // namespace
}  // namespace rewire
