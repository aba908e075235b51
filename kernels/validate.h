// Validate: runs a module and checks, node by node, that its dropout and batch
// norm nodes compute what PyTorch's semantics say the graph as written means
// (docs/SEMANTICS.md §7), against an independent reference written with plain
// double-precision loops (not the fast kernels).
//
// This is the end-to-end check that a train/eval rewrite produced the forms it
// claims: eval-form dropout must be the identity; train-form dropout must keep
// about 1 - p of the elements (a statistical bound of `sigmas` standard
// deviations) and scale kept values by exactly 1 / (1 - p) (to one float
// rounding); eval batch norm must use the running statistics; train batch norm
// must normalise with the batch statistics and leave the running statistics
// equal to the momentum update with the unbiased variance. A module whose mode
// is eval but whose graph still holds a train-form node (dropout with
// train=True, batch norm training with running stats, bernoulli_) is reported.
//
// The module is never changed: the run uses a copy of its graph and state.
#ifndef REWIRE_KERNELS_VALIDATE_H_
#define REWIRE_KERNELS_VALIDATE_H_

#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "ir/exported_module.h"
#include "ir/graph.h"
#include "kernels/executor.h"
#include "kernels/tensor.h"

namespace rewire {

struct NodeCheck {
  std::string node;    // node name
  std::string target;  // "aten.dropout.default"
  std::string what;    // e.g. "dropout train-form p=0.5: keep rate, scale"
  bool passed = true;
  double max_error = 0;  // largest deviation from the reference
  std::string detail;    // why it failed (empty when passed)
};

struct ValidationReport {
  std::vector<NodeCheck> checks;
  int num_failed() const;
  // One line per check.
  std::string ToString() const;
};

struct ValidateOptions {
  ExecuteOptions execute;
  // Mode the graph should be in; default: the module's mode(). Train-form
  // nodes fail in an eval graph (batch norm without running stats excepted:
  // it must stay in training form).
  std::optional<ModuleMode> expected_mode;
  // Width of the keep-rate bound in standard deviations.
  double sigmas = 6.0;
  // Test hook: may alter a node's result before it is checked, to prove the
  // checks catch a wrong kernel.
  std::function<void(const Node&, RuntimeValue&)> alter_result_for_testing;
};

// Runs `module` (a copy) on `inputs` and fills `report`. OK when every check
// passes; FailedPrecondition summarizing the failed checks otherwise; an
// execution error as Execute returns it.
absl::Status Validate(const ExportedModule& module,
                      const std::vector<std::pair<std::string, Tensor>>& inputs,
                      const ValidateOptions& options, ValidationReport* report);

}  // namespace rewire

#endif  // REWIRE_KERNELS_VALIDATE_H_
