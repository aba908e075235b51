#include "ir/schema.h"

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "base/printable.h"
#include "ir/schema_defs.h"
#include "ir/status_macros.h"

namespace rewire {
namespace {

// A small cursor over a schema string: whitespace skipping, expectations
// with positioned errors.
class Cursor {
 public:
  explicit Cursor(absl::string_view text) : text_(text) {}

  void SkipSpace() {
    while (pos_ < text_.size() &&
           absl::ascii_isspace(static_cast<unsigned char>(text_[pos_]))) {
      ++pos_;
    }
  }
  bool AtEnd() {
    SkipSpace();
    return pos_ >= text_.size();
  }
  char Peek() {
    SkipSpace();
    return pos_ < text_.size() ? text_[pos_] : '\0';
  }
  bool Consume(absl::string_view token) {
    SkipSpace();
    if (text_.substr(pos_, token.size()) == token) {
      pos_ += token.size();
      return true;
    }
    return false;
  }
  absl::Status Expect(absl::string_view token) {
    if (Consume(token)) return absl::OkStatus();
    return Error(absl::StrCat("expected '", token, "'"));
  }
  // Identifier: [A-Za-z_][A-Za-z0-9_]*
  absl::StatusOr<std::string> Identifier() {
    SkipSpace();
    size_t start = pos_;
    while (pos_ < text_.size() &&
           (absl::ascii_isalnum(static_cast<unsigned char>(text_[pos_])) ||
            text_[pos_] == '_')) {
      ++pos_;
    }
    if (start == pos_ ||
        absl::ascii_isdigit(static_cast<unsigned char>(text_[start]))) {
      pos_ = start;
      return Error("expected an identifier");
    }
    return std::string(text_.substr(start, pos_ - start));
  }
  // A list size such as the 2 of "int[2]".
  absl::StatusOr<int> SmallInteger() {
    SkipSpace();
    int value = 0;
    size_t start = pos_;
    while (pos_ < text_.size() && pos_ - start < 4 &&
           absl::ascii_isdigit(static_cast<unsigned char>(text_[pos_]))) {
      value = value * 10 + (text_[pos_++] - '0');
    }
    if (start == pos_) return Error("expected a list size");
    return value;
  }
  // Raw text of a default value up to the next ',' or ')' at depth 0.
  absl::StatusOr<std::string> DefaultText() {
    SkipSpace();
    size_t start = pos_;
    int depth = 0;
    char quote = 0;
    while (pos_ < text_.size()) {
      char c = text_[pos_];
      if (quote) {
        if (c == quote) quote = 0;
      } else if (c == '\'' || c == '"') {
        quote = c;
      } else if (c == '[') {
        ++depth;
      } else if (c == ']') {
        --depth;
      } else if ((c == ',' || c == ')') && depth == 0) {
        break;
      }
      ++pos_;
    }
    if (quote || depth != 0) return Error("unterminated default value");
    absl::string_view raw = absl::StripAsciiWhitespace(
        text_.substr(start, pos_ - start));
    if (raw.empty()) return Error("empty default value");
    return std::string(raw);
  }
  absl::Status Error(absl::string_view what) const {
    return absl::InvalidArgumentError(absl::StrCat(
        "schema parse error at offset ", pos_, ": ", what, " in '", text_,
        "'"));
  }

 private:
  absl::string_view text_;
  size_t pos_ = 0;
};

absl::StatusOr<SchemaType::Base> ParseBase(const std::string& name,
                                           const Cursor& cur) {
  using B = SchemaType::Base;
  if (name == "Tensor") return B::kTensor;
  if (name == "int" || name == "SymInt") return B::kInt;
  if (name == "float") return B::kFloat;
  if (name == "bool") return B::kBool;
  if (name == "Scalar") return B::kScalar;
  if (name == "str") return B::kStr;
  if (name == "ScalarType") return B::kScalarType;
  if (name == "Layout") return B::kLayout;
  if (name == "Device") return B::kDevice;
  if (name == "MemoryFormat") return B::kMemoryFormat;
  if (name == "Generator") return B::kGenerator;
  if (name == "Dimname") return B::kDimname;
  if (name == "Any") return B::kAny;
  return cur.Error(absl::StrCat("unknown type '", name, "'"));
}

// type := base ('(' alias ')')? ( '?' | '[' N? ']' )*
absl::Status ParseType(Cursor& cur, SchemaType* type, bool* is_mutable) {
  ASSIGN_OR_RETURN(std::string base, cur.Identifier());
  ASSIGN_OR_RETURN(type->base, ParseBase(base, cur));
  if (cur.Consume("(")) {
    // Alias annotation: "a", "a!", "a -> *". '!' marks a write.
    int guard = 0;
    while (!cur.Consume(")")) {
      if (cur.AtEnd() || ++guard > 64) return cur.Error("unterminated alias");
      if (cur.Consume("!")) {
        *is_mutable = true;
      } else if (!cur.Consume("->") && !cur.Consume("*") &&
                 !cur.Consume("|")) {
        RETURN_IF_ERROR(cur.Identifier().status());
      }
    }
  }
  while (true) {
    if (cur.Consume("?")) {
      type->optional = true;
    } else if (cur.Consume("[")) {
      if (type->is_list) return cur.Error("nested list types are not supported");
      type->is_list = true;
      if (type->optional) {
        // "Tensor?[]": the elements are optional, not the list.
        type->optional = false;
        type->element_optional = true;
      }
      if (!cur.Consume("]")) {
        ASSIGN_OR_RETURN(type->fixed_size, cur.SmallInteger());
        RETURN_IF_ERROR(cur.Expect("]"));
      }
    } else {
      break;
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<Argument> ScalarDefault(absl::string_view raw,
                                       SchemaType::Base base,
                                       const Cursor& cur) {
  using B = SchemaType::Base;
  if (raw == "None") return Argument::None();
  if (raw == "True") return Argument::Bool(true);
  if (raw == "False") return Argument::Bool(false);
  if (raw.size() >= 2 && (raw.front() == '\'' || raw.front() == '"')) {
    return Argument::String(std::string(raw.substr(1, raw.size() - 2)));
  }
  if (base == B::kMemoryFormat) {
    ASSIGN_OR_RETURN(MemoryFormat m, ParseMemoryFormat(raw));
    return Argument::MemoryFormatValue(m);
  }
  if (base == B::kLayout) {
    ASSIGN_OR_RETURN(Layout l, ParseLayout(raw));
    return Argument::LayoutValue(l);
  }
  if (base == B::kScalarType) {
    ASSIGN_OR_RETURN(ScalarType t, ParseScalarType(raw));
    return Argument::Dtype(t);
  }
  bool looks_float = raw.find_first_of(".eE") != absl::string_view::npos ||
                     raw == "inf" || raw == "-inf" || raw == "nan";
  if (base == B::kFloat || looks_float) {
    double d = 0;
    if (!absl::SimpleAtod(raw, &d)) {
      return cur.Error(absl::StrCat("bad float default '", raw, "'"));
    }
    return Argument::Double(d);
  }
  int64_t i = 0;
  if (!absl::SimpleAtoi(raw, &i)) {
    return cur.Error(absl::StrCat("bad default '", raw, "'"));
  }
  return Argument::Int(i);
}

absl::StatusOr<Argument> ParseDefault(absl::string_view raw,
                                      const SchemaType& type,
                                      const Cursor& cur) {
  if (raw == "None") return Argument::None();
  if (!type.is_list) return ScalarDefault(raw, type.base, cur);
  if (raw.front() != '[') {
    // "int[2] stride=1" broadcasts the scalar to the list's size.
    ASSIGN_OR_RETURN(Argument item, ScalarDefault(raw, type.base, cur));
    int n = type.fixed_size > 0 ? type.fixed_size : 1;
    return Argument::List(std::vector<Argument>(n, item));
  }
  if (raw.back() != ']') return cur.Error("bad list default");
  absl::string_view inner =
      absl::StripAsciiWhitespace(raw.substr(1, raw.size() - 2));
  std::vector<Argument> items;
  if (!inner.empty()) {
    for (absl::string_view part : absl::StrSplit(inner, ',')) {
      ASSIGN_OR_RETURN(Argument item,
                       ScalarDefault(absl::StripAsciiWhitespace(part),
                                     type.base, cur));
      items.push_back(std::move(item));
    }
  }
  return Argument::List(std::move(items));
}

bool AcceptsScalar(SchemaType::Base base, const Argument& v) {
  using B = SchemaType::Base;
  using K = Argument::Kind;
  if (v.is_node()) return true;  // a computed value (tensor or SymInt)
  switch (base) {
    case B::kTensor:
      // Exported graphs pass Python numbers where the schema says Tensor
      // (`aten.add_.Tensor(%num_batches_tracked, 1)`); PyTorch wraps them.
      return v.kind() == K::kInt || v.kind() == K::kDouble ||
             v.kind() == K::kBool;
    case B::kInt:
      return v.kind() == K::kInt;
    case B::kFloat:
      return v.kind() == K::kDouble || v.kind() == K::kInt;
    case B::kBool:
      return v.kind() == K::kBool;
    case B::kScalar:
      return v.kind() == K::kInt || v.kind() == K::kDouble ||
             v.kind() == K::kBool;
    case B::kStr:
      return v.kind() == K::kString;
    case B::kScalarType:
      return v.kind() == K::kDtype;
    case B::kLayout:
      return v.kind() == K::kLayout;
    case B::kDevice:
      return v.kind() == K::kDevice || v.kind() == K::kString;
    case B::kMemoryFormat:
      return v.kind() == K::kMemoryFormat;
    case B::kGenerator:
      return false;
    case B::kDimname:
      return v.kind() == K::kString;
    case B::kAny:
      return true;
  }
  return false;
}

}  // namespace

bool SchemaType::Accepts(const Argument& value) const {
  if (value.is_none()) return optional || base == Base::kAny;
  if (!is_list) return AcceptsScalar(base, value);
  if (value.is_node()) return true;  // a list produced by a node (split)
  if (!value.is_list()) {
    // A fixed-size int list accepts one int, broadcast (e.g. stride=2).
    return fixed_size > 0 && base == Base::kInt && AcceptsScalar(base, value);
  }
  for (const Argument& item : value.as_list()) {
    if (item.is_none()) {
      if (!element_optional) return false;
      continue;
    }
    if (item.is_list() || !AcceptsScalar(base, item)) return false;
  }
  return true;
}

std::string SchemaType::ToString() const {
  static constexpr const char* kNames[] = {
      "Tensor", "int",          "float",     "bool",      "Scalar",
      "str",    "ScalarType",   "Layout",    "Device",    "MemoryFormat",
      "Generator", "Dimname",   "Any"};
  std::string out = kNames[static_cast<int>(base)];
  if (element_optional) out += "?";
  if (is_list) {
    out += fixed_size > 0 ? absl::StrCat("[", fixed_size, "]") : "[]";
  }
  if (optional) out += "?";
  return out;
}

std::string OpSchema::QualifiedName() const {
  return absl::StrCat(ns, ".", name, ".", overload);
}

bool OpSchema::is_mutable() const {
  for (const SchemaArgument& a : arguments) {
    if (a.is_mutable) return true;
  }
  return false;
}

int OpSchema::ArgumentIndex(absl::string_view arg_name) const {
  for (size_t i = 0; i < arguments.size(); ++i) {
    if (arguments[i].name == arg_name) return static_cast<int>(i);
  }
  return -1;
}

absl::StatusOr<OpSchema> ParseSchema(absl::string_view text) {
  Cursor cur(text);
  OpSchema schema;
  schema.text = std::string(text);
  ASSIGN_OR_RETURN(schema.ns, cur.Identifier());
  RETURN_IF_ERROR(cur.Expect("::"));
  ASSIGN_OR_RETURN(schema.name, cur.Identifier());
  schema.overload = "default";
  if (cur.Consume(".")) {
    ASSIGN_OR_RETURN(schema.overload, cur.Identifier());
  }
  RETURN_IF_ERROR(cur.Expect("("));
  bool kwarg_only = false;
  if (!cur.Consume(")")) {
    while (true) {
      if (cur.Consume("*")) {
        kwarg_only = true;
      } else {
        SchemaArgument arg;
        RETURN_IF_ERROR(ParseType(cur, &arg.type, &arg.is_mutable));
        ASSIGN_OR_RETURN(arg.name, cur.Identifier());
        arg.kwarg_only = kwarg_only;
        if (cur.Consume("=")) {
          ASSIGN_OR_RETURN(std::string raw, cur.DefaultText());
          ASSIGN_OR_RETURN(Argument def, ParseDefault(raw, arg.type, cur));
          arg.default_value = std::move(def);
        }
        for (const SchemaArgument& prev : schema.arguments) {
          if (prev.name == arg.name) {
            return cur.Error(absl::StrCat("duplicate argument '", arg.name, "'"));
          }
        }
        schema.arguments.push_back(std::move(arg));
      }
      if (cur.Consume(")")) break;
      RETURN_IF_ERROR(cur.Expect(","));
    }
  }
  RETURN_IF_ERROR(cur.Expect("->"));
  auto parse_return = [&]() -> absl::Status {
    SchemaArgument ret;
    RETURN_IF_ERROR(ParseType(cur, &ret.type, &ret.is_mutable));
    char c = cur.Peek();
    if (c != ',' && c != ')' && c != '\0') {
      ASSIGN_OR_RETURN(ret.name, cur.Identifier());
    }
    schema.returns.push_back(std::move(ret));
    return absl::OkStatus();
  };
  if (cur.Consume("(")) {
    if (!cur.Consume(")")) {
      while (true) {
        RETURN_IF_ERROR(parse_return());
        if (cur.Consume(")")) break;
        RETURN_IF_ERROR(cur.Expect(","));
      }
    }
  } else {
    RETURN_IF_ERROR(parse_return());
  }
  if (!cur.AtEnd()) return cur.Error("trailing text");
  return schema;
}

absl::StatusOr<NormalizedArgs> NormalizeArguments(
    const OpSchema& schema, absl::Span<const Argument> args,
    const std::vector<Kwarg>& kwargs) {
  const size_t n = schema.arguments.size();
  NormalizedArgs out;
  out.values.resize(n);
  out.source.assign(n, -2);
  size_t positional_max = 0;
  while (positional_max < n && !schema.arguments[positional_max].kwarg_only) {
    ++positional_max;
  }
  if (args.size() > positional_max) {
    return absl::InvalidArgumentError(absl::StrCat(
        schema.QualifiedName(), " takes at most ", positional_max,
        " positional arguments, got ", args.size()));
  }
  for (size_t i = 0; i < args.size(); ++i) {
    out.values[i] = args[i];
    out.source[i] = static_cast<int>(i);
  }
  for (size_t k = 0; k < kwargs.size(); ++k) {
    int idx = schema.ArgumentIndex(kwargs[k].name);
    if (idx < 0) {
      return absl::InvalidArgumentError(
          absl::StrCat(schema.QualifiedName(), " has no argument named '",
                       Printable(kwargs[k].name), "'"));
    }
    if (out.source[idx] != -2) {
      return absl::InvalidArgumentError(
          absl::StrCat(schema.QualifiedName(), ": argument '",
                       Printable(kwargs[k].name), "' given twice"));
    }
    out.values[idx] = kwargs[k].value;
    out.source[idx] = 1000000 + static_cast<int>(k);
  }
  for (size_t i = 0; i < n; ++i) {
    if (out.source[i] != -2) continue;
    const SchemaArgument& a = schema.arguments[i];
    if (!a.default_value.has_value()) {
      return absl::InvalidArgumentError(
          absl::StrCat(schema.QualifiedName(), ": missing argument '", a.name,
                       "'"));
    }
    out.values[i] = *a.default_value;
    out.source[i] = -1;
  }
  return out;
}

const SchemaRegistry& SchemaRegistry::Global() {
  static const SchemaRegistry* registry = [] {
    auto* r = new SchemaRegistry();
    for (const char* text : kBuiltinSchemas) {
      absl::Status s = r->Register(text);
      if (!s.ok()) {
        std::fprintf(stderr, "built-in schema rejected: %s\n",
                     s.ToString().c_str());
      }
      REWIRE_CHECK(s.ok());
    }
    return r;
  }();
  return *registry;
}

const OpSchema* SchemaRegistry::Find(absl::string_view qualified) const {
  auto it = by_name_.find(qualified);
  return it == by_name_.end() ? nullptr : it->second;
}

std::vector<const OpSchema*> SchemaRegistry::All() const {
  std::vector<const OpSchema*> out;
  for (const auto& s : schemas_) out.push_back(s.get());
  return out;
}

absl::Status SchemaRegistry::Register(absl::string_view text) {
  ASSIGN_OR_RETURN(OpSchema schema, ParseSchema(text));
  std::string key = schema.QualifiedName();
  if (by_name_.contains(key)) {
    return absl::AlreadyExistsError(
        absl::StrCat("schema for ", key, " registered twice"));
  }
  auto owned = std::make_unique<OpSchema>(std::move(schema));
  by_name_.emplace(std::move(key), owned.get());
  schemas_.push_back(std::move(owned));
  sources_.emplace_back(text);
  return absl::OkStatus();
}

}  // namespace rewire
