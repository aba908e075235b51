// TrainEvalReport: what a train/eval switch rewrote, what it left alone and
// why, in a form both people (ToString) and programs (the fields) can read.
// A left-alone node that keeps the eval graph from computing what eager
// `model.eval()` computes is flagged `prevents_eval`; strict switches fail on
// those (rewrite/train_eval.h).
#ifndef REWIRE_REWRITE_TRAIN_EVAL_REPORT_H_
#define REWIRE_REWRITE_TRAIN_EVAL_REPORT_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "ir/exported_module.h"
#include "rewrite/dialect.h"

namespace rewire {

// How many sites of one pattern in one dialect were rewritten.
struct PatternSites {
  std::string pattern;  // "dropout", "dropout_", "batch_norm"
  Dialect dialect = Dialect::kTrainingIr;
  int64_t rewritten = 0;
};

// A node the switch did not change although it is a dropout or batch norm.
struct LeftAlone {
  std::string node;    // graph node name
  std::string target;  // its op
  std::string reason;
  // After a switch to eval: the node keeps the graph from computing what
  // eager eval computes (it still draws random numbers, carries a training
  // flag set to True, or updates state).
  bool prevents_eval = false;
};

struct TrainEvalReport {
  ModuleMode from = ModuleMode::kTrain;
  ModuleMode to = ModuleMode::kTrain;
  // The module already was in the requested mode: nothing was done (not
  // even dead-code elimination), as upstream returns early.
  bool already_in_mode = false;
  int64_t dead_nodes_removed = 0;
  // One entry per pattern pass that ran (its ops were present).
  std::vector<PatternSites> sites;
  std::vector<LeftAlone> left_alone;
  // Observations about the graph as a whole (e.g. nothing to restore).
  std::vector<std::string> notes;

  int64_t total_rewritten() const;
  // Left-alone nodes with prevents_eval.
  int64_t num_preventing_eval() const;
  // Adds `n` sites to (pattern, dialect).
  void AddSites(absl::string_view pattern, Dialect dialect, int64_t n);
  // Sites of `pattern` rewritten in `dialect` (0 when that pass did not run).
  int64_t Rewritten(absl::string_view pattern, Dialect dialect) const;
  // Multi-line human summary.
  std::string ToString() const;
};

}  // namespace rewire

#endif  // REWIRE_REWRITE_TRAIN_EVAL_REPORT_H_
