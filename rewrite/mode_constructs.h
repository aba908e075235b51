// The mode-dependent constructs beyond upstream's dropout and batch norm
// patterns, and the check that nothing mode-dependent is left after a switch
// to eval (docs/SEMANTICS.md §3).
//
// Three kinds of construct; whatever can fail is done before the first
// change, so the switch stays all-or-nothing:
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
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "ir/exported_module.h"
#include "ir/graph.h"
#include "rewrite/dialect.h"
#include "rewrite/train_eval_report.h"

namespace rewire {

// Switches the flag ops, the batch counters (`batch_norm` family: instance
// norm, the functional batch norm, counters) and, to eval only, the random
// masks (`dropout` family: the rest); counts the sites into report under
// `dialect`. Constructs it recognizes but cannot switch go to
// report.left_alone. Everything that can fail (encoding the stashes) runs
// before the first change. Adds to *verified the targets whose every node
// it examined, so ReportModeDependentLeft need not visit them again.
absl::Status SwitchModeConstructs(ExportedModule& module, ModuleMode to,
                                  bool dropout, bool batch_norm,
                                  Dialect dialect, TrainEvalReport& report,
                                  absl::flat_hash_set<std::string>* verified);

// After a switch to eval: adds to report.left_alone, with prevents_eval,
// every node that still draws random numbers, carries a training flag set to
// True (batch and instance norm: with running stats), or increments a batch
// counter; nodes already listed get the flag. Visits only nodes of those
// targets (target index), and skips the targets in `verified` (whose nodes a
// pass already examined and reported).
void ReportModeDependentLeft(ExportedModule& module,
                             const absl::flat_hash_set<std::string>& verified,
                             TrainEvalReport& report);

// Why node `n` computes something eager eval would not: it draws random
// numbers, carries a training flag that is True (batch and instance norm:
// with running stats), or an attention dropout_p other than 0; nullopt when
// it computes the same in both modes as far as the node alone tells (batch
// counters need the module, see ReportModeDependentLeft).
std::optional<std::string> ModeDependentReason(const Node& n);

}  // namespace rewire

#endif  // REWIRE_REWRITE_MODE_CONSTRUCTS_H_
