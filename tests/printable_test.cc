// Tests of base/printable.h: what is escaped (C0, DEL, C1, bytes that are not
// UTF-8, backslash for Printable), what stays readable (printable ASCII and
// UTF-8), PrintableMessage's layout and idempotence, and PrintableOstream's
// handling of UTF-8 sequences split across writes.
#include "base/printable.h"

#include <sstream>
#include <string>

#include "gtest/gtest.h"

namespace rewire {
namespace {

// True when `s` holds a byte that could control a terminal.
bool HasControlBytes(const std::string& s, bool allow_layout) {
  for (size_t i = 0; i < s.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (allow_layout && (c == '\n' || c == '\t')) continue;
    if (c < 0x20 || c == 0x7f) return true;
    if (c == 0xC2 && i + 1 < s.size() &&
        static_cast<unsigned char>(s[i + 1]) < 0xA0) {
      return true;
    }
  }
  return !IsValidUtf8(s);
}

TEST(PrintableTest, EscapesWhatCouldControlATerminal) {
  EXPECT_EQ(Printable(std::string("\x1b[2J\0x", 6)), "\\x1b[2J\\x00x");
  EXPECT_EQ(Printable("a\nb\tc\rd\x7f"), "a\\nb\\tc\\rd\\x7f");
  EXPECT_EQ(Printable("back\\slash"), "back\\\\slash");
  // C1 controls (CSI is U+009B, C2 9B) and bytes that are not UTF-8.
  EXPECT_EQ(Printable("\xc2\x9b"
                      "2J"),
            "\\xc2\\x9b2J");
  EXPECT_EQ(Printable("\xff\xfe"), "\\xff\\xfe");
  EXPECT_EQ(Printable("\xc3"), "\\xc3");           // truncated sequence
  EXPECT_EQ(Printable("\xc0\xaf"), "\\xc0\\xaf");  // overlong '/'
  EXPECT_EQ(Printable("\xed\xa0\x80"), "\\xed\\xa0\\x80");  // surrogate
  // Printable UTF-8 stays readable.
  EXPECT_EQ(Printable("caf\xc3\xa9 \xe4\xb8\xad \xf0\x9f\x99\x82 \xc2\xa0"),
            "caf\xc3\xa9 \xe4\xb8\xad \xf0\x9f\x99\x82 \xc2\xa0");
  EXPECT_EQ(Printable("plain.name_0"), "plain.name_0");
}

TEST(PrintableTest, EveryByteStringComesOutClean) {
  // All strings of up to two bytes, and some longer mixtures.
  for (int a = 0; a < 256; ++a) {
    for (int b = -1; b < 256; ++b) {
      std::string s(1, static_cast<char>(a));
      if (b >= 0) s.push_back(static_cast<char>(b));
      ASSERT_FALSE(HasControlBytes(Printable(s), false)) << a << " " << b;
      ASSERT_FALSE(HasControlBytes(PrintableMessage(s), true)) << a << " " << b;
    }
  }
}

TEST(PrintableTest, MessagesKeepLayoutAndPrintableTextUnchanged) {
  const std::string name("\x1b[2J\0", 5);
  const std::string message =
      "problem:\n\t%" + Printable(name) + " is wrong \\ here";
  EXPECT_EQ(PrintableMessage(message), message);
  EXPECT_EQ(PrintableMessage("raw \x1b[2J\n"), "raw \\x1b[2J\n");
  const std::string once = PrintableMessage("x\x01\xff\xc2\x85y\n");
  EXPECT_EQ(PrintableMessage(once), once);
}

TEST(PrintableTest, AppendPrintableEscapesTheExtraCharacters) {
  std::string out;
  AppendPrintable("say \"hi\" \\ \n", "\\\"", &out);
  EXPECT_EQ(out, "say \\\"hi\\\" \\\\ \\n");
}

TEST(PrintableOstreamTest, FiltersEverythingWrittenThroughIt) {
  std::ostringstream target;
  {
    PrintableOstream out(target);
    out << "node %" << std::string("\x1b[2J\0", 5) << " at line " << 3 << '\n';
    // A UTF-8 sequence split across writes is kept whole.
    out << "caf\xc3";
    out << "\xa9" << '\n';
    // One cut inside a sequence that then turns out invalid is escaped.
    out << "\xe4\xb8";
    out << "!" << std::flush;
    // An incomplete sequence at the very end is escaped on destruction.
    out << "end\xf0\x9f";
  }
  EXPECT_EQ(
      target.str(),
      "node %\\x1b[2J\\x00 at line 3\ncaf\xc3\xa9\n\\xe4\\xb8!end\\xf0\\x9f");
}

TEST(Utf8Test, IsValidUtf8FollowsRfc3629) {
  EXPECT_TRUE(IsValidUtf8(""));
  EXPECT_TRUE(IsValidUtf8("ascii \xc3\xa9 \xf4\x8f\xbf\xbf"));
  EXPECT_FALSE(IsValidUtf8("\xf4\x90\x80\x80"));  // past U+10FFFF
  EXPECT_FALSE(IsValidUtf8("\xe0\x80\x80"));      // overlong
  EXPECT_FALSE(IsValidUtf8("\xed\xbf\xbf"));      // surrogate
  EXPECT_FALSE(IsValidUtf8("\x80"));
  EXPECT_FALSE(IsValidUtf8("\xe4\xb8"));
}

}  // namespace
}  // namespace rewire
