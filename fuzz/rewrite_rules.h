// Fixed train<->eval rewrite rules for the rewrite fuzzer and the reliability
// tests, written as text patterns for ReplacePatternWithFilters.
//
// NOTE: rewrite/train_eval.h (MoveExportedModelToEval/Train) did not exist
// when these targets were written, so the rules below stand in for it: they
// are the dialect patterns that API applies (dropout train flag, batch_norm
// training flag, _native_batch_norm_legit -> _no_training, native_dropout,
// the make_fx bernoulli_/div_/mul decomposition). Once train_eval.h builds,
// rewrite_fuzzer.cc should call MoveExportedModelToEval/Train as well.
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
