// The C API's structured train/eval report (rewire_module_switch and the
// rewire_report_* accessors): the TrainEvalReport's fields behind an opaque
// handle, its strings owned by the handle so C callers free one thing.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "ir/exported_module.h"
#include "rewrite/dialect.h"
#include "rewrite/train_eval_report.h"
#include "tools/mode_switch.h"
#include "tools/rewire_c.h"
#include "tools/rewire_c_internal.h"

struct rewire_report {
  rewire::TrainEvalReport fields;
  std::string text;
  // DialectName of each site, kept so the accessor can return a C string.
  std::vector<std::string> site_dialects;
};

namespace {

rewire_mode ToMode(rewire::ModuleMode m) {
  return m == rewire::ModuleMode::kEval ? REWIRE_MODE_EVAL : REWIRE_MODE_TRAIN;
}

const rewire::PatternSites* SiteAt(const rewire_report* r, size_t i) {
  return r == nullptr || i >= r->fields.sites.size() ? nullptr : &r->fields.sites[i];
}

const rewire::LeftAlone* LeftAloneAt(const rewire_report* r, size_t i) {
  return r == nullptr || i >= r->fields.left_alone.size() ? nullptr
                                                          : &r->fields.left_alone[i];
}

}  // namespace

extern "C" {

void rewire_switch_options_init(rewire_switch_options* options) {
  if (options == nullptr) return;
  *options = rewire_switch_options{};
  options->struct_size = sizeof(rewire_switch_options);
  options->to = REWIRE_MODE_EVAL;
  options->strict = 0;
}

rewire_status rewire_module_switch(rewire_module* module,
                                   const rewire_switch_options* options,
                                   rewire_report** report) {
  if (report != nullptr) *report = nullptr;
  return rewire::c_api::Guarded([&]() -> absl::Status {
    if (module == nullptr) return rewire::c_api::NullArgument("module");
    rewire_switch_options given;
    rewire_switch_options_init(&given);
    if (options != nullptr) {
      // As rewire_run_options: fields the caller's version has, the rest
      // keep their defaults.
      const size_t size = options->struct_size;
      if (size < offsetof(rewire_switch_options, strict) + sizeof(int) ||
          size > sizeof(rewire_switch_options)) {
        return absl::InvalidArgumentError(absl::StrCat(
            "rewire_switch_options.struct_size is ", size, ", expected ",
            sizeof(rewire_switch_options), " (call rewire_switch_options_init)"));
      }
      std::memcpy(&given, options, size);
    }
    const int to = rewire::c_api::RawEnumValue(given.to);
    if (to != REWIRE_MODE_TRAIN && to != REWIRE_MODE_EVAL) {
      return absl::InvalidArgumentError(absl::StrCat(
          "rewire_switch_options.to is ", to,
          ", expected REWIRE_MODE_TRAIN (0) or REWIRE_MODE_EVAL (1)"));
    }
    absl::StatusOr<rewire::tools::ModeSwitchResult> r = rewire::tools::SwitchExportedModel(
        module->module,
        to == REWIRE_MODE_EVAL ? rewire::ModuleMode::kEval : rewire::ModuleMode::kTrain,
        given.strict != 0);
    if (!r.ok()) return r.status();
    if (report == nullptr) return absl::OkStatus();
    auto out = std::make_unique<rewire_report>();
    out->text = std::move(r->report);
    out->fields = std::move(r->details);
    for (const rewire::PatternSites& s : out->fields.sites) {
      out->site_dialects.emplace_back(rewire::DialectName(s.dialect));
    }
    *report = out.release();
    return absl::OkStatus();
  });
}

const char* rewire_report_text(const rewire_report* report) {
  return report == nullptr ? nullptr : report->text.c_str();
}
rewire_mode rewire_report_from(const rewire_report* report) {
  return report == nullptr ? REWIRE_MODE_TRAIN : ToMode(report->fields.from);
}
rewire_mode rewire_report_to(const rewire_report* report) {
  return report == nullptr ? REWIRE_MODE_TRAIN : ToMode(report->fields.to);
}
int rewire_report_already_in_mode(const rewire_report* report) {
  return report != nullptr && report->fields.already_in_mode ? 1 : 0;
}
int64_t rewire_report_dead_nodes_removed(const rewire_report* report) {
  return report == nullptr ? 0 : report->fields.dead_nodes_removed;
}
int64_t rewire_report_total_rewritten(const rewire_report* report) {
  return report == nullptr ? 0 : report->fields.total_rewritten();
}
size_t rewire_report_num_sites(const rewire_report* report) {
  return report == nullptr ? 0 : report->fields.sites.size();
}
const char* rewire_report_site_pattern(const rewire_report* report, size_t i) {
  const rewire::PatternSites* s = SiteAt(report, i);
  return s == nullptr ? nullptr : s->pattern.c_str();
}
const char* rewire_report_site_dialect(const rewire_report* report, size_t i) {
  return SiteAt(report, i) == nullptr ? nullptr : report->site_dialects[i].c_str();
}
int64_t rewire_report_site_count(const rewire_report* report, size_t i) {
  const rewire::PatternSites* s = SiteAt(report, i);
  return s == nullptr ? 0 : s->rewritten;
}
size_t rewire_report_num_left_alone(const rewire_report* report) {
  return report == nullptr ? 0 : report->fields.left_alone.size();
}
const char* rewire_report_left_alone_node(const rewire_report* report, size_t i) {
  const rewire::LeftAlone* l = LeftAloneAt(report, i);
  return l == nullptr ? nullptr : l->node.c_str();
}
const char* rewire_report_left_alone_target(const rewire_report* report, size_t i) {
  const rewire::LeftAlone* l = LeftAloneAt(report, i);
  return l == nullptr ? nullptr : l->target.c_str();
}
const char* rewire_report_left_alone_reason(const rewire_report* report, size_t i) {
  const rewire::LeftAlone* l = LeftAloneAt(report, i);
  return l == nullptr ? nullptr : l->reason.c_str();
}
int rewire_report_left_alone_prevents_eval(const rewire_report* report, size_t i) {
  const rewire::LeftAlone* l = LeftAloneAt(report, i);
  return l != nullptr && l->prevents_eval ? 1 : 0;
}
void rewire_report_free(rewire_report* report) { delete report; }

}  // extern "C"
