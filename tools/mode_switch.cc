#include "tools/mode_switch.h"

#include <string>
#include <utility>
#include <vector>

#include "rewrite/dialect.h"
#include "rewrite/train_eval.h"

namespace rewire {
namespace tools {

absl::StatusOr<ModeSwitchResult> SwitchExportedModel(ExportedModule& module,
                                                     ModuleMode to,
                                                     bool strict) {
  TrainEvalOptions options;
  options.strict = strict;
  absl::StatusOr<TrainEvalReport> r =
      to == ModuleMode::kEval ? MoveExportedModelToEval(module, options)
                              : MoveExportedModelToTrain(module);
  if (!r.ok()) return r.status();
  ModeSwitchResult out;
  out.report = r->ToString();
  out.total_rewritten = r->total_rewritten();
  out.already_in_mode = r->already_in_mode;
  out.preventing_eval = r->num_preventing_eval();
  out.details = *std::move(r);
  return out;
}

std::vector<std::string> DescribeDialects(const Graph& g,
                                          std::string* summary) {
  DialectDetection d = DetectDialect(g);
  *summary = d.Summary();
  return d.Lines();
}

}  // namespace tools
}  // namespace rewire
