#include "base/printable.h"

#include <cstdint>
#include <ostream>
#include <string>

#include "absl/strings/string_view.h"

namespace rewire {
namespace {

// The length of the UTF-8 sequence `s` starts with: 1 to 4 for a valid one,
// 0 when s[0] starts no valid sequence, -1 when `s` ends inside a sequence
// that is valid so far.
int SequenceLength(absl::string_view s) {
  const unsigned char c = static_cast<unsigned char>(s[0]);
  if (c < 0x80) return 1;
  int len;
  uint32_t cp;
  if ((c & 0xE0) == 0xC0) {
    len = 2;
    cp = c & 0x1F;
  } else if ((c & 0xF0) == 0xE0) {
    len = 3;
    cp = c & 0x0F;
  } else if ((c & 0xF8) == 0xF0) {
    len = 4;
    cp = c & 0x07;
  } else {
    return 0;
  }
  for (int k = 1; k < len; ++k) {
    if (static_cast<size_t>(k) >= s.size()) return -1;
    const unsigned char next = static_cast<unsigned char>(s[k]);
    if ((next & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (next & 0x3F);
  }
  static constexpr uint32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
  if (cp < kMin[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
    return 0;
  }
  return len;
}

void AppendHex(unsigned char c, std::string* out) {
  static constexpr char kHex[] = "0123456789abcdef";
  out->append("\\x");
  out->push_back(kHex[c >> 4]);
  out->push_back(kHex[c & 15]);
}

// `keep_layout`: newlines and tabs pass as they are (whole messages).
void Append(absl::string_view text, bool keep_layout, absl::string_view extra,
            std::string* out) {
  size_t i = 0;
  while (i < text.size()) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    if (c >= 0x20 && c < 0x7f) {
      if (extra.find(static_cast<char>(c)) != absl::string_view::npos) {
        out->push_back('\\');
      }
      out->push_back(static_cast<char>(c));
      ++i;
      continue;
    }
    if (c >= 0x80) {
      const int len = SequenceLength(text.substr(i));
      // U+0080..U+009F (C2 80..C2 9F) are the C1 controls.
      const bool c1 = len == 2 && c == 0xC2 &&
                      static_cast<unsigned char>(text[i + 1]) < 0xA0;
      if (len > 1 && !c1) {
        out->append(text.data() + i, static_cast<size_t>(len));
        i += static_cast<size_t>(len);
        continue;
      }
    }
    if (c == '\n') {
      out->append(keep_layout ? "\n" : "\\n");
    } else if (c == '\t') {
      out->append(keep_layout ? "\t" : "\\t");
    } else if (c == '\r') {
      out->append("\\r");
    } else {
      AppendHex(c, out);
    }
    ++i;
  }
}

}  // namespace

bool IsValidUtf8(absl::string_view s) {
  while (!s.empty()) {
    const int len = SequenceLength(s);
    if (len <= 0) return false;
    s.remove_prefix(static_cast<size_t>(len));
  }
  return true;
}

void AppendPrintable(absl::string_view text, absl::string_view extra,
                     std::string* out) {
  Append(text, /*keep_layout=*/false, extra, out);
}

std::string Printable(absl::string_view text) {
  std::string out;
  out.reserve(text.size());
  Append(text, /*keep_layout=*/false, "\\", &out);
  return out;
}

std::string PrintableMessage(absl::string_view message) {
  std::string out;
  out.reserve(message.size());
  Append(message, /*keep_layout=*/true, "", &out);
  return out;
}

// ------------------------------------------------------------ PrintableOstream

PrintableOstream::PrintableOstream(std::ostream& target)
    : std::ostream(nullptr), buf_(target) {
  rdbuf(&buf_);
}

PrintableOstream::~PrintableOstream() { buf_.Finish(); }

void PrintableOstream::Buf::Finish() {
  if (!pending_.empty()) target_ << PrintableMessage(pending_);
  pending_.clear();
  target_.flush();
}

std::streamsize PrintableOstream::Buf::xsputn(const char* s,
                                              std::streamsize n) {
  pending_.append(s, static_cast<size_t>(n));
  // Hold back a trailing sequence that is valid so far but incomplete; the
  // next write completes it (or shows it was not UTF-8).
  size_t cut = pending_.size();
  for (size_t k = 1; k <= 3 && k <= pending_.size(); ++k) {
    const size_t p = pending_.size() - k;
    if (SequenceLength(absl::string_view(pending_).substr(p)) == -1) {
      cut = p;
      break;
    }
  }
  target_ << PrintableMessage(absl::string_view(pending_).substr(0, cut));
  pending_.erase(0, cut);
  return n;
}

PrintableOstream::Buf::int_type PrintableOstream::Buf::overflow(int_type c) {
  if (traits_type::eq_int_type(c, traits_type::eof())) {
    return traits_type::not_eof(c);
  }
  const char ch = traits_type::to_char_type(c);
  xsputn(&ch, 1);
  return c;
}

int PrintableOstream::Buf::sync() {
  target_.flush();
  return target_ ? 0 : -1;
}

}  // namespace rewire
