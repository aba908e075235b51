// Tests of ir/metadata.h's containers: Metadata keeps insertion order through
// Set, Erase and copies, also past the size where lookups switch to a hash
// index; MetaKey shares the well-known keys and owns the
// others; TensorMeta's inline shape and strides behave like vectors past
// their inline size.
#include "ir/metadata.h"

#include <string>
#include <utility>
#include <vector>

#include "gtest/gtest.h"

namespace rewire {
namespace {

std::vector<std::string> Keys(const Metadata& m) {
  std::vector<std::string> out;
  for (const Metadata::Entry& e : m.entries()) out.push_back(e.key.str());
  return out;
}

TEST(MetaKeyTest, WellKnownKeysAreSharedOthersOwned) {
  MetaKey val("val");
  MetaKey val2("val");
  MetaKey odd("my_pass_annotation");
  EXPECT_TRUE(val.is_shared());
  EXPECT_EQ(&val.str(), &val2.str());
  EXPECT_FALSE(odd.is_shared());
  EXPECT_EQ(odd, "my_pass_annotation");
  EXPECT_NE(odd, val);

  MetaKey copy(odd);
  EXPECT_FALSE(copy.is_shared());
  EXPECT_NE(&copy.str(), &odd.str());
  EXPECT_EQ(copy, odd);

  MetaKey moved(std::move(copy));
  EXPECT_EQ(moved, "my_pass_annotation");
  EXPECT_TRUE(copy.empty());  // NOLINT: a moved-from key is empty

  moved = val;
  EXPECT_TRUE(moved.is_shared());
  EXPECT_EQ(moved, "val");
  MetaKey empty("");
  EXPECT_TRUE(empty.empty());
}

TEST(MetadataTest, KeepsInsertionOrderThroughSetAndErase) {
  Metadata m;
  EXPECT_TRUE(m.empty());
  m.Set("val", MetaValue::Int(1));
  m.Set("stack_trace", MetaValue::String("File x.py"));
  m.Set("custom_key", MetaValue::Bool(true));
  m.Set("another", MetaValue::Double(0.5));
  m.Set("stack_trace", MetaValue::String("File y.py"));  // in place
  EXPECT_EQ(Keys(m), (std::vector<std::string>{"val", "stack_trace",
                                               "custom_key", "another"}));
  EXPECT_EQ(m.Find("stack_trace")->as_string(), "File y.py");
  EXPECT_TRUE(m.Erase("custom_key"));
  EXPECT_FALSE(m.Erase("custom_key"));
  EXPECT_EQ(Keys(m),
            (std::vector<std::string>{"val", "stack_trace", "another"}));
  EXPECT_EQ(m.Find("another")->as_double(), 0.5);
  EXPECT_EQ(m.Find("missing"), nullptr);
  EXPECT_EQ(m.val()->as_int(), 1);
  m.Clear();
  EXPECT_TRUE(m.empty());
  m.Set("x", MetaValue::None());
  EXPECT_EQ(Keys(m), (std::vector<std::string>{"x"}));
}

TEST(MetadataTest, CopiesAreIndependentAndCompareEqual) {
  Metadata m;
  for (int i = 0; i < 40; ++i) {
    m.Set("key_" + std::to_string(i), MetaValue::Int(i));
  }
  m.Set("val", MetaValue::Tensor(
                   TensorMeta::Make(ScalarType::kFloat32, {2, 3, 4, 5, 6})));
  Metadata copy = m;
  EXPECT_EQ(copy, m);
  copy.Set("key_7", MetaValue::Int(-7));
  EXPECT_NE(copy, m);
  EXPECT_EQ(m.Find("key_7")->as_int(), 7);

  Metadata assigned;
  assigned.Set("old", MetaValue::Int(0));
  assigned = m;
  EXPECT_EQ(assigned, m);
  const Metadata& self = assigned;
  assigned = self;
  EXPECT_EQ(assigned, m);

  Metadata moved = std::move(assigned);
  EXPECT_EQ(moved, m);
  EXPECT_TRUE(assigned.empty());  // NOLINT: moved-from Metadata is empty
  assigned = std::move(moved);
  EXPECT_EQ(assigned, m);
  EXPECT_EQ(Keys(assigned).size(), 41u);
}

// Past Metadata::kLinearMax entries lookups go through the hash index; every
// operation must agree with a plain ordered list on both sides of that line.
TEST(MetadataTest, IndexedLookupsAgreeWithInsertionOrder) {
  for (int n : {1, 8, 9, 17, 100}) {
    Metadata m;
    for (int i = 0; i < n; ++i) m.Set("k" + std::to_string(i), MetaValue::Int(i));
    m.Set("k0", MetaValue::Int(-1));  // in place, keeps its position
    ASSERT_EQ(m.size(), static_cast<size_t>(n));
    EXPECT_EQ(m.entries()[0].key, "k0");
    EXPECT_EQ(m.Find("k0")->as_int(), -1);
    for (int i = 1; i < n; ++i) {
      ASSERT_NE(m.Find("k" + std::to_string(i)), nullptr) << n << " " << i;
      EXPECT_EQ(m.Find("k" + std::to_string(i))->as_int(), i);
    }
    EXPECT_EQ(m.Find("absent"), nullptr);
    // Erase from the middle shifts later entries; the index follows.
    EXPECT_TRUE(m.Erase("k" + std::to_string(n / 2)));
    EXPECT_EQ(m.Find("k" + std::to_string(n / 2)), nullptr);
    for (int i = n / 2 + 1; i < n; ++i) {
      ASSERT_NE(m.Find("k" + std::to_string(i)), nullptr);
      EXPECT_EQ(m.entries()[i - 1].key, "k" + std::to_string(i));
    }
    Metadata copy = m;
    EXPECT_EQ(copy, m);
    for (int i = n / 2 + 1; i < n; ++i) {
      EXPECT_EQ(copy.Find("k" + std::to_string(i))->as_int(), i);
    }
    m.Clear();
    EXPECT_EQ(m.Find("k1"), nullptr);
    m.Set("k1", MetaValue::Int(11));
    EXPECT_EQ(m.Find("k1")->as_int(), 11);
    EXPECT_EQ(m.size(), 1u);
  }
}

// 200,000 distinct keys on one map: with the linear search this took minutes
// (2 * 10^10 key comparisons) and timed the test out; indexed it is linear.
TEST(MetadataTest, ManyKeysOnOneNodeAreLinear) {
  constexpr int kKeys = 200000;
  Metadata m;
  for (int i = 0; i < kKeys; ++i) {
    m.Set("custom_" + std::to_string(i), MetaValue::Int(i));
  }
  ASSERT_EQ(m.size(), static_cast<size_t>(kKeys));
  for (int i = 0; i < kKeys; i += 997) {
    ASSERT_EQ(m.Find("custom_" + std::to_string(i))->as_int(), i);
  }
  Metadata copy = m;
  EXPECT_EQ(copy.Find("custom_199999")->as_int(), 199999);
}

TEST(TensorMetaTest, ShapeAndStridesBeyondTheInlineRank) {
  TensorMeta t = TensorMeta::Make(ScalarType::kFloat32, {2, 3, 4, 5, 6, 7});
  EXPECT_EQ(t.shape.size(), 6u);
  EXPECT_EQ(t.strides, (StrideVector{2520, 840, 210, 42, 7, 1}));
  t.shape.push_back(Dim{0, "s0"});
  EXPECT_TRUE(t.has_symbolic_dims());
  EXPECT_EQ(t.ShortString(), "f32[2, 3, 4, 5, 6, 7, s0]");
  TensorMeta copy = t;
  EXPECT_EQ(copy, t);
  copy.shape[6].symbol = std::string("s1");
  EXPECT_NE(copy, t);
  EXPECT_EQ(t.shape[6].symbol.str(), "s0");
}

}  // namespace
}  // namespace rewire
