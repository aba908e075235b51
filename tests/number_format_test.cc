// base/number_format.h: every double reads back exactly, in its shortest
// spelling, and the special values have one spelling each.
#include "base/number_format.h"

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <string>

#include "absl/strings/numbers.h"
#include "gtest/gtest.h"

namespace rewire {
namespace {

TEST(NumberFormatTest, ShortestSpellings) {
  EXPECT_EQ(ShortestDouble(0.1), "0.1");
  EXPECT_EQ(ShortestDouble(1e-05), "1e-05");
  EXPECT_EQ(ShortestDouble(3.0), "3");
  EXPECT_EQ(ShortestDouble(-0.0), "-0");
  EXPECT_EQ(ShortestDouble(0.7598356856515927), "0.7598356856515927");
  EXPECT_EQ(ShortestDouble(std::numeric_limits<double>::infinity()), "inf");
  EXPECT_EQ(ShortestDouble(-std::numeric_limits<double>::infinity()), "-inf");
  EXPECT_EQ(ShortestDouble(std::nan("")), "nan");
  EXPECT_EQ(ShortestDouble(-std::nan("")), "nan");
}

TEST(NumberFormatTest, EveryBitPatternReadsBackExactly) {
  std::mt19937_64 rng(7);
  for (int i = 0; i < 100000; ++i) {
    const uint64_t bits = rng();
    double d;
    std::memcpy(&d, &bits, sizeof(d));
    if (std::isnan(d)) continue;
    const std::string s = ShortestDouble(d);
    double back = 0;
    ASSERT_TRUE(absl::SimpleAtod(s, &back)) << s;
    EXPECT_EQ(std::memcmp(&back, &d, sizeof(d)), 0) << s;
    EXPECT_LE(s.size(), 24u) << s;
  }
}

TEST(NumberFormatTest, AppendsWithoutTouchingWhatIsThere) {
  std::string out = "p=";
  AppendShortestDouble(0.25, &out);
  EXPECT_EQ(out, "p=0.25");
}

}  // namespace
}  // namespace rewire
