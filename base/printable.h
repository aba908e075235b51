// Escaping for text that came from input (node names, targets, metadata
// keys, paths) on its way into a message, a terminal or a log. Names in a
// hostile file can hold any bytes: an ESC sequence that clears the screen, a
// NUL that truncates a C string, bytes that are not UTF-8. Everything that
// could control a terminal is written as an escape (\n, \t, \r, \xHH): C0
// controls, DEL, the C1 controls U+0080..U+009F and bytes that are not UTF-8.
// Printable UTF-8 (é, 中) stays readable as it is. It also holds the UTF-8
// validity rule (RFC 3629) the project uses everywhere.
#ifndef REWIRE_BASE_PRINTABLE_H_
#define REWIRE_BASE_PRINTABLE_H_

#include <ostream>
#include <streambuf>
#include <string>

#include "absl/strings/string_view.h"

namespace rewire {

// RFC 3629 UTF-8 (no overlong forms, surrogates or code points past
// U+10FFFF): at least as strict as protobuf's check on `string` fields.
bool IsValidUtf8(absl::string_view s);

// Appends `text` to `out` with the escapes above; each character of `extra`
// is written as a backslash and itself (the text form's strings pass "\\\"").
void AppendPrintable(absl::string_view text, absl::string_view extra,
                     std::string* out);

// For input text put into a message: the escapes above, and a backslash as
// "\\" so that the escaped text reads back unambiguously.
std::string Printable(absl::string_view text);

// For a whole message or program output that may hold Printable text already:
// newlines and tabs stay (they are its layout) and backslashes stay (so text
// that went through Printable passes unchanged); everything else that could
// control a terminal is escaped. PrintableMessage(PrintableMessage(m)) ==
// PrintableMessage(m).
std::string PrintableMessage(absl::string_view message);

// An ostream that writes PrintableMessage of everything put into it to
// `target`, as it comes (a UTF-8 sequence split across writes is held back
// until it completes). The CLI writes all its output through two of these.
class PrintableOstream : public std::ostream {
 public:
  explicit PrintableOstream(std::ostream& target);
  ~PrintableOstream() override;

 private:
  class Buf : public std::streambuf {
   public:
    explicit Buf(std::ostream& target) : target_(target) {}
    // Writes out a held-back partial sequence, escaped.
    void Finish();

   protected:
    int_type overflow(int_type c) override;
    std::streamsize xsputn(const char* s, std::streamsize n) override;
    int sync() override;

   private:
    std::ostream& target_;
    std::string pending_;
  };
  Buf buf_;
};

}  // namespace rewire

#endif  // REWIRE_BASE_PRINTABLE_H_
