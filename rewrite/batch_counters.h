// Batch norm's num_batches_tracked counters in an exported graph: the
// `add_(num_batches_tracked, 1)` a training export runs per batch (core ATen:
// an `add` whose only user copies it back into the buffer). Eager eval does
// not count, so the eval graph adds 0 where training adds 1, and the way back
// makes it 1 again (docs/SEMANTICS.md §3). Part of the train/eval switch
// (rewrite/mode_constructs.h).
//
// A counter is recognized by its buffer's state name. On a large graph that
// buffer is a placeholder far from the add, so each counter costs a cache and
// TLB miss; docs/BENCHMARKS.md has the measurements.
#ifndef REWIRE_REWRITE_BATCH_COUNTERS_H_
#define REWIRE_REWRITE_BATCH_COUNTERS_H_


#include "absl/functional/function_ref.h"
#include "ir/exported_module.h"
#include "ir/graph.h"
#include "ir/types.h"
#include "rewrite/dialect.h"
#include "rewrite/train_eval_report.h"

namespace rewire {

// The targets a counter node has.
inline constexpr const char* kBatchCounterOps[] = {"aten.add_.Tensor",
                                                   "aten.add.Tensor"};

// A batch counter is `add_(b, k)`, or `add(b, k)` copied back into b, with b
// a buffer whose state name ends in num_batches_tracked and k an int
// literal; k is its increment.

// Switches every counter toward `to` (eval: an increment of 1 becomes 0;
// train: 0 becomes 1) and counts them into `report` as "batch_counter" sites
// under `dialect`. On the way to eval, an increment other than 0 and 1 is
// listed as left alone, preventing eval: a buffer of that name that is no
// batch norm's counter.
void SwitchBatchCounters(ExportedModule& module, ModuleMode to, Dialect dialect,
                         TrainEvalReport& report);

// Calls `fn` for every batch counter whose increment is not 0.
void ForEachCountingBatchCounter(ExportedModule& module,
                                 absl::FunctionRef<void(const Node*)> fn);

}  // namespace rewire

#endif  // REWIRE_REWRITE_BATCH_COUNTERS_H_
