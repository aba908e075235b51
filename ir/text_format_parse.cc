// The text form's parser (ir/text_format.h): ParseGraph and ParseMetaValue.
// Iterative, linear in the input; list nesting is bounded by
// TextParseOptions::max_nesting.
#include <charconv>
#include <cmath>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "base/printable.h"
#include "ir/status_macros.h"
#include "ir/text_format.h"
#include "ir/text_format_syntax.h"

namespace rewire {
namespace {

using text_format_internal::IsIdentStart;
using text_format_internal::IsIdentChar;
using text_format_internal::IsKindKeyword;
using text_format_internal::LooksLikeInt;
using text_format_internal::DefaultStrides;

class Parser {
 public:
  Parser(absl::string_view text, const TextParseOptions& options)
      : text_(text), options_(options), line_(options.first_line) {}

  absl::StatusOr<std::unique_ptr<Graph>> ParseGraphText();
  absl::StatusOr<MetaValue> ParseSingleMetaValue();

 private:
  struct Position {
    size_t pos;
    int line;
    size_t line_start;
  };

  Position Save() const { return Position{pos_, line_, line_start_}; }
  void Restore(const Position& p) {
    pos_ = p.pos;
    line_ = p.line;
    line_start_ = p.line_start;
  }

  absl::Status ErrorAt(const Position& p, absl::string_view what) const {
    return absl::InvalidArgumentError(absl::StrCat(
        "line ", p.line, ", column ", p.pos - p.line_start + 1, ": ", what));
  }
  absl::Status Error(absl::string_view what) const {
    return ErrorAt(Save(), what);
  }

  bool AtEnd() const { return pos_ >= text_.size(); }
  char Cur() const { return AtEnd() ? '\0' : text_[pos_]; }
  char At(size_t offset) const {
    return pos_ + offset < text_.size() ? text_[pos_ + offset] : '\0';
  }

  // Skips blanks and comments; newlines too while inside brackets (depth_ >
  // 0), so long argument lists may span lines.
  void SkipSpace() {
    while (!AtEnd()) {
      char c = text_[pos_];
      if (c == ' ' || c == '\t' || c == '\r') {
        ++pos_;
      } else if (c == '#') {
        while (!AtEnd() && text_[pos_] != '\n') ++pos_;
      } else if (c == '\n' && depth_ > 0) {
        NewLine();
      } else {
        break;
      }
    }
  }
  void NewLine() {
    ++pos_;
    ++line_;
    line_start_ = pos_;
  }
  // Skips blank lines and comment lines between statements.
  void SkipBlankLines() {
    while (true) {
      SkipSpace();
      if (Cur() == '\n') {
        NewLine();
      } else {
        return;
      }
    }
  }
  char Peek() {
    SkipSpace();
    return Cur();
  }
  bool Consume(char c) {
    if (Peek() != c) return false;
    ++pos_;
    return true;
  }
  absl::Status Expect(char c, absl::string_view context = "") {
    if (Consume(c)) return absl::OkStatus();
    return Error(absl::StrCat("expected '", std::string(1, c), "'",
                              context.empty() ? "" : " ", context, Found()));
  }
  void Open() { ++depth_; }
  absl::Status Close(char c) {
    RETURN_IF_ERROR(Expect(c));
    --depth_;
    return absl::OkStatus();
  }
  // ", found 'x'" for error messages.
  std::string Found() const {
    if (AtEnd()) return ", found end of input";
    if (Cur() == '\n') return ", found end of line";
    return absl::StrCat(", found '",
                        Printable(absl::string_view(&text_[pos_], 1)), "'");
  }
  absl::Status ExpectEndOfStatement() {
    SkipSpace();
    if (AtEnd()) return absl::OkStatus();
    if (Cur() == '\n') {
      NewLine();
      return absl::OkStatus();
    }
    return Error(absl::StrCat("expected end of line", Found()));
  }

  // [A-Za-z_][A-Za-z0-9_]*, or empty when none is here.
  absl::string_view ReadIdent() {
    SkipSpace();
    size_t start = pos_;
    if (AtEnd() || !IsIdentStart(text_[pos_])) return {};
    while (!AtEnd() && IsIdentChar(text_[pos_])) ++pos_;
    return text_.substr(start, pos_ - start);
  }
  // ident ('.' [A-Za-z0-9_]+)*: targets, torch.* constants.
  absl::string_view ReadDotted() {
    SkipSpace();
    size_t start = pos_;
    if (AtEnd() || !IsIdentStart(text_[pos_])) return {};
    while (!AtEnd()) {
      if (IsIdentChar(text_[pos_])) {
        ++pos_;
      } else if (text_[pos_] == '.' && IsIdentChar(At(1))) {
        ++pos_;
      } else {
        break;
      }
    }
    return text_.substr(start, pos_ - start);
  }

  absl::StatusOr<std::string> ReadString();
  absl::StatusOr<Argument> ReadNumber();
  absl::StatusOr<std::string> ReadNodeName();
  // `extra_nesting` lets a syntactic outer tuple (return, fx args) not count
  // against max_nesting, so every printable graph parses back.
  absl::StatusOr<Argument> ParseValue(int extra_nesting = 0);
  absl::StatusOr<Argument> ParseScalarValue();
  absl::StatusOr<Argument> ParseDeviceCall();
  absl::Status ParseArgList(std::vector<Argument>* args,
                            std::vector<Kwarg>* kwargs);
  absl::Status ParseFxArgs(std::vector<Argument>* args,
                           std::vector<Kwarg>* kwargs);
  absl::StatusOr<MetaValue> ParseMetaValue();
  absl::StatusOr<TensorMeta> ParseTensorType(ScalarType dtype);
  absl::Status ParseMetaBraces(Metadata* meta);
  absl::Status ParseNodeStatement(Graph* graph);
  absl::Status ParseReturnStatement(Graph* graph);

  absl::string_view text_;
  const TextParseOptions& options_;
  size_t pos_ = 0;
  int line_;
  size_t line_start_ = 0;
  int depth_ = 0;
  // Name of the node being defined, to tell self-reference apart.
  absl::string_view defining_;
  Graph* graph_ = nullptr;
  bool have_output_ = false;
};

absl::StatusOr<std::string> Parser::ReadString() {
  SkipSpace();
  char quote = Cur();
  if (quote != '"' && quote != '\'') return Error("expected a string");
  Position start = Save();
  ++pos_;
  std::string out;
  while (true) {
    if (AtEnd() || Cur() == '\n') {
      return ErrorAt(start, "unterminated string");
    }
    char c = text_[pos_++];
    if (c == quote) break;
    if (c != '\\') {
      out.push_back(c);
      continue;
    }
    if (AtEnd()) return ErrorAt(start, "unterminated string");
    char e = text_[pos_++];
    switch (e) {
      case 'n':
        out.push_back('\n');
        break;
      case 't':
        out.push_back('\t');
        break;
      case 'r':
        out.push_back('\r');
        break;
      case '\\':
      case '"':
      case '\'':
        out.push_back(e);
        break;
      case 'x': {
        int value = 0;
        for (int k = 0; k < 2; ++k) {
          char h = Cur();
          int digit = absl::ascii_isdigit(static_cast<unsigned char>(h))
                          ? h - '0'
                      : (h >= 'a' && h <= 'f') ? h - 'a' + 10
                      : (h >= 'A' && h <= 'F') ? h - 'A' + 10
                                               : -1;
          if (digit < 0) return Error("expected two hex digits after '\\x'");
          value = value * 16 + digit;
          ++pos_;
        }
        out.push_back(static_cast<char>(value));
        break;
      }
      default:
        --pos_;
        return Error(absl::StrCat("unknown escape '\\", std::string(1, e),
                                  "' in string"));
    }
  }
  return out;
}

absl::StatusOr<Argument> Parser::ReadNumber() {
  SkipSpace();
  Position start = Save();
  size_t begin = pos_;
  if (Cur() == '-') ++pos_;
  if (Cur() == 'i') {
    absl::string_view word = ReadIdent();
    if (word == "inf") {
      return Argument::Double(text_[begin] == '-' ? -INFINITY : INFINITY);
    }
    Restore(start);
    return Error("expected a number");
  }
  bool is_float = false;
  size_t digits = 0;
  while (absl::ascii_isdigit(static_cast<unsigned char>(Cur()))) {
    ++pos_;
    ++digits;
  }
  if (Cur() == '.') {
    is_float = true;
    ++pos_;
    while (absl::ascii_isdigit(static_cast<unsigned char>(Cur()))) {
      ++pos_;
      ++digits;
    }
  }
  if (digits == 0) {
    Restore(start);
    return Error("expected a number");
  }
  if (Cur() == 'e' || Cur() == 'E') {
    is_float = true;
    ++pos_;
    if (Cur() == '+' || Cur() == '-') ++pos_;
    if (!absl::ascii_isdigit(static_cast<unsigned char>(Cur()))) {
      return Error("expected exponent digits");
    }
    while (absl::ascii_isdigit(static_cast<unsigned char>(Cur()))) ++pos_;
  }
  if (IsIdentChar(Cur()) || Cur() == '.') {
    return Error("malformed number");
  }
  const char* first = text_.data() + begin;
  const char* last = text_.data() + pos_;
  if (is_float) {
    double d = 0;
    auto res = std::from_chars(first, last, d);
    if (res.ec != std::errc() || res.ptr != last) {
      return ErrorAt(start, "float literal out of range");
    }
    return Argument::Double(d);
  }
  int64_t i = 0;
  auto res = std::from_chars(first, last, i);
  if (res.ec != std::errc() || res.ptr != last) {
    return ErrorAt(start, "integer literal out of range for int64");
  }
  return Argument::Int(i);
}

absl::StatusOr<std::string> Parser::ReadNodeName() {
  SkipSpace();
  if (Cur() != '%') return Error(absl::StrCat("expected '%'", Found()));
  ++pos_;
  if (Cur() == '"' || Cur() == '\'') {
    ASSIGN_OR_RETURN(std::string name, ReadString());
    if (name.empty()) return Error("empty node name");
    return name;
  }
  size_t start = pos_;
  while (!AtEnd() && IsIdentChar(text_[pos_])) ++pos_;
  if (start == pos_) {
    return Error(absl::StrCat("expected a node name after '%'", Found()));
  }
  return std::string(text_.substr(start, pos_ - start));
}

absl::StatusOr<Argument> Parser::ParseDeviceCall() {
  // After "device": ('cuda:0') or (type='cuda', index=0).
  Open();
  RETURN_IF_ERROR(Expect('(', "after 'device'"));
  Position at = Save();
  Device device;
  if (Peek() == '"' || Peek() == '\'') {
    ASSIGN_OR_RETURN(std::string spelled, ReadString());
    absl::StatusOr<Device> d = ParseDevice(spelled);
    if (!d.ok()) return ErrorAt(at, d.status().message());
    device = *d;
  } else {
    absl::string_view key = ReadIdent();
    if (key != "type") return Error("expected a device string or 'type='");
    RETURN_IF_ERROR(Expect('='));
    ASSIGN_OR_RETURN(std::string type, ReadString());
    std::string spelled = type;
    if (Consume(',')) {
      if (ReadIdent() != "index") return Error("expected 'index='");
      RETURN_IF_ERROR(Expect('='));
      Position index_at = Save();
      ASSIGN_OR_RETURN(Argument index, ReadNumber());
      if (index.kind() != Argument::Kind::kInt) {
        return ErrorAt(index_at, "device index must be an integer");
      }
      absl::StrAppend(&spelled, ":", index.as_int());
    }
    absl::StatusOr<Device> d = ParseDevice(spelled);
    if (!d.ok()) return ErrorAt(at, d.status().message());
    device = *d;
  }
  RETURN_IF_ERROR(Close(')'));
  return Argument::DeviceValue(device);
}

absl::StatusOr<Argument> Parser::ParseScalarValue() {
  char c = Peek();
  Position at = Save();
  if (c == '%') {
    ASSIGN_OR_RETURN(std::string name, ReadNodeName());
    Node* n = graph_ == nullptr ? nullptr : graph_->FindNode(name);
    if (n == nullptr) {
      if (name == defining_) {
        return ErrorAt(at, absl::StrCat("%", Printable(name),
                                        " is used in its own definition"));
      }
      return ErrorAt(at, absl::StrCat("%", Printable(name),
                                      " is not defined (uses must refer to "
                                      "nodes on earlier lines)"));
    }
    return Argument::Ref(n);
  }
  if (c == '"' || c == '\'') {
    ASSIGN_OR_RETURN(std::string s, ReadString());
    return Argument::String(std::move(s));
  }
  if (c == '-' || absl::ascii_isdigit(static_cast<unsigned char>(c)) ||
      c == '.') {
    return ReadNumber();
  }
  absl::string_view word = ReadDotted();
  if (word.empty()) {
    return Error(absl::StrCat("expected a value", Found()));
  }
  if (word == "None") return Argument::None();
  if (word == "True") return Argument::Bool(true);
  if (word == "False") return Argument::Bool(false);
  if (word == "inf") return Argument::Double(INFINITY);
  if (word == "nan") return Argument::Double(NAN);
  if (word == "device" && Peek() == '(') return ParseDeviceCall();
  if (absl::StartsWith(word, "torch.")) {
    if (auto t = ParseScalarType(word); t.ok()) return Argument::Dtype(*t);
    if (auto l = ParseLayout(word); l.ok()) return Argument::LayoutValue(*l);
    if (auto m = ParseMemoryFormat(word); m.ok()) {
      return Argument::MemoryFormatValue(*m);
    }
  }
  return ErrorAt(at, absl::StrCat("unknown value '", word,
                                  "' (expected %name, None, True, False, a "
                                  "number, a string, torch.<dtype|layout|"
                                  "memory_format>, device(...) or a list)"));
}

// Lists and tuples with an explicit stack: the depth of the input never
// becomes the depth of the call stack.
absl::StatusOr<Argument> Parser::ParseValue(int extra_nesting) {
  struct Frame {
    std::vector<Argument> items;
    char close;
  };
  std::vector<Frame> stack;
  while (true) {
    Argument value;
    char c = Peek();
    if (c == '[' || c == '(') {
      if (static_cast<int64_t>(stack.size()) >=
          static_cast<int64_t>(options_.max_nesting) + extra_nesting) {
        return Error(absl::StrCat("list nesting deeper than ",
                                  options_.max_nesting));
      }
      ++pos_;
      Open();
      stack.push_back(Frame{{}, c == '[' ? ']' : ')'});
      if (Peek() != stack.back().close) continue;
      ++pos_;
      --depth_;
      value = Argument::List(std::move(stack.back().items));
      stack.pop_back();
    } else {
      ASSIGN_OR_RETURN(value, ParseScalarValue());
    }
    // Attach the finished value to the enclosing lists, closing those that
    // end here.
    while (true) {
      if (stack.empty()) return value;
      Frame& f = stack.back();
      f.items.push_back(std::move(value));
      bool comma = Consume(',');
      if (Peek() == f.close) {
        ++pos_;
        --depth_;
        value = Argument::List(std::move(f.items));
        stack.pop_back();
        continue;
      }
      if (!comma) {
        return Error(absl::StrCat("expected ',' or '", std::string(1, f.close),
                                  "'", Found()));
      }
      break;  // Next element.
    }
  }
}

absl::Status Parser::ParseArgList(std::vector<Argument>* args,
                                  std::vector<Kwarg>* kwargs) {
  // '(' already consumed and opened.
  if (Peek() == ')') return Close(')');
  while (true) {
    Position item = Save();
    std::optional<std::string> key;
    char c = Peek();
    if (IsIdentStart(c)) {
      absl::string_view word = ReadIdent();
      if (Peek() == '=') {
        key = std::string(word);
      } else {
        Restore(item);
      }
    } else if (c == '"' || c == '\'') {
      ASSIGN_OR_RETURN(std::string s, ReadString());
      if (Peek() == '=') {
        key = std::move(s);
      } else {
        Restore(item);
      }
    }
    if (key.has_value()) {
      ++pos_;  // '='
      for (const Kwarg& kw : *kwargs) {
        if (kw.name == *key) {
          return ErrorAt(item, absl::StrCat("duplicate keyword argument '",
                                            Printable(*key), "'"));
        }
      }
      ASSIGN_OR_RETURN(Argument v, ParseValue());
      kwargs->push_back(Kwarg{std::move(*key), std::move(v)});
    } else {
      if (!kwargs->empty()) {
        return ErrorAt(item, "positional argument after keyword argument");
      }
      ASSIGN_OR_RETURN(Argument v, ParseValue());
      args->push_back(std::move(v));
    }
    bool comma = Consume(',');
    if (Peek() == ')') return Close(')');
    if (!comma) return Error(absl::StrCat("expected ',' or ')'", Found()));
  }
}

// fx's spelling: (args = (...), kwargs = {key: value, ...}); '(' consumed.
absl::Status Parser::ParseFxArgs(std::vector<Argument>* args,
                                 std::vector<Kwarg>* kwargs) {
  if (ReadIdent() != "args") return Error("expected 'args'");
  RETURN_IF_ERROR(Expect('='));
  if (Peek() != '(') return Error(absl::StrCat("expected '('", Found()));
  ASSIGN_OR_RETURN(Argument tuple, ParseValue(/*extra_nesting=*/1));
  *args = std::move(tuple.mutable_list());
  RETURN_IF_ERROR(Expect(','));
  if (ReadIdent() != "kwargs") return Error("expected 'kwargs'");
  RETURN_IF_ERROR(Expect('='));
  Open();
  RETURN_IF_ERROR(Expect('{'));
  if (Peek() != '}') {
    while (true) {
      Position item = Save();
      std::string key;
      if (Peek() == '"' || Peek() == '\'') {
        ASSIGN_OR_RETURN(key, ReadString());
      } else {
        key = std::string(ReadIdent());
        if (key.empty()) return Error("expected a keyword name");
      }
      RETURN_IF_ERROR(Expect(':'));
      for (const Kwarg& kw : *kwargs) {
        if (kw.name == key) {
          return ErrorAt(item, absl::StrCat("duplicate keyword argument '",
                                            Printable(key), "'"));
        }
      }
      ASSIGN_OR_RETURN(Argument v, ParseValue());
      kwargs->push_back(Kwarg{std::move(key), std::move(v)});
      bool comma = Consume(',');
      if (Peek() == '}') break;
      if (!comma) return Error(absl::StrCat("expected ',' or '}'", Found()));
    }
  }
  RETURN_IF_ERROR(Close('}'));
  Consume(',');
  return Close(')');
}

absl::StatusOr<TensorMeta> Parser::ParseTensorType(ScalarType dtype) {
  TensorMeta t;
  t.dtype = dtype;
  Open();
  RETURN_IF_ERROR(Expect('['));
  if (Peek() != ']') {
    while (true) {
      Position at = Save();
      Dim dim;
      if (Peek() == '"' || Peek() == '\'') {
        ASSIGN_OR_RETURN(dim.symbol, ReadString());
        if (dim.symbol.empty()) return ErrorAt(at, "empty symbolic dimension");
      } else {
        // Raw scan up to ',' or ']' outside parentheses.
        size_t start = pos_;
        int parens = 0;
        while (!AtEnd()) {
          char c = text_[pos_];
          if (c == '\n' || c == '#' || c == '"' || c == '\'') break;
          if (parens == 0 && (c == ',' || c == ']')) break;
          if (c == '(') ++parens;
          if (c == ')' && --parens < 0) break;
          ++pos_;
        }
        absl::string_view raw =
            absl::StripAsciiWhitespace(text_.substr(start, pos_ - start));
        if (raw.empty()) {
          return ErrorAt(at, absl::StrCat("expected a dimension", Found()));
        }
        if (LooksLikeInt(raw)) {
          auto res = std::from_chars(raw.data(), raw.data() + raw.size(),
                                     dim.value);
          if (res.ec != std::errc()) {
            return ErrorAt(at, "dimension out of range for int64");
          }
        } else {
          dim.symbol = std::string(raw);
        }
      }
      t.shape.push_back(std::move(dim));
      bool comma = Consume(',');
      if (Peek() == ']') break;
      if (!comma) return Error(absl::StrCat("expected ',' or ']'", Found()));
    }
  }
  RETURN_IF_ERROR(Close(']'));
  bool have_strides = false, have_device = false, have_grad = false;
  while (true) {
    char c = Peek();
    Position at = Save();
    if (c == '/') {
      if (have_strides) return Error("strides given twice");
      have_strides = true;
      ++pos_;
      Open();
      RETURN_IF_ERROR(Expect('[', "for strides"));
      if (Peek() != ']') {
        while (true) {
          Position sat = Save();
          ASSIGN_OR_RETURN(Argument s, ReadNumber());
          if (s.kind() != Argument::Kind::kInt) {
            return ErrorAt(sat, "strides must be integers");
          }
          t.strides.push_back(s.as_int());
          bool comma = Consume(',');
          if (Peek() == ']') break;
          if (!comma) {
            return Error(absl::StrCat("expected ',' or ']'", Found()));
          }
        }
      }
      RETURN_IF_ERROR(Close(']'));
    } else if (c == '@') {
      if (have_device) return Error("device given twice");
      have_device = true;
      ++pos_;
      size_t start = pos_;
      while (!AtEnd() && (absl::ascii_isalnum(static_cast<unsigned char>(
                              text_[pos_])) ||
                          text_[pos_] == ':')) {
        ++pos_;
      }
      absl::StatusOr<Device> d = ParseDevice(text_.substr(start, pos_ - start));
      if (!d.ok()) return ErrorAt(at, d.status().message());
      t.device = *d;
    } else if (c == '+') {
      ++pos_;
      if (ReadIdent() != "grad") return ErrorAt(at, "expected '+grad'");
      if (have_grad) return ErrorAt(at, "'+grad' given twice");
      have_grad = true;
      t.requires_grad = true;
    } else {
      break;
    }
  }
  if (!have_strides) t.strides = DefaultStrides(t.shape);
  return t;
}

absl::StatusOr<MetaValue> Parser::ParseMetaValue() {
  char c = Peek();
  Position at = Save();
  if (c == '(') {
    ++pos_;
    Open();
    MetaValue::TensorList items;
    if (Peek() != ')') {
      while (true) {
        Position item = Save();
        absl::string_view word = ReadIdent();
        if (word == "None") {
          items.push_back(std::nullopt);
        } else {
          absl::StatusOr<ScalarType> dtype =
              word.empty() ? absl::InvalidArgumentError("")
                           : ParseScalarType(word);
          if (!dtype.ok() || Peek() != '[') {
            return ErrorAt(item,
                           "expected a tensor type (e.g. f32[2, 3]) or None "
                           "in a tuple");
          }
          ASSIGN_OR_RETURN(TensorMeta t, ParseTensorType(*dtype));
          items.push_back(std::move(t));
        }
        bool comma = Consume(',');
        if (Peek() == ')') break;
        if (!comma) return Error(absl::StrCat("expected ',' or ')'", Found()));
      }
    }
    RETURN_IF_ERROR(Close(')'));
    return MetaValue::Tensors(std::move(items));
  }
  if (c == '"' || c == '\'') {
    ASSIGN_OR_RETURN(std::string s, ReadString());
    return MetaValue::String(std::move(s));
  }
  if (c == '-' || c == '.' || absl::ascii_isdigit(static_cast<unsigned char>(c))) {
    ASSIGN_OR_RETURN(Argument n, ReadNumber());
    if (n.kind() == Argument::Kind::kInt) return MetaValue::Int(n.as_int());
    return MetaValue::Double(n.as_double());
  }
  absl::string_view word = ReadDotted();
  if (word == "None") return MetaValue::None();
  if (word == "True") return MetaValue::Bool(true);
  if (word == "False") return MetaValue::Bool(false);
  if (word == "inf") return MetaValue::Double(INFINITY);
  if (word == "nan") return MetaValue::Double(NAN);
  if (!word.empty() && Peek() == '[') {
    absl::StatusOr<ScalarType> dtype = ParseScalarType(word);
    if (!dtype.ok()) return ErrorAt(at, dtype.status().message());
    ASSIGN_OR_RETURN(TensorMeta t, ParseTensorType(*dtype));
    return MetaValue::Tensor(std::move(t));
  }
  return ErrorAt(at, absl::StrCat(
                         "expected a metadata value (a tensor type such as "
                         "f32[2, 3], a tuple of them, None, True, False, a "
                         "number or a string)",
                         Found()));
}

absl::Status Parser::ParseMetaBraces(Metadata* meta) {
  Open();
  RETURN_IF_ERROR(Expect('{'));
  if (Peek() != '}') {
    while (true) {
      Position at = Save();
      std::string key;
      if (Peek() == '"' || Peek() == '\'') {
        ASSIGN_OR_RETURN(key, ReadString());
      } else {
        key = std::string(ReadIdent());
        if (key.empty()) {
          return Error(absl::StrCat("expected a metadata key", Found()));
        }
      }
      if (meta->Contains(key)) {
        return ErrorAt(
            at, absl::StrCat("duplicate metadata key '", Printable(key), "'"));
      }
      RETURN_IF_ERROR(Expect('=', "after a metadata key"));
      ASSIGN_OR_RETURN(MetaValue v, ParseMetaValue());
      meta->Set(key, std::move(v));
      bool comma = Consume(',');
      if (Peek() == '}') break;
      if (!comma) return Error(absl::StrCat("expected ',' or '}'", Found()));
    }
  }
  return Close('}');
}

absl::Status Parser::ParseNodeStatement(Graph* graph) {
  Position name_at = Save();
  ASSIGN_OR_RETURN(std::string name, ReadNodeName());
  if (graph->FindNode(name) != nullptr) {
    return ErrorAt(name_at,
                   absl::StrCat("duplicate node name %", Printable(name)));
  }
  defining_ = name;
  Graph::NodeSpec spec;
  spec.name = name;
  if (Consume(':')) {
    if (Peek() == '[') {
      // fx's "[num_users=1]" annotation: informational, skipped.
      while (!AtEnd() && Cur() != ']' && Cur() != '\n') ++pos_;
      if (Cur() != ']') return Error("expected ']'");
      ++pos_;
    }
    if (Peek() != '=') {
      ASSIGN_OR_RETURN(MetaValue val, ParseMetaValue());
      spec.meta.Set("val", std::move(val));
    }
  }
  RETURN_IF_ERROR(Expect('=', "after the node name"));
  Position rhs_at = Save();
  absl::string_view word = ReadDotted();
  if (word.empty()) {
    return Error(absl::StrCat("expected an op target or a node kind",
                              Found()));
  }
  if (IsKindKeyword(word)) {
    ASSIGN_OR_RETURN(spec.op, ParseOpKind(word));
    bool has_target = false;
    if (Peek() == '[') {
      Open();
      ++pos_;
      if (ReadIdent() != "target") return Error("expected 'target='");
      RETURN_IF_ERROR(Expect('='));
      if (Peek() == '"' || Peek() == '\'') {
        ASSIGN_OR_RETURN(spec.target, ReadString());
      } else {
        size_t start = pos_;
        while (!AtEnd() && Cur() != ']' && Cur() != ' ' && Cur() != '\t' &&
               Cur() != '\n' && Cur() != '\r' && Cur() != '#') {
          ++pos_;
        }
        spec.target = std::string(text_.substr(start, pos_ - start));
      }
      if (spec.target.empty()) return Error("expected a target");
      RETURN_IF_ERROR(Close(']'));
      has_target = true;
    }
    if (!has_target) {
      if (spec.op == OpKind::kPlaceholder) {
        spec.target = name;
      } else if (spec.op == OpKind::kOutput) {
        spec.target = "output";
      } else {
        return Error(absl::StrCat("expected '[target=...]' after ", word));
      }
    }
    if (Peek() == '(') {
      ++pos_;
      Open();
      Position inside = Save();
      bool fx_form = false;
      if (ReadIdent() == "args" && Peek() == '=') {
        ++pos_;
        fx_form = Peek() == '(';
      }
      Restore(inside);
      if (fx_form) {
        RETURN_IF_ERROR(ParseFxArgs(&spec.args, &spec.kwargs));
      } else {
        RETURN_IF_ERROR(ParseArgList(&spec.args, &spec.kwargs));
      }
    }
  } else {
    spec.op = OpKind::kCallFunction;
    spec.target = std::string(word);
    if (Peek() != '(') {
      return Error(absl::StrCat("expected '(' after the target ", word,
                                Found()));
    }
    ++pos_;
    Open();
    RETURN_IF_ERROR(ParseArgList(&spec.args, &spec.kwargs));
  }
  if (Peek() == '{') RETURN_IF_ERROR(ParseMetaBraces(&spec.meta));
  RETURN_IF_ERROR(ExpectEndOfStatement());
  defining_ = {};
  const bool is_output = spec.op == OpKind::kOutput;
  absl::StatusOr<Node*> made = graph->Append(std::move(spec));
  if (!made.ok()) return ErrorAt(rhs_at, made.status().message());
  if (is_output) have_output_ = true;
  return absl::OkStatus();
}

absl::Status Parser::ParseReturnStatement(Graph* graph) {
  Position at = Save();
  Graph::NodeSpec spec;
  spec.op = OpKind::kOutput;
  spec.target = "output";
  spec.name = graph->UniqueName("output");
  bool tuple = Peek() == '(';
  ASSIGN_OR_RETURN(Argument value, ParseValue(tuple ? 1 : 0));
  if (tuple) {
    spec.args = std::move(value.mutable_list());
  } else {
    spec.args.push_back(std::move(value));
  }
  if (Peek() == '{') RETURN_IF_ERROR(ParseMetaBraces(&spec.meta));
  RETURN_IF_ERROR(ExpectEndOfStatement());
  absl::StatusOr<Node*> made = graph->Append(std::move(spec));
  if (!made.ok()) return ErrorAt(at, made.status().message());
  have_output_ = true;
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<Graph>> Parser::ParseGraphText() {
  auto graph = std::make_unique<Graph>();
  graph_ = graph.get();
  SkipBlankLines();
  // Optional header "graph():".
  {
    Position at = Save();
    if (ReadIdent() == "graph") {
      RETURN_IF_ERROR(Expect('(', "in the header 'graph():'"));
      RETURN_IF_ERROR(Expect(')', "in the header 'graph():'"));
      RETURN_IF_ERROR(Expect(':', "after 'graph()'"));
      RETURN_IF_ERROR(ExpectEndOfStatement());
    } else {
      Restore(at);
    }
  }
  while (true) {
    SkipBlankLines();
    if (AtEnd()) break;
    if (have_output_) {
      return Error("unexpected content after the output line");
    }
    Position at = Save();
    if (Cur() == '%') {
      RETURN_IF_ERROR(ParseNodeStatement(graph.get()));
      continue;
    }
    if (ReadIdent() == "return") {
      RETURN_IF_ERROR(ParseReturnStatement(graph.get()));
      continue;
    }
    Restore(at);
    return Error(absl::StrCat(
        "expected a node line ('%name = ...') or 'return'", Found()));
  }
  if (options_.require_output && !have_output_) {
    return Error("missing output line ('return (...)')");
  }
  return graph;
}

absl::StatusOr<MetaValue> Parser::ParseSingleMetaValue() {
  ASSIGN_OR_RETURN(MetaValue v, ParseMetaValue());
  SkipSpace();
  if (!AtEnd()) return Error(absl::StrCat("unexpected text", Found()));
  return v;
}

}  // namespace

absl::StatusOr<std::unique_ptr<Graph>> ParseGraph(
    absl::string_view text, const TextParseOptions& options) {
  Parser parser(text, options);
  return parser.ParseGraphText();
}

absl::StatusOr<MetaValue> ParseMetaValue(absl::string_view text) {
  TextParseOptions options;
  Parser parser(text, options);
  return parser.ParseSingleMetaValue();
}

}  // namespace rewire
