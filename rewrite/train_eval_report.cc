#include "rewrite/train_eval_report.h"

#include <cstdint>
#include <string>

#include "absl/strings/str_cat.h"

namespace rewire {
namespace {

absl::string_view ModeName(ModuleMode m) {
  return m == ModuleMode::kTrain ? "train" : "eval";
}

}  // namespace

int64_t TrainEvalReport::total_rewritten() const {
  int64_t n = 0;
  for (const PatternSites& s : sites) n += s.rewritten;
  return n;
}

int64_t TrainEvalReport::Rewritten(absl::string_view pattern, Dialect d) const {
  for (const PatternSites& s : sites) {
    if (s.pattern == pattern && s.dialect == d) return s.rewritten;
  }
  return 0;
}

std::string TrainEvalReport::ToString() const {
  std::string out = absl::StrCat(ModeName(from), " -> ", ModeName(to));
  if (already_in_mode) {
    absl::StrAppend(&out, ": already in ", ModeName(to), " mode, nothing changed\n");
    return out;
  }
  absl::StrAppend(&out, ": ", total_rewritten(), " site(s) rewritten, ",
                  dead_nodes_removed, " dead node(s) removed\n");
  for (const PatternSites& s : sites) {
    absl::StrAppend(&out, "  ", s.pattern, " [", DialectName(s.dialect),
                    "]: ", s.rewritten, "\n");
  }
  for (const LeftAlone& l : left_alone) {
    absl::StrAppend(&out, "  left alone %", l.node, " (", l.target, "): ",
                    l.reason,
                    l.prevents_eval ? " [differs from eager eval]" : "", "\n");
  }
  for (const std::string& n : notes) absl::StrAppend(&out, "  note: ", n, "\n");
  return out;
}

int64_t TrainEvalReport::num_preventing_eval() const {
  int64_t n = 0;
  for (const LeftAlone& l : left_alone) n += l.prevents_eval ? 1 : 0;
  return n;
}

void TrainEvalReport::AddSites(absl::string_view pattern, Dialect d,
                               int64_t n) {
  for (PatternSites& s : sites) {
    if (s.pattern == pattern && s.dialect == d) {
      s.rewritten += n;
      return;
    }
  }
  sites.push_back(PatternSites{std::string(pattern), d, n});
}

}  // namespace rewire
