// Rewrite rules as text: the rules-file format that the CLI (`rewire
// rewrite --rules`) and the C API read, parsed into rules for the pattern
// driver (rewrite/pattern_driver.h). docs/RULES.md documents it in full,
// with examples; in short:
//
//   # comment
//   rule fold_double_neg:
//     benefit = 2
//     filters = single_use, same_device
//   pattern:
//     %x = placeholder[target=x]
//     %a = aten.neg.default(%x)
//     %b = aten.neg.default(%a)
//     return (%b,)
//   replacement:
//     %x = placeholder[target=x]
//     %c = aten.clone.default(%x)
//     return (%c,)
//   end
//
// A rule has a unique name, options (one `key = value` per line, or
// `bind %node.arg = %pattern_node.arg`), then two graphs in the text form of
// ir/text_format.h. Options: benefit (int, default 1), ignore_literals,
// match_placeholder, preserve_literals (true/false, default false),
// preserve_except (argument names), filters (rewrite/match_filters.h),
// max_steps (matcher search bound per application; default
// RulesParseOptions::default_max_steps, 0 for none). Errors are
// InvalidArgument "SOURCE:LINE: what" (graph errors: "SOURCE:LINE, column
// C: ..." with the file's own line numbers). Parsing is linear in the text.
#ifndef REWIRE_REWRITE_RULES_FILE_H_
#define REWIRE_REWRITE_RULES_FILE_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "rewrite/pattern_driver.h"

namespace rewire {

struct RulesParseOptions {
  int64_t max_rules = 10000;
  // Search bound given to rules that set no max_steps: a rule from a file
  // whose pattern would search for hours stops and reports limit_reached.
  int64_t default_max_steps = 100000000;
  // LoadRulesFile refuses larger files.
  int64_t max_file_bytes = int64_t{64} << 20;
};

// The rules in `text`; `source` names it in errors (a path, "<string>").
absl::StatusOr<std::vector<PatternRule>> ParseRules(
    absl::string_view text, absl::string_view source = "<string>",
    const RulesParseOptions& options = {});

// ParseRules on the contents of the regular file `path`.
absl::StatusOr<std::vector<PatternRule>> LoadRulesFile(
    const std::string& path, const RulesParseOptions& options = {});

// One rule from a pattern and a replacement graph in text form, with
// default options (`rewire rewrite --pattern P --replacement R`).
absl::StatusOr<PatternRule> RuleFromGraphTexts(
    absl::string_view pattern_text, absl::string_view replacement_text,
    std::string name, const RulesParseOptions& options = {});

}  // namespace rewire

#endif  // REWIRE_REWRITE_RULES_FILE_H_
