// Lexical rules the text form's printer and parser share (ir/text_format.h):
// identifier characters, node-kind keywords, integer spellings, and the
// strides a tensor type gets without a '/' suffix. Both sides must agree on
// them exactly, or printing and re-reading would not be the identity.
// Internal to //ir:text_format.
#ifndef REWIRE_IR_TEXT_FORMAT_SYNTAX_H_
#define REWIRE_IR_TEXT_FORMAT_SYNTAX_H_

#include "absl/strings/ascii.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "ir/metadata.h"

namespace rewire {
namespace text_format_internal {

inline bool IsIdentStart(char c) {
  return absl::ascii_isalpha(static_cast<unsigned char>(c)) || c == '_';
}

inline bool IsIdentChar(char c) {
  return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '_';
}

inline bool IsKindKeyword(absl::string_view s) {
  return s == "placeholder" || s == "get_attr" || s == "call_function" ||
         s == "output";
}

// The strict integer spelling shared by printer and parser: '-'? digits.
inline bool LooksLikeInt(absl::string_view s) {
  size_t i = (!s.empty() && s[0] == '-') ? 1 : 0;
  if (i == s.size()) return false;
  for (; i < s.size(); ++i) {
    if (!absl::ascii_isdigit(static_cast<unsigned char>(s[i]))) return false;
  }
  return true;
}

inline bool AllConcrete(absl::Span<const Dim> shape) {
  for (const Dim& d : shape) {
    if (d.is_symbolic()) return false;
  }
  return true;
}

// Strides a tensor type without a '/' suffix gets (see the grammar).
inline StrideVector DefaultStrides(absl::Span<const Dim> shape) {
  if (!AllConcrete(shape)) return {};
  return TensorMeta::ContiguousStrides(shape);
}

}  // namespace text_format_internal
}  // namespace rewire

#endif  // REWIRE_IR_TEXT_FORMAT_SYNTAX_H_
