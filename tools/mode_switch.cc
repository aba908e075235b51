// The op -> dialect table mirrors SEMANTICS.md §2 and the spellings
// rewrite/train_eval.cc matches; ops two exporters share are reported as
// ambiguous rather than guessed.
#include "tools/mode_switch.h"

#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "rewrite/pattern_tracer.h"
#include "rewrite/train_eval.h"

namespace rewire {
namespace tools {
namespace {

struct Evidence {
  const char* target;
  std::vector<Dialect> dialects;
};

const std::vector<Evidence>& EvidenceTable() {
  static const auto* table = new std::vector<Evidence>{
      {"aten.batch_norm.default", {Dialect::kTrainingIr}},
      {"aten.dropout.default", {Dialect::kTrainingIr, Dialect::kPreDispatch}},
      {"aten.dropout_.default", {Dialect::kTrainingIr, Dialect::kPreDispatch}},
      {"aten._native_batch_norm_legit.default", {Dialect::kPreDispatch}},
      {"aten._native_batch_norm_legit.no_stats",
       {Dialect::kPreDispatch, Dialect::kCoreAten}},
      {"aten.cudnn_batch_norm.default", {Dialect::kPreDispatch}},
      {"aten._native_batch_norm_legit_no_training.default",
       {Dialect::kPreDispatch, Dialect::kCoreAten}},
      {"aten._native_batch_norm_legit_functional.default",
       {Dialect::kCoreAten}},
      {"aten.native_dropout.default", {Dialect::kCoreAten}},
      {"aten.native_batch_norm.default", {Dialect::kMakeFx}},
      {"aten.bernoulli_.float", {Dialect::kMakeFx}},
  };
  return *table;
}

}  // namespace

absl::StatusOr<ModeSwitchResult> SwitchExportedModel(ExportedModule& module,
                                                     ModuleMode to) {
  absl::StatusOr<TrainEvalReport> r = to == ModuleMode::kEval
                                          ? MoveExportedModelToEval(module)
                                          : MoveExportedModelToTrain(module);
  if (!r.ok()) return r.status();
  ModeSwitchResult out;
  out.report = r->ToString();
  out.total_rewritten = r->total_rewritten();
  out.already_in_mode = r->already_in_mode;
  return out;
}

std::vector<std::string> DescribeDialects(const Graph& g,
                                          std::string* summary) {
  std::vector<std::string> lines;
  std::set<std::string> sure, maybe;
  for (const Evidence& e : EvidenceTable()) {
    const size_t n = g.CountTarget(e.target);
    if (n == 0) continue;
    std::vector<std::string> names;
    for (Dialect d : e.dialects) names.emplace_back(DialectName(d));
    lines.push_back(absl::StrCat(e.target, " x", n, " -> ",
                                 absl::StrJoin(names, " or ")));
    if (names.size() == 1) {
      sure.insert(names[0]);
    } else {
      maybe.insert(names.begin(), names.end());
    }
  }
  // Markers a train -> eval switch leaves name their dialect exactly (Note
  // [Dropout without an eval node] in rewrite/train_eval.h).
  std::map<std::string, int> marked;
  for (const Node* n : g) {
    for (absl::string_view key : {kDropoutMarkerKey, kBatchNormMarkerKey}) {
      const MetaValue* v = n->meta().Find(key);
      if (v == nullptr || !v->is_string()) continue;
      for (absl::string_view part : absl::StrSplit(v->as_string(), ';')) {
        if (absl::ConsumePrefix(&part, "dialect=")) {
          ++marked[absl::StrCat(key, " marker -> ", part)];
          sure.insert(std::string(part));
        }
      }
    }
  }
  for (const auto& [what, n] : marked) {
    lines.push_back(absl::StrCat(what, " x", n));
  }
  if (!sure.empty()) {
    *summary = absl::StrJoin(sure, ", ");
  } else if (!maybe.empty()) {
    *summary = absl::StrCat(absl::StrJoin(maybe, " or "), " (ambiguous)");
  } else {
    *summary = "none detected (no dropout or batch norm ops)";
  }
  return lines;
}

}  // namespace tools
}  // namespace rewire
