// Train/eval switching of exported models: pt2e's export_utils.py in C++.
//
// An exported graph has dropout and batch norm specialised to the mode it was
// exported in, so `model.train()`/`model.eval()` cannot change them; these
// functions rewrite the ops instead (SEMANTICS.md §1). Unlike upstream they
// cover every exporter dialect (SEMANTICS.md §2; detected per graph from the
// ops present, through the graph's target index), keep the model's own `p`,
// `momentum`, `eps` and `cudnn_enabled` (only the training flag changes),
// keep node names and metadata where the op is unchanged, leave batch norm
// without running stats in training mode (as eager PyTorch does), and return a
// TrainEvalReport of what was rewritten and what was left alone and why.
//
// Note [Dropout without an eval node]
// make_fx's eval dropout is no node at all, and core ATen's is a `clone`
// indistinguishable from any other clone, so the way back to training needs
// something to find. Train -> eval therefore replaces those dropouts with a
// zero-cost `aten.alias.default(x)` carrying the metadata key
// kDropoutMarkerKey ("rewire_dropout"), e.g. "dialect=core_aten;p=0.3" or
// "dialect=make_fx;p=0.3;keep=0.7;divisor=0.7" (the exact literals the
// exporter wrote), and eval -> train restores exactly that dropout from the
// alias. A model exported in eval in these dialects has no such marker:
// nothing can be restored, and the report says so in its notes. The
// batch-norm eval op `_native_batch_norm_legit_no_training` is shared by the
// pre-dispatch and core-ATen dialects; train -> eval marks it with
// kBatchNormMarkerKey ("dialect=pre_dispatch" / "dialect=core_aten") so the
// way back restores the dialect it came from; unmarked ones follow the
// dialect the rest of the graph shows.
//
// Note [Failure atomicity]
// The module's mode changes only after every rewrite succeeded. Everything
// that depends on the input — the device check, the markers, tracing the
// patterns — runs before the graph is touched, and each pattern pass
// (ReplacePatternWithFilters) validates before it mutates; no graph clone is
// made, so a million-node model is rewritten in place. What can still fail
// afterwards is an internal invariant (InternalError).
#ifndef REWIRE_REWRITE_TRAIN_EVAL_H_
#define REWIRE_REWRITE_TRAIN_EVAL_H_

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "ir/exported_module.h"  // ModelIsExported, AssertAndGetUniqueDevice
#include "rewrite/dialect.h"
#include "rewrite/train_eval_report.h"

namespace rewire {

// ModelIsExported(const ExportedModule&) is declared in ir/exported_module.h
// (included above): true iff some node carries "val", as torch's
// model_is_exported.

inline constexpr absl::string_view kDropoutMarkerKey = "rewire_dropout";
inline constexpr absl::string_view kBatchNormMarkerKey = "rewire_batch_norm";

// Options of the switch to eval.
struct TrainEvalOptions {
  // Fail with FailedPrecondition, leaving the module exactly as it was, when
  // anything that keeps the eval graph from computing what eager
  // `model.eval()` computes is left after the switch (a node that still
  // draws random numbers, a training flag still set, a counter that still
  // counts); the error names every such node. Costs a copy of the graph for
  // the duration of the switch. Ignored by MoveExportedModelToTrain.
  bool strict = false;
};

// Dead-code elimination, then every dropout pattern of every dialect present
// (non-inplace, in-place, core ATen, make_fx; Note [Dropout without an eval
// node]). Does not change the module's mode.
absl::StatusOr<TrainEvalReport> ReplaceDropout(ExportedModule& module,
                                               ModuleMode to);

// Dead-code elimination, then every batch norm pattern of every dialect
// present; pre-dispatch patterns for CUDA when AssertAndGetUniqueDevice says
// CUDA (its error when the module spans several devices). Batch norm without
// running stats is left in training mode and reported. The way back
// (to kTrain) also restores stashed dropout-family constructs
// (rewrite/stash.h), which its dead-code elimination would otherwise drop.
// Does not change the module's mode.
absl::StatusOr<TrainEvalReport> ReplaceBatchNorm(ExportedModule& module,
                                                 ModuleMode to);

// Dropout then batch norm, then mode := eval / train. A module already in
// that mode is returned unchanged (report.already_in_mode). On error the
// module's mode is unchanged (Note [Failure atomicity]).
absl::StatusOr<TrainEvalReport> MoveExportedModelToEval(
    ExportedModule& module, const TrainEvalOptions& options = {});
absl::StatusOr<TrainEvalReport> MoveExportedModelToTrain(ExportedModule& module);

// Lets TrainModule/EvalModule switch the module (upstream binds
// `model.train`/`model.eval`).
void AllowExportedModelTrainEval(ExportedModule& module);

// The module's train()/eval(): FailedPrecondition, explaining how to switch,
// until AllowExportedModelTrainEval was called; then MoveExportedModelToTrain
// (kTrain, upstream's train(True)) or MoveExportedModelToEval (kEval, as
// train(False) and EvalModule).
absl::StatusOr<TrainEvalReport> TrainModule(ExportedModule& module,
                                            ModuleMode mode = ModuleMode::kTrain);
absl::StatusOr<TrainEvalReport> EvalModule(ExportedModule& module);

}  // namespace rewire

#endif  // REWIRE_REWRITE_TRAIN_EVAL_H_
