// Philox4x32-10 against the published known answers, and the counter scheme
// of PhiloxGenerator.
#include "kernels/philox.h"

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace rewire {
namespace {

std::string RunfilePath(const std::string& rel) {
  const char* srcdir = std::getenv("TEST_SRCDIR");
  const char* ws = std::getenv("TEST_WORKSPACE");
  return std::string(srcdir ? srcdir : ".") + "/" + (ws ? ws : "rewire") + "/" +
         rel;
}

TEST(PhiloxTest, KnownAnswers) {
  std::ifstream in(RunfilePath("tests/testdata/philox4x32_10_kat.txt"));
  ASSERT_TRUE(in.good()) << "missing tests/testdata/philox4x32_10_kat.txt";
  std::string line;
  int cases = 0;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream ss(line);
    uint32_t v[10];
    std::string arrow;
    ss >> std::hex >> v[0] >> v[1] >> v[2] >> v[3] >> v[4] >> v[5] >> arrow >>
        v[6] >> v[7] >> v[8] >> v[9];
    ASSERT_EQ(arrow, "->") << line;
    philox::Block c{{v[0], v[1], v[2], v[3]}};
    const philox::Block out = philox::Philox4x32_10(c, v[4], v[5]);
    for (int k = 0; k < 4; ++k) EXPECT_EQ(out.w[k], v[6 + k]) << line;
    ++cases;
  }
  EXPECT_GE(cases, 3);
}

TEST(PhiloxTest, BlockAtSplitsSeedAndCounter) {
  const uint64_t seed = 0x299f31d0a4093822ull;
  const uint64_t counter = 0x85a308d3243f6a88ull;
  const philox::Block a = philox::BlockAt(seed, counter);
  const philox::Block b = philox::Philox4x32_10(
      philox::Block{{0x243f6a88u, 0x85a308d3u, 0, 0}}, 0xa4093822u, 0x299f31d0u);
  for (int k = 0; k < 4; ++k) EXPECT_EQ(a.w[k], b.w[k]);
}

TEST(PhiloxTest, UniformAndThreshold) {
  EXPECT_EQ(philox::UniformFromWord(0), 0.0f);
  EXPECT_EQ(philox::UniformFromWord(0xffffffffu), 1.0f - 1.0f / 16777216.0f);
  EXPECT_EQ(philox::KeepThreshold(0.0), 0u);
  EXPECT_EQ(philox::KeepThreshold(1.0), 1u << 24);
  EXPECT_EQ(philox::KeepThreshold(0.5), 1u << 23);
  // Every word is kept at q = 1 and none at q = 0.
  EXPECT_TRUE(philox::KeepWord(0xffffffffu, philox::KeepThreshold(1.0)));
  EXPECT_FALSE(philox::KeepWord(0, philox::KeepThreshold(0.0)));
  // KeepWord agrees with comparing the uniform float.
  const uint32_t thr = philox::KeepThreshold(0.3);
  for (uint32_t w = 0; w < 0xffff0000u; w += 0x10001u * 37) {
    EXPECT_EQ(philox::KeepWord(w, thr),
              philox::UniformFromWord(w) < thr * (1.0f / 16777216.0f));
  }
}

TEST(PhiloxGeneratorTest, ReserveAdvancesByCeilQuarter) {
  PhiloxGenerator gen(42, 10);
  EXPECT_EQ(gen.Reserve(0), 10u);
  EXPECT_EQ(gen.Reserve(1), 10u);
  EXPECT_EQ(gen.offset(), 11u);
  EXPECT_EQ(gen.Reserve(8), 11u);
  EXPECT_EQ(gen.offset(), 13u);
  EXPECT_EQ(gen.Reserve(9), 13u);
  EXPECT_EQ(gen.offset(), 16u);
}

TEST(PhiloxGeneratorTest, ElementDependsOnlyOnSeedOffsetIndex) {
  // Element i at offset o is element i + 4k at offset o - k.
  const uint32_t thr = philox::KeepThreshold(0.5);
  for (uint64_t i = 0; i < 1000; ++i) {
    EXPECT_EQ(philox::KeepElement(7, 100, i + 40, thr),
              philox::KeepElement(7, 110, i, thr));
  }
  // Different seeds give different streams.
  int same = 0;
  for (uint64_t i = 0; i < 1000; ++i) {
    same += philox::KeepElement(7, 0, i, thr) == philox::KeepElement(8, 0, i, thr);
  }
  EXPECT_LT(same, 600);
}

}  // namespace
}  // namespace rewire
