// Fuzz target (d): load + train<->eval rewrites + verify + save + reload.
//
// Input: two control bytes, then a binary .pb module. Byte 0 is a bit mask of
// the rules in rewrite_rules.cc to apply (in order), byte 1 picks the matcher
// step bound (0: unlimited, else 8 * byte) so that limit_reached paths run.
// Every input also goes through the public switch on a copy of the module:
// MoveExportedModelToEval, then MoveExportedModelToTrain, with the same
// properties checked after each.
//
// Properties: a rewrite that fails leaves the module byte-identical to before
// (all-or-nothing); a rewrite that succeeds leaves a graph the verifier
// accepts; the rewritten module saves, reloads, and the reload saves to the
// very same bytes.
#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz/fuzz_check.h"
#include "fuzz/load_round_trip.h"
#include "fuzz/rewrite_rules.h"
#include "google/protobuf/stubs/logging.h"
#include "ir/serialization.h"
#include "ir/verifier.h"
#include "rewrite/replace_pattern.h"
#include "rewrite/train_eval.h"

namespace {

std::string MustSave(const rewire::ExportedModule& m) {
  auto bytes = rewire::SerializeModule(m, rewire::Format::kBinaryProto);
  FUZZ_CHECK(bytes.ok(), "a loaded module fails to save: " +
                             std::string(bytes.status().message()));
  return *bytes;
}

}  // namespace

namespace {

// Round-trips a module through the public API and checks the properties.
void CheckPublicSwitch(const rewire::ExportedModule& loaded) {
  rewire::ExportedModule m = loaded.Clone();
  for (int step = 0; step < 2; ++step) {
    const std::string before = MustSave(m);
    auto report = step == 0 ? rewire::MoveExportedModelToEval(m)
                            : rewire::MoveExportedModelToTrain(m);
    if (!report.ok()) {
      FUZZ_CHECK(MustSave(m) == before,
                 "failed switch changed the module: " +
                     std::string(report.status().message()));
      return;
    }
    absl::Status verified = rewire::Verify(m.graph());
    FUZZ_CHECK(verified.ok(),
               "switch broke the graph: " + std::string(verified.message()));
  }
  const std::string saved = MustSave(m);
  auto reloaded = rewire::LoadModuleFromBytes(saved,
                                              rewire::Format::kBinaryProto);
  FUZZ_CHECK(reloaded.ok(), "switched module does not reload: " +
                                std::string(reloaded.status().message()));
  FUZZ_CHECK(MustSave(*reloaded) == saved,
             "reloaded switched module re-serializes differently");
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  google::protobuf::SetLogHandler(nullptr);
  (void)rewire::fuzz::TrainEvalRules();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  const uint8_t mask = data[0];
  const int64_t max_steps = int64_t{8} * data[1];
  auto module = rewire::LoadModuleFromBytes(
      absl::string_view(reinterpret_cast<const char*>(data) + 2, size - 2),
      rewire::Format::kBinaryProto, rewire::fuzz::FuzzLoadOptions());
  if (!module.ok()) return 0;
  CheckPublicSwitch(*module);
  const auto& rules = rewire::fuzz::TrainEvalRules();
  for (size_t i = 0; i < rules.size() && i < 8; ++i) {
    if ((mask & (1u << i)) == 0) continue;
    const rewire::fuzz::RewriteRule& rule = rules[i];
    const std::string before = MustSave(*module);
    rewire::ReplaceOptions options = rule.options;
    options.max_steps = max_steps;
    auto result = rewire::ReplacePatternWithFilters(
        module->graph(), *rule.pattern, *rule.replacement, options);
    if (!result.ok()) {
      FUZZ_CHECK(MustSave(*module) == before,
                 "failed rewrite " + rule.name + " changed the module: " +
                     std::string(result.status().message()));
      continue;
    }
    absl::Status verified = rewire::Verify(module->graph());
    FUZZ_CHECK(verified.ok(), "rewrite " + rule.name +
                                  " broke the graph: " +
                                  std::string(verified.message()));
  }
  const std::string saved = MustSave(*module);
  auto reloaded = rewire::LoadModuleFromBytes(saved,
                                              rewire::Format::kBinaryProto);
  FUZZ_CHECK(reloaded.ok(), "rewritten module does not reload: " +
                                std::string(reloaded.status().message()));
  FUZZ_CHECK(MustSave(*reloaded) == saved,
             "reloaded module re-serializes differently");
  return 0;
}
