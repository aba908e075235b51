// The mode-dependent constructs beyond upstream's dropout and batch norm
// patterns, and the check that nothing mode-dependent is left after a switch
// to eval (docs/SEMANTICS.md §3).
//
// Three kinds of construct, each planned (read-only, may fail) before it is
// applied (cannot fail but for internal errors), so the switch stays
// all-or-nothing:
//  - Flag ops: `feature_dropout`, `alpha_dropout`, `feature_alpha_dropout`
//    (and their in-place forms), `instance_norm` with running stats,
//    `rrelu`, `rrelu_with_noise(_functional)`. Their training flag is flipped
//    in place; the way back flips it again.
//  - Random masks: decomposed dropout / drop path / alpha dropout, which
//    draw a mask with `bernoulli` on a fresh `empty*` tensor and apply it to
//    x. In eval they are the identity: the construct becomes an alias of x
//    carrying a stash of the removed nodes (rewrite/stash.h).
//  - Batch counters: `add_(num_batches_tracked, 1)` (core ATen: `add` copied
//    back into the buffer). Eager eval does not count; the eval graph adds 0,
//    a literal edit the way back undoes exactly.
#ifndef REWIRE_REWRITE_MODE_CONSTRUCTS_H_
#define REWIRE_REWRITE_MODE_CONSTRUCTS_H_

#include <cstddef>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "ir/exported_module.h"
#include "rewrite/dialect.h"
#include "rewrite/train_eval_report.h"

namespace rewire {

// What the constructs pass will do; built by PlanModeConstructs.
struct ModeConstructPlan {
  struct Flip {
    Node* node = nullptr;
    size_t index = 0;    // argument index as Graph::SetLiteralArgument counts
    Argument value;      // the new literal
    std::string pattern;  // report name: "feature_dropout", "batch_counter"
  };
  struct Mask {
    std::vector<Node*> nodes;  // the construct, in graph order; last = result
    Node* x = nullptr;         // what it is the identity of in eval
    std::string pattern;       // "drop_path", "dropout_", "alpha_dropout", ...
    std::string stash;         // EncodeStash(nodes)
  };
  std::vector<Flip> flips;
  std::vector<Mask> masks;
};

// Plans the switch of the flag ops, masks (to eval only) and counters
// (`batch_norm` family: instance norm and counters; `dropout` family: the
// rest). Reads the module, changes nothing. Constructs it recognizes but
// cannot switch go to report.left_alone.
absl::StatusOr<ModeConstructPlan> PlanModeConstructs(ExportedModule& module,
                                                     ModuleMode to,
                                                     bool dropout,
                                                     bool batch_norm,
                                                     TrainEvalReport& report);

// Carries out `plan` and counts its sites into report (under `dialect`).
absl::Status ApplyModeConstructs(Graph& graph, ModeConstructPlan& plan,
                                 Dialect dialect, TrainEvalReport& report);

// After a switch to eval: adds to report.left_alone, with prevents_eval,
// every node that still draws random numbers, carries a training flag set to
// True (batch and instance norm: with running stats), or increments a batch
// counter; nodes already listed get the flag. Visits only nodes of those
// targets (target index).
void ReportModeDependentLeft(ExportedModule& module, TrainEvalReport& report);

}  // namespace rewire

#endif  // REWIRE_REWRITE_MODE_CONSTRUCTS_H_
