// Tests for the view ops: results share storage with ATen's sizes, strides
// and offsets, writes through a view reach the base, and bad dims, indices
// and strides are errors rather than out-of-bounds views.
#include "kernels/view_ops.h"

#include <vector>

#include "gtest/gtest.h"

namespace rewire {
namespace ops {
namespace {

Tensor F(std::vector<int64_t> shape, std::vector<float> v) {
  return *Tensor::FromVector<float>(std::move(shape), v);
}
// Elements in logical (row-major) order, whatever the strides.
std::vector<float> V(const Tensor& t) {
  Tensor c = *t.Contiguous();
  return std::vector<float>(c.data<float>(), c.data<float>() + c.numel());
}
Tensor Iota(std::vector<int64_t> shape) {
  int64_t n = 1;
  for (int64_t s : shape) n *= s;
  std::vector<float> v(n);
  for (int64_t i = 0; i < n; ++i) v[i] = static_cast<float>(i);
  return F(std::move(shape), v);
}

TEST(ViewOpsTest, TransposePermuteExpandAreViews) {
  Tensor x = F({2, 3}, {1, 2, 3, 4, 5, 6});
  Tensor t = *T(x);
  EXPECT_TRUE(t.SharesStorageWith(x));
  EXPECT_FALSE(t.is_contiguous());
  EXPECT_EQ(t.strides(), (std::vector<int64_t>{1, 3}));
  EXPECT_EQ(V(t), (std::vector<float>{1, 4, 2, 5, 3, 6}));
  EXPECT_EQ(V(*Permute(*View(x, {1, 2, 3}), {2, 0, 1})), (std::vector<float>{1, 4, 2, 5, 3, 6}));
  Tensor e = *Expand(F({2, 1}, {1, 2}), {3, 2, 2});
  EXPECT_EQ(e.strides(), (std::vector<int64_t>{0, 1, 0}));
  EXPECT_TRUE(e.HasInternalOverlap());
  EXPECT_EQ(V(e), (std::vector<float>{1, 1, 2, 2, 1, 1, 2, 2, 1, 1, 2, 2}));
  EXPECT_FALSE(Expand(x, {3, 3}).ok());
  EXPECT_FALSE(Permute(x, {0, 0}).ok());
}

TEST(ViewOpsTest, WritesThroughASliceReachTheBase) {
  Tensor x = Iota({3, 4});
  Tensor s = *Slice(x, 1, 1, std::nullopt, 2);  // columns 1 and 3
  EXPECT_EQ(s.shape(), (std::vector<int64_t>{3, 2}));
  EXPECT_EQ(s.strides(), (std::vector<int64_t>{4, 2}));
  EXPECT_EQ(s.storage_offset(), 1);
  EXPECT_EQ(V(s), (std::vector<float>{1, 3, 5, 7, 9, 11}));
  ASSERT_TRUE(s.CopyFrom(F({3, 2}, {-1, -2, -3, -4, -5, -6})).ok());
  EXPECT_EQ(V(x), (std::vector<float>{0, -1, 2, -2, 4, -3, 6, -4, 8, -5, 10, -6}));
  // Python slicing clamps; an empty range is a 0-size view.
  EXPECT_EQ(Slice(x, 0, -100, 100, 1)->shape(), (std::vector<int64_t>{3, 4}));
  EXPECT_EQ(Slice(x, 0, 2, 1, 1)->shape(), (std::vector<int64_t>{0, 4}));
  EXPECT_FALSE(Slice(x, 0, 0, 3, 0).ok());
  EXPECT_FALSE(Slice(x, 2, 0, 3, 1).ok());
}

TEST(ViewOpsTest, SelectNarrowUnbind) {
  Tensor x = Iota({2, 3});
  EXPECT_EQ(V(*Select(x, 1, -1)), (std::vector<float>{2, 5}));
  EXPECT_FALSE(Select(x, 1, 3).ok());
  EXPECT_FALSE(Select(x, 0, -3).ok());
  EXPECT_EQ(V(*Narrow(x, 1, 1, 2)), (std::vector<float>{1, 2, 4, 5}));
  EXPECT_FALSE(Narrow(x, 1, 2, 2).ok());
  auto u = *Unbind(x, 1);
  ASSERT_EQ(u.size(), 3u);
  EXPECT_EQ(V(u[2]), (std::vector<float>{2, 5}));
  EXPECT_TRUE(u[2].SharesStorageWith(x));
  EXPECT_FALSE(Select(*Tensor::Zeros(ScalarType::kFloat32, {}), 0, 0).ok());
}

TEST(ViewOpsTest, SplitChunkAndSplitWithSizes) {
  Tensor x = Iota({2, 5});
  auto parts = *Split(x, 2, 1);
  ASSERT_EQ(parts.size(), 3u);
  EXPECT_EQ(V(parts[2]), (std::vector<float>{4, 9}));
  auto chunks = *Chunk(x, 2, -1);  // sizes 3 and 2
  ASSERT_EQ(chunks.size(), 2u);
  EXPECT_EQ(V(chunks[0]), (std::vector<float>{0, 1, 2, 5, 6, 7}));
  auto sized = *SplitWithSizes(x, {1, 4}, 1);
  EXPECT_EQ(V(sized[1]), (std::vector<float>{1, 2, 3, 4, 6, 7, 8, 9}));
  EXPECT_FALSE(SplitWithSizes(x, {1, 3}, 1).ok());
  EXPECT_FALSE(SplitWithSizes(x, {-1, 6}, 1).ok());
  EXPECT_FALSE(Chunk(x, 0, 1).ok());
  // A 0-size tensor with a huge dim: refused, not 10^15 Tensor objects.
  Tensor huge = *Tensor::Zeros(ScalarType::kFloat32, {0, int64_t{1} << 50});
  EXPECT_EQ(Unbind(huge, 1).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Split(huge, 1, 1).status().code(), absl::StatusCode::kInvalidArgument);
  // ATen: chunks of an empty dim are `chunks` empty pieces.
  EXPECT_EQ(Chunk(*Tensor::Zeros(ScalarType::kFloat32, {0, 2}), 3, 0)->size(), 3u);
}

TEST(ViewOpsTest, ViewOfAStridedTensorFollowsATenRules) {
  Tensor x = Iota({2, 3, 4});
  Tensor p = *Permute(x, {1, 0, 2});  // (3, 2, 4), strides (4, 12, 1)
  // Splitting the last (contiguous) dim is a view...
  Tensor v = *View(p, {3, 2, 2, 2});
  EXPECT_TRUE(v.SharesStorageWith(x));
  EXPECT_EQ(V(v), V(p));
  // ...merging dims 0 and 1 is not: view fails, reshape copies.
  EXPECT_FALSE(View(p, {6, 4}).ok());
  Tensor r = *Reshape(p, {6, 4});
  EXPECT_FALSE(r.SharesStorageWith(x));
  EXPECT_EQ(V(r), V(p));
  EXPECT_EQ(V(*Flatten(p, 0, 1)), V(p));
  Tensor un = *Unflatten(x, 2, {2, -1});
  EXPECT_EQ(un.shape(), (std::vector<int64_t>{2, 3, 2, 2}));
  EXPECT_EQ(V(un), V(x));
  EXPECT_FALSE(Unflatten(x, 2, {3, -1}).ok());
}

TEST(ViewOpsTest, SqueezeUnsqueeze) {
  Tensor x = Iota({1, 3, 1});
  EXPECT_EQ(Squeeze(x, std::nullopt)->shape(), (std::vector<int64_t>{3}));
  const std::vector<int64_t> dims{0, 1};
  EXPECT_EQ(Squeeze(x, dims)->shape(), (std::vector<int64_t>{3, 1}));
  EXPECT_EQ(Unsqueeze(x, -1)->shape(), (std::vector<int64_t>{1, 3, 1, 1}));
  EXPECT_FALSE(Unsqueeze(x, 5).ok());
}

TEST(ViewOpsTest, AsStridedIsBoundedByItsStorage) {
  Tensor x = Iota({6});
  Tensor a = *AsStrided(x, {2, 2}, {1, 2}, 1);
  EXPECT_EQ(V(a), (std::vector<float>{1, 3, 2, 4}));
  // Of a view: the offset counts from the storage start, as in ATen.
  Tensor s = *Slice(x, 0, 2, std::nullopt, 1);
  EXPECT_EQ(V(*AsStrided(s, {2}, {1}, 0)), (std::vector<float>{0, 1}));
  EXPECT_EQ(V(*AsStrided(s, {2}, {1}, std::nullopt)), (std::vector<float>{2, 3}));
  EXPECT_EQ(AsStrided(x, {2, 3}, {3, 1}, 1).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_FALSE(AsStrided(x, {2}, {-1}, 1).ok());
  EXPECT_FALSE(AsStrided(x, {2}, {1, 1}, 0).ok());
  EXPECT_FALSE(AsStrided(x, {2}, {int64_t{1} << 62}, 0).ok());
  // An overlapping view cannot be written.
  Tensor o = *AsStrided(x, {3, 2}, {1, 1}, 0);
  EXPECT_FALSE(o.CopyFrom(*o.Contiguous()).ok());
}

}  // namespace
}  // namespace ops
}  // namespace rewire
