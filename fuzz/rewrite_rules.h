// Fixed train<->eval rewrite rules for the rewrite fuzzer and the reliability
// tests, written as text patterns for ReplacePatternWithFilters.
//
// They exercise the engine directly with the dialect patterns the train/eval
// switch uses (dropout train flag, batch_norm training flag,
// _native_batch_norm_legit -> _no_training, native_dropout, the make_fx
// bernoulli_/div_/mul decomposition), with step bounds and rule orders the
// public API never picks; rewrite_fuzzer.cc also runs the public
// MoveExportedModelToEval/Train on every input.
#ifndef REWIRE_FUZZ_REWRITE_RULES_H_
#define REWIRE_FUZZ_REWRITE_RULES_H_

#include <memory>
#include <string>
#include <vector>

#include "rewrite/replace_pattern.h"

namespace rewire {
namespace fuzz {

struct RewriteRule {
  std::string name;
  std::unique_ptr<Graph> pattern;
  std::unique_ptr<Graph> replacement;
  ReplaceOptions options;
};

// Parsed once; CHECK-fails on a typo in the rule texts (a programmer error).
const std::vector<RewriteRule>& TrainEvalRules();

}  // namespace fuzz
}  // namespace rewire

#endif  // REWIRE_FUZZ_REWRITE_RULES_H_
