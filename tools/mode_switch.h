// The train/eval switch and dialect detection behind a header that does not
// include rewrite/.
//
// Why a wrapper: the program and the C API need only "switch and tell me
// what you did" plus the dialect evidence `rewire info` prints, so their
// translation units depend on this small plain-typed interface instead of the
// pattern engine's headers (which once clashed with kernels/executor.h over
// the name rewire::Value).
#ifndef REWIRE_TOOLS_MODE_SWITCH_H_
#define REWIRE_TOOLS_MODE_SWITCH_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "ir/exported_module.h"
#include "ir/graph.h"
#include "rewrite/train_eval_report.h"

namespace rewire {
namespace tools {

struct ModeSwitchResult {
  std::string report;  // TrainEvalReport::ToString()
  int64_t total_rewritten = 0;
  bool already_in_mode = false;
  // Nodes left that keep the eval graph from eager eval (0 after train).
  int64_t preventing_eval = 0;
  // The fields the text was made from (the C API's structured report).
  TrainEvalReport details;
};

// MoveExportedModelToEval (to == kEval; `strict` as TrainEvalOptions::strict)
// or MoveExportedModelToTrain.
absl::StatusOr<ModeSwitchResult> SwitchExportedModel(ExportedModule& module,
                                                     ModuleMode to,
                                                     bool strict = false);

// Which exporter dialect(s) the graph's dropout and batch norm ops show:
// one line per op present ("aten.batch_norm.default x2 -> training_ir") and
// per train_eval marker, plus a one-line conclusion in *summary.
std::vector<std::string> DescribeDialects(const Graph& graph,
                                          std::string* summary);

}  // namespace tools
}  // namespace rewire

#endif  // REWIRE_TOOLS_MODE_SWITCH_H_
