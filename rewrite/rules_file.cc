#include "rewrite/rules_file.h"

#include <algorithm>
#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "base/file.h"
#include "base/printable.h"
#include "ir/graph.h"
#include "ir/status_macros.h"
#include "ir/text_format.h"
#include "rewrite/match_filters.h"

namespace rewire {
namespace {

bool IsNameChar(char c) {
  return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '_' ||
         c == '-' || c == '.';
}

bool IsIdent(absl::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '_') {
      return false;
    }
  }
  return true;
}

// A line's content without a trailing comment and surrounding blanks. Only
// option and keyword lines go through this: they hold no strings.
absl::string_view Content(absl::string_view line) {
  const size_t hash = line.find('#');
  if (hash != absl::string_view::npos) line = line.substr(0, hash);
  return absl::StripAsciiWhitespace(line);
}

class RulesParser {
 public:
  RulesParser(absl::string_view source, const RulesParseOptions& options)
      : source_(source), options_(options) {}

  absl::StatusOr<std::vector<PatternRule>> Parse(absl::string_view text);

 private:
  enum class State { kTop, kOptions, kPattern, kReplacement };

  absl::Status Error(int64_t line, absl::string_view what) const {
    return absl::InvalidArgumentError(
        absl::StrCat(Printable(source_), ":", line, ": ", what));
  }
  absl::Status StartRule(int64_t line, absl::string_view content);
  absl::Status Option(int64_t line, absl::string_view content);
  absl::Status Bind(int64_t line, absl::string_view spec);
  // The graph of the section just read, parsed with the file's line numbers.
  absl::StatusOr<std::unique_ptr<Graph>> SectionGraph(
      absl::string_view what, int64_t header_line);
  absl::Status FinishRule();

  absl::string_view source_;
  const RulesParseOptions& options_;
  std::vector<PatternRule> rules_;
  absl::flat_hash_set<std::string> names_;
  PatternRule current_;
  bool max_steps_set_ = false;
  int64_t pattern_line_ = 0;
  int64_t replacement_line_ = 0;
  std::string section_;  // the lines of the section being read
  int64_t section_first_line_ = 1;
};

absl::Status RulesParser::StartRule(int64_t line, absl::string_view content) {
  // "rule NAME:"
  absl::string_view rest = content.substr(4);
  if (rest.empty() || !absl::ascii_isspace(static_cast<unsigned char>(rest[0])) ||
      !absl::ConsumeSuffix(&rest, ":")) {
    return Error(line, "expected 'rule NAME:'");
  }
  rest = absl::StripAsciiWhitespace(rest);
  bool valid = !rest.empty();
  for (char c : rest) valid = valid && IsNameChar(c);
  if (!valid) {
    return Error(line, absl::StrCat("rule name '", Printable(rest),
                                    "' must be letters, digits, '_', '-' or '.'"));
  }
  if (!names_.insert(std::string(rest)).second) {
    return Error(line, absl::StrCat("a rule named '", rest, "' already exists"));
  }
  if (static_cast<int64_t>(rules_.size()) >= options_.max_rules) {
    return Error(line, absl::StrCat("more than ", options_.max_rules, " rules"));
  }
  current_ = PatternRule();
  current_.name = std::string(rest);
  max_steps_set_ = false;
  return absl::OkStatus();
}

absl::Status RulesParser::Bind(int64_t line, absl::string_view spec) {
  // "%node.arg = %pattern_node.arg"
  std::vector<absl::string_view> sides = absl::StrSplit(spec, '=');
  auto side = [&](absl::string_view s, std::string* node,
                  std::string* arg) -> bool {
    s = absl::StripAsciiWhitespace(s);
    if (!absl::ConsumePrefix(&s, "%")) return false;
    const size_t dot = s.rfind('.');
    if (dot == absl::string_view::npos) return false;
    *node = std::string(s.substr(0, dot));
    *arg = std::string(s.substr(dot + 1));
    return IsIdent(*node) && IsIdent(*arg);
  };
  LiteralBinding b;
  if (sides.size() != 2 ||
      !side(sides[0], &b.replacement_node, &b.replacement_arg) ||
      !side(sides[1], &b.pattern_node, &b.pattern_arg)) {
    return Error(line,
                 "expected 'bind %replacement_node.arg = %pattern_node.arg'");
  }
  current_.options.literal_bindings.push_back(std::move(b));
  return absl::OkStatus();
}

absl::Status RulesParser::Option(int64_t line, absl::string_view content) {
  if (absl::ConsumePrefix(&content, "bind") && !content.empty() &&
      absl::ascii_isspace(static_cast<unsigned char>(content[0]))) {
    return Bind(line, content);
  }
  const size_t eq = content.find('=');
  if (eq == absl::string_view::npos) {
    return Error(line, absl::StrCat("expected 'key = value', 'bind ...' or "
                                    "'pattern:', got '",
                                    Printable(content), "'"));
  }
  const absl::string_view key = absl::StripAsciiWhitespace(content.substr(0, eq));
  const absl::string_view value =
      absl::StripAsciiWhitespace(content.substr(eq + 1));
  auto as_bool = [&](bool* out) -> absl::Status {
    if (value == "true") {
      *out = true;
    } else if (value == "false") {
      *out = false;
    } else {
      return Error(line, absl::StrCat("'", key, "' takes true or false, got '",
                                      Printable(value), "'"));
    }
    return absl::OkStatus();
  };
  auto as_list = [&]() {
    std::vector<std::string> items;
    for (absl::string_view item : absl::StrSplit(value, ',')) {
      item = absl::StripAsciiWhitespace(item);
      if (!item.empty()) items.emplace_back(item);
    }
    return items;
  };
  ReplaceOptions& o = current_.options;
  if (key == "benefit") {
    int b = 0;
    if (!absl::SimpleAtoi(value, &b)) {
      return Error(line, absl::StrCat("benefit must be an int, got '",
                                      Printable(value), "'"));
    }
    current_.benefit = b;
  } else if (key == "max_steps") {
    int64_t n = 0;
    if (!absl::SimpleAtoi(value, &n) || n < 0) {
      return Error(line, absl::StrCat("max_steps must be an int >= 0, got '",
                                      Printable(value), "'"));
    }
    o.max_steps = n;
    max_steps_set_ = true;
  } else if (key == "ignore_literals") {
    return as_bool(&o.ignore_literals);
  } else if (key == "match_placeholder") {
    return as_bool(&o.match_placeholder);
  } else if (key == "preserve_literals") {
    return as_bool(&o.preserve_literals);
  } else if (key == "preserve_except") {
    o.preserve_except = as_list();
  } else if (key == "filters") {
    for (std::string& name : as_list()) {
      absl::StatusOr<MatchFilter> f = BuiltinMatchFilter(name);
      if (!f.ok()) return Error(line, f.status().message());
      o.filters.push_back(*std::move(f));
      current_.filter_names.push_back(std::move(name));
    }
  } else {
    return Error(line, absl::StrCat(
                           "unknown option '", Printable(key),
                           "' (known: benefit, ignore_literals, "
                           "match_placeholder, preserve_literals, "
                           "preserve_except, filters, max_steps, bind)"));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<Graph>> RulesParser::SectionGraph(
    absl::string_view what, int64_t header_line) {
  TextParseOptions parse;
  parse.first_line = static_cast<int>(std::min<int64_t>(
      section_first_line_, std::numeric_limits<int>::max()));
  absl::StatusOr<std::unique_ptr<Graph>> g = ParseGraph(section_, parse);
  section_.clear();
  if (!g.ok()) {
    // The parser's "line N, column M: ..." already counts file lines.
    std::string message(g.status().message());
    absl::string_view m = message;
    if (absl::ConsumePrefix(&m, "line ")) {
      return absl::InvalidArgumentError(absl::StrCat(
          Printable(source_), ":", m, " (rule '", current_.name, "' ",
          what, ")"));
    }
    return Error(header_line, absl::StrCat("rule '", current_.name, "' ", what,
                                           ": ", message));
  }
  return g;
}

absl::Status RulesParser::FinishRule() {
  ASSIGN_OR_RETURN(std::unique_ptr<Graph> replacement,
                   SectionGraph("replacement", replacement_line_));
  current_.replacement = std::move(replacement);
  if (!max_steps_set_) current_.options.max_steps = options_.default_max_steps;
  rules_.push_back(std::move(current_));
  current_ = PatternRule();
  return absl::OkStatus();
}

absl::StatusOr<std::vector<PatternRule>> RulesParser::Parse(
    absl::string_view text) {
  State state = State::kTop;
  int64_t line_no = 0;
  int64_t rule_line = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    ++line_no;
    const absl::string_view content = Content(line);
    switch (state) {
      case State::kTop:
        if (content.empty()) break;
        if (!absl::StartsWith(content, "rule")) {
          return Error(line_no, absl::StrCat("expected 'rule NAME:', got '",
                                             Printable(content), "'"));
        }
        RETURN_IF_ERROR(StartRule(line_no, content));
        rule_line = line_no;
        state = State::kOptions;
        break;
      case State::kOptions:
        if (content.empty()) break;
        if (content == "pattern:") {
          pattern_line_ = line_no;
          state = State::kPattern;
          break;
        }
        RETURN_IF_ERROR(Option(line_no, content));
        break;
      case State::kPattern:
      case State::kReplacement:
        if (state == State::kPattern && content == "replacement:") {
          ASSIGN_OR_RETURN(std::unique_ptr<Graph> pattern,
                           SectionGraph("pattern", pattern_line_));
          current_.pattern = std::move(pattern);
          replacement_line_ = line_no;
          state = State::kReplacement;
          break;
        }
        if (state == State::kReplacement && content == "end") {
          RETURN_IF_ERROR(FinishRule());
          state = State::kTop;
          break;
        }
        if (content == "end" || content == "pattern:" ||
            content == "replacement:" ||
            (absl::StartsWith(content, "rule ") && absl::EndsWith(content, ":"))) {
          return Error(line_no, absl::StrCat(
                                    "'", content, "' inside the ",
                                    state == State::kPattern ? "pattern"
                                                             : "replacement",
                                    " of rule '", current_.name, "' (line ",
                                    rule_line, "); expected ",
                                    state == State::kPattern ? "'replacement:'"
                                                             : "'end'"));
        }
        if (section_.empty()) section_first_line_ = line_no;
        absl::StrAppend(&section_, line, "\n");
        break;
    }
  }
  // The piece after a final newline is not a line of its own.
  if (line_no > 1 && absl::EndsWith(text, "\n")) --line_no;
  if (state != State::kTop) {
    return Error(line_no, absl::StrCat("rule '", current_.name, "' (line ",
                                       rule_line, ") has no ",
                                       state == State::kOptions ? "'pattern:'"
                                       : state == State::kPattern
                                           ? "'replacement:'"
                                           : "'end'"));
  }
  if (rules_.empty()) return Error(line_no, "no rule in the file");
  return std::move(rules_);
}

}  // namespace

absl::StatusOr<std::vector<PatternRule>> ParseRules(
    absl::string_view text, absl::string_view source,
    const RulesParseOptions& options) {
  return RulesParser(source, options).Parse(text);
}

absl::StatusOr<std::vector<PatternRule>> LoadRulesFile(
    const std::string& path, const RulesParseOptions& options) {
  ASSIGN_OR_RETURN(std::string text,
                   ReadFileToString(path, options.max_file_bytes));
  return ParseRules(text, path, options);
}

absl::StatusOr<PatternRule> RuleFromGraphTexts(
    absl::string_view pattern_text, absl::string_view replacement_text,
    std::string name, const RulesParseOptions& options) {
  PatternRule rule;
  rule.name = std::move(name);
  absl::StatusOr<std::unique_ptr<Graph>> p = ParseGraph(pattern_text);
  if (!p.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("pattern: ", p.status().message()));
  }
  absl::StatusOr<std::unique_ptr<Graph>> r = ParseGraph(replacement_text);
  if (!r.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("replacement: ", r.status().message()));
  }
  rule.pattern = *std::move(p);
  rule.replacement = *std::move(r);
  rule.options.max_steps = options.default_max_steps;
  return rule;
}

}  // namespace rewire
