// `rewire rewrite`: the user's own rules (rewrite/rules_file.h) applied to a
// model by the pattern driver, with a per-rule report, a dry run and an
// optional check that the model computes the same before and after.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "base/file.h"
#include "base/printable.h"
#include "ir/exported_module.h"
#include "ir/verifier.h"
#include "kernels/executor.h"
#include "kernels/tensor.h"
#include "rewrite/pattern_driver.h"
#include "rewrite/rules_file.h"
#include "tools/cli_support.h"
#include "tools/model_files.h"
#include "tools/run_outputs.h"

namespace rewire {
namespace tools {

const char kRewriteUsage[] = R"(usage: rewire rewrite FILE (--rules RULES | --pattern P --replacement R) -o OUT [flags]

Applies rewrite rules to a model: each rule replaces every match of its
pattern graph by its replacement graph (torch.fx's replace_pattern, with
filters, literal bindings and benefits; docs/RULES.md documents the rules
file). Rules run by descending benefit, then file order, in one sweep.
Prints per rule how many sites were replaced, how many matches each filter
rejected, and which matches were skipped and why. Nothing is written unless
every rule applied and every check passed.

  --rules RULES         a rules file (docs/RULES.md)
  --pattern P           one pattern graph in the text form (ir/text_format.h),
  --replacement R       with its replacement, as one rule named "pattern"
  -o OUT                the rewritten model (.pb, .pbtxt, .pt2, .txt)
  --dry-run             list the sites each rule would replace; write nothing
  --fixed-point         repeat sweeps until one replaces nothing
  --max-iterations N    bound on sweeps with --fixed-point (default 16)
  --verify-run          run the model before and after on the same random
                        inputs (--seed N, default 0) and fail unless every
                        output agrees within --tolerance T (default 1e-5:
                        |after - before| <= T * (1 + |before|))
)";

namespace {

constexpr int kListedSites = 20;

struct RewriteFlags {
  bool dry_run = false;
  bool verify_run = false;
  uint64_t seed = 0;
  double tolerance = 1e-5;
  DriverOptions driver;
};

// The values of `t` as doubles (empty for dtypes without a plain numeric
// value).
std::vector<double> Values(const Tensor& t) {
  std::vector<double> v;
  absl::StatusOr<Tensor> c = t.Contiguous();
  if (!c.ok()) return v;
  v.reserve(static_cast<size_t>(c->numel()));
  for (int64_t i = 0; i < c->numel(); ++i) {
    switch (c->dtype()) {
      case ScalarType::kFloat32: v.push_back(c->data<float>()[i]); break;
      case ScalarType::kFloat64: v.push_back(c->data<double>()[i]); break;
      case ScalarType::kInt64: v.push_back(static_cast<double>(c->data<int64_t>()[i])); break;
      case ScalarType::kInt32: v.push_back(c->data<int32_t>()[i]); break;
      case ScalarType::kBool: v.push_back(c->data<bool>()[i] ? 1 : 0); break;
      default: return {};
    }
  }
  return v;
}

// Whether `after` agrees with `before` (see --tolerance); `detail` says how.
bool Agrees(const Tensor& before, const Tensor& after, double tolerance,
            std::string* detail) {
  if (!before.defined() || !after.defined()) {
    *detail = before.defined() == after.defined() ? "None" : "None on one side";
    return before.defined() == after.defined();
  }
  if (before.dtype() != after.dtype() || before.shape() != after.shape()) {
    *detail = absl::StrCat(ScalarTypeShortName(before.dtype()),
                           ShapeToString(before.shape()), " became ",
                           ScalarTypeShortName(after.dtype()),
                           ShapeToString(after.shape()));
    return false;
  }
  std::vector<double> a = Values(before);
  std::vector<double> b = Values(after);
  if (a.size() != static_cast<size_t>(before.numel())) {
    *detail = "not compared (dtype without numeric values)";
    return true;
  }
  double max_diff = 0;
  bool ok = true;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::isnan(a[i]) && std::isnan(b[i])) continue;
    const double d = std::fabs(b[i] - a[i]);
    if (!(d <= tolerance * (1 + std::fabs(a[i])))) ok = false;
    if (std::isnan(d)) {
      max_diff = d;
    } else if (!std::isnan(max_diff)) {
      max_diff = std::max(max_diff, d);
    }
  }
  *detail = absl::StrFormat("max |diff| %.3g", max_diff);
  return ok;
}

// Runs a copy of `m` (its state is not changed) on `inputs`, drawing random
// numbers (train-mode dropout) from `seed`.
absl::StatusOr<std::vector<NamedTensor>> RunCopy(
    const ExportedModule& m,
    const std::vector<std::pair<std::string, Tensor>>& inputs, uint64_t seed) {
  ExportedModule copy = m.Clone();
  ExecuteOptions options;
  options.seed = seed;
  absl::StatusOr<ExecutionResult> r = Execute(copy, inputs, options);
  if (!r.ok()) return r.status();
  return std::move(r->outputs);
}

int ParseRewriteFlags(Cli& cli, const ParsedArgs& a, RewriteFlags* f) {
  f->dry_run = a.present.count("--dry-run") > 0;
  f->verify_run = a.present.count("--verify-run") > 0;
  f->driver.fixed_point = a.present.count("--fixed-point") > 0;
  if (const std::string* s = a.Get("--seed"); s != nullptr && !ParseU64(*s, &f->seed)) {
    return cli.Usage("rewrite", absl::StrCat("--seed '", *s, "': expected a non-negative integer"));
  }
  if (const std::string* s = a.Get("--tolerance"); s != nullptr) {
    if (!absl::SimpleAtod(*s, &f->tolerance) || !(f->tolerance >= 0) ||
        std::isinf(f->tolerance)) {
      return cli.Usage("rewrite", absl::StrCat("--tolerance '", *s,
                                               "': expected a number >= 0"));
    }
  }
  if (const std::string* s = a.Get("--max-iterations"); s != nullptr) {
    if (!f->driver.fixed_point) {
      return cli.Usage("rewrite", "--max-iterations needs --fixed-point");
    }
    if (!absl::SimpleAtoi(*s, &f->driver.max_iterations) ||
        f->driver.max_iterations < 1 || f->driver.max_iterations > 1000000) {
      return cli.Usage("rewrite", absl::StrCat("--max-iterations '", *s,
                                               "': expected 1 to 1000000"));
    }
  }
  return kExitOk;
}

absl::StatusOr<std::vector<PatternRule>> LoadRules(const ParsedArgs& a) {
  if (const std::string* rules = a.Get("--rules"); rules != nullptr) {
    return LoadRulesFile(*rules);
  }
  const std::string& p = *a.Get("--pattern");
  const std::string& r = *a.Get("--replacement");
  absl::StatusOr<std::string> pattern = ReadFileToString(p, RulesParseOptions().max_file_bytes);
  if (!pattern.ok()) return pattern.status();
  absl::StatusOr<std::string> replacement = ReadFileToString(r, RulesParseOptions().max_file_bytes);
  if (!replacement.ok()) return replacement.status();
  absl::StatusOr<PatternRule> rule = RuleFromGraphTexts(*pattern, *replacement, "pattern");
  if (!rule.ok()) {
    return absl::Status(rule.status().code(),
                        absl::StrCat(p, " / ", r, ": ", rule.status().message()));
  }
  std::vector<PatternRule> rules;
  rules.push_back(*std::move(rule));
  return rules;
}

void PrintReport(std::ostream& out, const std::vector<PatternRule>& rules,
                 const DriverResult& d, bool dry_run) {
  for (size_t i = 0; i < rules.size(); ++i) {
    const PatternRule& rule = rules[i];
    const RuleOutcome& o = d.rules[i];
    out << "rule " << Printable(rule.name) << ": ";
    if (o.replaced == 0 && o.rejected_by_filters == 0 && o.skipped.empty() &&
        o.not_applicable == d.iterations) {
      out << "no match (an op of its pattern is not in the graph)\n";
      continue;
    }
    out << o.replaced << " site(s) " << (dry_run ? "would be " : "")
        << "replaced";
    if (o.rejected_by_filters > 0) {
      out << ", " << o.rejected_by_filters << " match(es) rejected by filters";
      std::vector<std::string> parts;
      for (size_t f = 0; f < o.rejected_by_filter.size(); ++f) {
        if (o.rejected_by_filter[f] == 0) continue;
        const std::string name = f < rule.filter_names.size()
                                     ? rule.filter_names[f]
                                     : absl::StrCat("filter ", f);
        parts.push_back(absl::StrCat(name, " ", o.rejected_by_filter[f]));
      }
      if (!parts.empty()) out << " (" << absl::StrJoin(parts, ", ") << ")";
    }
    if (!o.skipped.empty()) out << ", " << o.skipped.size() << " skipped";
    if (o.limit_reached) out << "; search bound (max_steps) reached: matches may be missing";
    out << "\n";
    if (dry_run) {
      for (size_t s = 0; s < o.sites.size(); ++s) {
        if (s == kListedSites) {
          out << "    ... and " << o.sites.size() - kListedSites << " more\n";
          break;
        }
        out << "    at %" << Printable(o.sites[s].anchor) << "\n";
      }
    }
    for (const SkippedMatch& s : o.skipped) {
      out << "    skipped at %" << Printable(s.anchor) << ": " << s.reason << "\n";
    }
  }
  out << d.total_replaced() << " site(s) " << (dry_run ? "would be " : "")
      << "replaced in " << d.iterations << " sweep(s)";
  if (!d.converged) out << " (stopped at --max-iterations before a fixed point)";
  out << "\n";
}

}  // namespace

int CmdRewrite(Cli& cli, const ParsedArgs& a) {
  if (a.positional.size() != 1) {
    return cli.Usage("rewrite", "rewire rewrite takes exactly one FILE");
  }
  const bool from_file = a.Get("--rules") != nullptr;
  const bool pair = a.Get("--pattern") != nullptr || a.Get("--replacement") != nullptr;
  if (from_file == pair) {
    return cli.Usage("rewrite", "give either --rules RULES or --pattern P --replacement R");
  }
  if (pair && (a.Get("--pattern") == nullptr || a.Get("--replacement") == nullptr)) {
    return cli.Usage("rewrite", "--pattern and --replacement go together");
  }
  RewriteFlags flags;
  if (int rc = ParseRewriteFlags(cli, a, &flags); rc != kExitOk) return rc;
  const std::string* out_path = a.Get("-o");
  if (flags.dry_run && out_path != nullptr) {
    return cli.Usage("rewrite", "--dry-run writes nothing: drop -o");
  }
  if (!flags.dry_run && out_path == nullptr) {
    return cli.Usage("rewrite", "rewire rewrite needs -o OUT (or --dry-run)");
  }
  if (out_path != nullptr && ModelKindOfPath(*out_path) == ModelFileKind::kUnknown) {
    return cli.Usage("rewrite", absl::StrCat("-o ", *out_path,
                                             ": unknown output extension (expected ",
                                             kModelFormats, ")"));
  }
  absl::StatusOr<std::vector<PatternRule>> rules = LoadRules(a);
  if (!rules.ok()) {
    return cli.Fail(from_file ? *a.Get("--rules") : "", rules.status());
  }
  const std::string& path = a.positional[0];
  absl::StatusOr<ExportedModule> m = LoadModelFile(path);
  if (!m.ok()) return cli.Fail(path, m.status());

  std::vector<std::pair<std::string, Tensor>> inputs;
  std::vector<NamedTensor> before;
  if (flags.verify_run) {
    bool usage = false;
    absl::StatusOr<std::vector<std::pair<std::string, Tensor>>> built =
        BuildInputs(*m, {}, flags.seed, ExecuteOptions().max_total_bytes, &usage);
    if (!built.ok()) return cli.Fail(path, built.status());
    inputs = *std::move(built);
    absl::StatusOr<std::vector<NamedTensor>> r = RunCopy(*m, inputs, flags.seed);
    if (!r.ok()) return cli.Fail(path, r.status());
    before = *std::move(r);
  }
  // A dry run rewrites a copy, so that it can list the sites.
  std::optional<ExportedModule> copy;
  if (flags.dry_run) copy.emplace(m->Clone());
  ExportedModule& target = flags.dry_run ? *copy : *m;
  absl::StatusOr<DriverResult> d =
      ApplyPatternRules(target.graph(), *rules, flags.driver);
  if (!d.ok()) return cli.Fail(path, d.status());
  PrintReport(cli.out(), *rules, *d, flags.dry_run);
  if (absl::Status v = Verify(target.graph()); !v.ok()) {
    return cli.Fail(path, absl::InvalidArgumentError(absl::StrCat(
                              "the rewritten graph is invalid: ", v.message())));
  }
  if (flags.verify_run) {
    absl::StatusOr<std::vector<NamedTensor>> after = RunCopy(target, inputs, flags.seed);
    if (!after.ok()) {
      return cli.Fail(path, absl::Status(after.status().code(),
                                         absl::StrCat("the rewritten model does not run: ",
                                                      after.status().message())));
    }
    if (after->size() != before.size()) {
      return cli.Fail(absl::StrCat(path, ": --verify-run: ", before.size(),
                                   " output(s) before the rewrite, ", after->size(),
                                   " after"));
    }
    int bad = 0;
    for (size_t i = 0; i < before.size(); ++i) {
      std::string detail;
      const bool ok = Agrees(before[i].tensor, (*after)[i].tensor, flags.tolerance, &detail);
      cli.out() << "verify-run output " << OutputLabel(i, before[i].name) << ": "
                << (ok ? "agrees" : "DIFFERS") << " (" << detail << ")\n";
      bad += ok ? 0 : 1;
    }
    if (bad > 0) {
      return cli.Fail(absl::StrCat(path, ": --verify-run: ", bad,
                                   " output(s) differ after the rewrite beyond "
                                   "--tolerance ", flags.tolerance,
                                   "; nothing written"));
    }
  }
  if (flags.dry_run) return kExitOk;
  absl::Status saved = SaveModelFile(*m, *out_path);
  if (!saved.ok()) return cli.Fail(*out_path, saved);
  if (ModelKindOfPath(*out_path) == ModelFileKind::kText) {
    cli.err() << absl::StrFormat(kGraphOnlyNote, *out_path);
  }
  cli.out() << "wrote " << *out_path << "\n";
  return kExitOk;
}

}  // namespace tools
}  // namespace rewire
