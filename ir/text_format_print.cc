// The text form's printer (ir/text_format.h): PrintGraph, PrintNode,
// PrintArgument and PrintMetaValue. Whatever it prints, the parser in
// text_format_parse.cc reads back to the same graph.
#include <cmath>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "base/number_format.h"
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


// [A-Za-z_][A-Za-z0-9_]*: kwarg names and metadata keys print bare.
bool IsIdentifier(absl::string_view s) {
  if (s.empty() || !IsIdentStart(s[0])) return false;
  for (char c : s) {
    if (!IsIdentChar(c)) return false;
  }
  return true;
}

// Node names print bare after '%' when made of [A-Za-z0-9_].
bool IsSimpleName(absl::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!IsIdentChar(c)) return false;
  }
  return true;
}


// A call target printed bare: dotted identifier, first segment an identifier,
// and not a node-kind keyword (those start the bracket form).
bool IsSimpleCallTarget(absl::string_view s) {
  if (s.empty() || !IsIdentStart(s[0]) || IsKindKeyword(s)) return false;
  bool after_dot = false;
  for (char c : s) {
    if (c == '.') {
      if (after_dot) return false;
      after_dot = true;
    } else if (IsIdentChar(c)) {
      after_dot = false;
    } else {
      return false;
    }
  }
  return !after_dot;
}

// Targets inside `[target=...]` print bare when made of [A-Za-z0-9_.].
bool IsSimpleBracketTarget(absl::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!IsIdentChar(c) && c != '.') return false;
  }
  return true;
}


// Symbolic dims print bare when the parser's raw scan reads them back
// unchanged: a restricted character set, balanced parentheses, no surrounding
// space, and not an integer spelling.
bool IsSimpleSymbol(absl::string_view s) {
  if (s.empty() || s.front() == ' ' || s.back() == ' ' || LooksLikeInt(s)) {
    return false;
  }
  int depth = 0;
  for (char c : s) {
    if (c == '(') {
      ++depth;
    } else if (c == ')') {
      if (--depth < 0) return false;
    } else if (!IsIdentChar(c) && c != ' ' && c != '+' && c != '-' &&
               c != '*' && c != '/' && c != '.') {
      return false;
    }
  }
  return depth == 0;
}

void AppendQuoted(absl::string_view s, std::string* out) {
  out->push_back('"');
  AppendPrintable(s, "\\\"", out);
  out->push_back('"');
}

// Shortest spelling that reads back to the same double, always marked as a
// float ('.' or exponent) so that `1.0` never turns into the int `1`.
void AppendDouble(double d, std::string* out) {
  const size_t start = out->size();
  AppendShortestDouble(d, out);
  if (std::isfinite(d) &&
      absl::string_view(*out).substr(start).find_first_of(".e") == absl::string_view::npos) {
    out->append(".0");
  }
}

void AppendName(absl::string_view name, std::string* out) {
  out->push_back('%');
  if (IsSimpleName(name)) {
    out->append(name.data(), name.size());
  } else {
    AppendQuoted(name, out);
  }
}

void AppendScalarArgument(const Argument& a, std::string* out) {
  using K = Argument::Kind;
  switch (a.kind()) {
    case K::kNone:
      out->append("None");
      return;
    case K::kNode:
      AppendName(a.node()->name(), out);
      return;
    case K::kBool:
      out->append(a.as_bool() ? "True" : "False");
      return;
    case K::kInt:
      absl::StrAppend(out, a.as_int());
      return;
    case K::kDouble:
      AppendDouble(a.as_double(), out);
      return;
    case K::kString:
      AppendQuoted(a.as_string(), out);
      return;
    case K::kDtype:
      absl::StrAppend(out, ScalarTypeName(a.as_dtype()));
      return;
    case K::kDevice:
      out->append("device(");
      AppendQuoted(a.as_device().ToString(), out);
      out->push_back(')');
      return;
    case K::kLayout:
      absl::StrAppend(out, LayoutName(a.as_layout()));
      return;
    case K::kMemoryFormat:
      absl::StrAppend(out, MemoryFormatName(a.as_memory_format()));
      return;
    case K::kList:
      break;
  }
  REWIRE_CHECK(false);
}

// Iterative: list nesting never grows the call stack.
void AppendArgument(const Argument& a, std::string* out) {
  if (!a.is_list()) {
    AppendScalarArgument(a, out);
    return;
  }
  std::vector<std::pair<const std::vector<Argument>*, size_t>> stack;
  out->push_back('[');
  stack.emplace_back(&a.as_list(), 0);
  while (!stack.empty()) {
    const std::vector<Argument>* list = stack.back().first;
    size_t i = stack.back().second++;
    if (i == list->size()) {
      out->push_back(']');
      stack.pop_back();
      continue;
    }
    if (i > 0) out->append(", ");
    const Argument& item = (*list)[i];
    if (item.is_list()) {
      out->push_back('[');
      stack.emplace_back(&item.as_list(), 0);
    } else {
      AppendScalarArgument(item, out);
    }
  }
}

void AppendArgList(absl::Span<const Argument> args,
                   const std::vector<Kwarg>& kwargs, std::string* out) {
  bool first = true;
  for (const Argument& a : args) {
    if (!first) out->append(", ");
    first = false;
    AppendArgument(a, out);
  }
  for (const Kwarg& kw : kwargs) {
    if (!first) out->append(", ");
    first = false;
    if (IsIdentifier(kw.name)) {
      out->append(kw.name);
    } else {
      AppendQuoted(kw.name, out);
    }
    out->push_back('=');
    AppendArgument(kw.value, out);
  }
}



void AppendTensorMeta(const TensorMeta& t, std::string* out) {
  absl::StrAppend(out, ScalarTypeShortName(t.dtype), "[");
  for (size_t i = 0; i < t.shape.size(); ++i) {
    if (i) out->append(", ");
    const Dim& d = t.shape[i];
    if (!d.is_symbolic()) {
      absl::StrAppend(out, d.value);
    } else if (IsSimpleSymbol(d.symbol.str())) {
      out->append(d.symbol.str());
    } else {
      AppendQuoted(d.symbol.str(), out);
    }
  }
  out->push_back(']');
  if (t.strides != DefaultStrides(t.shape)) {
    out->append("/[");
    for (size_t i = 0; i < t.strides.size(); ++i) {
      if (i) out->append(", ");
      absl::StrAppend(out, t.strides[i]);
    }
    out->push_back(']');
  }
  if (t.device != Device::Cpu()) absl::StrAppend(out, "@", t.device.ToString());
  if (t.requires_grad) out->append("+grad");
}

void AppendMetaValue(const MetaValue& v, std::string* out) {
  if (v.is_none()) {
    out->append("None");
  } else if (v.is_tensor()) {
    AppendTensorMeta(v.tensor(), out);
  } else if (v.is_tensor_list()) {
    const MetaValue::TensorList& ts = v.tensors();
    out->push_back('(');
    for (size_t i = 0; i < ts.size(); ++i) {
      if (i) out->append(", ");
      if (ts[i].has_value()) {
        AppendTensorMeta(*ts[i], out);
      } else {
        out->append("None");
      }
    }
    if (ts.size() == 1) out->push_back(',');
    out->push_back(')');
  } else if (v.is_int()) {
    absl::StrAppend(out, v.as_int());
  } else if (v.is_double()) {
    AppendDouble(v.as_double(), out);
  } else if (v.is_bool()) {
    out->append(v.as_bool() ? "True" : "False");
  } else {
    AppendQuoted(v.as_string(), out);
  }
}

void AppendBracketTarget(absl::string_view target, std::string* out) {
  out->append("[target=");
  if (IsSimpleBracketTarget(target)) {
    out->append(target.data(), target.size());
  } else {
    AppendQuoted(target, out);
  }
  out->push_back(']');
}

void AppendNode(const Node& n, std::string* out) {
  const absl::Span<const Metadata::Entry> entries = n.meta().entries();
  // "val" goes in the type annotation only when it is the first entry, so
  // that the metadata order survives a round trip.
  size_t first_braced = 0;
  const bool annotated = !entries.empty() && entries[0].key == "val";
  const std::string& target = n.target().qualified;
  const bool bare_return = n.is_output() && n.name() == "output" &&
                           target == "output" && n.kwargs().empty();
  if (bare_return) {
    out->append("return (");
    AppendArgList(n.args(), {}, out);
    if (n.args().size() == 1) out->push_back(',');
    out->push_back(')');
  } else {
    AppendName(n.name(), out);
    if (annotated) {
      out->append(" : ");
      AppendMetaValue(entries[0].value, out);
      first_braced = 1;
    }
    out->append(" = ");
    bool print_args = true;
    switch (n.op()) {
      case OpKind::kPlaceholder:
        out->append("placeholder");
        AppendBracketTarget(target, out);
        print_args = !n.args().empty() || !n.kwargs().empty();
        break;
      case OpKind::kGetAttr:
        out->append("get_attr");
        AppendBracketTarget(target, out);
        print_args = !n.args().empty() || !n.kwargs().empty();
        break;
      case OpKind::kCallFunction:
        if (IsSimpleCallTarget(target)) {
          out->append(target);
        } else {
          out->append("call_function");
          AppendBracketTarget(target, out);
        }
        break;
      case OpKind::kOutput:
        out->append("output");
        if (target != "output") AppendBracketTarget(target, out);
        break;
    }
    if (print_args) {
      out->push_back('(');
      AppendArgList(n.args(), n.kwargs(), out);
      out->push_back(')');
    }
  }
  if (entries.size() > first_braced) {
    out->append(" {");
    for (size_t i = first_braced; i < entries.size(); ++i) {
      if (i > first_braced) out->append(", ");
      if (IsIdentifier(entries[i].key)) {
        out->append(entries[i].key.str());
      } else {
        AppendQuoted(entries[i].key, out);
      }
      out->push_back('=');
      AppendMetaValue(entries[i].value, out);
    }
    out->push_back('}');
  }
}

}  // namespace

std::string PrintArgument(const Argument& arg) {
  std::string out;
  AppendArgument(arg, &out);
  return out;
}

std::string PrintMetaValue(const MetaValue& value) {
  std::string out;
  AppendMetaValue(value, &out);
  return out;
}

std::string PrintNode(const Node& node) {
  std::string out;
  AppendNode(node, &out);
  return out;
}

std::string PrintGraph(const Graph& graph) {
  std::string out = "graph():\n";
  for (const Node* n : graph) {
    out.append("    ");
    AppendNode(*n, &out);
    out.push_back('\n');
  }
  return out;
}

}  // namespace rewire
