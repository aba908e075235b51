// The C API's rewrite rules (rewire_rules_* and rewire_module_apply_rules):
// rules files parsed by rewrite/rules_file.h and applied by the pattern
// driver, the outcome copied into a handle that owns its strings, so that
// nothing in it points into a graph the caller may change again.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "ir/graph.h"
#include "rewrite/pattern_driver.h"
#include "rewrite/rules_file.h"
#include "tools/rewire_c.h"
#include "tools/rewire_c_internal.h"

struct rewire_rules {
  std::vector<rewire::PatternRule> rules;
};

struct rewire_rewrite_result {
  struct Site {
    std::string anchor;
    std::vector<std::string> nodes;
  };
  struct Skipped {
    std::string node;
    std::string reason;
  };
  struct Rule {
    std::string name;
    int64_t replaced = 0;
    int64_t rejected_by_filters = 0;
    std::vector<Site> sites;
    std::vector<Skipped> skipped;
  };
  std::vector<Rule> rules;
  int64_t total_replaced = 0;
  int iterations = 0;
  bool converged = true;
};

namespace {

using rewire::c_api::Guarded;
using rewire::c_api::NullArgument;

const rewire_rewrite_result::Rule* RuleAt(const rewire_rewrite_result* r,
                                          size_t i) {
  return r == nullptr || i >= r->rules.size() ? nullptr : &r->rules[i];
}

const rewire_rewrite_result::Site* SiteAt(const rewire_rewrite_result* r,
                                          size_t rule, size_t site) {
  const rewire_rewrite_result::Rule* x = RuleAt(r, rule);
  return x == nullptr || site >= x->sites.size() ? nullptr : &x->sites[site];
}

const rewire_rewrite_result::Skipped* SkippedAt(
    const rewire_rewrite_result* r, size_t rule, size_t i) {
  const rewire_rewrite_result::Rule* x = RuleAt(r, rule);
  return x == nullptr || i >= x->skipped.size() ? nullptr : &x->skipped[i];
}

std::unique_ptr<rewire_rewrite_result> Copy(const rewire::DriverResult& d) {
  auto out = std::make_unique<rewire_rewrite_result>();
  out->total_replaced = d.total_replaced();
  out->iterations = d.iterations;
  out->converged = d.converged;
  for (const rewire::RuleOutcome& o : d.rules) {
    rewire_rewrite_result::Rule rule;
    rule.name = o.name;
    rule.replaced = o.replaced;
    rule.rejected_by_filters = o.rejected_by_filters;
    for (const rewire::ReplacedPattern& p : o.sites) {
      rewire_rewrite_result::Site site;
      site.anchor = p.anchor;
      for (const rewire::Node* n : p.replacements) site.nodes.push_back(n->name());
      rule.sites.push_back(std::move(site));
    }
    for (const rewire::SkippedMatch& s : o.skipped) {
      rule.skipped.push_back({s.anchor, s.reason});
    }
    out->rules.push_back(std::move(rule));
  }
  return out;
}

rewire_status Store(absl::StatusOr<std::vector<rewire::PatternRule>> parsed,
                    rewire_rules** out) {
  return Guarded([&]() -> absl::Status {
    if (!parsed.ok()) return parsed.status();
    auto rules = std::make_unique<rewire_rules>();
    rules->rules = *std::move(parsed);
    *out = rules.release();
    return absl::OkStatus();
  });
}

}  // namespace

extern "C" {

rewire_status rewire_rules_parse(const char* text, size_t size,
                                 const char* source, rewire_rules** out) {
  if (out != nullptr) *out = nullptr;
  if (out == nullptr) return Guarded([] { return NullArgument("out"); });
  if (text == nullptr && size > 0) {
    return Guarded([] { return NullArgument("text"); });
  }
  absl::StatusOr<std::vector<rewire::PatternRule>> parsed;
  rewire_status st = Guarded([&]() -> absl::Status {
    parsed = rewire::ParseRules(
        absl::string_view(text == nullptr ? "" : text, size),
        source == nullptr ? "<string>" : source);
    return absl::OkStatus();
  });
  if (st != REWIRE_OK) return st;
  return Store(std::move(parsed), out);
}

rewire_status rewire_rules_load_file(const char* path, rewire_rules** out) {
  if (out != nullptr) *out = nullptr;
  if (out == nullptr) return Guarded([] { return NullArgument("out"); });
  if (path == nullptr) return Guarded([] { return NullArgument("path"); });
  absl::StatusOr<std::vector<rewire::PatternRule>> parsed;
  rewire_status st = Guarded([&]() -> absl::Status {
    parsed = rewire::LoadRulesFile(path);
    return absl::OkStatus();
  });
  if (st != REWIRE_OK) return st;
  return Store(std::move(parsed), out);
}

size_t rewire_rules_count(const rewire_rules* rules) {
  return rules == nullptr ? 0 : rules->rules.size();
}

const char* rewire_rules_name(const rewire_rules* rules, size_t i) {
  return rules == nullptr || i >= rules->rules.size()
             ? nullptr
             : rules->rules[i].name.c_str();
}

void rewire_rules_free(rewire_rules* rules) { delete rules; }

rewire_status rewire_module_apply_rules(rewire_module* module,
                                        const rewire_rules* rules,
                                        int fixed_point, int max_iterations,
                                        rewire_rewrite_result** result) {
  if (result != nullptr) *result = nullptr;
  return Guarded([&]() -> absl::Status {
    if (module == nullptr) return NullArgument("module");
    if (rules == nullptr) return NullArgument("rules");
    if (max_iterations < 0) {
      return absl::InvalidArgumentError(absl::StrCat(
          "max_iterations is ", max_iterations, ", expected >= 0"));
    }
    rewire::DriverOptions options;
    options.fixed_point = fixed_point != 0;
    if (max_iterations > 0) options.max_iterations = max_iterations;
    // The driver is all-or-nothing. The outcome is copied afterwards; only
    // running out of memory can fail there (RESOURCE_EXHAUSTED), and the
    // rewrite has then been applied.
    absl::StatusOr<rewire::DriverResult> d = rewire::ApplyPatternRules(
        module->module.graph(), rules->rules, options);
    if (!d.ok()) return d.status();
    if (result != nullptr) *result = Copy(*d).release();
    return absl::OkStatus();
  });
}

int64_t rewire_rewrite_result_total_replaced(const rewire_rewrite_result* r) {
  return r == nullptr ? 0 : r->total_replaced;
}
int rewire_rewrite_result_iterations(const rewire_rewrite_result* r) {
  return r == nullptr ? 0 : r->iterations;
}
int rewire_rewrite_result_converged(const rewire_rewrite_result* r) {
  return r != nullptr && r->converged ? 1 : 0;
}
size_t rewire_rewrite_result_num_rules(const rewire_rewrite_result* r) {
  return r == nullptr ? 0 : r->rules.size();
}
const char* rewire_rewrite_result_rule_name(const rewire_rewrite_result* r,
                                            size_t rule) {
  const auto* x = RuleAt(r, rule);
  return x == nullptr ? nullptr : x->name.c_str();
}
int64_t rewire_rewrite_result_replaced(const rewire_rewrite_result* r,
                                       size_t rule) {
  const auto* x = RuleAt(r, rule);
  return x == nullptr ? 0 : x->replaced;
}
int64_t rewire_rewrite_result_rejected_by_filters(const rewire_rewrite_result* r,
                                                  size_t rule) {
  const auto* x = RuleAt(r, rule);
  return x == nullptr ? 0 : x->rejected_by_filters;
}
size_t rewire_rewrite_result_num_skipped(const rewire_rewrite_result* r,
                                         size_t rule) {
  const auto* x = RuleAt(r, rule);
  return x == nullptr ? 0 : x->skipped.size();
}
const char* rewire_rewrite_result_skipped_node(const rewire_rewrite_result* r,
                                               size_t rule, size_t i) {
  const auto* s = SkippedAt(r, rule, i);
  return s == nullptr ? nullptr : s->node.c_str();
}
const char* rewire_rewrite_result_skipped_reason(const rewire_rewrite_result* r,
                                                 size_t rule, size_t i) {
  const auto* s = SkippedAt(r, rule, i);
  return s == nullptr ? nullptr : s->reason.c_str();
}
size_t rewire_rewrite_result_num_sites(const rewire_rewrite_result* r,
                                       size_t rule) {
  const auto* x = RuleAt(r, rule);
  return x == nullptr ? 0 : x->sites.size();
}
const char* rewire_rewrite_result_site_anchor(const rewire_rewrite_result* r,
                                              size_t rule, size_t site) {
  const auto* s = SiteAt(r, rule, site);
  return s == nullptr ? nullptr : s->anchor.c_str();
}
size_t rewire_rewrite_result_site_num_nodes(const rewire_rewrite_result* r,
                                            size_t rule, size_t site) {
  const auto* s = SiteAt(r, rule, site);
  return s == nullptr ? 0 : s->nodes.size();
}
const char* rewire_rewrite_result_site_node(const rewire_rewrite_result* r,
                                            size_t rule, size_t site, size_t i) {
  const auto* s = SiteAt(r, rule, site);
  return s == nullptr || i >= s->nodes.size() ? nullptr : s->nodes[i].c_str();
}
void rewire_rewrite_result_free(rewire_rewrite_result* r) { delete r; }

}  // extern "C"
